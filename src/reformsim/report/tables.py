"""KPI tables as text: an aligned table for a terminal, CSV, JSON or Markdown."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from .kpis import AnalysisError

# -- formats ---------------------------------------------------------------------------------

def _format_csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value.item() if isinstance(value, np.generic) else value


def _format_json(df: pd.DataFrame) -> str:
    records = [{str(k): _jsonable(v) for k, v in row.items()} for row in df.to_dict("records")]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


TABLE_WIDTH = 100      # characters: a planner's terminal
_LABEL_WIDTH = 28
_VALUE_COLUMNS = ("value", "p5", "p95")


def _is_kpi_frame(df: pd.DataFrame) -> bool:
    return {"scenario", "label", "variable", "year", "value"} <= set(df.columns)


def _decimals(values: Iterable[float]) -> int:
    """Decimals that show about three significant digits of the largest value."""
    finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
    return min(6, max(0, 2 - math.floor(math.log10(max(finite))))) if finite else 2


def _num(x: float, digits: int, sign: str = "") -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{round(x, digits) + 0.0:{sign},.{digits}f}"      # + 0.0 turns -0.0 into 0.0


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{round(x, 1) + 0.0:+.1f}%"


def _plain_rows(df: pd.DataFrame) -> list[list[str]]:
    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "n/a" if not math.isfinite(v) else f"{v:g}"
        return str(v)
    return [[cell(v) for v in row] for row in df.itertuples(index=False)]


def _aligned(rows: list[list[str]], numeric: list[bool]) -> str:
    """Rows of cells as text: numeric columns right-aligned, the others left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if right else c.ljust(w)
                               for c, w, right in zip(row, widths, numeric)).rstrip()
                      for row in rows)


