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
points of the tables given per run); ``out`` is the results array (T x V x E).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import numba_init
from .numba_codegen import Expressions, Unsupported, literal_array
from .numba_rates import Constants, RatePass, fixed_rows

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
    columns: int = 0                             # cells of C
    digest: str = ""                             # of the source: the module's name

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns",
                           sum(math.prod(shape) for _, _, shape in self.constants))
        object.__setattr__(self, "digest", hashlib.sha256(self.source.encode()).hexdigest()[:32])


def write_kernel(model: CompiledModel) -> Kernel:
    """The generated module of a model (raises :class:`Unsupported` with the reason)."""
    for s in model.states:
        if s.kind not in RatePass.OUTPUTS:
            raise Unsupported(f"a state of kind {s.kind!r}")
    ex = Expressions(model, Constants(model))
    euler = RatePass(model, ex, euler=True)
    euler_lines = euler.lines()
    work, ex.work = ex.work, 0          # each integrator has its own work array
    rk4 = RatePass(model, ex, euler=False)
    rk4_lines = rk4.lines()
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
    source = _TEMPLATE.format(stamp=_stamp(), prologue=_indent(euler.prologue(), 1),
                              step=_indent(euler.per_step(), 2),
                              euler_body=_indent(euler_lines, 3), rk4_body=_indent(rk4_lines, 4),
                              initial=initial)
    rows, fixed = fixed_rows(model)
    return Kernel(source=source, literals=literal_array(ex.literals),
                  tables=np.array(ex.tables, dtype=np.float64),
                  ints=np.array(ex.ints or [0], dtype=np.int64),
                  constants=constants, outputs=tuple(euler.outputs),
                  per_run=tuple(ex.per_run), work=max(work, rk4_work, 1),
                  fixed_rows=rows, fixed=fixed, **init_data)


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
# writes D (RK4: the stage's row of ks), W, out and OB (the sum of its saved values).
_ARGS = ("Y, Z, C, L, TB, TI, RT, RI, K, TT, TD, SV, AD, out, OC, RO, OR, ZO, PT0, FX, "
         "WO, FS, FR, OB, work")
_TEMPLATE = '''"""Generated by reformsim for one model structure; do not edit ({stamp})."""
import numpy as np
from numba import njit, prange

from reformsim.engine import numba_kernels as F

_jit = njit(cache=True, error_model="numpy", nogil=True)


@_jit
def watch(Y, e, R, WO, FS, FR, saved):
    """Member e's first state row (in the numpy backend's order, WO) that is not finite."""
    for k in range(R):
        if not np.isfinite(Y[e, WO[k]]):
            FS[e] = saved
            FR[e] = WO[k]
            return


@_jit
def euler(lo, hi, ''' + _ARGS + '''):
    W = np.empty(work)
    R = Y.shape[1]
    D = np.empty(R)
    PT = PT0.copy()
    saved = 0
{prologue}
    for n in range(TT.shape[0]):
        t = TT[n]
        dt = TD[n]
        save = SV[n]
        commit = AD[n]
{step}
        for e in range(lo, hi):
{euler_body}
        if not commit:
            break
        for f in range(FX.shape[0]):
            PT[FX[f]] = (PT[FX[f]] + 1) % OR[FX[f]]
        if save:
            saved += 1


@_jit
def rk4(lo, hi, ''' + _ARGS + '''):
    W = np.empty(work)
    R = Y.shape[1]
    ks = np.empty((4, R))
    ys = np.empty(R)
    PT = PT0
    saved = 0
{prologue}
    for n in range(TT.shape[0]):
        start = TT[n]
        dt = TD[n]
        keep = SV[n]
        go = AD[n]
        for e in range(lo, hi):
            for stage in range(4 if go else 1):
                t = start
                save = keep
                if stage == 0:
                    for k in range(R):
                        ys[k] = Y[e, k]
                else:
                    save = False
                    step = dt if stage == 3 else dt / 2
                    t = start + step
                    for k in range(R):
                        ys[k] = Y[e, k] + step * ks[stage - 1, k]
{rk4_body}
            if keep and FS[e] < 0:
                total = 0.0
                for k in range(R):
                    total += Y[e, k]
                if not np.isfinite(total):
                    watch(Y, e, R, WO, FS, FR, saved)
            if go:
                for k in range(R):
                    Y[e, k] += dt / 6 * (ks[0, k] + 2 * ks[1, k] + 2 * ks[2, k] + ks[3, k])
        if not go:
            break
        if keep:
            saved += 1


{initial}

@njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def euler_parallel(block, lo, hi, ''' + _ARGS + '''):
    for b in prange((hi - lo + block - 1) // block):
        first = lo + b * block
        euler(first, min(hi, first + block), ''' + _ARGS + ''')


@njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def rk4_parallel(block, lo, hi, ''' + _ARGS + '''):
    for b in prange((hi - lo + block - 1) // block):
        first = lo + b * block
        rk4(first, min(hi, first + block), ''' + _ARGS + ''')
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
