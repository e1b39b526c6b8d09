"""The compiled backend's source: one member's rate pass, inside the integrators' loops.

:func:`write_kernel` turns a compiled model into the text of a Python module that numba
compiles: ``euler`` and ``rk4`` run the whole time loop for a block of members, with the
loop over members inside it and the rate pass (:class:`numba_rates.RatePass`) written out
in its body, so one member's values at one time are locals, never arrays;
``euler_parallel`` and ``rk4_parallel`` spread blocks over threads with ``prange``.

The source depends on the model's structure only (slots, shapes, state kinds): numbers and
table points arrive as data (:class:`Kernel`), and so do the orders of delays and the
lengths of DELAY FIXED buffers (per run, from the structure of the members' group), so one
compilation serves every structure.

Data, member-major: ``Y`` (E x state rows), ``Z`` (E x discrete cells: DELAY N registers,
DELAY FIXED ring buffers, SAMPLE IF TRUE holds), ``C`` (E x constant cells), ``RT`` (E x
points of the tables given per run); ``out`` is the results array (T x V x E). ``Y`` and
``Z`` hold the initial values: a block works on its own copies (``Yb``, ``Zb``, ``Cb``),
member ``e = lo + i`` being its ``i``-th. A model of scalars keeps them cells x members, a
cell of consecutive members contiguous, so LLVM runs a member loop on 8 members at once
(AVX-512), with the same IEEE operations in the same order as one member alone (no
fastmath): an ensemble's member stays bit for bit its single run. Where its body is plain
arithmetic (:func:`plain`: no loop, no call the compiler cannot inline, no lookup), one
member loop runs it; else its Euler body is split into several member loops
(:mod:`numba_segments`), and its RK4 body runs one member at a time. Its saved values go to
the block's ``Sb`` (cells x members), copied to ``out`` after the members. Other models
(arrays, or a body numba_segments does not split) keep members x cells, their loops over
cells reading a member's contiguously.
The watch for non-finite states runs before the members, on the states the step starts
from.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import numba_init, numba_segments
from .numba_codegen import Expressions, Unsupported, interpolation, literal_array
from .numba_rates import Constants, RatePass, cell, fixed_rows

if TYPE_CHECKING:
    from .compiled import CompiledModel


@dataclass(frozen=True, eq=False)
class Kernel:
    """A model's generated module and the data its functions read, besides a run's own."""

    source: str
    literals: np.ndarray                         # L
    tables: np.ndarray                           # TB
    ints: np.ndarray                             # TI
    constants: tuple[tuple[str, int, tuple[int, ...]], ...]  # (name, first column of C, shape)
    outputs: tuple[str, ...]                     # dynamic element slots, in the order of OC
    per_run: tuple[str, ...]                     # keys of per-run tables, in the order of RI
    work: int                                    # cells of the work array W
    fixed_rows: dict[int, int]                   # one-row state -> its first row
    fixed: int                                   # rows before the delays' and smooths'
    settable: tuple[str, ...] = ()               # constants the init pass sets, as in OX
    defaults: np.ndarray = field(default_factory=lambda: np.empty(0))   # S: numbers of the
    default_columns: np.ndarray = field(                                # first of them, and
        default_factory=lambda: np.empty(0, dtype=np.int64))            # SC: their C columns
    init_work: int = 1                           # cells of the init pass's work array
    init_reason: str = ""                        # why there is no compiled init pass, if not
    block_width: int = 0                         # members a block holds at most (0: any)
    columns: int = 0                             # cells of C
    digest: str = ""                             # of the source: the module's name

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns",
                           sum(math.prod(shape) for _, _, shape in self.constants))
        object.__setattr__(self, "digest", hashlib.sha256(self.source.encode()).hexdigest()[:32])


def scalars_only(model: CompiledModel) -> bool:
    """Whether every state and dynamic element of the model is a scalar."""
    return not any(s.shape for s in model.states) and not any(
        model.shape_of(slot) for slot in model.rate_order if slot.startswith("v"))


# Calls in a body that LLVM inlines into plain arithmetic. Any other call (exp, a power, a
# lookup of F.) keeps its member loop one member at a time (numba_segments gives such calls
# loops of their own): LLVM vectorises exp or pow only with a vector maths library (Intel's
# SVML, not used here), whose results can differ by an ulp from the C library's that a lone
# member, or a block's last few, would get.
INLINED = ("F.fmin(", "F.fmax(", "F.xidz(", "F.zidz(", "np.abs(")


def plain(lines: list[str]) -> bool:
    """Whether a rate pass's body is plain arithmetic: no loop, no call but INLINED ones (a
    power is ``F.power``: the C library's pow), no table's interpolation (interp<n>, whose
    points numba_segments reads before the time loop)."""
    text = "\n".join(lines)
    for call in INLINED:
        text = text.replace(call, "(")
    return not any(word in text for word in ("for ", "F.", "np.", "watch(", "interp"))


def write_kernel(model: CompiledModel) -> Kernel:
    """The generated module of a model (raises :class:`Unsupported` with the reason)."""
    for s in model.states:
        if s.kind not in RatePass.OUTPUTS:
            raise Unsupported(f"a state of kind {s.kind!r}")
    by_cell = scalars_only(model)
    euler_lines, rk4_lines, ex, euler, rk4, work = _passes(model, by_cell)
    segments = None
    if by_cell and not plain(euler_lines):   # split into loops that vectorise, if it can be
        segments = numba_segments.split(euler_lines, INLINED, ex.stores.used)
        if segments is None:                 # (else the member loop would not vectorise)
            by_cell = False
            euler_lines, rk4_lines, ex, euler, rk4, work = _passes(model, by_cell)
    members, euler_setup = segments or (   # one member loop
        ["for i in range(nb):", "    e = lo + i"] + ["    " + line for line in euler_lines],
        _setup(by_cell))
    rk4_work = ex.work
    constants = tuple(ex.stores.order)
    try:   # the init pass is compiled too where it can be (numba_init); else numpy's runs
        init = numba_init.write(model, ex, constants)
        prologue, body = init.source()
        initial = _INITIAL.format(prologue=_indent(prologue, 1), body=_indent(body, 2))
        init_data = dict(settable=init.settable, defaults=init.defaults,
                         default_columns=init.default_columns, init_work=max(ex.work, 1))
    except Unsupported as exc:
        initial, init_data = "# no compiled init pass: numpy's runs\n", {"init_reason": str(exc)}
    interpolations = "".join(f"\n{interpolation(count)}\n\n"
                             for count in sorted(ex.interpolations))
    euler_prologue = euler.prologue(saves=not segments)   # (numba_segments lays out Sb)
    source = _TEMPLATE.format(stamp=_stamp(), interpolations=interpolations,
                              prologue=_indent(euler_prologue, 1),
                              euler_setup=_indent(euler_setup, 1),
                              derivatives="(R, width)" if segments else "R",
                              rk4_prologue=_indent(rk4.prologue(), 1),
                              setup=_indent(_setup(by_cell), 1),
                              Yki=cell("Yb", "k", by_cell), Ywi=cell("Yb", "WO[k]", by_cell),
                              look=_indent(_look(by_cell), 3),
                              store=_indent(_STORE if by_cell else ["pass"], 3),
                              tally=_indent(_TALLY, 1),
                              step=_indent(euler.per_step(), 2),
                              euler_members=_indent(members, 2), rk4_body=_indent(rk4_lines, 4),
                              initial=initial)
    rows, fixed = fixed_rows(model)
    return Kernel(source=source, literals=literal_array(ex.literals),
                  tables=np.array(ex.tables, dtype=np.float64),
                  ints=np.array(ex.ints or [0], dtype=np.int64),
                  constants=constants, outputs=tuple(euler.outputs),
                  per_run=tuple(ex.per_run), work=max(work, rk4_work, 1),
                  fixed_rows=rows, fixed=fixed,
                  block_width=numba_segments.WIDTH if segments else 0, **init_data)


def _passes(model: CompiledModel, by_cell: bool) -> tuple:
    """The Euler and RK4 bodies of a model, its expressions and both passes, with a block's
    arrays cells x members (``by_cell``) or members x cells."""
    ex = Expressions(model, Constants(model, by_cell))
    euler = RatePass(model, ex, euler=True, by_cell=by_cell)
    euler_lines = euler.lines()
    work, ex.work = ex.work, 0          # each integrator has its own work array
    rk4 = RatePass(model, ex, euler=False, by_cell=by_cell)
    return euler_lines, rk4.lines(), ex, euler, rk4, work


def _setup(by_cell: bool) -> list[str]:
    """An integrator's start: the block's own copies of its members' cells, its sums."""
    gather = "across" if by_cell else "along"
    return ["nb = hi - lo", f"Yb = {gather}(lo, hi, Y)", f"Zb = {gather}(lo, hi, Z)",
            f"Cb = {gather}(lo, hi, C)", "OBb = np.zeros(nb)", "T = np.empty(nb)",
            "W = np.empty(work)", "R = WO.shape[0]",
            f"width = {'Yb.shape[1]' if by_cell else 'nb'}"]


