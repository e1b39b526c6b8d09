"""The decision analyses' text and run directories: tables in the four formats, JSON as one
document, and a run directory (results.nc, kpis.csv holding the study's table, manifest.json,
figures/ and the study's own files) written atomically through :mod:`.rundir`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .tables import format_table

_NESTED = ("S2", "S2_conf")


def _label(time: Any) -> str:
    return f"{time[0]:g}:{time[1]:g}" if isinstance(time, list | tuple) else f"{time:g}"


def flat(df: pd.DataFrame) -> pd.DataFrame:
    """A study's table for people and spreadsheets: periods as ``start:end`` text, nested
    second-order maps left for JSON."""
    out = df.drop(columns=[c for c in _NESTED if c in df.columns])
    if "time" in out.columns:
        out = out.assign(time=[_label(t) for t in out["time"]])
    return out


def second_order(df: pd.DataFrame) -> pd.DataFrame:
    """Sobol second-order indices as rows: output, time, pair, S2, S2_conf (each pair once)."""
    rows = []
    if "S2" not in df.columns:
        return pd.DataFrame(rows)
    for r in df.itertuples(index=False):
        for other, value in r.S2.items():
            if r.parameter < other:
                rows.append({"output": r.output, "time": _label(r.time),
                             "pair": f"{r.parameter} x {other}", "S2": value,
                             "S2_conf": r.S2_conf.get(other, np.nan)})
    return pd.DataFrame(rows)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value.item() if isinstance(value, np.generic) else value


def to_json(document: Any) -> str:
    """One JSON document (NaN -> null)."""
    return json.dumps(_plain(document), indent=2, ensure_ascii=False) + "\n"


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [_plain(row) for row in df.to_dict("records")]


def format_records(df: pd.DataFrame, fmt: str) -> str:
    """A study's long table: JSON records as they are, else :func:`flat` through
    :func:`reformsim.report.tables.format_table` (plus second-order rows when present)."""
    if fmt == "json":
        return to_json(records(df))
    text = format_table(flat(df), fmt)
    pairs = second_order(df)
    if len(pairs):
        text += ("\n" if fmt != "csv" else "\n") + format_table(pairs, fmt)
    return text


def format_document(document: Mapping[str, Any], tables: Sequence[tuple[str, pd.DataFrame]],
                    fmt: str, notes: Sequence[str] = ()) -> str:
    """A study with one JSON document: JSON prints it; the others print each table (titled
    in table and markdown), then the notes."""
    if fmt == "json":
        return to_json(document)
    parts = []
    for title, table in tables:
        body = format_table(table, fmt)
        parts.append(body if fmt == "csv" else
                     (f"## {title}\n\n" if fmt == "markdown" else f"{title}\n") + body)
    if fmt != "csv":
        parts += [f"{n}\n" for n in notes]
    return "\n".join(parts)


def write_study(staging: Any, *, model: Path | None, scenario_files: Sequence[Path],
                dataset: Any, table: pd.DataFrame, figures: Mapping[str, Any],
                files: Mapping[str, str], analysis: Mapping[str, Any], method: str,
                seed: int | None, time_step: float,
                command: Sequence[str] | None = None) -> Path:
    """Write a study's run directory into ``staging`` (reserved by ``rundir.prepare`` before
    the study ran), as ``reformsim run`` writes one: the manifest's paths relative to the run,
    the command line, the scenario files copied into scenarios/. ``figures`` maps file names
    to Figures, ``files`` file names to text."""
    from .figures import save_figure
    from .rundir import make_manifest

    members = int(np.prod([dataset.sizes[d] for d in ("scenario", "sample")
                           if d in dataset.sizes]))
    manifest = make_manifest(model, scenario_files, method=method, time_step=time_step,
                             seed=seed, members=members, directory=staging.target,
                             command=command)
    manifest["analysis"] = _plain(dict(analysis))
    return staging.write(dataset, flat(table), manifest,
                         {n: (lambda p, f=f: save_figure(f, p)) for n, f in figures.items()},
                         scenario_files,
                         {n: (lambda p, t=t: Path(p).write_text(t, encoding="utf-8"))
                          for n, t in files.items()})