def _numeric(df: pd.DataFrame) -> list[bool]:
    return [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_WIDTH else label[:_LABEL_WIDTH - 1] + "…"


def _table_notes(df: pd.DataFrame) -> str:
    notes = []
    if "p5" in df.columns:
        notes.append("Values are medians over samples; [a, b]: 5th to 95th percentile.")
    if "delta" in df.columns and len(df):
        base = str(df["baseline"].iloc[0])
        label = df.loc[df["scenario"] == base, "label"]
        shown = str(label.iloc[0]) if len(label) else base
        name = shown if shown.casefold() == base.casefold() else f"{shown} ({base})"
        notes.append(f"Δ: difference from {name}; Δ%: relative to it.")
    return "\n".join(notes)


def _cells(row: Any, digits: int, delta: bool, spread: bool) -> list[str]:
    """value, 5-95% range, Δ, Δ% of one row of a KPI frame (as present)."""
    cells = [_num(row.value, digits)]
    if spread:
        cells.append(f"[{_num(row.p5, digits)}, {_num(row.p95, digits)}]")
    if delta:
        is_base = row.scenario == row.baseline
        cells += ["", ""] if is_base else [_num(row.delta, digits, "+"), _pct(row.delta_pct)]
    return cells


def _year_group(rows: pd.DataFrame, digits: int) -> list[list[str]]:
    """Columns (header first) for one year of one variable: value [, Δ, Δ%]."""
    delta, spread = "delta" in rows.columns, "p5" in rows.columns
    columns: list[list[str]] = [["value"]] + ([["Δ"], ["Δ%"]] if delta else [])
    for row in rows.itertuples(index=False):
        cells = _cells(row, digits, delta, spread)
        main = [cells[0]] + cells[1 + spread:]
        for column, cell in zip(columns, main):
            column.append(cell)
        if spread:                                  # a second line: the range under the value
            for column, cell in zip(columns, [cells[1]] + [""] * (len(columns) - 1)):
                column.append(cell)
    return columns


def _widths(year: str, columns: list[list[str]]) -> list[int]:
    """Column widths of one year group, the first widened so the year heading fits."""
    widths = [max(map(len, column)) for column in columns]
    widths[0] += max(0, len(year) + 2 - (sum(widths) + 2 * (len(widths) - 1)))
    return widths


def _render_chunk(labels: list[str], groups: list[tuple[str, list[list[str]]]]) -> str:
    label_width = max(map(len, labels))
    head, body = [" " * label_width], [[label.ljust(label_width)] for label in labels]
    for year, columns in groups:
        widths = _widths(year, columns)
        head.append(f" {year} ".center(sum(widths) + 2 * (len(widths) - 1), "─"))
        for r, line in enumerate(body):
            line.append("  ".join(column[r].rjust(w) for column, w in zip(columns, widths)))
    return "\n".join("   ".join(line).rstrip() for line in [head] + body)


def _group_width(group: tuple[str, list[list[str]]]) -> int:
    widths = _widths(*group)
    return sum(widths) + 2 * (len(widths) - 1) + 3


def _variable_block(block: pd.DataFrame) -> str:
    """One variable: a title, then scenarios down and years across, wrapped at TABLE_WIDTH."""
    units = str(block["units"].iloc[0])
    title = f"{block['variable'].iloc[0]}" + (f" [{units}]" if units else "")
    digits = _decimals(block[[c for c in _VALUE_COLUMNS if c in block.columns]].values.ravel())
    spread = "p5" in block.columns
    labels = ["scenario"]
    for label in dict.fromkeys(zip(block["scenario"], block["label"])):
        labels += [_short(str(label[1]))] + (["  5–95%"] if spread else [])
    groups = [(f"{year:g}", _year_group(block[block["year"] == year], digits))
              for year in dict.fromkeys(block["year"])]
    chunks: list[list[tuple[str, list[list[str]]]]] = [[]]
    used = max(map(len, labels))
    for group in groups:
        if chunks[-1] and used + _group_width(group) > TABLE_WIDTH:
            chunks.append([])
            used = max(map(len, labels))
        chunks[-1].append(group)
        used += _group_width(group)
    return "\n\n".join([title + "\n" + _render_chunk(labels, chunks[0])]
                        + [_render_chunk(labels, chunk) for chunk in chunks[1:]])


def _wide_markdown(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Scenarios down; per variable and year a value column, then range, Δ and Δ% as present."""
    delta, spread = "delta" in df.columns, "p5" in df.columns
    header = ["scenario"]
    rows = {scenario: [str(label)] for scenario, label in zip(df["scenario"], df["label"])}
    for _, block in df.groupby("variable", sort=False):
        units = str(block["units"].iloc[0])
        name = f"{block['variable'].iloc[0]}" + (f" [{units}]" if units else "")
        digits = _decimals(block[[c for c in _VALUE_COLUMNS if c in block.columns]].values.ravel())
        for year in dict.fromkeys(block["year"]):
            header += [f"{name} {year:g}"] + ["5–95%"] * spread + ["Δ", "Δ%"] * delta
            for row in block[block["year"] == year].itertuples(index=False):
                rows[row.scenario] += _cells(row, digits, delta, spread)
    return header, list(rows.values())


def _format_table(df: pd.DataFrame) -> str:
    if not _is_kpi_frame(df):
        return _aligned([list(map(str, df.columns))] + _plain_rows(df), _numeric(df)) + "\n"
    notes = _table_notes(df)
    blocks = [_variable_block(block) for _, block in df.groupby("variable", sort=False)]
    return "\n\n".join(([notes] if notes else []) + blocks) + "\n"


def _format_markdown(df: pd.DataFrame) -> str:
    if _is_kpi_frame(df):
        header, rows = _wide_markdown(df)
        numeric = [False] + [True] * (len(header) - 1)
    else:
        header, rows, numeric = list(map(str, df.columns)), _plain_rows(df), _numeric(df)
    escaped = [[cell.replace("|", "\\|") for cell in row] for row in [header] + rows]
    lines = ["| " + " | ".join(row) + " |" for row in escaped]
    lines.insert(1, "|" + "|".join("---:" if right else "---" for right in numeric) + "|")
    return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[pd.DataFrame], str]] = {
    "table": _format_table, "csv": _format_csv, "json": _format_json, "markdown": _format_markdown,
}


def format_table(df: pd.DataFrame, fmt: str = "table") -> str:
    """Render a table from this module as text: table (for people), csv, json (records), markdown.

    ``table`` and ``markdown`` turn a ``kpi_table``/``values_at`` frame into one block or
    column group per variable and year; any other frame is shown as it is.
    """
    try:
        render = FORMATS[fmt]
    except KeyError:
        raise AnalysisError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}") from None
    return render(df)
