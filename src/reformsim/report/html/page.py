"""The text of the HTML report: what was run, the scenarios, the KPI tables, the documentation.

Every piece of text that comes from a model, a scenario file or a manifest is escaped here;
the page template (``TEMPLATE``) places these pieces around the Bokeh charts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..kpis import resolve_baseline

# Bokeh's own page template, extended: our styles in the head, our sections around the charts.
TEMPLATE = """{% extends base %}
{% block postamble %}<style>{{ css }}</style>{% endblock %}
{% block contents %}
<main>
{{ header }}
{% for part in parts %}{{ part.html }}{% if part.root %}{{ embed(roots[part.root]) }}{% endif %}
{% endfor %}
{{ footer }}
</main>
<script>{{ sort_script }}</script>
{% endblock %}
"""
# Click a column's heading to sort a KPI table by it (again: the other way round).
SORT_SCRIPT = """
document.querySelectorAll("table.sortable tr:first-child th").forEach((th, col) => {
  th.style.cursor = "pointer";
  th.title = "sort by this column";
  th.addEventListener("click", () => {
    const rows = [...th.closest("table").querySelectorAll("tr")].slice(1);
    const key = (row) => {
      const text = row.children[col].innerText.split("\\n")[0].replace(/,/g, "");
      const value = parseFloat(text);
      return isNaN(value) ? text : value;
    };
    const down = th.dataset.order !== "down";
    th.dataset.order = down ? "down" : "up";
    rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (down ? -1 : 1));
    rows.forEach((row) => row.parentNode.appendChild(row));
  });
});
"""

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 18px 28px 40px; }
h1 { font-size: 1.7em; margin: 0.2em 0; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
h3 { margin: 1.6em 0 0.2em; } .sub { color: #555; margin: 0; }
.doc { color: #444; margin: 0.2em 0 0.6em; max-width: 60em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.93em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e3e3; text-align: left;
         vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
tr.base td { font-weight: 600; } .range { color: #666; font-size: 0.88em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 18px; }
dt { color: #555; } dd { margin: 0; } code { font-size: 0.95em; }
.wide { overflow-x: auto; } .wide table { font-size: 0.85em; width: 100%; }
.note { color: #555; font-size: 0.93em; }
footer { margin-top: 3em; color: #777; font-size: 0.9em; }
"""
MANY_ROWS = 12   # a longer table is folded away (<details>)
# manifest entries shown in their own way (or, for "paths", a note about the manifest itself)
SHOWN_APART = ("model", "scenario_files", "libraries", "reformsim", "created", "paths")


def decimals(values: Iterable[float], digits: int = 3) -> int:
    """Decimals that show about ``digits`` significant digits of the largest value."""
    finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
    return min(6, max(0, digits - 1 - math.floor(math.log10(max(finite))))) if finite else 2


def number(value: float, places: int | None = None, sign: str = "") -> str:
    """``value`` with ``places`` decimals (default: about three significant digits),
    thousands separated, never in exponent form; "–" when not finite."""
    if value is None or not math.isfinite(value):
        return "–"
    places = decimals([value]) if places is None else places
    return f"{round(value, places) + 0.0:{sign},.{places}f}"    # + 0.0: no "-0.00"


def when(value: float) -> str:
    """A time as written in a model: 2025, 2025.5, 60."""
    return "–" if value is None or not math.isfinite(value) else f"{value:g}"


