"""Screenshot the HTML report and the live explorer for the README (docs/figures/).

Usage::

    PYTHONPATH=src python tools/screenshots.py

Runs the shipped roadmaps (models/reform.mdl under scenarios/reform_roadmaps.yaml), writes
their report to a temporary folder and photographs its charts section; then serves the
explorer, starts from the holistic roadmap with uncertainty bands, moves 'ICT share' and
photographs the page. Both at 1280 x 800 in Debian's Chromium (headless, via Playwright).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "figures"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KPIS = ("Composite outcome", "Trust", "Service quality", "Access vulnerable")


def report(browser, folder: Path) -> Path:
    from reformsim.report.html import write_report
    from reformsim.report.kpis import kpi_table
    from reformsim.report.rundir import make_manifest
    from reformsim.report.runs import default_years, simulate_scenarios

    files = [ROOT / "scenarios" / "reform_roadmaps.yaml"]
    run = simulate_scenarios(ROOT / "models" / "reform.mdl", files)
    members = run.dataset.sizes["scenario"] * run.dataset.sizes["sample"]
    manifest = make_manifest(run.model, files, method=run.method, time_step=run.time_step,
                             seed=int(run.dataset.attrs["seed"]), members=members)
    kpis = kpi_table(run.dataset, run.variables, default_years(run.dataset))
    path = write_report(folder / "report.html", run.dataset, manifest, kpis, run.variables)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(path.as_uri())
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    page.locator("#charts").evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(1500)
    target = OUT / "report.png"
    page.screenshot(path=target)
    print(f"{target}: from a report of {path.stat().st_size / 1e6:.1f} MB")
    return target


def explorer(browser) -> Path:
    import reformsim
    from reformsim.explore.server import Running
    from reformsim.explore.session import Explorer

    model = reformsim.load_model(ROOT / "models" / "reform.mdl")
    scenarios = reformsim.load_scenarios([ROOT / "scenarios" / "reform_roadmaps.yaml"])
    with Running(Explorer(model, scenarios, kpis=KPIS, start="holistic")) as running:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(120_000)
        page.goto(running.url)
        page.get_by_text("Run 1:").wait_for()
        page.get_by_text("uncertainty bands").click()
        page.get_by_text("Run 2:").wait_for()
        handle = page.locator(".bk-Slider", has_text="ICT share [").locator(".noUi-handle")
        handle.scroll_into_view_if_needed()
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 100, y, steps=8)
        page.mouse.up()
        page.get_by_text("Run 3:").wait_for()
        page.wait_for_timeout(800)
        target = OUT / "explorer.png"
        page.screenshot(path=target)
    print(target)
    return target


def main() -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no Chromium: apt-get install chromium")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as folder:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        report(browser, Path(folder))
        explorer(browser)
        browser.close()


if __name__ == "__main__":
    main()
