"""The ``reformsim`` command line: parse, call the library, print. Nothing else.

Heavy imports (pysd, numpy, pandas) happen inside the commands so that
``--help`` is instant.
"""

from __future__ import annotations

import warnings
from typing import Any

import click

from .. import stop
from ..errors import ReformsimError, ReformsimWarning, printable


class _Failure(click.ClickException):
    """An error shown as ``Error: ...`` with exit code 1, its text made safe for a terminal."""

    def format_message(self) -> str:
        return printable(self.message)


class _Errors(click.Group):
    """Every failure becomes one ``Error: ...`` and exit code 1, never a traceback.

    ReformsimError and OSError are expected (bad input, a file system that
    says no); anything else is a bug: one line, and the traceback in a log
    file whose path is printed. Warnings print as one ``warning: ...`` line.
    """

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> click.Context:
        ctx = super().make_context(info_name, list(args), parent, **extra)
        ctx.meta["argv"] = [info_name or "reformsim", *args]   # for the run's manifest
        return ctx

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        with warnings.catch_warnings(), stop.handled():
            warnings.showwarning = _show_warning
            warnings.filterwarnings("default", category=ReformsimWarning)  # shown, once each
            try:
                try:
                    return super().invoke(ctx)
                except Exception:
                    stop.check()    # an error that a swallowed stop led to: report the stop
                    raise
            except ReformsimError as exc:
                raise _Failure(str(exc)) from exc
            except click.ClickException as exc:
                raise _Failure(exc.format_message()) if type(exc) is click.ClickException \
                    else exc
            except (click.exceptions.Exit, click.exceptions.Abort, KeyboardInterrupt,
                    SystemExit):
                raise
            except BrokenPipeError:  # the reader went away (``| head``): nothing to say
                raise click.exceptions.Exit(1) from None
            except OSError as exc:
                where = f"{exc.filename}: " if exc.filename else ""
                raise _Failure(f"{where}{exc.strerror or exc}\n  hint: check the path and "
                               "its permissions") from exc
            except Exception as exc:  # a bug: one line here, the traceback in a log file
                raise _Failure(_bug_report(exc)) from exc


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """One line per warning, without Python's source line."""
    click.echo(printable(f"warning: {message}"), err=True)


def _bug_report(exc: Exception) -> str:
    import tempfile
    import traceback
    from datetime import datetime
    from pathlib import Path

    text = "".join(traceback.format_exception(exc))
    try:
        handle = tempfile.NamedTemporaryFile(
            "w", prefix=f"reformsim-crash-{datetime.now():%Y%m%d-%H%M%S}-", suffix=".log",
            delete=False, encoding="utf-8")
        with handle:
            handle.write(text)
        where = f"the full traceback is in {Path(handle.name)}"
    except OSError:
        where = "the traceback could not be written to a log file"
    first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return (f"internal error: {type(exc).__name__}" + (f": {first}" if first else "")
            + f"\n  hint: this is a bug in reformsim; {where} (please attach it to a report)")


@click.group(cls=_Errors)
@click.version_option(package_name="reformsim")
@click.option("-q", "--quiet", is_flag=True, help="Print only results, no progress or notes.")
@click.option("-v", "--verbose", is_flag=True, help="Also print what takes how long.")
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """Simulate stock-and-flow models (Vensim .mdl, XMILE) across many members at once.

    Compare public-sector reform roadmaps: run scenario files, compare them at
    chosen years, plot them.
    """
    ctx.ensure_object(dict)
    ctx.obj["quiet"], ctx.obj["verbose"] = quiet, verbose and not quiet


def program() -> None:
    """``reformsim`` as a program (the console script, ``python -m reformsim``): the command,
    then an exit that a late Ctrl-C or SIGTERM ends at once instead of printing a traceback
    (``stop.leave_at_once_when_stopped``). Tests call ``main`` itself, which changes no
    handler of the process beyond the command."""
    try:
        main()
    finally:
        stop.leave_at_once_when_stopped()