def percent(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{round(value, 1) + 0.0:+.1f}%"


def header(ds: xr.Dataset, manifest: Mapping[str, Any], title: str) -> str:
    scenarios, samples = ds.sizes["scenario"], ds.sizes["sample"]
    what = f"{scenarios} scenario{'s' * (scenarios != 1)}" + \
        (f" × {samples} uncertainty samples" if samples > 1 else "")
    created = str(manifest.get("created", ""))[:16].replace("T", " ")
    bits = [what, f"run {created} UTC" if created else "",
            f"reformsim {manifest['reformsim']}" if "reformsim" in manifest else ""]
    return (f"<header><h1>{escape(title)}</h1>"
            f"<p class='sub'>{escape(' · '.join(b for b in bits if b))}</p></header>")


def settings(ds: xr.Dataset, manifest: Mapping[str, Any]) -> str:
    """What was run: model, scenario files, method, step, seed, members, uncertain parameters."""
    rows: list[tuple[str, str]] = []
    model = manifest.get("model") or {}
    if model:
        rows.append(("model", _file(model)))
    files = manifest.get("scenario_files") or []
    if files:
        rows.append(("scenario files", "<br>".join(_file(f) for f in files)))
    for key, value in manifest.items():
        if key not in SHOWN_APART and isinstance(value, (str, int, float)) and value != "":
            rows.append((key.replace("_", " "), f"<code>{escape(str(value))}</code>"))
    for name in ds.data_vars:
        if str(name).startswith("param:"):
            draws = ds[name].values.astype(float)
            rows.append((f"uncertain: {escape(str(name)[6:])}",
                         f"{number(float(draws.min()))} to {number(float(draws.max()))} "
                         f"over {len(draws)} samples"))
    libraries = manifest.get("libraries") or {}
    if libraries:
        rows.append(("libraries", escape(", ".join(f"{k} {v}" for k, v in libraries.items()))))
    items = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f"<section id='run'><h2>What was run</h2><dl>{items}</dl></section>"


def _file(entry: Any) -> str:
    if not isinstance(entry, Mapping):
        return f"<code>{escape(str(entry))}</code>"
    path = str(entry.get("path", ""))
    digest = str(entry.get("sha256", ""))[:12]
    return f"<code>{escape(Path(path).name or path)}</code>" + \
        (f" <span class='range'>sha256 {escape(digest)}…</span>" if digest else "")


def scenarios(ds: xr.Dataset) -> str:
    base = resolve_baseline(ds)
    coords = {key: ds[key].values if key in ds.coords else [""] * ds.sizes["scenario"]
              for key in ("label", "description", "change_start")}
    rows = []
    for i, name in enumerate(map(str, ds["scenario"].values)):
        start = coords["change_start"][i]
        start_text = when(float(start)) if isinstance(start, (float, np.floating)) else ""
        mark = " <span class='range'>the baseline</span>" if name == base else ""
        rows.append(f"<tr{' class=base' if mark else ''}><td>{escape(str(coords['label'][i]))}"
                    f"</td><td><code>{escape(name)}</code>{mark}</td>"
                    f"<td>{escape(str(coords['description'][i]))}</td>"
                    f"<td class='n'>{escape(start_text)}</td></tr>")
    head = ("<tr><th>scenario</th><th>name in the file</th><th>what it changes</th>"
            "<th class='n'>changes start</th></tr>")
    table = _folded(f"<table>{head}{''.join(rows)}</table>", len(rows), "scenarios")
    return f"<section id='scenarios'><h2>Scenarios</h2>{table}</section>"


def summary(kpis: pd.DataFrame, variables: Sequence[str]) -> str:
    """One row per scenario, one column per variable: the median at the last KPI time, and
    its change from the baseline."""
    if kpis.empty:
        return ""
    year = float(kpis["year"].max())
    at = kpis[kpis["year"] == year]
    shown = [v for v in variables if v in set(at["variable"])]
    places = {v: decimals(at.loc[at["variable"] == v, "value"]) for v in shown}
    heads = "".join(f"<th class='n'>{escape(v)}</th>" for v in shown)
    rows = []
    for (scenario, label), group in at.groupby(["scenario", "label"], sort=False):
        by_var = group.set_index("variable")
        cells = "".join(_summary_cell(by_var.loc[v], places[v]) for v in shown)
        rows.append(f"{_row_start(group, scenario)}<td>{escape(str(label))}</td>{cells}</tr>")
    return (f"<section id='kpis'><h2>Key results at {when(year)}</h2>"
            "<p class='note'>Median over samples; below it, the change from the baseline "
            "scenario in per cent. Each chart below has the full table.</p>"
            f"<div class='wide'><table class='sortable'><tr><th>scenario</th>{heads}</tr>"
            f"{''.join(rows)}</table></div></section>")


def _row_start(group: pd.DataFrame, scenario: str) -> str:
    return "<tr class='base'>" if str(group["baseline"].iloc[0]) == scenario else "<tr>"


def _summary_cell(row: pd.Series, places: int) -> str:
    change = percent(row["delta_pct"]) if math.isfinite(row["delta_pct"]) else \
        number(row["delta"], places, "+")
    change = "" if row["scenario"] == row["baseline"] else \
        f"<br><span class='range'>{change}</span>"
    return f"<td class='n'>{number(row['value'], places)}{change}</td>"


def variable_intro(ds: xr.Dataset, variable: str) -> str:
    """A chart's heading and the model's documentation of its variable."""
    units = str(ds[variable].attrs.get("units", ""))
    doc = " ".join(str(ds[variable].attrs.get("description", "")).split())
    return (f"<h3 id='{escape(_anchor(variable))}'>{escape(variable)}"
            f"{f' <span class=range>[{escape(units)}]</span>' if units else ''}</h3>"
            + (f"<p class='doc'>{escape(doc)}</p>" if doc else ""))


def variable_table(kpis: pd.DataFrame, variable: str) -> str:
    """The KPI table of one variable: value (5-95%), change and change in % at each time."""
    rows = kpis[kpis["variable"] == variable]
    if rows.empty:
        return ""
    years = list(dict.fromkeys(rows["year"]))
    places = decimals(rows["value"])
    heads = "".join(f"<th class='n'>{when(y)}</th><th class='n'>Δ</th><th class='n'>Δ%</th>"
                    for y in years)
    body = []
    for (scenario, label), group in rows.groupby(["scenario", "label"], sort=False):
        at = group.set_index("year")
        cells = "".join(_kpi_cells(at.loc[y], places) for y in years)
        body.append(f"{_row_start(group, scenario)}<td>{escape(str(label))}</td>{cells}</tr>")
    return _folded(f"<table class='sortable'><tr><th>scenario</th>{heads}</tr>{''.join(body)}"
                   "</table>", len(body), "scenarios in a table")


def _folded(table: str, rows: int, what: str) -> str:
    """A long table folded away behind a line that says what it holds."""
    if rows <= MANY_ROWS:
        return table
    return f"<details><summary>The {rows} {what}</summary>{table}</details>"


def _kpi_cells(row: pd.Series, places: int) -> str:
    spread = (f"<br><span class='range'>{number(row['p5'], places)} to "
              f"{number(row['p95'], places)}</span>") if "p5" in row else ""
    same = row["scenario"] == row["baseline"]
    return (f"<td class='n'>{number(row['value'], places)}{spread}</td>"
            f"<td class='n'>{'' if same else number(row['delta'], places, '+')}</td>"
            f"<td class='n'>{'' if same else percent(row['delta_pct'])}</td>")


def charts_intro(uncertain: bool, shown: int, total: int) -> str:
    lines = ["Hover over a line for its values. Tick or untick a scenario to show or hide it "
             "in every chart; drag the years slider to zoom all charts in time."]
    if uncertain:
        lines.append("Lines are medians over the samples; shaded bands hold the middle 50% and "
                     "90% of them.")
    if shown < total:
        lines.append(f"{shown} of {total} scenarios are shown to start with: the baseline and "
                     "the highest and lowest on the first chart at the end.")
    return ("<section id='charts'><h2>Trajectories</h2>"
            f"<p class='note'>{escape(' '.join(lines))}</p></section>")


def footer() -> str:
    return ("<footer>Written by reformsim. This page is self-contained: its charts (Bokeh) are "
            "embedded and it opens without a network connection.</footer>")


def _anchor(variable: str) -> str:
    return "v-" + "".join(c if c.isalnum() else "-" for c in variable.lower())
