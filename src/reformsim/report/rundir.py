"""Run directories: results.nc, kpis.csv, manifest.json, scenarios/ and figures/, written whole.

A run directory is built in a hidden folder beside its target, made before
the simulation starts (:func:`prepare`), so that an output that cannot be
written (a path under a file, a read-only or full disk, no permission) fails
before any work is done. The folder's name is unique per process and
thread; it is renamed into place only when every file is written, with a
rename that refuses to replace anything that appeared meanwhile: the run
then goes to the next free name beside it (``name-2``...), and says so. A
write that fails after the simulation saves the results elsewhere and says
where, rather than losing them. Hidden folders left by killed runs are
removed by the next run beside them.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import stop
from .background import Pending, hand_over
from .partials import MAKING, STALE_AFTER, prefix_of, remove_stale  # noqa: F401 (re-exported)
from .runfiles import (  # noqa: F401  (the files' names and readers, re-exported)
    FIGURES,
    INPUTS,
    KPIS,
    MANIFEST,
    RESULTS,
    RunDirError,
    copy_inputs,
    first_line,
    make_manifest,
    read_manifest,
    read_results,
    run_inputs,
    sha256,
    storable,
    write_json,
    write_results,
)

PROBE_BYTES = 1 << 20          # written and removed before simulating: is there room at all?


@dataclass
class Staging:
    """A run directory being made: its hidden folder exists, the target name is still free.

    Use as a context manager: leaving it with an exception removes the folder.
    """

    target: Path
    folder: Path
    created: tuple[Path, ...] = ()   # folders made for it, removed again if left empty
    written: Path | None = field(default=None)
    # seconds each file handed to another process took there (after ``finish``)
    elsewhere: dict[str, float] = field(default_factory=dict)
    # between ``begin`` and ``finish``: what is being written, and by whom
    _netcdf: dict[str, Any] = field(default_factory=dict, repr=False)
    _manifest: Mapping[str, Any] = field(default_factory=dict, repr=False)
    _pending: dict[str, Pending] = field(default_factory=dict, repr=False)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is not None:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.written is None:
            _remove_empty(self.created)
        MAKING.release(self.folder)

    def write(self, dataset: Any, kpis: Any, manifest: Mapping[str, Any],
              figures: Mapping[str, Callable[[Path], object]] | None = None,
              inputs: Sequence[Path] = (),
              files: Mapping[str, Callable[[Path], object]] | None = None,
              datasets: Mapping[str, Any] | None = None, worker: Any = None) -> Path:
        """Write every file, then move the folder into place; returns where it went.

        ``figures`` maps file names to functions writing that file at the path
        given (in figures/), ``files`` the same beside results.nc (an analysis's
        outputs, issue 11); such a writer may hand its file to another process and return
        a ``background.Pending``, waited for before the move. ``inputs`` (the scenario files)
        are copied into ``scenarios/``.
        ``datasets`` are more netCDF files (name -> Dataset: a streamed run's statistics,
        issue 16, whose ``dataset`` is None: it has no results.nc). ``worker`` (a
        ``background.start()``) writes the netCDF files while this process goes on.
        A failure to write saves ``results.nc`` (and ``datasets``) and the manifest in the
        system's temporary folder and raises a RunDirError saying where.
        """
        self.begin(dataset, kpis, manifest, figures, inputs, files, datasets, worker)
        return self.finish()

    def begin(self, dataset: Any, kpis: Any, manifest: Mapping[str, Any],
              figures: Mapping[str, Callable[[Path], object]] | None = None,
              inputs: Sequence[Path] = (),
              files: Mapping[str, Callable[[Path], object]] | None = None,
              datasets: Mapping[str, Any] | None = None, worker: Any = None) -> None:
        """The first half of :meth:`write`: every file written, or handed to ``worker``;
        :meth:`finish` waits for those and moves the folder into place (meanwhile this
        process may simulate the next run)."""
        self._netcdf = {**({RESULTS: dataset} if dataset is not None else {}),
                        **(datasets or {})}
        self._manifest, self._pending = manifest, {}
        with self._failing():
            # ``files`` first: a writer that hands its file to another process
            # (report.background) returns a Pending, waited for in ``finish``
            for name, write_file in (files or {}).items():
                self._started(name, write_file(self.folder / name))
            for name, data in self._netcdf.items():
                self._started(name, hand_over(worker, write_results, data, self.folder / name))
            kpis.to_csv(self.folder / KPIS, index=False)
            copy_inputs(inputs, self.folder / INPUTS)
            if figures:                # no empty folder for a run that draws nothing
                (self.folder / FIGURES).mkdir()
            for name, write_figure in (figures or {}).items():
                write_figure(self.folder / FIGURES / name)

    def finish(self) -> Path:
        """The second half of :meth:`write`: wait for the files written elsewhere, write the
        manifest, move the folder into place; returns where it went."""
        with self._failing():
            for started in self._pending.values():
                started.wait()
            self.elsewhere = {name: p.seconds for name, p in self._pending.items()}
            write_json(self.folder / MANIFEST, self._manifest)
            _fsync_tree(self.folder)
            stop.check()    # a stop swallowed on the way: the run is not moved into place
            self.written = _move_into_place(self.folder, self.target)
        MAKING.release(self.folder)
        return self.written

    def _started(self, name: str, result: object) -> None:
        if isinstance(result, Pending):
            self._pending[name] = result

    @contextmanager
    def _failing(self) -> Iterator[None]:
        """A failure removes the folder (once files still being written elsewhere are done);
        an OSError first saves the results and manifest elsewhere (``_rescued``)."""
        try:
            yield
        except OSError as exc:
            _settle(self._pending.values())
            self.discard()
            raise _rescued(self.target, exc, self._netcdf, self._manifest) from exc
        except BaseException:
            _settle(self._pending.values())
            self.discard()
            raise

    @property
    def moved(self) -> bool:
        """True when the target appeared during the run and the run went beside it."""
        return self.written is not None and self.written != self.target


def _settle(pending: Iterable[Pending]) -> None:
    """Let files still being written elsewhere finish (their errors aside) before the
    folder they are written into is removed."""
    for started in pending:
        started.settle()


def prepare(target: Path) -> Staging:
    """Check that a run directory can be written at ``target`` and reserve its hidden folder.

    Call it before simulating. Raises RunDirError when the target exists, a
    folder on its path is a file, or its folder cannot be written (no
    permission, read-only file system, no space left). Removes hidden
    folders that killed runs left beside it.
    """
    target = Path(target)
    if target.exists() or target.is_symlink():
        raise RunDirError(f"{target}: already exists; reformsim never overwrites a run"
                          "\n  hint: choose another output directory with -o")
    parent = target.parent
    created = tuple(p for p in [parent, *parent.parents] if not p.exists())  # deepest first
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(target, exc) from exc
    remove_stale(parent)
    prefix = prefix_of(target)
    MAKING.reserve(parent, prefix)
    try:
        staging = Staging(target, Path(tempfile.mkdtemp(prefix=prefix, dir=parent)), created)
    except OSError as exc:
        MAKING.release(parent / prefix)
        _remove_empty(created)
        raise _unwritable(target, exc) from exc
    try:
        staging.folder.chmod(0o777 & ~_umask())  # mkdtemp's is private; a run's is not
        _probe(staging.folder)
    except OSError as exc:
        staging.discard()
        raise _unwritable(target, exc) from exc
    except BaseException:  # Ctrl-C or SIGTERM while probing
        staging.discard()
        raise
    return staging


def write_run(target: Path, dataset: Any, kpis: Any, manifest: Mapping[str, Any],
              figures: Mapping[str, Callable[[Path], object]] | None = None,
              files: Mapping[str, Callable[[Path], object]] | None = None,
              inputs: Sequence[Path] = ()) -> Path:
    """Write a run directory at ``target`` (which must not exist) and return where it went.

    ``figures`` and ``files`` map file names (``lines.png``; an analysis's scenario file or
    JSON document) to functions writing that file, in figures/ or beside results.nc;
    ``inputs`` are the scenario files copied into scenarios/ (see :meth:`Staging.write`).
    """
    with prepare(target) as staging:
        return staging.write(dataset, kpis, manifest, figures, inputs, files)


def read_run(directory: Path) -> tuple[Any, dict[str, Any]]:
    """The dataset and manifest of a run directory; RunDirError for anything else."""
    directory = Path(directory)
    missing = [n for n in (RESULTS, MANIFEST) if not (directory / n).is_file()]
    if missing:
        raise RunDirError(f"{directory}: not a reformsim run directory (no {', '.join(missing)})"
                          "\n  hint: give a directory written by 'reformsim run'")
    return read_results(directory / RESULTS), read_manifest(directory / MANIFEST)


@dataclass(frozen=True)
class RunRecord:
    """A run directory opened: its Dataset (variables named as in the model) and manifest."""

    path: Path
    dataset: Any
    manifest: dict[str, Any]

    @property
    def kpis(self) -> Any:
        """The KPI table written with the run (a pandas DataFrame)."""
        import pandas as pd

        try:
            return pd.read_csv(self.path / KPIS)
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{self.path / KPIS}: cannot be read: {exc}") from exc


def open_run(path: str | Path) -> RunRecord:
    """Open a run directory written by ``reformsim run``.

        >>> run = reformsim.open_run("runs/service_backlog-20261129-101500")
        >>> run.dataset["Service quality"].sel(scenario="surge").median("sample")

    ``results.nc`` is a compressed netCDF-4 file that plain xarray opens
    too (``xarray.open_dataset(path / "results.nc")``); a name netCDF cannot
    hold (``/`` or a control character) is stored escaped, with the model's
    name in the attribute ``reformsim_name``, which this function restores.
    """
    directory = Path(path)
    dataset, manifest = read_run(directory)
    return RunRecord(directory, dataset, manifest)



# --- the hidden folder and its move into place ------------------------------------------------

def _remove_empty(folders: Sequence[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break


def _umask() -> int:
    """The process's umask, read without changing it (Linux), else the usual 022."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"^Umask:\s*([0-7]+)", status, re.M).group(1), 8)  # type: ignore
    except (OSError, AttributeError, ValueError):
        return 0o022