def _look(by_cell: bool) -> list[str]:
    """At a save, before the step: the states' sum of each member of the block (T), and the
    row-by-row look (``watch``) only where it is not finite, as numpy's watch does. The sums
    and the count of sums not finite run on several members at once; the look is rare.
    A lone member sums in a register: the loops over members, each entered once per row,
    took half of a lone SIR run's time (68 against 31 us, 3,200 saves).
    (Written into the integrators, not a function of its own: numba compiles each apart.)"""
    return ["bad = 0",
            "if nb == 1:",
            "    i = 0",
            "    total = 0.0",
            "    for k in range(R):",
            f"        total += {cell('Yb', 'k', by_cell)}",
            "    T[0] = total",
            "    if total - total != 0.0:    # inf - inf and NaN - NaN are NaN",
            "        bad = 1",
            "else:",
            "    for i in range(nb):",
            "        T[i] = 0.0",
            "    for k in range(R):",
            "        for i in range(nb):",
            f"            T[i] += {cell('Yb', 'k', by_cell)}",
            "    for i in range(nb):",
            "        if T[i] - T[i] != 0.0:",
            "            bad += 1",
            "if bad:",
            "    for i in range(nb):",
            "        if FS[lo + i] < 0 and not np.isfinite(T[i]):",
            "            watch(Yb, i, lo + i, WO, FS, FR, saved)"]


