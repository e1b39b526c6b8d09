"""The HTML report and the live explorer in a real browser: headless Chromium from the OS
packages, driven by Playwright (never Playwright's own browser download).

Skipped where Playwright or Chromium is missing (``apt-get install chromium``; .ci/run
installs it). One browser and one explorer server serve the whole session; each test gets
a fresh page. What changed on screen is checked twice: in the page's Bokeh models, and in
the pixels of the chart.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install chromium)")

# As this machine's notes give them: root needs --no-sandbox; without the background-networking
# flags Chromium keeps calling out to hosts a closed network refuses.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]
REFORM = ROOT / "models" / "reform.mdl"
ROADMAPS = ROOT / "scenarios" / "reform_roadmaps.yaml"
UNCERTAIN = ROOT / "models" / "examples" / "roadmap_uncertain.yaml"
KPIS = ("Service quality", "Trust", "Composite outcome", "Access vulnerable")
TIMEOUT = 60_000   # ms: a shared machine can be slow; nothing here is timed


@pytest.fixture(scope="session")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def explorer_url():
    """The shipped reform model and roadmaps, served once for every test."""
    import reformsim
    from reformsim.explore.server import Running
    from reformsim.explore.session import Explorer

    explorer = Explorer(reformsim.load_model(REFORM), reformsim.load_scenarios([ROADMAPS]),
                        kpis=KPIS)
    with Running(explorer) as running:
        yield running.url


@pytest.fixture(scope="session")
def report_path(tmp_path_factory) -> Path:
    """The report of models/examples/roadmap_uncertain.yaml: scenarios 'status quo' and 'ict'."""
    from reformsim.report.html import write_report
    from reformsim.report.kpis import kpi_table
    from reformsim.report.rundir import make_manifest
    from reformsim.report.runs import default_years, simulate_scenarios

    run = simulate_scenarios(ROOT / "tests" / "models" / "roadmap.mdl", [UNCERTAIN])
    manifest = make_manifest(run.model, run.scenario_files, method="euler",
                             time_step=run.time_step, seed=7, members=32)
    kpis = kpi_table(run.dataset, run.variables, default_years(run.dataset))
    return write_report(tmp_path_factory.mktemp("report") / "report.html", run.dataset,
                        manifest, kpis, run.variables)


@pytest.fixture
def page(browser):
    """A new tab (1280 x 800) that records every request and every script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT)
    tab.requests, tab.errors = [], []
    tab.on("request", lambda request: tab.requests.append(request.url))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()
    assert tab.errors == []


def _model(page, name: str, path: str):
    """A property of the page's Bokeh model called ``name``, read in the browser."""
    return page.evaluate("([name, path]) => { let v = Bokeh.documents[0].get_model_by_name(name);"
                         " for (const p of path.split('.')) v = v[p];"
                         " return ArrayBuffer.isView(v) ? Array.from(v) : v; }", [name, path])


def _drag(page, handle, dx: float) -> None:
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()


# --- the report --------------------------------------------------------------------------------

def test_report_opens_without_the_network(page, report_path):
    page.goto(report_path.as_uri())
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    assert [url for url in page.requests if not url.startswith(("file:", "data:", "blob:"))] == []
    assert page.locator("h1").inner_text() == "roadmap: roadmap_uncertain"
    assert page.locator(".bk-Figure").count() == 4


def test_report_hides_an_unticked_scenario_in_every_chart(page, report_path):
    page.goto(report_path.as_uri())
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    chart = page.locator(".bk-Figure").nth(3)
    chart.scroll_into_view_if_needed()
    before = chart.screenshot()
    assert _model(page, "line:Trust in Government:ict", "visible") is True
    page.locator(".bk-CheckboxGroup label", has_text="ict").first.click()
    page.wait_for_function("() => !Bokeh.documents[0]"
                           ".get_model_by_name('line:Trust in Government:ict').visible")
    assert _model(page, "line:Adoption Time:ict", "visible") is False
    assert _model(page, "line:Trust in Government:status quo", "visible") is True
    assert chart.screenshot() != before


