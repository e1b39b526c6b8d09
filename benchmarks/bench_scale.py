#!/usr/bin/env python
"""Streamed ensembles (issue 16): members per second and peak memory against N, in this
process and on a Dask LocalCluster of 2 workers; the streamed quantiles' error.

Model: ../shared/test-models/samples/SIR/SIR.mdl, ``Contact Infectivity`` drawn uniform on
[0.1, 0.6] (numpy default_rng(16)), one output (``Infectious``) at every one of the 3,201 save
times, statistics mean/std/min/max and the quantiles 5/25/50/75/95 % per save time, KPI values
per member at days 50 and 100. Every measurement runs in a fresh subprocess; its peak memory
is the largest sum of RSS over the process and its children (the cluster's nannies and
workers), sampled every 0.1 s with psutil, and the process's own ru_maxrss.

Quantile error (``--check``): the first 10,000 members are streamed with the sketch forced
(``exact_bytes=0``) and simulated in memory; the streamed quantiles are compared with numpy's
``method="lower"`` (the order statistic DDSketch bounds: relative error <= 0.005) and with
the linear quantiles the in-memory tables use. At N = 10^6, the streamed quantiles at the KPI
times are compared with the exact quantiles of the 10^6 per-member KPI values.

Usage:  python benchmarks/bench_scale.py [--sizes 1000 10000 100000 1000000] [--repeat 3]
                                         [--modes single cluster2] [--check] [--save NAME]
The machine is shared and noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SIR = REPO.parent / "shared" / "test-models" / "samples" / "SIR" / "SIR.mdl"
sys.path.insert(0, str(REPO / "src"))
OUTPUT = "Infectious"
KPI_TIMES = (50.0, 100.0)


def draws(n: int) -> np.ndarray:
    return np.random.default_rng(16).uniform(0.1, 0.6, n)


class PeakRss:
    """Largest total RSS of this process and its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        import psutil

        self.process, self.interval, self.peak = psutil.Process(), interval, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            total = 0
            for proc in [self.process, *self.process.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except Exception:  # a worker that just ended
                    pass
            self.peak = max(self.peak, total)
            self.stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def one(n: int, mode: str, check: bool) -> dict:
    """One measurement (in a subprocess of its own)."""
    import resource

    import reformsim
    from reformsim.scale import simulate_stream

    model = reformsim.load_model(SIR)
    report: dict = {"n": n, "mode": mode}
    with PeakRss() as peak:
        client, close = None, None
        if mode.startswith("cluster"):
            from reformsim.scale.cluster import connect

            started = time.perf_counter()
            client, close = connect(None, int(mode[len("cluster"):]))
            report["cluster_start_s"] = time.perf_counter() - started
        started = time.perf_counter()
        summary = simulate_stream(model, params={"Contact Infectivity": draws(n)},
                                  outputs=[OUTPUT], kpi_times=KPI_TIMES, client=client)
        report["seconds"] = time.perf_counter() - started
        if close is not None:
            close()
    report.update(members_per_s=n / report["seconds"], peak_rss_mib=peak.peak / 2**20,
                  maxrss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  chunk_size=summary.chunk_size, chunks=summary.chunks,
                  quantile_method=summary.quantile_method, workers=summary.workers)
    if check and n >= 10_000:
        report["check"] = accuracy(model, summary, n)
    return report


def accuracy(model, summary, n: int) -> dict:
    import reformsim
    from reformsim.report.kpis import quantiles as linear_quantiles
    from reformsim.scale import Statistics, simulate_stream

    qs = np.array(summary.quantiles)
    out: dict = {}
    subset = draws(n)[:10_000]
    streamed = simulate_stream(model, params={"Contact Infectivity": subset}, outputs=[OUTPUT],
                               statistics=Statistics(exact_bytes=0))
    memory = reformsim.simulate(model, params={"Contact Infectivity": subset}, outputs=[OUTPUT])
    values = memory.values[:, :, 0]
    sketch = np.stack([streamed.statistic(0, f"p{round(100 * q, 10):g}")[:, 0] for q in qs])
    lower = np.quantile(values, qs, axis=0, method="lower")
    linear = linear_quantiles(values, qs, axis=0)
    scale = np.maximum(np.abs(lower), 1e-300)
    out["subset_10k_max_rel_err_vs_lower"] = float(np.max(np.abs(sketch - lower) / scale))
    out["subset_10k_max_rel_err_vs_linear"] = float(np.max(np.abs(sketch - linear)
                                                           / np.maximum(np.abs(linear), 1e-300)))
    out["subset_10k_mean_max_rel_err"] = float(np.max(np.abs(
        streamed.statistic(0, "mean")[:, 0] - values.mean(axis=0)) / np.abs(values.mean(axis=0))))
    # the whole run: its quantiles at the KPI times against the exact ones of the KPI values
    index = [int(np.argmin(np.abs(summary.times - t))) for t in KPI_TIMES]
    streamed_at = np.stack([summary.statistic(0, f"p{round(100 * q, 10):g}")[index, 0]
                            for q in qs])
    exact = np.quantile(summary.kpi_values[:, :, 0], qs, axis=0, method="lower")
    out["full_run_at_kpi_times_max_rel_err_vs_lower"] = float(np.max(
        np.abs(streamed_at - exact) / np.abs(exact)))
    # against the 10,000-member in-memory run (sampling error of the subset included)
    out["full_run_vs_subset_10k_linear_max_rel_diff"] = float(np.max(
        np.abs(streamed_at - linear[:, index]) / np.abs(linear[:, index])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--modes", nargs="+", default=["single", "cluster2"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repeat-big", type=int, default=2, help="repeats at N >= 10^6")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--save", metavar="NAME")
    parser.add_argument("--one", nargs=2, metavar=("N", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.check)))
        return
    if not SIR.is_file():
        sys.exit(f"{SIR}: not found (the benchmark needs ../shared)")
    rows = []
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for n in args.sizes:
        for rep in range(args.repeat_big if n >= 1_000_000 else args.repeat):
            for mode in args.modes:   # modes interleaved: both see the same load
                command = [sys.executable, __file__, "--one", str(n), mode]
                if args.check and rep == 0 and mode == args.modes[0]:
                    command.append("--check")
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                if done.returncode:
                    print(done.stderr, file=sys.stderr)
                    sys.exit(f"N={n} {mode}: failed")
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(json.dumps(row), flush=True)
    text = table(rows)
    print(text)
    if args.save:
        (HERE / "results" / args.save).write_text(text + "\n\nraw:\n"
                                                  + "\n".join(json.dumps(r) for r in rows) + "\n")


def table(rows: list[dict]) -> str:
    import reformsim  # noqa: F401  (version line)

    lines = [f"reformsim streamed ensembles (bench_scale.py)  {time.strftime('%Y-%m-%d %H:%M')}",
             f"  {platform.machine()} {os.cpu_count()} cpu, {platform.node()}; python "
             f"{platform.python_version()}, numpy {np.__version__}",
             "  SIR, Contact Infectivity ~ U(0.1, 0.6); output Infectious at 3,201 save times; "
             "mean/std/min/max + 5 quantiles per save time; KPIs at days 50, 100",
             "  best and median of the repeats; peak = largest total RSS of the process tree",
             f"{'N':>10} {'mode':>9} {'best s':>8} {'median s':>9} {'members/s':>10} "
             f"{'cluster vs single':>18} {'peak MiB':>9} {'chunk':>6}"]
    by = {}
    for r in rows:
        by.setdefault((r["n"], r["mode"]), []).append(r)
    for (n, mode), group in by.items():
        seconds = sorted(r["seconds"] for r in group)
        best, median = seconds[0], float(np.median(seconds))
        single = by.get((n, "single"))
        ratio = (f"{sorted(r['seconds'] for r in single)[0] / best:.2f}x"
                 if single and mode != "single" else "-")
        lines.append(f"{n:>10,} {mode:>9} {best:>8.2f} {median:>9.2f} {n / best:>10,.0f} "
                     f"{ratio:>18} {max(r['peak_rss_mib'] for r in group):>9.0f} "
                     f"{group[0]['chunk_size']:>6}")
    checks = [r["check"] | {"n": r["n"]} for r in rows if "check" in r]
    for c in checks:
        lines.append("  quantile check: " + json.dumps(c))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
