"""A run as one self-contained HTML page: settings, scenarios, KPI tables, interactive charts.

The page embeds Bokeh's JavaScript inline, so it opens without a network connection and can
be sent by e-mail. ``reformsim run`` writes it into every run directory as ``report.html``;
``reformsim report RUN_DIR`` writes it for an existing run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from . import page
from .charts import make_charts

REPORT = "report.html"   # its name in a run directory


def render_report(ds: xr.Dataset, manifest: Mapping[str, Any], kpis: pd.DataFrame,
                  variables: Sequence[str], title: str | None = None, *,
                  checked: bool = False) -> str:
    """The report of a run as HTML text.

    ``ds`` is a run's Dataset (scenario x sample x time), ``manifest`` what made it,
    ``kpis`` a :func:`reformsim.report.kpis.kpi_table` of it, ``variables`` the charts.
    ``checked`` keeps Bokeh's own checks on (each property's type as it is set, then the
    whole document before it is written): a quarter more time, and the same page
    (tests/test_html_report.py renders both ways and compares them).
    """
    with _bokeh_checks(checked):
        return _render(ds, manifest, kpis, variables, title)


@contextmanager
def _bokeh_checks(on: bool) -> Iterator[None]:
    """Bokeh's property validation and document validation on or off, as documented in
    ``bokeh.core.properties.validate`` and ``bokeh.settings`` (``validate_doc``); restored
    afterwards. Both are checks of code that builds models, which the tests keep on."""
    from bokeh.core.properties import validate
    from bokeh.settings import settings

    setting = settings.perform_document_validation
    value, provenance = setting.get_value_with_provenance()
    setting.set_value(on and value)
    try:
        with validate(on):
            yield
    finally:
        if provenance.name == "USER_SET":
            setting.set_value(value)
        else:
            setting.unset_value()


def _render(ds: xr.Dataset, manifest: Mapping[str, Any], kpis: pd.DataFrame,
            variables: Sequence[str], title: str | None) -> str:
    from bokeh.document import Document
    from bokeh.embed import file_html
    from bokeh.resources import INLINE
    from jinja2 import Template

    variables = list(dict.fromkeys(variables))
    title = title or _title(ds, manifest)
    charts = make_charts(ds, variables)
    intro = (page.settings(ds, manifest) + page.scenarios(ds) + page.summary(kpis, variables)
             + page.charts_intro(ds.sizes["sample"] > 1, len(charts.shown), ds.sizes["scenario"]))
    parts = [{"html": intro, "root": "controls"}]
    table = ""   # each chart is followed by its KPI table
    for variable in variables:
        parts.append({"html": table + page.variable_intro(ds, variable),
                      "root": f"chart:{variable}"})
        table = page.variable_table(kpis, variable)
    parts.append({"html": table, "root": None})
    document = Document()
    with document.models.freeze():   # one walk over the models, not one per root
        for root in (charts.controls, *charts.charts.values()):
            document.add_root(root)
    return file_html(document, resources=INLINE, title=title, template=Template(page.TEMPLATE),
                     template_variables={"css": page.CSS, "parts": parts,
                                         "sort_script": page.SORT_SCRIPT,
                                         "header": page.header(ds, manifest, title),
                                         "footer": page.footer()})


def write_report(path: Path, ds: xr.Dataset, manifest: Mapping[str, Any], kpis: pd.DataFrame,
                 variables: Sequence[str], title: str | None = None, *,
                 checked: bool = False) -> Path:
    """Write :func:`render_report` to ``path`` (through a temporary file: never half written)."""
    path = Path(path)
    text = render_report(ds, manifest, kpis, variables, title, checked=checked)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _title(ds: xr.Dataset, manifest: Mapping[str, Any]) -> str:
    model = manifest.get("model") or {}
    name = Path(str(model.get("path", "") if isinstance(model, Mapping) else model)).stem
    name = name or Path(str(ds.attrs.get("model", ""))).stem or "model"
    files = [Path(str(f.get("path", "") if isinstance(f, Mapping) else f)).stem
             for f in manifest.get("scenario_files") or []]
    return f"{name}: {', '.join(files)}" if files else name