def test_report_sorts_a_kpi_table_by_the_column_clicked(page, report_path):
    page.goto(report_path.as_uri())
    table = page.locator("#kpis table")
    first = table.locator("tr").nth(1).locator("td").first
    assert first.inner_text() == "status quo"          # file order: the baseline first
    heading = table.locator("th", has_text="Trust in Government")   # the fifth column
    values = [float(v.split("\n")[0]) for v in
              table.locator("tr td:nth-child(5)").all_inner_texts()]
    assert values[0] != values[1]
    heading.click()                                     # largest first
    expected = "ict" if values[1] > values[0] else "status quo"
    assert first.inner_text() == expected
    heading.click()                                     # then smallest first
    assert first.inner_text() == ({"ict", "status quo"} - {expected}).pop()


def test_report_years_slider_zooms_every_chart(page, report_path):
    page.goto(report_path.as_uri())
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    start = _model(page, "chart:Trust in Government", "x_range.start")
    years = page.locator(".bk-RangeSlider .noUi-handle").first
    _drag(page, years, 300)
    page.wait_for_function(f"() => Bokeh.documents[0].get_model_by_name("
                           f"'chart:Trust in Government').x_range.start > {start}")
    assert _model(page, "chart:Adoption Time", "x_range.start") > start


# --- the explorer ------------------------------------------------------------------------------

def _open_explorer(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Run 1:").wait_for()
    page.locator(".bk-Figure").nth(len(KPIS) - 1).wait_for()


def test_explorer_redraws_the_charts_when_a_slider_is_released(page, explorer_url):
    _open_explorer(page, explorer_url)
    assert page.locator(".bk-Slider").count() >= 20
    chart = page.locator(".bk-Figure").first
    before_pixels = chart.screenshot()
    before = _model(page, "now:Service quality", "data_source.data.median")
    handle = page.locator(".bk-Slider", has_text="ICT share [").locator(".noUi-handle")
    _drag(page, handle, 120)
    page.wait_for_function("() => (window.reformsimLatencies || []).length >= 1")
    after = _model(page, "now:Service quality", "data_source.data.median")
    assert len(after) == len(before) and after != before
    assert "Levers moved from the preset: ICT share = " in page.get_by_text("Run 2:").inner_text()
    assert chart.screenshot() != before_pixels
    latency = page.evaluate("window.reformsimLatencies[0]")
    assert latency > 0
    # the page rounds with JavaScript's Math.round (halves up), not Python's round (halves to
    # even): Chromium's clock ticks in 0.1 ms, so a latency of 122.5 ms is common
    shown = page.evaluate("Math.round(window.reformsimLatencies[0])")
    assert abs(shown - latency) <= 0.5
    assert page.get_by_text("redrawn ").inner_text() == f"redrawn {shown} ms after the release"


def test_explorer_preset_sets_the_sliders_and_bands_come_on_request(page, explorer_url):
    _open_explorer(page, explorer_url)
    page.locator(".bk-Select select").select_option(label="Holistic roadmap")
    page.get_by_text("Run 2:").wait_for()
    slider = page.locator(".bk-Slider", has_text="ICT share [")
    assert slider.locator(".bk-slider-value").inner_text() == "0.26"
    assert _model(page, "band:now:Trust", "visible") is False
    page.get_by_text("uncertainty bands").click()
    page.get_by_text("Run 3: 30 members simulated").wait_for()
    assert _model(page, "band:now:Trust", "visible") is True
    low, high = (_model(page, "now:Trust", f"data_source.data.{q}") for q in ("low", "high"))
    assert all(a <= b for a, b in zip(low, high)) and low != high


def test_explorer_hover_shows_this_roadmap_and_the_baseline(page, explorer_url):
    _open_explorer(page, explorer_url)
    chart = page.locator(".bk-Figure").nth(1)
    box = chart.bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + 10)
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=5)
    page.get_by_text("this roadmap:").wait_for()   # the tooltip's rows (the key has no colon)
    page.get_by_text("baseline:").wait_for()
