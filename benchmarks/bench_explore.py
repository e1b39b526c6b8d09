#!/usr/bin/env python
"""Explorer redraw latency on the shipped reform model, measured in a real browser.

In ONE process: the explorer is served from a thread (explore.server.Running), Debian's
Chromium (driven by Playwright) drags the 'ICT share' slider back and forth --moves times
and the page itself records the time from each release to the painted chart
(window.reformsimLatencies: two animation frames after the new data arrived). Side by side,
in the same process and before the browser starts, the same work without the page:

  simulate   reformsim.simulate of one member with only the charted KPIs as outputs;
  move       Explorer.curves: the scenario expanded (init pass), simulate, quantiles;

and the browser's figure is split into the server's share (the 'simulated in' time the
page shows, i.e. 'move') and the rest (Bokeh's serialisation, the websocket, the redraw).
Done with and without uncertainty bands (30 samples). Times are medians (min in brackets);
the shared machine is noisy, the ratio to 'simulate' is the point.

Usage:  python benchmarks/bench_explore.py [--moves 12] [--save explore.txt]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))   # the checkout's reformsim, installed or not
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KPIS = ("Service quality", "Trust", "Composite outcome", "Access vulnerable")
LEVER = "ICT share"


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ms ({min(values):.0f})"


def in_process(explorer, moves: int, bands: bool) -> dict[str, list[float]]:
    """simulate alone, and the explorer's whole move, in ms."""
    import reformsim
    from reformsim.explore.session import Move

    raw, move = [], []
    members = explorer.samples if bands else 1
    for i in range(moves):
        value = 0.2 + 0.5 * (i % 2)
        started = time.perf_counter()
        reformsim.simulate(explorer.model, params={LEVER: [value] * members}, outputs=list(KPIS))
        raw.append(1000 * (time.perf_counter() - started))
        move.append(1000 * explorer.curves(Move("status quo", {LEVER: value}, KPIS,
                                                bands)).seconds)
    return {"simulate": raw, "move": move}


def in_browser(url: str, chromium: str, moves: int, bands: bool) -> dict[str, list[float]]:
    """Release-to-paint latency and the server's share, in ms, over ``moves`` slider drags."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_text("Run 1:").wait_for()
        first = 1                                   # runs the page has made so far
        if bands:
            page.get_by_text("uncertainty bands").click()
            first = 2
            page.get_by_text("Run 2:").wait_for()
        page.evaluate("window.reformsimLatencies = []")
        handle = page.locator(".bk-Slider", has_text=f"{LEVER} [").locator(".noUi-handle")
        handle.scroll_into_view_if_needed()
        server = []
        for i in range(moves):
            box = handle.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + (90 if i % 2 == 0 else -90), y, steps=6)
            page.mouse.up()
            page.wait_for_function(f"() => window.reformsimLatencies.length >= {i + 1}")
            status = page.get_by_text(f"Run {first + i + 1}:").inner_text()
            server.append(float(re.search(r"simulated in (\d+) ms", status).group(1)))
        latencies = page.evaluate("window.reformsimLatencies")
        arrivals = page.evaluate("window.reformsimArrivals")[-moves:]
        browser.close()
    return {"browser": latencies, "arrived": arrivals, "server": server}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=12)
    parser.add_argument("--save", metavar="NAME", help="also write benchmarks/results/NAME")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no Chromium: apt-get install chromium")

    import reformsim
    from reformsim.explore.server import Running
    from reformsim.explore.session import Explorer

    explorer = Explorer(reformsim.load_model(ROOT / "models" / "reform.mdl"),
                        reformsim.load_scenarios([ROOT / "scenarios" / "reform_roadmaps.yaml"]),
                        kpis=KPIS)
    lines = [f"explorer redraw on models/reform.mdl, {args.moves} moves of '{LEVER}', KPIs: "
             f"{', '.join(KPIS)}", f"python {platform.python_version()}, "
             f"{platform.machine()}, {time.strftime('%Y-%m-%d %H:%M')}", ""]
    lines.append(f"{'':20s}{'simulate':>15s}{'move':>15s}{'move (server)':>15s}"
                 f"{'data arrived':>15s}{'chart painted':>15s}{'painted/simulate':>18s}")
    for bands in (False, True):
        in_process(explorer, 2, bands)                       # warm the caches
        alone = in_process(explorer, args.moves, bands)
        with Running(explorer) as running:
            seen = in_browser(running.url, chromium, args.moves, bands)
        label = f"{explorer.samples} members (bands)" if bands else "1 member"
        ratio = statistics.median(seen["browser"]) / statistics.median(alone["simulate"])
        cells = [alone["simulate"], alone["move"], seen["server"], seen["arrived"],
                 seen["browser"]]
        lines.append(f"{label:20s}" + "".join(f"{_summary(c):>15s}" for c in cells)
                     + f"{ratio:17.1f}x")
    # the floor: the same page with the simulation taken out (the baseline's cached curves
    # served for every move), i.e. what no backend can make faster
    explorer.curves = lambda move: dataclasses.replace(
        explorer.baseline_curves(move.kpis or KPIS, move.bands), seconds=0.0)
    with Running(explorer) as running:
        seen = in_browser(running.url, chromium, args.moves, False)
    lines.append(f"{'no simulation':20s}{'':>15s}{'':>15s}{_summary(seen['server']):>15s}"
                 f"{_summary(seen['arrived']):>15s}{_summary(seen['browser']):>15s}")
    lines.append(f"{'':20s}{'(in process)':>15s}{'(in process)':>15s}{'(page shows)':>15s}"
                 f"{'(in the page)':>15s}{'(on screen)':>15s}")
    lines += ["", "times from the release of the slider, medians (min); 'data arrived': the new "
              "curves are in the page,", "'chart painted': two animation frames later, on screen"]
    text = "\n".join(lines)
    print(text)
    if args.save:
        (ROOT / "benchmarks" / "results" / args.save).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
