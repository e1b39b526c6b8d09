#!/usr/bin/env python
"""What ``reformsim run`` with no arguments costs, whole: wall time, CPU time, where it went.

Each round starts ``python -m reformsim -v run`` in a new empty folder (the shipped scenario
files, the default run directories under ./runs), once per checkout given, in alternating
order, and reads:

  wall       seconds from start to exit, as a user waits for it
  cpu        user + system seconds of the command and every process it started (the
             report worker), from the kernel's accounting of waited-for children
  phases     the sums over its runs of what ``-v`` prints (read and compile, scenarios,
             simulate, tables, figures, files), as the main process saw them, and what
             the worker says it spent on each file it wrote ("worker: report.html")

The model cache (REFORMSIM_CACHE_DIR) is a folder of the benchmark's own, warmed before the
first round; ``--cold`` adds a run per checkout with an empty cache each round. With
``--against SRC`` (another checkout's ``src``, e.g. /work/main/src) the report ends with the
ratio of the medians (this checkout / the other): these machines are shared and noisy, so
read the ratio and the spread, and the load average printed beside them.

Usage:  python benchmarks/bench_run.py [--runs 5] [--against ../main/src] [--cold]
                                       [--save NAME]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"
PHASE = re.compile(r"^[^:\n]+\.(?:ya?ml|cin): (?P<phases>[^;\n]*); total [\d.]+ s"
                   r"(?: \(meanwhile, a second process wrote (?P<elsewhere>[^)]*)\))?$", re.M)


def run_once(src: Path, cache: Path) -> dict[str, float]:
    """One ``reformsim -v run`` with ``src`` first on PYTHONPATH: wall, cpu and phases."""
    env = dict(os.environ, PYTHONPATH=str(src), REFORMSIM_CACHE_DIR=str(cache))
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "reformsim", "-v", "run"], cwd=folder,
                              env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            sys.exit(f"reformsim run failed with {src}:\n{done.stderr}")
        written = sorted(p.name for p in (Path(folder) / "runs").iterdir())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = {"wall": wall, "cpu": cpu, "runs": float(len(written))}
    for match in PHASE.finditer(done.stderr):
        parts = match.group("phases").split(", ")
        parts += [f"worker: {p}" for p in (match.group("elsewhere") or "").split(", ") if p]
        for part in parts:
            name, seconds = part.rsplit(" ", 2)[0], float(part.rsplit(" ", 2)[1])
            out[name] = out.get(name, 0.0) + seconds
    return out


def spread(values: list[float]) -> str:
    return (f"{statistics.median(values):6.2f} (min {min(values):5.2f}, "
            f"max {max(values):5.2f})")


def ratio(mine: list[dict[str, float]], theirs: list[dict[str, float]], what: str,
          how: object) -> float:
    return how([r[what] for r in mine]) / how([r[what] for r in theirs])  # type: ignore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--against", type=Path, help="another checkout's src, for a ratio")
    parser.add_argument("--cold", action="store_true", help="also a run with an empty cache")
    parser.add_argument("--save", metavar="NAME", help="also write benchmarks/results/NAME")
    args = parser.parse_args()

    checkouts = {"this": HERE} | ({"against": args.against.resolve()} if args.against else {})
    results: dict[str, list[dict[str, float]]] = {f"{k} {c}": [] for k in checkouts
                                                  for c in ("warm", "cold")[:1 + args.cold]}
    loads = []
    with tempfile.TemporaryDirectory(prefix="bench-run-cache-") as root:
        warm = {name: Path(root) / name for name in checkouts}
        for name, src in checkouts.items():          # fill each checkout's cache once
            run_once(src, warm[name])
        for round_ in range(args.runs):
            loads.append(os.getloadavg()[0])
            order = list(checkouts.items())
            for name, src in order if round_ % 2 == 0 else order[::-1]:
                results[f"{name} warm"].append(run_once(src, warm[name]))
                if args.cold:
                    with tempfile.TemporaryDirectory(prefix="bench-run-cold-") as cold:
                        results[f"{name} cold"].append(run_once(src, Path(cold)))
            print(f"round {round_ + 1}: " + ", ".join(
                f"{k} {v[-1]['wall']:.2f} s" for k, v in results.items()), file=sys.stderr)
        loads.append(os.getloadavg()[0])

    lines = [f"reformsim run (no arguments: the shipped files), {args.runs} rounds, "
             f"{os.cpu_count()} cores, load average {min(loads):.1f} to {max(loads):.1f} "
             "(1 minute) during the rounds",
             *[f"  {name}: {src}" for name, src in checkouts.items()], ""]
    for key, runs in results.items():
        lines.append(f"{key}: wall {spread([r['wall'] for r in runs])} s, "
                     f"cpu {spread([r['cpu'] for r in runs])} s")
        phases = [p for p in runs[0] if p not in ("wall", "cpu", "runs")]
        lines.append("  phases (median): " + ", ".join(
            f"{p} {statistics.median(r.get(p, 0.0) for r in runs):.2f}" for p in phases))
    if args.against:
        for kind in ("warm", "cold")[:1 + args.cold]:
            mine, theirs = results[f"this {kind}"], results[f"against {kind}"]
            lines.append(f"ratio this/against, {kind} cache: " + ", ".join(
                f"{what} {how.__name__} {ratio(mine, theirs, what, how):.2f}"
                for what, how in (("wall", statistics.median), ("wall", min),
                                  ("cpu", statistics.median))))
    report = "\n".join(lines)
    print(report)
    if args.save:
        target = Path(__file__).resolve().parent / "results" / args.save
        target.write_text(report + "\n", encoding="utf-8")
        print(f"written to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