# At a save, after the members: the kept rows of Sb (scalars, by cell) into out, and their
# sums (an unsigned index spares numba's check for negative ones: the loop vectorises)
_STORE = ["for r in range(kept):",
          "    row = SR[r]",
          "    oc = SC[r]",
          "    for i in range(nb):",
          "        value = Sb[row, i]",
          "        out[saved, oc, np.uint64(lo + i)] = value",
          "        OBb[i] += value"]


# At the end: each member's sum of saved values into OB, and how many members to look at
_TALLY = ["flagged = 0",
          "for i in range(nb):",
          "    OB[lo + i] += OBb[i]",
          "    if FS[lo + i] >= 0 or not np.isfinite(OBb[i]):",
          "        flagged += 1",
          "return flagged"]


def _indent(lines: list[str], depth: int) -> str:
    return "\n".join("    " * depth + line for line in lines) or "    " * depth + "pass"


def _stamp() -> str:
    """What the machine code also depends on: the kernels it inlines, and the versions."""
    import numba

    from .. import __version__

    kernels = (Path(__file__).parent / "numba_kernels.py").read_bytes()
    return (f"reformsim {__version__}, numba {numba.__version__}, numpy {np.__version__}, "
            f"kernels {hashlib.sha256(kernels).hexdigest()[:16]}")


# Both integrators evaluate the same body; only their loops differ. The rate pass of member e
# at one time reads its rows of Y (RK4: the stage's ys), Z, C and RT, K[e], t, dt and n, and
# writes D (RK4: the stage's row of ks), W, out and OB (the sum of its saved values). Each
# integrator returns how many of its members it flagged: a state not finite (FS) or a sum of
# saved values not finite (OB); none, the usual case, spares the caller looking for them.
_ARGS = ("Y, Z, C, L, TB, TI, RT, RI, K, TT, TD, SV, AD, out, OC, RO, OR, ZO, PT0, FX, "
         "WO, FS, FR, OB, work")
