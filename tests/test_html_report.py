"""The HTML report (report/html/): its text, its Bokeh charts, and how run and report write it.

What the page does in a browser (toggling, hovering, the years slider) is checked in
tests/test_browser.py; here the page's content and its models are read in Python.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from reformsim.cli import main
from reformsim.report.html import REPORT, page, render_report
from reformsim.report.html import charts as html_charts
from reformsim.report.kpis import kpi_table
from reformsim.report.rundir import make_manifest
from reformsim.report.runs import default_years, simulate_scenarios

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "models" / "examples"   # the tutorial of docs/scenarios.md
ROADMAP = ROOT / "tests" / "models" / "roadmap.mdl"


@pytest.fixture(scope="module")
def uncertain():
    """models/examples/roadmap_uncertain.yaml: two scenarios x 16 samples, its manifest, KPIs."""
    files = [EXAMPLES / "roadmap_uncertain.yaml"]
    run = simulate_scenarios(ROADMAP, files)
    manifest = make_manifest(ROADMAP, files, method="euler", time_step=run.time_step, seed=7,
                             members=32)
    kpis = kpi_table(run.dataset, run.variables, default_years(run.dataset))
    return run, manifest, kpis


@pytest.fixture(scope="module")
def html(uncertain) -> str:
    run, manifest, kpis = uncertain
    return render_report(run.dataset, manifest, kpis, run.variables)


def _ids_in_order(html: str) -> str:
    """The page with Bokeh's generated ids (``p1234``, UUIDs) numbered in order of appearance:
    two builds of one page differ only in those."""
    seen: dict[str, str] = {}
    pattern = r"\bp\d{4,}\b|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    return re.sub(pattern, lambda m: seen.setdefault(m.group(), f"id{len(seen)}"), html)


def test_page_built_without_bokehs_checks_is_the_checked_page(html, uncertain, caplog):
    """The report is built with Bokeh's property and document validation off (about a
    quarter of its time); built with them on, Bokeh finds nothing to report and writes the
    same page."""
    from bokeh.core.property.bases import validation_on
    from bokeh.settings import settings

    run, manifest, kpis = uncertain
    with caplog.at_level("WARNING"):
        checked = render_report(run.dataset, manifest, kpis, run.variables, checked=True)
    assert not [r for r in caplog.records if r.name.startswith("bokeh")]
    assert _ids_in_order(checked) == _ids_in_order(html)
    assert validation_on() and settings.perform_document_validation()  # both switches restored


def test_page_needs_no_network(html):
    """Bokeh's JavaScript is inline: no script or stylesheet is fetched from anywhere."""
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert "cdn.bokeh.org" not in html
    assert "Bokeh.embed.embed_items" in html


def test_page_says_what_was_run(html, uncertain):
    run, manifest, _ = uncertain
    assert "<h1>roadmap: roadmap_uncertain</h1>" in html
    assert "2 scenarios × 16 uncertainty samples" in html
    assert "roadmap.mdl" in html and manifest["model"]["sha256"][:12] in html
    assert "uncertain.yaml" in html
    draws = run.dataset["param:Trust Adjustment Time"].values
    assert (f"uncertain: Trust Adjustment Time</dt><dd>{page.number(draws.min())} to "
            f"{page.number(draws.max())} over 16 samples") in html


def test_every_variable_has_its_heading_documentation_and_table(html, uncertain):
    run, _, _ = uncertain
    for variable in run.variables:
        doc = " ".join(run.dataset[variable].attrs["description"].split())
        assert f">{variable}" in html
        if doc:
            assert f"<p class='doc'>{page.escape(doc)}</p>" in html


def test_kpi_table_shows_values_and_changes(uncertain):
    run, _, kpis = uncertain
    variable = "Trust in Government"
    table = page.variable_table(kpis, variable)
    row = kpis[(kpis["variable"] == variable) & (kpis["scenario"] == "ict")].iloc[-1]
    places = page.decimals(kpis.loc[kpis["variable"] == variable, "value"])
    assert page.number(row["value"], places) in table
    assert page.number(row["delta"], places, "+") in table
    assert page.percent(row["delta_pct"]) in table
    assert page.number(row["p5"], places) in table and page.number(row["p95"], places) in table


def test_text_from_files_is_escaped(uncertain):
    run, manifest, kpis = uncertain
    ds = run.dataset.assign_coords(description=("scenario", ["<script>alert(1)</script>", "b"]))
    html = render_report(ds, manifest, kpis, run.variables[:1])
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(("value", "places", "sign", "text"), [
    (2045.0, 0, "", "2,045"), (0.98765, None, "", "0.988"), (-0.000004, 3, "+", "+0.000"),
    (123456.7, None, "", "123,457"), (float("nan"), None, "", "–"), (0.05, 2, "+", "+0.05"),
], ids=["thousands", "three-digits", "no-minus-zero", "large", "nan", "signed"])
def test_number(value, places, sign, text):
    assert page.number(value, places, sign) == text


