"""The files of a run directory: results.nc (compressed netCDF-4, variables named as in the
model) and manifest.json (what the run was made from, paths relative to the run)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ReformsimError

RESULTS, KPIS, MANIFEST, FIGURES, INPUTS = ("results.nc", "kpis.csv", "manifest.json", "figures",
                                            "scenarios")


class RunDirError(ReformsimError):
    """A run directory cannot be written or read."""


# --- results.nc -------------------------------------------------------------------------------

_NAME = "reformsim_name"  # attribute holding a name netCDF cannot store as it is
_UNSAFE = re.compile(r"[/%\x00-\x1f\x7f]")


def storable(name: str) -> bool:
    """True when netCDF-4 (HDF5) holds ``name`` as it is."""
    return bool(name) and name not in (".", "..") and not _UNSAFE.search(name) \
        and name == name.strip()


def write_results(dataset: Any, path: Path) -> None:
    """The run Dataset as compressed netCDF-4, variables named as in the model."""
    encoded = _encode(dataset)
    encoding = {name: {"zlib": True, "complevel": 4, "shuffle": True}
                for name, var in encoded.data_vars.items() if var.dtype.kind in "fiu"}
    encoded.to_netcdf(path, engine="h5netcdf", encoding=encoding, invalid_netcdf=False)


def read_results(path: Path) -> Any:
    """results.nc of any reformsim version; RunDirError when it is not one."""
    import xarray as xr

    try:
        dataset = xr.load_dataset(path)
    except Exception as exc:  # xarray's backends raise many kinds; all mean "cannot read"
        size = path.stat().st_size if path.exists() else 0
        why = "it is empty" if size == 0 else f"{type(exc).__name__}: {first_line(exc)}"
        raise RunDirError(f"{path}: not a readable results file ({why})"
                          "\n  hint: the file was damaged or replaced; run the scenarios "
                          "again") from exc
    if "time" not in dataset.dims or "scenario" not in dataset.dims:
        raise RunDirError(f"{path}: not a reformsim results file (no scenario and time "
                          "dimensions)\n  hint: give a directory written by 'reformsim run'")
    return _decode(dataset)


def _encode(dataset: Any) -> Any:
    renamed: dict[str, str] = {}
    taken = {str(n) for n in dataset.variables}
    for name in map(str, dataset.data_vars):
        if not storable(name):
            stored = _escape(name)
            while stored in taken:
                stored += "_"
            renamed[name] = stored
            taken.add(stored)
    out = dataset.rename(renamed)
    for name, key in renamed.items():
        out[key].attrs[_NAME] = name
    return out


def _escape(name: str) -> str:
    escaped = _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", name).strip() or "unnamed"
    return escaped if escaped not in (".", "..") else escaped.replace(".", "%2E")


def _decode(dataset: Any) -> Any:
    names = {key: var.attrs[_NAME] for key, var in dataset.data_vars.items() if _NAME in var.attrs}
    out = dataset.rename(names)
    for name in names.values():
        out[name].attrs.pop(_NAME, None)
    return out


# --- manifest.json ----------------------------------------------------------------------------

def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunDirError(f"{path}: not a readable manifest ({first_line(exc)})"
                          "\n  hint: the run directory is damaged; run the scenarios again") \
            from exc
    if not isinstance(manifest, dict):
        raise RunDirError(f"{path}: not a reformsim manifest (expected a JSON object)")
    return manifest


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_manifest(model: Path | None, scenario_files: Iterable[Path], *, method: str,
                  time_step: float, seed: int | None, members: int,
                  directory: Path | None = None,
                  command: Sequence[str] | None = None) -> dict[str, Any]:
    """What a run was made from, to reproduce or audit it.

    Paths are relative to ``directory`` (the run directory; absolute without
    it); ``command`` is the command line that made the run; each scenario
    file's copy in the run directory is named under ``copy``. ``model`` is None
    for a study of a run whose model file is no longer where that run recorded it.
    """
    from importlib import metadata

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    def where(path: Path) -> str:
        path = Path(path).resolve()
        if directory is None:
            return str(path)
        try:
            return os.path.relpath(path, Path(directory).resolve())
        except ValueError:  # another drive
            return str(path)

    files = list(scenario_files)
    copies = _copy_names(files)
    return {
        "reformsim": version("reformsim"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": None if command is None else _shell_line(command),
        "paths": "relative to the run directory" if directory is not None else "absolute",
        "model": None if model is None else {"path": where(model), "sha256": sha256(model)},
        "scenario_files": [{"path": where(p), "copy": f"{INPUTS}/{c}", "sha256": sha256(p)}
                           for p, c in zip(files, copies)],
        "method": method, "time_step": time_step, "seed": seed, "members": members,
        "python": sys.version.split()[0],
        "libraries": {p: version(p) for p in ("numpy", "scipy", "pysd", "xarray", "pandas",
                                              "matplotlib", "h5netcdf", "h5py")},
    }


def run_inputs(directory: Path, manifest: Mapping[str, Any]) -> tuple[Path | None, list[Path]]:
    """The model and scenario files a run was made from, as paths usable from here: each path
    its manifest records (relative to the run directory, or absolute in older runs); a
    scenario file that has moved is read from the run's copy (scenarios/). The model is None
    when it is no longer where the manifest says."""
    directory = Path(directory)

    def found(recorded: Any) -> Path | None:
        if not recorded:
            return None
        path = Path(str(recorded))
        path = path if path.is_absolute() else directory / path
        return path if path.is_file() else None

    model = found((manifest.get("model") or {}).get("path"))
    files = []
    for entry in manifest.get("scenario_files") or []:
        path = found(entry.get("path")) or found(entry.get("copy"))
        if path is not None:
            files.append(path)
    return model, files


def _shell_line(command: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(str(part)) for part in command)


def _copy_names(files: Sequence[Path]) -> list[str]:
    """File names for the copies of ``files``: their own, numbered when two share one."""
    names: list[str] = []
    for path in files:
        name = Path(path).name
        if name in names:
            name = f"{len(names) + 1}-{name}"
        names.append(name)
    return names


def copy_inputs(files: Sequence[Path], folder: Path) -> None:
    if not files:
        return
    folder.mkdir()
    for path, name in zip(files, _copy_names(files)):
        shutil.copyfile(path, folder / name)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(dict(data), indent=2, default=str, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
