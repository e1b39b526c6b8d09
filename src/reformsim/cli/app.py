"""The ``reformsim`` command line: parse, call the library, print. Nothing else.

Heavy imports (pysd, numpy, pandas) happen inside the commands so that
``--help`` is instant.
"""

from __future__ import annotations

import click

from ..errors import ReformsimError


class _Errors(click.Group):
    """Turns every ReformsimError into ``Error: ...`` and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except ReformsimError as exc:
            raise click.ClickException(str(exc)) from exc


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