def test_charts_draw_a_line_and_two_bands_per_scenario(uncertain):
    run, _, _ = uncertain
    made = html_charts.make_charts(run.dataset, run.variables)
    assert list(made.charts) == list(run.variables)
    figure = made.charts["Trust in Government"]
    lines = [r for r in figure.renderers if type(r.glyph).__name__ == "Line"]
    areas = [r for r in figure.renderers if type(r.glyph).__name__ == "VArea"]
    assert len(lines) == 2 and len(areas) == 4
    source = lines[1].data_source.data
    expected = np.median(run.dataset["Trust in Government"].sel(scenario="ict").values, axis=0)
    np.testing.assert_allclose(source[lines[1].glyph.y], expected, rtol=1e-6)
    assert set(source["label"]) == {str(run.dataset["label"].sel(scenario="ict").values)}
    lows = run.dataset["Trust in Government"].sel(scenario="ict").quantile(0.05, "sample")
    np.testing.assert_allclose(source[areas[2].glyph.y1], lows.values, rtol=1e-6)
    # a scenario's one data source serves its lines and bands in every chart
    other = made.charts[run.variables[0]]
    assert {r.data_source for r in other.renderers} == {r.data_source for r in figure.renderers}
    assert len({r.data_source for r in figure.renderers}) == 2


def test_one_sample_means_no_bands_and_no_band_toggle(uncertain):
    run, _, _ = uncertain
    ds = run.dataset.isel(sample=[0])
    made = html_charts.make_charts(ds, run.variables)
    kinds = {type(r.glyph).__name__ for f in made.charts.values() for r in f.renderers}
    assert kinds == {"Line"}
    assert not [m for m in made.controls.select({"name": "bands"})]


def _many(count: int) -> xr.Dataset:
    """``count`` scenarios whose one variable ends at 0, 1, ..., count - 1 (baseline: s3)."""
    final = np.arange(count, dtype=float)
    values = np.linspace(0, 1, 5)[None, None, :] * final[:, None, None]
    names = [f"s{i}" for i in range(count)]
    return xr.Dataset({"x": (("scenario", "sample", "time"), values, {"units": "u"})},
                      coords={"scenario": names, "label": ("scenario", names),
                              "sample": [0], "time": np.arange(5.0)},
                      attrs={"baseline": "s3"})


def test_many_scenarios_start_with_the_baseline_and_the_extremes():
    shown = html_charts.initially_shown(_many(20), ["x"])
    assert shown == ("s0", "s1", "s2", "s3", "s4", "s15", "s16", "s17", "s18", "s19")
    assert html_charts.initially_shown(_many(12), ["x"]) == tuple(f"s{i}" for i in range(12))


def test_colours_keep_dark_grey_for_the_baseline_and_repeat_with_another_dash():
    look = html_charts.styles(_many(20))
    assert look["s3"].colour == html_charts.BASELINE_COLOUR
    others = [s for name, s in look.items() if name != "s3"]
    assert [s.colour for s in others[:12]] == list(html_charts.PALETTE)
    assert others[12].colour == others[0].colour and others[12].dash != others[0].dash


# --- the commands ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    result = CliRunner().invoke(main, ["-q", "run", str(EXAMPLES / "roadmap.yaml"), "-o",
                                       str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_run_writes_the_report_into_the_run_directory(run_dir):
    text = (run_dir / REPORT).read_text(encoding="utf-8")
    assert "<h1>roadmap: roadmap</h1>" in text and "Holistic" in text


def test_report_command_refuses_to_overwrite_the_runs_report(run_dir):
    result = CliRunner().invoke(main, ["report", str(run_dir)])
    assert result.exit_code == 1
    assert result.output == (f"Error: {run_dir / REPORT}: already exists\n"
                             "  hint: write the report elsewhere with -o FILE.html\n")


def test_report_command_writes_chosen_variables(run_dir, tmp_path):
    target = tmp_path / "trust.html"
    result = CliRunner().invoke(main, ["report", str(run_dir), "trust in government", "-o",
                                       str(target), "--title", "Trust <only>"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(rf"{re.escape(str(target))} \(\d\.\d MB\)\n", result.output)
    text = target.read_text(encoding="utf-8")
    assert "<h1>Trust &lt;only&gt;</h1>" in text
    assert "<h3 id='v-trust-in-government'>Trust in Government" in text
    assert "<h3 id='v-service-quality'" not in text


def test_report_command_names_an_unknown_variable(run_dir, tmp_path):
    result = CliRunner().invoke(main, ["report", str(run_dir), "Trust in Govt", "-o",
                                       str(tmp_path / "x.html")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: 'Trust in Govt' is not in this run; did you mean "
                                    "'Trust in Government'?")
    assert not (tmp_path / "x.html").exists()
