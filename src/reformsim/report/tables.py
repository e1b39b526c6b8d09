"""KPI tables as text: an aligned table for a terminal, CSV, JSON or Markdown."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import did_you_mean
from .kpis import AnalysisError
from .labels import short_labels

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


# -- choosing and ordering rows -----------------------------------------------------------------

SUMMARY_ROWS = 10      # scenarios shown besides the baseline when a run holds many more
SCREEN_LINES = 50      # lines of a KPI table a terminal shows at once


def rank(df: pd.DataFrame, by: str | None = None, *, at: float | None = None,
         ascending: bool = False) -> pd.DataFrame:
    """A KPI frame with its scenarios in order of ``by``'s median at ``at`` (default: the
    last time shown), highest first (lowest first with ``ascending``); the baseline first.

    ``by`` defaults to the frame's first variable; its block comes first too.
    """
    variables = list(dict.fromkeys(df["variable"]))
    by = _known_variable(by, variables) if by is not None else variables[0]
    at = float(df["year"].max()) if at is None else at
    key = df[(df["variable"] == by) & (df["year"] == at)].set_index("scenario")["value"]
    order = key.sort_values(ascending=ascending, na_position="last", kind="stable").index.tolist()
    base = str(df["baseline"].iloc[0]) if "baseline" in df.columns and len(df) else None
    if base in order and df["baseline"].nunique() == 1:
        order = [base] + [s for s in order if s != base]
    place = {s: i for i, s in enumerate(order)}
    block = {v: i for i, v in enumerate([by] + [v for v in variables if v != by])}
    ranked = df.assign(_block=df["variable"].map(block), _place=df["scenario"].map(place))
    out = ranked.sort_values(["_block", "_place"], kind="stable") \
        .drop(columns=["_block", "_place"]).reset_index(drop=True)
    out.attrs["ranked"] = True
    return out


def _known_variable(name: str, variables: list[str]) -> str:
    folded = {" ".join(v.split()).casefold(): v for v in variables}
    found = folded.get(" ".join(name.split()).casefold())
    if found is None:
        hint = did_you_mean(name, variables) or f"the table holds {variables}"
        raise AnalysisError(f"cannot sort by {name!r}: it is not in the table; {hint}")
    return found


def ranked_if_many(df: pd.DataFrame, rows: int = SUMMARY_ROWS) -> pd.DataFrame:
    """``df`` ranked by its first variable when it holds more scenarios than ``summarise``
    shows (the best then come first), as it is otherwise (or when already ranked)."""
    if df["scenario"].nunique() <= rows + 2 or df.attrs.get("ranked"):
        return df
    return rank(df)


def summarise(df: pd.DataFrame, rows: int = SUMMARY_ROWS) -> tuple[pd.DataFrame, str]:
    """The baseline and the first ``rows`` other scenarios of a (ranked) KPI frame, and a note
    saying what was left out; the frame as it is when it holds few more than that."""
    scenarios = list(dict.fromkeys(df["scenario"]))
    if len(scenarios) <= rows + 2:
        return df, ""
    base = str(df["baseline"].iloc[0]) if "baseline" in df.columns else scenarios[0]
    kept = ([base] if base in scenarios else []) + [s for s in scenarios if s != base][:rows]
    first = df["variable"].iloc[0]
    at = float(df["year"].max())
    note = (f"{len(kept)} of {len(scenarios)} scenarios shown: "
            f"{'the baseline and ' * (base in kept)}the first {rows} by {first} at {at:g}; "
            "--all shows every one.")
    return df[df["scenario"].isin(kept)].reset_index(drop=True), note


def for_files(df: pd.DataFrame, time_name: str = "year", digits: int = 6) -> pd.DataFrame:
    """A KPI frame as files and programs read it: the time column named ``time_name`` (the
    model's time unit), values rounded to ``digits`` significant digits of each variable's
    largest value, and deltas to the same decimals, so that float noise such as -4.7e-07
    on a value near 1 reads 0."""
    if not _is_kpi_frame(df):
        return df
    out = df.copy()
    values = [c for c in (*_VALUE_COLUMNS, "delta") if c in out.columns]
    scale = out[[c for c in _VALUE_COLUMNS if c in out.columns]].abs().groupby(
        out["variable"]).transform("max").max(axis=1)
    with np.errstate(divide="ignore"):
        decimals = (digits - 1 - np.floor(np.log10(scale.where(scale > 0, 1.0)))).astype(int)
    factor = 10.0 ** decimals.to_numpy()
    for column in values:       # as np.round does it, with decimals that differ by row
        out[column] = np.round(out[column].to_numpy(dtype=float) * factor) / factor + 0.0
    if "delta_pct" in out.columns:
        out["delta_pct"] = out["delta_pct"].astype(float).round(3) + 0.0
    return out.rename(columns={"year": time_name})


TABLE_WIDTH = 100      # characters: a planner's terminal
LABEL_WIDTH = 34     # characters of a scenario's label in a table
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


def _short_labels(df: pd.DataFrame) -> dict[str, str]:
    """Each scenario's label, shortened to LABEL_WIDTH and told apart (labels.short_labels)."""
    pairs = dict(zip(df["scenario"].astype(str), df["label"].astype(str)))
    return dict(zip(pairs, short_labels(list(pairs.values()), LABEL_WIDTH)))


def _table_notes(df: pd.DataFrame) -> str:
    notes = []
    if "p5" in df.columns:
        notes.append("Values are medians over samples; [a, b]: 5th to 95th percentile.")
    if "delta" in df.columns and len(df):
        notes.append(f"Δ: difference from {_baseline_name(df)}; Δ%: relative to it.")
    return "\n".join(notes)


def _baseline_name(df: pd.DataFrame) -> str:
    """What the deltas of a KPI frame are taken against, as a reader knows it: the baseline's
    label (with its name only when the label does not say it)."""
    bases = list(dict.fromkeys(df["baseline"].astype(str)))
    if "run" in df.columns:
        return f"the same scenario in run {df['run'].iloc[0]}"
    if len(bases) > 1:
        return "the row named in its baseline column"
    base = bases[0]
    label = df.loc[df["scenario"] == base, "label"]
    shown = str(label.iloc[0]) if len(label) else base
    return shown if base.casefold() in shown.casefold() else f"{shown} ({base})"


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


def _variable_block(block: pd.DataFrame, short: dict[str, str]) -> str:
    """One variable: a title, then scenarios down and years across, wrapped at TABLE_WIDTH."""
    units = str(block["units"].iloc[0])
    title = f"{block['variable'].iloc[0]}" + (f" [{units}]" if units else "")
    digits = _decimals(block[[c for c in _VALUE_COLUMNS if c in block.columns]].values.ravel())
    spread = "p5" in block.columns
    labels = ["scenario"]
    for scenario in dict.fromkeys(block["scenario"].astype(str)):
        labels += [short[scenario]] + (["  5–95%"] if spread else [])
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


def _format_table(df: pd.DataFrame, lines: int | None = None) -> str:
    """Aligned text; a KPI frame as one block per variable, as many as fit in ``lines``."""
    if not _is_kpi_frame(df):
        return _aligned([list(map(str, df.columns))] + _plain_rows(df), _numeric(df)) + "\n"
    notes = _table_notes(df)
    short = _short_labels(df)
    out = [notes] if notes else []
    used = len(out[0].splitlines()) + 1 if out else 0
    variables = list(dict.fromkeys(df["variable"]))
    for n, (_, block) in enumerate(df.groupby("variable", sort=False)):
        text = _variable_block(block, short)
        height = len(text.splitlines()) + 1
        if lines is not None and n > 0 and used + height + 2 > lines:
            rest = variables[n:]
            out.append(f"{len(rest)} more variable{'s' * (len(rest) > 1)} not shown "
                       f"({_some(rest)}); --all shows every one, --var NAME one of them.")
            break
        out.append(text)
        used += height
    return "\n\n".join(out) + "\n"


def _some(names: list[str], most: int = 3) -> str:
    return ", ".join(names[:most]) + (", …" if len(names) > most else "")


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


def format_table(df: pd.DataFrame, fmt: str = "table", *, lines: int | None = None) -> str:
    """Render a table from this module as text: table (for people), csv, json (records), markdown.

    ``table`` and ``markdown`` turn a ``kpi_table``/``values_at`` frame into one block or
    column group per variable and year; any other frame is shown as it is. With ``lines``,
    ``table`` stops before the block that would pass that many lines, and says so.
    """
    try:
        render = FORMATS[fmt]
    except KeyError:
        raise AnalysisError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}") from None
    return _format_table(df, lines) if fmt == "table" else render(df)