def _probe(folder: Path) -> None:
    """Write and fsync PROBE_BYTES (or fewer when the disk is small): a full disk fails here."""
    probe = folder / ".probe"
    free = shutil.disk_usage(folder).free
    if free < PROBE_BYTES:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with probe.open("wb") as handle:
        handle.write(b"\0" * PROBE_BYTES)
        handle.flush()
        os.fsync(handle.fileno())
    probe.unlink()


def _fsync_tree(folder: Path) -> None:
    """Flush every file written, so a crash after the rename leaves no half file."""
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def _move_into_place(folder: Path, target: Path) -> Path:
    """Rename ``folder`` to ``target``, or to ``target-2``... if that appeared meanwhile."""
    for n in range(1, 1000):
        candidate = target if n == 1 else target.with_name(f"{target.name}-{n}")
        try:
            _rename_noreplace(folder, candidate)
            return candidate
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, f"{target} and 998 names beside it exist")


def _rename_noreplace(source: Path, target: Path) -> None:
    """Rename that fails with FileExistsError if ``target`` exists, even as an empty folder
    (Linux's renameat2 with RENAME_NOREPLACE; elsewhere a check first)."""
    renameat2 = _renameat2()
    if renameat2 is not None:
        import ctypes

        if renameat2(-100, os.fsencode(source), -100, os.fsencode(target), 1) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), str(target))
        if code not in (errno.ENOSYS, errno.EINVAL):  # no support on this file system: fall back
            raise OSError(code, os.strerror(code), str(target))
    if target.exists() or target.is_symlink():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise FileExistsError(exc.errno, exc.strerror, str(target)) from exc
        raise


