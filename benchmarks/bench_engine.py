#!/usr/bin/env python
"""Side-by-side engine benchmark: reformsim vs PySD (in a loop) vs pysimlin (reused Sim).

For each model and ensemble size N, in ONE process run:

  (a) reformsim  one ``reformsim.simulate`` call for all N members (vectorised);
  (b) PySD       ``pysd.read_vensim`` once (on a temp copy of the model), then
                 ``model.run(params={name: value}, return_columns=outputs)`` per member;
  (c) pysimlin   ``simlin.load`` once, ONE ``Sim`` reused for every member:
                 ``sim.reset(); sim.set_value(ident, value); sim.run_to_end();
                 sim.get_series(ident)`` per member.

Loop engines time a sample of at most --pysd-cap / --simlin-cap members (spread over
the whole ensemble) and extrapolate the per-member cost linearly to N; such figures
are marked ``*`` in the table.  Every measurement is the best of --repeat runs (more,
up to 100, while it has used less than --min-time seconds; fewer once it has used
--budget seconds).  Absolute times are noisy on shared machines: the ratios are the
point.  See benchmarks/README.md.

Models: the scalar teacup and sir (the default set), and two subscripted ones (issue 5):
subscripted_delays (../shared test model; it has no scalar constant besides the control
ones and reformsim cannot yet set an array constant per member, so its N members are
identical: reformsim ``size=N``, the loop engines run the model unchanged) and
regional_sir (benchmarks/models/regional_sir.mdl: SEIR over 50 regions x 5 age groups,
``infectivity`` varied).  Array outputs are stored cell by cell; pysimlin reads a cell as
``stock[a1,b2]``.  A model pysimlin cannot compile gets ``error`` in its columns and
Simlin's message under the table.

Usage:  python benchmarks/bench_engine.py [--sizes 1 100 1000] [--models teacup sir] [--save [NAME]]
        python benchmarks/bench_engine.py --models subscripted_delays regional_sir \
            --sizes 1 1000 10000 --save subscripted.txt
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_SHARED = REPO.parent / "shared"
RESULTS_DIR = HERE / "results"
SCALAR_MODELS = ("teacup", "sir")  # the default set; the others are chosen with --models

DEFAULT_SIZES = (1, 100, 1_000, 10_000, 100_000)
MAX_REPS = 100


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class BenchModel:
    key: str
    relpath: str  # relative to <shared>/test-models, or to this repository if in_repo
    param: str | None  # constant varied across members; None: N identical members (size=N)
    low: float  # member i gets linspace(low, high, N)[i]
    high: float
    outputs: tuple[str, ...]  # variables stored by every engine (an array stores every cell)
    check_outputs: tuple[str, ...] = ()  # compared in the correctness check too (default: outputs)
    rtol: float = 1e-5  # correctness tolerance |a - e| <= atol + rtol*|e|
    atol: float = 1e-5
    in_repo: bool = False
    pysd_cap: int | None = None  # lower per-model caps for slow models (min with --pysd-cap)
    simlin_cap: int | None = None

    def path(self, shared: Path) -> Path:
        return REPO / self.relpath if self.in_repo else shared / "test-models" / self.relpath


MODELS: dict[str, BenchModel] = {
    "teacup": BenchModel(
        key="teacup",
        relpath="samples/teacup/teacup.mdl",
        param="Characteristic Time",
        low=5.0,
        high=20.0,
        outputs=("Teacup Temperature",),
    ),
    "sir": BenchModel(
        key="sir",
        relpath="samples/SIR/SIR.mdl",
        param="Contact Infectivity",
        low=0.1,
        high=0.6,
        outputs=("Infectious",),
    ),
    # Subscripted models (issue 5). subscripted_delays has no scalar constant but the
    # control ones, and reformsim cannot yet set an array constant (`delay[Apples]`) per
    # member, so its N members are identical (reformsim: size=N; the loop engines run the
    # model unchanged): that still measures each engine's cost per member.
    "subscripted_delays": BenchModel(
        key="subscripted_delays",
        relpath="tests/subscripted_delays/test_subscripted_delays.mdl",
        param=None,
        low=0.0,
        high=0.0,
        outputs=("Stock Delay1", "Stock Delay1I", "Stock Delay3", "Stock Delay3I", "Stock DelayN"),
        rtol=1e-9,
        atol=1e-9,
        pysd_cap=20,  # PySD needs ~4 s per run of this model
    ),
    # A larger array model written for the benchmark: SEIR over 50 regions x 5 age groups,
    # ageing chain through a subscript mapping, DELAY3I and SMOOTH in each of the 250 cells,
    # SUM over ranges (2,000 states). PySD needs ~20 s per run, hence the small caps.
    # The holistic reform model (issue 4): 360 variables, 30 stocks, lookups; the largest real
    # model at hand (../shared/test-models has no World3-sized one), so it stands for the
    # "large real model" target too. Four headline outcomes stored.
    "reform": BenchModel(
        key="reform",
        relpath="models/reform.mdl",
        param="Reform budget",
        low=0.1,
        high=0.6,
        outputs=("Composite outcome", "Service quality", "Trust", "Access"),
        in_repo=True,
        pysd_cap=20,  # PySD needs ~1 s per run of this model
        simlin_cap=500,
    ),
    "regional_sir": BenchModel(
        key="regional_sir",
        relpath="benchmarks/models/regional_sir.mdl",
        param="infectivity",
        low=0.02,
        high=0.04,
        outputs=("Total Infectious",),
        check_outputs=("Total Infectious", "Susceptible", "Exposed", "Infectious", "Recovered", "perceived risk"),
        rtol=1e-9,
        atol=1e-9,
        in_repo=True,
        pysd_cap=3,
        simlin_cap=100,
    ),
}


def member_values(bm: BenchModel, n: int) -> np.ndarray:
    if bm.param is None:  # identical members: the values are placeholders
        return np.zeros(n)
    return np.linspace(bm.low, bm.high, n) if n > 1 else np.array([(bm.low + bm.high) / 2])


def sample_indices(n: int, cap: int) -> np.ndarray:
    """Indices of the members a loop engine actually runs: all, or `cap` spread evenly."""
    if n <= cap:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, cap).round().astype(np.int64))


# --------------------------------------------------------------------------- output


class Reporter:
    """Prints report lines to stdout and keeps them for --save; progress goes to stderr."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    @staticmethod
    def progress(msg: str) -> None:
        print(f"  .. {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    seconds: float  # best observed (whole sample for loop engines)
    reps: int


def best_of(fn: Callable[[], object], repeat: int, budget: float, min_time: float = 0.0,
            collect: bool = True) -> Timing:
    """Best wall time of repeated calls of `fn`.

    At least one call; then up to `repeat` calls, but no more once `budget` seconds are
    spent; short calls keep repeating (at most MAX_REPS) until `min_time` seconds are spent,
    so a few-millisecond figure is the best of many samples. Results are dropped before
    the next call so two large result arrays never coexist; with `collect`, a full
    gc.collect() runs before each call too (it also empties the CPU's caches, which a
    Python-heavy call then refills: see `warm_single_runs`).
    """
    best = math.inf
    spent = 0.0
    reps = 0
    while True:
        if collect:
            gc.collect()
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        del out
        reps += 1
        spent += dt
        best = min(best, dt)
        if spent >= budget or reps >= MAX_REPS:
            break
        if reps >= repeat and spent >= min_time:
            break
    return Timing(best, reps)


# --------------------------------------------------------------------------- engines


def import_reformsim():
    """Import the checkout's reformsim (src/ layout) in preference to an installed one."""
    src = REPO / "src"
    if (src / "reformsim" / "__init__.py").exists() and str(src) not in sys.path:
        sys.path.insert(0, str(src))
    try:
        import reformsim  # noqa: PLC0415
    except ImportError as exc:
        raise SystemExit(f"error: cannot import reformsim ({exc}); run `pip install -e .` or run from the repo") from exc
    missing = [n for n in ("load_model", "simulate") if not hasattr(reformsim, n)]
    if missing:
        raise SystemExit(
            f"error: reformsim at {getattr(reformsim, '__file__', None) or list(getattr(reformsim, '__path__', []))} "
            f"does not export {', '.join(missing)} yet"
        )
    return reformsim


def import_simlin():
    try:
        import simlin  # noqa: PLC0415
    except ImportError:
        return None
    return simlin


def simlin_ident(name: str) -> str:
    """Simlin's canonical identifier for a Vensim name: lower case, runs of spaces/underscores -> '_'.

    An array cell `Stock[a 1, b]` becomes `stock[a_1,b]`.
    """
    name = re.sub(r"\s*([\[\],])\s*", r"\1", name.strip().lower())
    return re.sub(r"[\s_]+", "_", name)


class ReformsimRunner:
    name = "reformsim"

    def __init__(self, rs, path: Path, bm: BenchModel, backend: str = "auto") -> None:
        self.rs = rs
        self.bm = bm
        self.backend = backend
        self.model = rs.load_model(str(path))

    def run(self, values: np.ndarray, outputs: Sequence[str] | None = None):
        outputs = list(outputs or self.bm.outputs)
        if self.bm.param is None:
            return self.rs.simulate(self.model, size=len(values), outputs=outputs, backend=self.backend)
        return self.rs.simulate(self.model, params={self.bm.param: values}, outputs=outputs, backend=self.backend)

    def run_values(self, values: np.ndarray, outputs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(values (N, T, C), times (T,), column names): C is every cell of `outputs`, in order."""
        res = self.run(values, outputs)
        arr = np.asarray(res.values)
        if arr.ndim != 3 or arr.shape[0] != len(values):
            raise RuntimeError(f"reformsim returned values of shape {arr.shape}, expected (N={len(values)}, T, V)")
        return arr, np.asarray(res.times, dtype=float), list(res.names)


class PysdRunner:
    name = "PySD"

    def __init__(self, path: Path, bm: BenchModel, workdir: Path) -> None:
        import pysd  # noqa: PLC0415

        # PySD writes <model>.py next to the .mdl: work on a private copy, never in ../shared.
        copy = workdir / f"{bm.key}_{path.name}"
        shutil.copyfile(path, copy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = pysd.read_vensim(str(copy))
        self.bm = bm
        self.returns = list(bm.outputs)
        c = self.model.components
        self.initial, self.final = float(c.initial_time()), float(c.final_time())
        self.dt, self.saveper = float(c.time_step()), float(c.saveper())

    def params(self, value: float) -> dict:
        return {} if self.bm.param is None else {self.bm.param: float(value)}

    def run_member(self, value: float) -> np.ndarray:
        df = self.model.run(params=self.params(value), return_columns=self.returns)
        return df.to_numpy()

    def run_member_with_times(self, value: float, outputs: Sequence[str], columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Values of `columns` (cells, as reformsim names them) of the variables `outputs`."""
        df = self.model.run(params=self.params(value), return_columns=list(outputs))
        return df[list(columns)].to_numpy(), df.index.to_numpy(dtype=float)


class SimlinRunner:
    """pysimlin with ONE reused Sim.

    Per member: reset() (which also drops earlier set_value overrides), set_value() on the
    constant (before the first step it sets the constant for the whole run), run_to_end(),
    then get_series() for each output (a fresh float64 array of every saved step).
    """

    name = "pysimlin"

    def __init__(self, simlin, path: Path, bm: BenchModel, columns: Sequence[str]) -> None:
        self.model = simlin.load(str(path))  # in-memory; writes nothing
        self.sim = self.model.simulate(enable_ltm=False)
        try:
            known = set(self.sim.get_var_names())
        except Exception as exc:  # not compiled: say why, in Simlin's words
            errors = [i.message.strip().splitlines()[-1] for i in self.model.check() if i.severity == "error"]
            raise RuntimeError("; ".join(errors) or str(exc)) from exc
        self.param = None if bm.param is None else simlin_ident(bm.param)
        # one series per stored cell: an array output is read cell by cell (`stock[a1,b2]`)
        self.outputs = [simlin_ident(c) for c in columns]
        wanted = [(self.param, bm.param)] if bm.param is not None else []
        for ident, orig in [*wanted, *zip(self.outputs, columns)]:
            if ident not in known:
                raise RuntimeError(f"pysimlin has no variable {ident!r} (from {orig!r})")

    def run_member(self, value: float, outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        sim = self.sim
        sim.reset()
        if self.param is not None:
            sim.set_value(self.param, float(value))
        sim.run_to_end()
        return [sim.get_series(o) for o in (self.outputs if outputs is None else outputs)]

    def run_member_with_times(self, value: float, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        series = self.run_member(value, [simlin_ident(c) for c in columns])
        return np.column_stack(series), self.sim.get_series("time")


def time_loop(run_member: Callable[[float], object], values: np.ndarray, args: argparse.Namespace) -> Timing:
    def loop() -> None:
        for v in values:
            run_member(v)

    return best_of(loop, args.repeat, args.budget, args.min_time)


# --------------------------------------------------------------------------- correctness


def check_models(
    rep: Reporter,
    bm: BenchModel,
    rsr: ReformsimRunner,
    pyr: PysdRunner,
    slr: SimlinRunner | None,
) -> bool:
    """One-time check on 3 members (1 if they are identical): engines agree on every cell of
    bm.check_outputs, and each member really got its own value."""
    vals = np.array([bm.low, (bm.low + bm.high) / 2, bm.high]) if bm.param else member_values(bm, 1)
    outputs = bm.check_outputs or bm.outputs
    rs_vals, rs_times, columns = rsr.run_values(vals, outputs)
    ok = True

    def compare(label: str, got: np.ndarray, times: np.ndarray, member: int) -> tuple[float, float]:
        """(max |difference|, max relative difference where the reference is not 0)."""
        nonlocal ok
        ref = rs_vals[member]
        if got.shape != ref.shape or not np.allclose(times, rs_times, atol=1e-9, rtol=0):
            rep(f"    FAIL {label} member {member}: shape {got.shape} / {len(times)} times vs reformsim {ref.shape} / {len(rs_times)}")
            ok = False
            return math.inf, math.inf
        err = np.abs(got - ref)
        if float(np.max(err / (bm.atol + bm.rtol * np.abs(ref)))) > 1.0:
            ok = False
        nz = ref != 0
        return float(err.max()), float(np.max(err[nz] / np.abs(ref[nz]), initial=0.0))

    lines = []
    what = f"{bm.param} = " if bm.param else "identical member, "
    for i, v in enumerate(vals):
        py, py_t = pyr.run_member_with_times(v, outputs, columns)
        e_py = compare("PySD", py, py_t, i)
        cell = f"    {what}{v:<8g} final {columns[0]}: reformsim {rs_vals[i, -1, 0]:<12.8g} PySD {py[-1, 0]:<12.8g}"
        errs = f"max|reformsim-PySD| {e_py[0]:.2e} (rel {e_py[1]:.1e})"
        if slr is not None:
            sl, sl_t = slr.run_member_with_times(v, columns)
            e_sl = compare("pysimlin", sl, sl_t, i)
            cell += f" pysimlin {sl[-1, 0]:<12.8g}"
            errs += f"  max|reformsim-pysimlin| {e_sl[0]:.2e} (rel {e_sl[1]:.1e})"
        lines.append(cell + " " + errs)
    if bm.param:  # members must differ: a parameter silently ignored would give identical trajectories
        spread = float(np.max(np.abs(rs_vals[0] - rs_vals[-1])))
        distinct = spread > 1e-6 * max(1.0, float(np.max(np.abs(rs_vals))))
        ok &= distinct
        differ = f"members differ: {distinct}"
    else:
        differ = "members identical by design"
    status = "ok" if ok else "FAILED"
    rep(
        f"  correctness check ({status}; {len(columns)} saved columns of {list(outputs)}; tolerance "
        f"|a-e| <= {bm.atol:g} + {bm.rtol:g}*|e| against reformsim; {differ}):"
    )
    for line in lines:
        rep(line)
    return ok


# --------------------------------------------------------------------------- benchmark


@dataclass
class Row:
    n: int
    rs: Timing | None = None
    rs_warm: Timing | None = None    # one run: back to back, no gc.collect() between calls
    sl_warm: Timing | None = None
    rs_peak_mib: float | None = None
    rs_note: str = ""
    py: Timing | None = None
    py_sample: int = 0
    sl: Timing | None = None
    sl_sample: int = 0
    notes: list[str] = field(default_factory=list)

    def py_total(self) -> float | None:
        return None if self.py is None else self.py.seconds / self.py_sample * self.n

    def sl_total(self) -> float | None:
        return None if self.sl is None else self.sl.seconds / self.sl_sample * self.n


def peak_memory_mib(fn: Callable[[], object]) -> float:
    """Peak traced allocation (MiB) of one untimed call; numpy registers its buffers with tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
        del out
    finally:
        tracemalloc.stop()
    return peak / 2**20


def fmt_s(x: float | None, extrapolated: bool = False) -> str:
    if x is None:
        return "n/a"
    if x >= 100:
        s = f"{x:.0f}"
    elif x >= 1:
        s = f"{x:.2f}"
    else:
        s = f"{x:.3g}"
    return s + ("*" if extrapolated else "")


def fmt_ratio(num: float | None, den: float | None) -> str:
    if num is None or den is None or den <= 0:
        return "n/a"
    r = num / den
    return f"{r:.0f}x" if r >= 100 else f"{r:.3g}x"


def run_model(rep: Reporter, bm: BenchModel, args: argparse.Namespace, rs, simlin, shared: Path, workdir: Path,
              measured: dict[str, list[Row]]) -> bool:
    path = bm.path(shared)
    if not path.exists():
        raise SystemExit(f"error: model file {path} is missing (is --shared {shared} a checkout of ../shared?)")
    prog = Reporter.progress

    prog(f"{bm.key}: loading models")
    t0 = time.perf_counter()
    rsr = ReformsimRunner(rs, path, bm, args.backend)
    t_rs_load = time.perf_counter() - t0
    columns = rsr.run_values(member_values(bm, 1), bm.outputs)[2]  # every stored cell, as reformsim names it
    t0 = time.perf_counter()
    pyr = PysdRunner(path, bm, workdir)
    t_py_load = time.perf_counter() - t0
    slr: SimlinRunner | None = None
    t_sl_load = None
    sl_reason = "module simlin not importable"
    if simlin is not None:
        try:
            t0 = time.perf_counter()
            slr = SimlinRunner(simlin, path, bm, columns)
            t_sl_load = time.perf_counter() - t0
        except Exception as exc:  # a model pysimlin cannot read: n/a, not a crash
            sl_reason = f"error: {exc}"
            slr = None

    steps = int(round((pyr.final - pyr.initial) / pyr.dt))
    n_vars = len(columns)
    pysd_cap = min(args.pysd_cap, bm.pysd_cap or args.pysd_cap)
    simlin_cap = min(args.simlin_cap, bm.simlin_cap or args.simlin_cap)
    rep()
    rep(f"== {bm.key}: {bm.relpath}")
    varied = (
        f"vary {bm.param!r} over linspace({bm.low:g}, {bm.high:g}, N)"
        if bm.param
        else "no per-member parameter: N identical members (reformsim size=N)"
    )
    rep(
        f"  {varied}; outputs {list(bm.outputs)} (V={n_vars} saved columns); "
        f"{steps} Euler steps (INITIAL {pyr.initial:g}, FINAL {pyr.final:g}, TIME STEP {pyr.dt:g}, SAVEPER {pyr.saveper:g})"
    )
    if (pysd_cap, simlin_cap) != (args.pysd_cap, args.simlin_cap):
        rep(f"  this model's caps: PySD times <= {pysd_cap} members per N, pysimlin <= {simlin_cap}")
    rep(
        f"  load (not timed below): reformsim {t_rs_load:.3f} s, PySD {t_py_load:.3f} s (translate + write .py), "
        + (f"pysimlin {t_sl_load:.3f} s" if slr else f"pysimlin n/a ({sl_reason})")
    )

    # warm-up: each engine once, untimed
    prog(f"{bm.key}: warm-up")
    t0 = time.perf_counter()
    backend = rsr.run(member_values(bm, 2)).backend  # compiles the model, or loads its machine code
    t_first = time.perf_counter() - t0
    rsr.run(member_values(bm, 256))  # and the multi-threaded variant large ensembles use
    rep(f"  reformsim backend: {backend} (first run, with compilation or its cache: {t_first:.2f} s; not timed below)")
    pyr.run_member(bm.low)
    if slr:
        try:
            slr.run_member(bm.low)
        except Exception as exc:  # pysimlin cannot simulate it: n/a, not a crash
            sl_reason = f"error: {exc}"
            rep(f"  pysimlin n/a ({sl_reason})")
            slr = None

    ok = True
    if not args.skip_check:
        prog(f"{bm.key}: correctness check")
        ok = check_models(rep, bm, rsr, pyr, slr)

    rows: list[Row] = []
    for n in args.sizes:
        row = Row(n)
        values = member_values(bm, n)
        result_gib = n * (steps + 1) * n_vars * 8 / 2**30
        if result_gib > args.max_result_gib:
            row.rs_note = f"skipped: result would be {result_gib:.1f} GiB > --max-result-gib {args.max_result_gib:g}"
        else:
            prog(f"{bm.key} N={n}: reformsim")
            try:
                row.rs = best_of(lambda: rsr.run(values), args.repeat, args.budget, args.min_time)
                if n == 1:
                    row.rs_warm = best_of(lambda: rsr.run(values), MAX_REPS, args.budget,
                                          args.min_time, collect=False)
                if not args.no_memory:
                    row.rs_peak_mib = peak_memory_mib(lambda: rsr.run(values))
            except (MemoryError, getattr(rs, "ReformsimError", RuntimeError)) as exc:  # e.g. the engine's own memory guard
                row.rs, row.rs_note = None, f"failed: {type(exc).__name__}: {exc}"

        idx = sample_indices(n, pysd_cap)
        row.py_sample = len(idx)
        prog(f"{bm.key} N={n}: PySD, {len(idx)} of {n} members")
        row.py = time_loop(pyr.run_member, values[idx], args)

        if slr:
            idx = sample_indices(n, simlin_cap)
            row.sl_sample = len(idx)
            prog(f"{bm.key} N={n}: pysimlin, {len(idx)} of {n} members")
            row.sl = time_loop(slr.run_member, values[idx], args)
            if n == 1:
                row.sl_warm = best_of(lambda: slr.run_member(values[0]), MAX_REPS, args.budget,
                                      args.min_time, collect=False)
        rows.append(row)

    print_table(rep, rows, steps, n_vars, None if slr else sl_reason)
    measured[bm.key] = rows
    return ok


def print_table(rep: Reporter, rows: Sequence[Row], steps: int, n_vars: int, simlin_missing: str | None) -> None:
    """`simlin_missing`: why pysimlin has no figures (its cells then say `error` or `n/a`), or None."""
    have_simlin = simlin_missing is None
    no_sl = "error" if simlin_missing and simlin_missing.startswith("error") else "n/a"
    head = (
        "N",
        "reformsim s",
        "PySD s",
        "pysimlin s",
        "per member speedup vs PySD",
        "vs pysimlin",
        "ns/(member*var*step)",
        "peak MiB",
        "members timed PySD/pysimlin",
        "reps rs/PySD/simlin",
    )
    table = []
    extrapolated_any = False
    for r in rows:
        rs_s = r.rs.seconds if r.rs else None
        py_x = r.py_sample < r.n
        sl_x = r.sl is not None and r.sl_sample < r.n
        extrapolated_any |= py_x or sl_x
        ns = None if rs_s is None else rs_s / (r.n * n_vars * steps) * 1e9
        table.append(
            (
                f"{r.n:,}",
                fmt_s(rs_s) if r.rs else "n/a",
                fmt_s(r.py_total(), py_x),
                fmt_s(r.sl_total(), sl_x) if have_simlin else no_sl,
                fmt_ratio(r.py_total(), rs_s),
                fmt_ratio(r.sl_total(), rs_s) if have_simlin else no_sl,
                "n/a" if ns is None else f"{ns:.3g}",
                "n/a" if r.rs_peak_mib is None else f"{r.rs_peak_mib:.1f}",
                f"{r.py_sample:,}/{r.sl_sample:,}" if have_simlin else f"{r.py_sample:,}/n/a",
                "/".join(str(t.reps) if t else "-" for t in (r.rs, r.py, r.sl)),
            )
        )
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
    rep("  " + "  ".join(h.rjust(w) for h, w in zip(head, widths)))
    for t in table:
        rep("  " + "  ".join(c.rjust(w) for c, w in zip(t, widths)))
    if not have_simlin:
        rep(f"  pysimlin: {simlin_missing}")
    for r in rows:
        if r.rs_note:
            rep(f"  N={r.n:,}: reformsim {r.rs_note}")
    if extrapolated_any:
        rep(
            "  * extrapolated: the loop engine ran only the 'members timed' sample (spread over the ensemble); "
            "total = (sample time / sample size) * N"
        )
    rep(
        "  speedup = engine time for the whole ensemble / reformsim time for the whole ensemble "
        "(= per member speedup); ns/(member*var*step) is reformsim only"
    )
    for r in rows:
        if r.rs_warm is not None:
            ratio = fmt_ratio(r.sl_warm.seconds, r.rs_warm.seconds) if r.sl_warm else "n/a"
            simlin = f"pysimlin {r.sl_warm.seconds * 1e6:.0f} us, " if r.sl_warm else ""
            rep(f"  one run back to back (no gc.collect() between calls, as in a calibration loop or "
                f"the explorer): reformsim {r.rs_warm.seconds * 1e6:.0f} us, {simlin}"
                f"speedup vs pysimlin {ratio}")


# --------------------------------------------------------------------------- targets (issue 10)

LOAD_SNIPPET = """
import sys, time
import reformsim.engine.loading as loading    # imports first: the load alone is timed
t0 = time.perf_counter()
loading.load_model(sys.argv[1])
print(time.perf_counter() - t0, 'pysd' in sys.modules)
"""


def measure_load(rs, runs: int) -> tuple[float, float] | None:
    """Best first (cold cache, PySD translates) and second (model cache) load of
    models/reform.mdl, each in a new process, over `runs` fresh cache directories."""
    import subprocess  # noqa: PLC0415

    src = Path(rs.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    first, second = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="reformsim-cache-") as cache:
            env["REFORMSIM_CACHE_DIR"] = cache
            for times in (first, second):
                Reporter.progress(f"loading reform.mdl in a new process ({'cold' if times is first else 'cached'})")
                done = subprocess.run([sys.executable, "-c", LOAD_SNIPPET, str(REPO / "models" / "reform.mdl")],
                                      env=env, capture_output=True, text=True, check=True)
                seconds, pysd = done.stdout.split()
                times.append(float(seconds))
                if times is second and pysd != "False":
                    raise RuntimeError("the second load imported pysd: the model cache was not used")
    return min(first), min(second)


def _per_member(rows: Sequence[Row], n: int, engine: str) -> float | None:
    row = next((r for r in rows if r.n == n), None)
    if row is None or row.rs is None:
        return None
    other = row.sl_total() if engine == "pysimlin" else row.py_total()
    return None if other is None else other / row.rs.seconds


def report_targets(rep: Reporter, measured: dict[str, list[Row]], load: tuple[float, float] | None) -> None:
    """The issue's targets, as measured above: ratios of whole-ensemble times (= per member)."""
    rep()
    rep("== targets (issue 10): speedup over pysimlin's reused Sim, measured above")
    checks = [
        ("reform", 1, 2.0, "reform model, one run: >= 2x"),
        ("sir", 1, 1.0, "SIR, one run: >= 1x"),
        ("sir", 10_000, 30.0, "SIR, N=10,000: >= 30x"),
        ("reform", 10_000, 50.0, "reform model, N=10,000: >= 50x"),
        ("reform", 1_000, 5.0, "large real model (reform, 360 variables, lookups), N=1,000: >= 5x"),
        ("regional_sir", 1, 1.0, "regional_sir, one run: > 1x"),
    ]
    for key, n, target, label in checks:
        ratio = _per_member(measured.get(key, []), n, "pysimlin")
        verdict = "not measured" if ratio is None else f"{ratio:.3g}x  {'met' if ratio >= target else 'NOT MET'}"
        rep(f"  {label:<75} {verdict}")
        row = next((r for r in measured.get(key, []) if r.n == n and r.rs_warm and r.sl_warm), None)
        if row is not None:
            warm = row.sl_warm.seconds / row.rs_warm.seconds
            rep(f"  {'    the same, back to back (no gc.collect() between calls)':<75} "
                f"{warm:.3g}x  {'met' if warm >= target else 'NOT MET'}")
    rows = {r.n: r for r in measured.get("regional_sir", []) if r.rs is not None}
    if 1_000 in rows and 10_000 in rows:
        growth = (rows[10_000].rs.seconds / 10_000) / (rows[1_000].rs.seconds / 1_000)
        verdict = f"{growth:.3g}x  {'met' if growth <= 1.25 else 'NOT MET'}"
    else:
        verdict = "not measured"
    rep(f"  {'regional_sir, cost per member at N=10,000 / at N=1,000: flat (<= 1.25)':<75} {verdict}")
    if load is not None:
        first, second = load
        verdict = f"{second:.3f} s / {first:.3f} s = {second / first:.1%}  {'met' if second <= 0.05 * first else 'NOT MET'}"
        rep(f"  {'second load of reform.mdl in a new process: <= 5% of the first':<75} {verdict}")
        rep("    (load_model alone, after the imports; first: cold cache, PySD translates; second: the model cache)")


def versions(rs, simlin) -> str:
    import pysd  # noqa: PLC0415

    parts = [
        f"python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"pysd {pysd.__version__}",
        f"pysimlin {getattr(simlin, '__version__', '?')}" if simlin else "pysimlin n/a",
        f"reformsim {getattr(rs, '__version__', '?')} ({Path(rs.__file__).parent})",
        f"numba {_numba_version()}",
    ]
    return ", ".join(parts)


def _cpu_name() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "?"
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?")


def _numba_version() -> str:
    try:
        import numba  # noqa: PLC0415
    except ImportError:
        return "n/a"
    return numba.__version__


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark reformsim (one vectorised call) against PySD and pysimlin (one run per member).",
    )
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), metavar="N", help="ensemble sizes (default: %(default)s)")
    p.add_argument(
        "--models",
        nargs="+",
        default=list(SCALAR_MODELS),
        type=str.lower,
        choices=list(MODELS),
        help="models to run (default: %(default)s)",
    )
    p.add_argument("--repeat", type=int, default=3, metavar="K", help="each figure is the best of K runs (fewer once --budget is spent) (default: %(default)s)")
    p.add_argument(
        "--budget",
        type=float,
        default=5.0,
        help="stop repeating a measurement once it has used this many seconds (default: %(default)s)",
    )
    p.add_argument(
        "--min-time",
        type=float,
        default=1.0,
        help=f"keep repeating a short measurement (up to {MAX_REPS} runs) until it has used this many seconds (default: %(default)s)",
    )
    p.add_argument("--pysd-cap", type=int, default=200, help="PySD runs at most this many members per N, then extrapolates (default: %(default)s)")
    p.add_argument("--simlin-cap", type=int, default=2000, help="pysimlin runs at most this many members per N, then extrapolates (default: %(default)s)")
    p.add_argument("--max-result-gib", type=float, default=8.0, help="skip reformsim where N*T*V*8 bytes exceed this (default: %(default)s)")
    p.add_argument("--no-memory", action="store_true", help="skip the extra tracemalloc run that measures peak memory")
    p.add_argument("--backend", default="auto", choices=["auto", "numba", "numpy"], help="reformsim's backend (default: %(default)s)")
    p.add_argument(
        "--load-runs",
        type=int,
        default=3,
        metavar="K",
        help="time loading models/reform.mdl in new processes, cold then from the model cache, K times (0: skip; default: %(default)s)",
    )
    p.add_argument("--skip-check", action="store_true", help="skip the one-time correctness check")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the ../shared checkout (default: %(default)s)")
    p.add_argument(
        "--save",
        nargs="?",
        const="latest.txt",
        metavar="NAME",
        help=f"also write the report to {RESULTS_DIR.relative_to(REPO)}/NAME (default NAME: %(const)s)",
    )
    args = p.parse_args(argv)
    if any(n < 1 for n in args.sizes):
        p.error("--sizes must be positive")
    if args.pysd_cap < 1 or args.simlin_cap < 1 or args.repeat < 1:
        p.error("--pysd-cap, --simlin-cap and --repeat must be >= 1")
    args.models = list(dict.fromkeys(args.models))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    shared = args.shared.resolve()
    if not (shared / "test-models").is_dir():
        raise SystemExit(
            f"error: {shared}/test-models not found. The benchmark models live in the ../shared checkout "
            "(next to this repository); pass --shared DIR if it is elsewhere."
        )
    rs = import_reformsim()
    simlin = import_simlin()

    rep = Reporter()
    rep(f"reformsim engine benchmark  {time.strftime('%Y-%m-%d %H:%M:%S')}")
    rep(f"  {platform.node()} {platform.machine()} {_cpu_name()}, {os.cpu_count()} cpu, load average "
        f"{os.getloadavg()[0]:.1f} at the start (a shared machine); {versions(rs, simlin)}")
    rep(
        f"  each figure is the best of {args.repeat} runs (more, up to {MAX_REPS}, until {args.min_time:g} s are spent; "
        f"fewer once {args.budget:g} s are spent); "
        "a full gc.collect() before each timed call (one runs are also timed back to back without it); "
        f"warm-up run per engine; PySD times <= {args.pysd_cap} members per N, pysimlin <= {args.simlin_cap}; "
        "peak MiB = tracemalloc peak of one extra, untimed reformsim run"
    )
    if simlin is None:
        rep("  pysimlin: n/a (module `simlin` not importable; pip install -e '.[bench]')")

    all_ok = True
    measured: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory(prefix="reformsim-bench-") as tmp:
        for key in args.models:
            all_ok &= run_model(rep, MODELS[key], args, rs, simlin, shared, Path(tmp), measured)
    load = measure_load(rs, args.load_runs) if args.load_runs else None
    report_targets(rep, measured, load)
    rep(f"  load average at the end: {os.getloadavg()[0]:.1f}")

    if not all_ok:
        rep()
        rep("WARNING: the correctness check FAILED for at least one model; the timings above compare different answers.")
    if args.save:
        out = RESULTS_DIR / Path(args.save).name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(rep.lines) + "\n", encoding="utf-8")
        print(f"saved to {out}", file=sys.stderr)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
