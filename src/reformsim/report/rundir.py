"""Run directories: results.nc, kpis.csv, manifest.json and figures/, written atomically.

A run directory is built under a hidden temporary name beside its target
and renamed into place only when every file is written, so an interrupted
run leaves no directory that looks whole. An existing directory is never
overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ReformsimError

RESULTS, KPIS, MANIFEST, FIGURES = "results.nc", "kpis.csv", "manifest.json", "figures"
_NAME = "reformsim_name"  # attribute holding a variable's name as written in the model


class RunDirError(ReformsimError):
    """A run directory cannot be written or read."""


def write_run(target: Path, dataset: Any, kpis: Any, manifest: Mapping[str, Any],
              figures: Mapping[str, Callable[[Path], object]] | None = None,
              files: Mapping[str, Callable[[Path], object]] | None = None) -> Path:
    """Write a run directory at ``target`` (which must not exist) and return it.

    ``figures`` maps file names (``lines.png``, ``fan.svg``...) to functions
    that write that file at the path they are given (inside the hidden
    directory, so a figure that fails leaves no run behind). ``files`` does the same for
    files beside results.nc (an analysis's scenario file, its JSON document...).
    """
    target = Path(target)
    if target.exists():
        raise RunDirError(f"{target}: already exists; reformsim never overwrites a run"
                          "\n  hint: choose another output directory with -o")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        _encode(dataset).to_netcdf(partial / RESULTS, engine="scipy")
        kpis.to_csv(partial / KPIS, index=False)
        (partial / FIGURES).mkdir()
        for name, write_figure in (figures or {}).items():
            write_figure(partial / FIGURES / name)
        for name, write_file in (files or {}).items():   # analysis outputs (issue 11)
            write_file(partial / name)
        (partial / MANIFEST).write_text(json.dumps(dict(manifest), indent=2, default=str) + "\n",
                                        encoding="utf-8")
        os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def read_run(directory: Path) -> tuple[Any, dict[str, Any]]:
    """The dataset and manifest of a run directory."""
    import xarray as xr

    directory = Path(directory)
    missing = [n for n in (RESULTS, MANIFEST) if not (directory / n).is_file()]
    if missing:
        raise RunDirError(f"{directory}: not a reformsim run directory (no {', '.join(missing)})"
                          "\n  hint: give a directory written by 'reformsim run'")
    dataset = _decode(xr.load_dataset(directory / RESULTS, engine="scipy"))
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    return dataset, manifest


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_manifest(model: Path, scenario_files: Iterable[Path], *, method: str,
                  time_step: float, seed: int | None, members: int) -> dict[str, Any]:
    """What a run was made from, to reproduce or audit it."""
    from importlib import metadata

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "reformsim": version("reformsim"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"path": str(Path(model).resolve()), "sha256": sha256(model)},
        "scenario_files": [{"path": str(Path(p).resolve()), "sha256": sha256(p)}
                           for p in scenario_files],
        "method": method, "time_step": time_step, "seed": seed, "members": members,
        "python": sys.version.split()[0],
        "libraries": {p: version(p) for p in ("numpy", "scipy", "pysd", "xarray", "pandas",
                                              "matplotlib")},
    }


def _encode(dataset: Any) -> Any:
    """Model names may hold any text: store variables as v0, v1... with the name in an attribute."""
    renamed = {}
    for i, name in enumerate(dataset.data_vars):
        renamed[name] = f"v{i}"
    out = dataset.rename(renamed)
    for name, key in renamed.items():
        out[key].attrs[_NAME] = name
    return out


def _decode(dataset: Any) -> Any:
    names = {key: var.attrs[_NAME] for key, var in dataset.data_vars.items() if _NAME in var.attrs}
    out = dataset.rename(names)
    for name in names.values():
        out[name].attrs.pop(_NAME, None)
    return out