def _renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


# --- errors -----------------------------------------------------------------------------------

_WHY = {errno.EROFS: "the file system is read-only", errno.EACCES: "no permission to write there",
        errno.EPERM: "no permission to write there", errno.ENOSPC: "no space left on the disk",
        errno.EDQUOT: "the disk quota is used up", errno.ENOTDIR: "a part of the path is a file",
        errno.EEXIST: "a part of the path is a file", errno.ENAMETOOLONG: "the name is too long"}


def _unwritable(target: Path, exc: OSError) -> RunDirError:
    why = _WHY.get(exc.errno or 0, exc.strerror or str(exc))
    blocker = next((p for p in [target, *target.parents] if p.is_file()), None)
    if blocker is not None:
        why = f"{blocker} is a file, not a folder"
    return RunDirError(f"{target}: cannot write the run directory: {why}"
                       "\n  hint: nothing was simulated; choose another output directory with -o")


def _rescued(target: Path, exc: OSError, datasets: Mapping[str, Any],
             manifest: Mapping[str, Any]) -> RunDirError:
    """Save the results somewhere else after a failed write, and say where (or that it failed)."""
    why = _WHY.get(exc.errno or 0, exc.strerror or str(exc))
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"reformsim-rescued-{target.name}-"))
        for name, data in datasets.items():
            write_results(data, folder / name)
        write_json(folder / MANIFEST, manifest)
    except Exception as second:  # nowhere to write at all: say so
        return RunDirError(f"{target}: the run was simulated but could not be written ({why}), "
                           f"nor saved elsewhere ({first_line(second)})"
                           "\n  hint: free some space or choose another output directory with -o")
    return RunDirError(f"{target}: the run was simulated but could not be written ({why}); "
                       f"its results and manifest were saved in {folder}"
                       "\n  hint: open it with 'reformsim compare' or reformsim.open_run, or "
                       "move it where you want it")