_TEMPLATE = '''"""Generated by reformsim for one model structure; do not edit ({stamp})."""
import numpy as np
from numba import njit, prange

from reformsim.engine import numba_kernels as F

_jit = njit(cache=True, error_model="numpy", nogil=True)


@_jit
def across(lo, hi, A):
    """Members lo..hi of A (members x cells) as the block's own copy, cells x members. Its
    rows are 8 x an odd number of cells apart (a member's cells in distinct cache sets)."""
    width = (hi - lo + 7) // 8 * 8
    B = np.empty((A.shape[1], width + 8 if width % 16 == 0 else width))
    for i in range(hi - lo):
        for k in range(A.shape[1]):
            B[k, i] = A[lo + i, k]
    return B


@_jit
def along(lo, hi, A):
    """Members lo..hi of A (members x cells) as the block's own copy, members x cells."""
    return A[lo:hi].copy()


@_jit
def watch(Yb, i, e, WO, FS, FR, saved):
    """Member e's first state row (in the numpy backend's order, WO) that is not finite."""
    for k in range(WO.shape[0]):
        if not np.isfinite({Ywi}):
            FS[e] = saved
            FR[e] = WO[k]
            return

{interpolations}
@_jit
def euler(lo, hi, ''' + _ARGS + '''):
{euler_setup}
    D = np.empty({derivatives})
    PT = PT0.copy()
    saved = 0
{prologue}
    for n in range(TT.shape[0]):
        t = TT[n]
        dt = TD[n]
        save = SV[n]
        commit = AD[n]
{step}
        if save:
{look}
{euler_members}
        if save:
{store}
        if not commit:
            break
        for f in range(FX.shape[0]):
            PT[FX[f]] = (PT[FX[f]] + 1) % OR[FX[f]]
        if save:
            saved += 1
{tally}


@_jit
def rk4(lo, hi, ''' + _ARGS + '''):
{setup}
    ks = np.empty((4, R))
    ys = np.empty(R)
    PT = PT0
    saved = 0
{rk4_prologue}
    for n in range(TT.shape[0]):
        start = TT[n]
        dt = TD[n]
        keep = SV[n]
        go = AD[n]
        if keep:
{look}
        for i in range(nb):
            e = lo + i
            for stage in range(4 if go else 1):
                t = start
                save = keep
                if stage == 0:
                    for k in range(R):
                        ys[k] = {Yki}
                else:
                    save = False
                    step = dt if stage == 3 else dt / 2
                    t = start + step
                    for k in range(R):
                        ys[k] = {Yki} + step * ks[stage - 1, k]
{rk4_body}
            if go:
                for k in range(R):
                    {Yki} += dt / 6 * (ks[0, k] + 2 * ks[1, k] + 2 * ks[2, k] + ks[3, k])
        if keep:
{store}
        if not go:
            break
        if keep:
            saved += 1
{tally}


{initial}

@njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def euler_parallel(block, lo, hi, ''' + _ARGS + '''):
    flagged = 0
    for b in prange((hi - lo + block - 1) // block):
        first = lo + b * block
        flagged += euler(first, min(hi, first + block), ''' + _ARGS + ''')
    return flagged


@njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def rk4_parallel(block, lo, hi, ''' + _ARGS + '''):
    flagged = 0
    for b in prange((hi - lo + block - 1) // block):
        first = lo + b * block
        flagged += rk4(first, min(hi, first + block), ''' + _ARGS + ''')
    return flagged
'''

# The compiled init pass (numba_init): members lo..hi's values at the initial time, into the
# kernel's C, Y and Z; OP holds the call's settings, OX and IX where each one's are (or -1).
_INITIAL = '''@_jit
def initial(lo, hi, OP, OX, IX, S, SC, K, C, Y, Z, L, TB, TI, RT, RI, RO, OR, ZO, work):
    W = np.empty(work)
    V = np.empty(S.shape[0])
    n = -1
{prologue}
    for e in range(lo, hi):
{body}
'''
