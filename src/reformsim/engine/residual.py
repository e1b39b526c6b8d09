"""The init pass again, computing only what a call's overrides change.

A simulate() call sets a few constants (``O``) or initial values (``I``); every other
value at INITIAL TIME is the same from call to call. :func:`init` runs the model's
generated init pass (:mod:`initpass`) once per set of overridden names, keeps the values
that cannot depend on them, and from then on runs a *residual* pass: the statements that
read an overridden name, the random keys, or (transitively) a value computed from them.
The statements are the init pass's own, in its order, so every value is bit-identical to a
full pass; the kept values are made read-only, so no caller can change them for the next.

Which statements depend on what is read from the generated source itself (``ast``): a
statement depends on the names it loads, the keys of ``O`` and ``I`` it reads, and ``K``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .memo import PerModel
from .numba_init import Settings

_STATEMENTS: PerModel[list] = PerModel()
_PLANS: PerModel[Any] = PerModel()


class Values(dict):
    """The init pass's values (slot -> value), with the names this call computed
    (``changed``; every other value is the same as in any call with the same ``plan``).

    When the compiled backend's init pass computes the changed values in its kernel
    (``deferred``: the call's settings, :class:`numba_init.Settings`), they are left out,
    and computed here, by the residual pass, only if something reads one (the clock, a
    structure, a saved constant that depends on the call, or the numpy backend taking over).
    """

    changed: frozenset[str] = frozenset()
    plan: Hashable = None
    deferred: Any = None
    completed: bool = False     # the deferred values are in (or none was)

    def __missing__(self, name: str) -> Any:
        if self.deferred is None or name not in self.changed or self.completed:
            raise KeyError(name)
        return self._complete()[name]

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or (self.deferred is not None and
                                                 name in self.changed)

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def __iter__(self):  # type: ignore[no-untyped-def]
        return dict.__iter__(self._complete())

    def __len__(self) -> int:
        return dict.__len__(self._complete())

    def keys(self):  # type: ignore[no-untyped-def]
        return dict.keys(self._complete())

    def values(self):  # type: ignore[no-untyped-def]
        return dict.values(self._complete())

    def items(self):  # type: ignore[no-untyped-def]
        return dict.items(self._complete())

    def copy(self) -> dict[str, Any]:
        return dict(self.items())

    def pick(self, members: np.ndarray, size: int) -> Values:
        """The values of some of the ``size`` members (values shared by all stay (1,))."""
        def part(v: Any) -> Any:
            return v[members] if np.ndim(v) >= 1 and np.shape(v)[0] == size > 1 else v

        picked = Values({name: part(v) for name, v in dict.items(self)})
        picked.changed, picked.plan, picked.completed = self.changed, self.plan, self.completed
        picked.deferred = None if self.deferred is None else self.deferred.pick(members)
        return picked

    def _complete(self) -> Values:
        """Every value: the deferred ones by the residual pass in numpy, once (non-finite
        values are the model's, not warnings: simulate's members that fail say so)."""
        settings = self.deferred
        if settings is not None and not self.completed:
            with np.errstate(all="ignore"):
                found = self.plan.run(settings.overrides, settings.initial, settings.keys,
                                      self.plan.defaults)
            dict.update(self, found)
            self.completed = True
        return self


@dataclass(frozen=True)
class _Statement:
    node: ast.stmt
    writes: frozenset[str]
    reads: frozenset[str]
    o_keys: frozenset[Any]     # keys of O the statement reads
    i_keys: frozenset[Any]     # keys of I


def init(model: Any, overrides: dict[str, Any], initial: dict[int, Any],
         keys: np.ndarray, compiled: bool = False) -> Values:
    """``model.init(O, I, K)``, recomputing only what ``O``, ``I`` and ``K`` change; with
    ``compiled`` (the compiled backend runs the call), leaving those to its init pass
    where it takes the call (:class:`Values`)."""
    key = (frozenset(overrides), frozenset(initial))
    plan = _PLANS.get(model, key, lambda: _Plan(model, *key))
    return plan(overrides, initial, keys, compiled)


class _Plan:
    """The residual pass for one set of overridden names, and the values it leaves alone."""

    def __init__(self, model: Any, o_keys: frozenset, i_keys: frozenset) -> None:
        self.model, self.keys = model, (o_keys, i_keys)
        statements, returned = _STATEMENTS.get(model, "statements",
                                               lambda: _parse(model.init_source))
        kept, changed = _kept(statements, returned, o_keys, i_keys)
        self.changed = frozenset(changed & returned)
        written: set[str] = set()
        needed: set[str] = set()
        for k in kept:
            needed |= statements[k].reads - written
            written |= statements[k].writes
        self.defaults: dict[str, Any] | None = None
        self.unchanged: dict[str, Any] = {}
        self.data = [key for key in model.input_keys() if key in o_keys]
        self.run = _compile(model, [statements[k].node for k in kept],
                            sorted(needed & returned), sorted(self.changed & returned))
        self._defers: bool | None = None

    def __call__(self, overrides: dict[str, Any], initial: dict[int, Any],
                 keys: np.ndarray, compiled: bool = False) -> Values:
        if self.defaults is None:   # the first call: a full pass, whose values are kept
            full = self.model.init(overrides, initial, keys)
            for name, value in full.items():
                if name not in self.changed and isinstance(value, np.ndarray):
                    value.flags.writeable = False
            self.defaults = full
            self.unchanged = {n: v for n, v in full.items() if n not in self.changed}
            values = Values(full)
            values.completed = True
        elif compiled and self.defers():
            values = Values(self.unchanged)
            values.update((key, overrides[key]) for key in self.data)   # read as they are
        else:
            values = Values(self.defaults)
            values.update(self.run(overrides, initial, keys, self.defaults))
        values.changed, values.plan = self.changed, self
        if compiled and self.defers():
            values.deferred = Settings(overrides, initial, keys, self.keys)
        return values

    def defers(self) -> bool:
        """True when the compiled init pass takes this plan's calls: it has one, it takes
        these settings, and the call changes something (else the kept values are all)."""
        if self._defers is None:
            from .numba_backend import kernel
            from .numba_init import accepts

            found = kernel(self.model)
            self._defers = bool(self.changed) and not isinstance(found, str) and \
                accepts(self.model, found, *self.keys)
        return self._defers


def _kept(statements: list[_Statement], returned: frozenset[str], o_keys: frozenset,
          i_keys: frozenset) -> tuple[list[int], set[str]]:
    """The statements a call with these overrides must run again (indices, in order), and
    the names they change: those reading an overridden key, ``K``, or a value such a
    statement wrote; a statement that updates a value (a cell patch) brings the value's
    earlier writer along. The pass's own locals (``t``, ``dt``, ``n``: not returned, so not
    kept between calls) are always computed again, without counting as changed."""
    forced: set[int] = set()
    while True:
        changed: set[str] = {"K"}
        kept, last_writer = [], {}
        for k, s in enumerate(statements):
            affected = k in forced or s.o_keys & o_keys or s.i_keys & i_keys or \
                s.reads & changed
            if affected or s.writes - returned:
                kept.append(k)
            if affected:
                changed |= s.writes
                forced |= {last_writer[n] for n in s.reads & s.writes if n in last_writer}
            last_writer.update(dict.fromkeys(s.writes, k))
        if forced <= set(kept):
            return kept, changed


def _parse(source: str) -> tuple[list[_Statement], frozenset[str]]:
    """The init function's statements with what each reads and writes, and the names it
    returns."""
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    out = []
    for node in function.body[:-1]:        # the last statement returns the dict
        writes, reads, o_keys, i_keys = set(), set(), set(), set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                (writes if isinstance(sub.ctx, ast.Store) else reads).add(sub.id)
            elif isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) \
                    and isinstance(sub.slice, ast.Constant):
                {"O": o_keys, "I": i_keys}.get(sub.value.id, set()).add(sub.slice.value)
            elif isinstance(sub, ast.Compare) and isinstance(sub.left, ast.Constant) and \
                    any(isinstance(c, ast.Name) and c.id in ("O", "I") for c in sub.comparators):
                target = o_keys if any(getattr(c, "id", "") == "O"
                                       for c in sub.comparators) else i_keys
                target.add(sub.left.value)
        out.append(_Statement(node, frozenset(writes), frozenset(reads - writes | (
            reads & writes if isinstance(node, ast.If) else set())), frozenset(o_keys),
            frozenset(i_keys)))
    result = function.body[-1]
    assert isinstance(result, ast.Return) and isinstance(result.value, ast.Dict)
    return out, frozenset(k.value for k in result.value.keys)  # type: ignore[union-attr]


def _compile(model: Any, kept: list[ast.stmt], needed: list[str],
             changed: list[str]) -> Callable[..., dict]:
    """``residual(O, I, K, D)``: the kept statements, reading other values from ``D``."""
    lines = ["def residual(O, I, K, D):"]
    lines += [f"    {name} = D[{name!r}]" for name in needed]
    lines += ["    " + line for s in kept for line in ast.unparse(s).splitlines()]
    lines.append("    return {" + ", ".join(f"{n!r}: {n}" for n in changed) + "}")
    names = dict(model.init.__globals__)   # the init pass's literals, tables and helpers
    exec(compile("\n".join(lines) + "\n", "<reformsim residual init pass>", "exec"),  # noqa: S102
         names)
    return names["residual"]

