"""The kinds of state (functions with memory) and what each needs: one table, one owner."""

from __future__ import annotations

# Which arguments each kind of state needs at initialisation (for its state and
# its first output), and which its output needs in the rate pass.
INIT_ARGS = {
    "integ": (1,), "delay": (1, 2, 3), "delayn": (1, 2, 3), "delay_fixed": (1, 2),
    "smooth": (2, 3), "trend": (0, 1, 2), "forecast": (0, 1, 2, 3),
    "sample_if_true": (0, 1, 2), "initial": (0,),
}
OUTPUT_ARGS = {
    "integ": (), "delay": (1,), "delayn": (), "delay_fixed": (), "smooth": (),
    "trend": (0, 1), "forecast": (0, 1, 2), "sample_if_true": (0, 1), "initial": (),
}
# Arguments fixed at t0 that shape the state (orders, buffer lengths).
STRUCTURAL_ARGS = {"delay": (1, 3), "delayn": (1, 3), "delay_fixed": (1,), "smooth": (3,)}
DISCRETE = {"delay_fixed", "sample_if_true"}
