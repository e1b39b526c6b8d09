"""The kinds of state (functions with memory) and what each needs: one table, one owner.

Every lifted state has a kind. Its entry here says which of its arguments the
initialisation pass and the rate pass read, which argument an initial value given
for a run replaces, which arguments are fixed at the initial time because they
shape the state (a delay's order, a DELAY FIXED buffer's length), how many rows of
the state vector it takes, and whether it keeps a discrete register updated after
each step. How each kind is written in code is a rule table per backend, keyed by
these names (``codegen.Emitter.INIT_OUTPUTS``, ``program._RateWriter.OUTPUTS``...);
``tests/test_states.py`` checks every table covers every kind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StateKind:
    """What one kind of state needs.

    ``rows``: ``"one"`` (a single row per cell), ``"order"`` (one row per stage:
    its order, fixed at t0) or ``"none"`` (no continuous rows). ``discrete``: a
    register kept outside the continuous states and updated after each step
    (DELAY N's delay times, DELAY FIXED's ring buffer, SAMPLE IF TRUE's value),
    which only fixed-step integration can carry.
    """

    name: str
    init_args: tuple[int, ...]
    output_args: tuple[int, ...]
    initial_arg: int | None = None
    structural_args: tuple[int, ...] = ()
    rows: str = "one"
    discrete: bool = False


KINDS: dict[str, StateKind] = {k.name: k for k in (
    # INTEG(flow, initial)
    StateKind("integ", init_args=(1,), output_args=(), initial_arg=1),
    # DELAY1/3 (input, delay time, initial, order): Vensim keeps the order
    StateKind("delay", init_args=(1, 2, 3), output_args=(1,), initial_arg=2,
              structural_args=(1, 3), rows="order"),
    # DELAY N (input, delay time, initial, order): a register of each stage's delay time
    StateKind("delayn", init_args=(1, 2, 3), output_args=(), initial_arg=2,
              structural_args=(1, 3), rows="order", discrete=True),
    # DELAY FIXED (input, delay time, initial): a ring buffer of delay time / TIME STEP values
    StateKind("delay_fixed", init_args=(1, 2), output_args=(), initial_arg=2,
              structural_args=(1,), rows="none", discrete=True),
    # SMOOTH*, SMOOTH N (input, smoothing time, initial, order)
    StateKind("smooth", init_args=(2, 3), output_args=(), initial_arg=2,
              structural_args=(3,), rows="order"),
    # TREND (input, average time, initial trend)
    StateKind("trend", init_args=(0, 1, 2), output_args=(0, 1)),
    # FORECAST (input, average time, horizon, initial trend)
    StateKind("forecast", init_args=(0, 1, 2, 3), output_args=(0, 1, 2)),
    # SAMPLE IF TRUE (condition, input, initial)
    StateKind("sample_if_true", init_args=(0, 1, 2), output_args=(0, 1), initial_arg=2,
              rows="none", discrete=True),
    # INITIAL (value): fixed at t0, no rows
    StateKind("initial", init_args=(0,), output_args=(), rows="none"),
)}

# The argument tables, by kind (views of KINDS for the modules that only need one).
INIT_ARGS = {k.name: k.init_args for k in KINDS.values()}
OUTPUT_ARGS = {k.name: k.output_args for k in KINDS.values()}
STRUCTURAL_ARGS = {k.name: k.structural_args for k in KINDS.values() if k.structural_args}
DISCRETE = frozenset(k.name for k in KINDS.values() if k.discrete)


def rows_per_cell(kind: str, order: int) -> int:
    """Rows of the state vector one cell of a state takes, given its order (0 if none)."""
    return {"one": 1, "order": order, "none": 0}[KINDS[kind].rows]
