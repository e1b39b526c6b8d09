"""Names of the values a run may set: a variable, a whole array, or one cell ``x[a1,b2]``.

One owner for how a setting's name is read and how its value reaches the
initialisation pass, used by :func:`reformsim.simulate` and by scenario files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import SimulationError, did_you_mean
from ..model.ir import fold_name
from ..model.shapes import cell_names
from .compiled import state_indices
from .memo import PerModel

if TYPE_CHECKING:
    from ..model.ir import Element
    from .compiled import CompiledModel


_SETTABLE: PerModel[frozenset] = PerModel()     # slots of the constants a run may set
_TARGETS: PerModel[list] = PerModel()           # the targets of a call's names


@dataclass(frozen=True)
class Target:
    """What a setting's name points at: an element, and one of its cells or all of them."""

    slot: str
    element: Element
    shape: tuple[int, ...]        # the element's array shape; () for a scalar
    cell: int | None = None       # flat position of one cell of an array
    label: str = ""               # the cell as the model spells it (``x[a1,b2]``)

    @property
    def name(self) -> str:
        """The name as the model spells it (``x`` or ``x[a1,b2]``)."""
        return self.label or self.element.name

    @property
    def scalar(self) -> bool:
        """True when the setting takes one number per member (a scalar or one cell)."""
        return not self.shape or self.cell is not None


def find(model: CompiledModel, name: str, what: str) -> Target:
    """The element (and cell) a name means; a SimulationError with a hint when there is none."""
    text = str(name)
    base, _, rest = text.partition("[")
    slot = model.slots_by_name.get(fold_name(base))
    if slot is None:
        known = [n.element.name for n in model.nodes.values()]
        hint = did_you_mean(base, known)
        raise SimulationError(f"{model.source.name}: {what} {base.strip()!r} is not in the model"
                              + (f"; {hint}" if hint else ""))
    element = model.nodes[slot].element
    shape = model.shape_of(slot)
    if not rest:
        return Target(slot, element, shape)
    if not shape:
        raise SimulationError(f"{model.source.name}: {what} {text!r}: {element.name!r} has no "
                              "subscripts")
    names = cell_names(model.ir, element)
    folded = [fold_name(n) for n in names]
    wanted = fold_name(text)
    if wanted not in folded:
        raise SimulationError(f"{model.source.name}: {what} {text!r} is not a cell of "
                              f"{element.name!r}; "
                              + (did_you_mean(text, names) or f"its cells are {names[:6]}..."))
    cell = folded.index(wanted)
    return Target(slot, element, shape, cell, names[cell])


def targets(model: CompiledModel, names: tuple[str, ...], what: str) -> list[Target]:
    """What each name of a run's ``params`` (``what`` = "parameter": constants) or ``initial``
    (``what`` = "stock") sets, checked settable; looked up once per model and kept, as a
    program's calls usually name what its last call named."""
    return _TARGETS.get(model, (what, names), lambda: [_target(model, name, what)
                                                      for name in names])


def _target(model: CompiledModel, name: str, what: str) -> Target:
    target = find(model, name, what)
    if what == "parameter":
        settable = _SETTABLE.get(model, "settable",
                                 lambda: frozenset(model.slot_of(e) for e in model.constants()))
        if target.slot not in settable:
            raise SimulationError(f"{model.source.name}: {target.element.name!r} is not a "
                                  "constant (it changes during the run), so it cannot be set"
                                  "\n  hint: set the constants it is computed from")
        return target
    element = target.element
    if not element.is_stock:
        raise SimulationError(f"{model.source.name}: {element.name!r} is not a stock, so it "
                              "has no initial value to set")
    states = state_indices(model.nodes[target.slot])
    if len(states) != 1 or target.cell is not None:
        raise SimulationError(f"{model.source.name}: {target.name!r}: initial values of an "
                              "array can be set only as a whole, and only when one equation "
                              "defines the array\n  hint: set the constants they come from")
    return target


def as_value(target: Target, value: Any) -> np.ndarray:
    """A setting's value for the initialisation pass, ensemble axis first.

    A scalar or one cell: a number or one per member, as (1,) or (N,). A
    whole array: a number for every cell, an array of the array's shape
    (shared), or one of shape (N, *shape) (per member).
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SimulationError(f"{target.name!r}: expected numbers, got {value!r}") from None
    if target.scalar:
        if array.ndim > 1:
            raise SimulationError(f"{target.name!r}: expected a number or a 1-D array (one "
                                  f"value per member), got shape {array.shape}")
        return array.reshape(-1)
    shape = target.shape
    if array.ndim == 0:
        return array.reshape((1,) * (1 + len(shape)))
    if array.shape == shape:
        return array.reshape((1,) + shape)
    if array.ndim == 1 + len(shape) and all(a in (1, b) for a, b in zip(array.shape[1:], shape)):
        return array  # per member, possibly the same in every cell along some ranges
    raise SimulationError(f"{target.name!r} is an array of shape {shape}: give a number, an "
                          f"array of that shape, or one of shape "
                          f"(members, {', '.join(map(str, shape))}); "
                          f"got shape {array.shape}")


def overrides(targets: list[tuple[Target, np.ndarray]]) -> dict[str, Any]:
    """The initialisation pass's overrides: whole values by slot, cells as patches (``slot@``)."""
    found: dict[str, Any] = {}
    for target, value in targets:
        if target.cell is None:
            found[target.slot] = value
        else:
            cells, values = found.setdefault(f"{target.slot}@", ([], []))
            cells.append(target.cell)
            values.append(value)
    return found


def read(values: dict[str, Any], target: Target, size: int) -> np.ndarray:
    """A target's value from the initialisation pass: (size,) or (size, *shape)."""
    value = np.asarray(values[target.slot], dtype=np.float64)
    if not target.shape:
        return np.broadcast_to(value.reshape(-1), (size,))
    value = np.broadcast_to(value, (value.shape[0] if value.ndim else 1,) + target.shape)
    if target.cell is None:
        return np.broadcast_to(value, (size,) + target.shape)
    return np.broadcast_to(value.reshape(value.shape[0], -1)[:, target.cell], (size,))
