"""Model files -> reformsim IR, through PySD's translators (the only importer of pysd).

PySD's Vensim and XMILE translators give an AbstractModel; this module turns
it into :mod:`reformsim.ir` and refuses, naming file, element and construct,
anything the engine does not simulate.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError, ReformsimWarning, UnsupportedError, did_you_mean
from . import ir
from .external import ExternalData, file_error, ident, readers
from .macros import expand_macros
from .source import parse_failure, vensim_reader, xmile_reader
from .timevalue import time_value
from .units import synonym_groups

SUFFIXES = {".mdl": "vensim", ".xmile": "xmile", ".stmx": "xmile", ".xml": "xmile"}

# Builtin calls the engine simulates, with the argument counts it accepts.
BUILTINS: dict[str, tuple[int, ...]] = {
    "abs": (1,), "min": (2,), "max": (2,), "sqrt": (1,), "exp": (1,), "ln": (1,),
    "log": (2,), "sin": (1,), "cos": (1,), "tan": (1,), "arcsin": (1,), "arccos": (1,),
    "arctan": (1,), "sinh": (1,), "cosh": (1,), "tanh": (1,), "power": (2,), "pi": (0,),
    "integer": (1,), "quantum": (2,), "modulo": (2,), "if_then_else": (3,),
    "xidz": (3,), "zidz": (2,), "step": (2,), "ramp": (3,), "Xramp": (2,),
    "pulse": (2,), "Xpulse": (2,), "pulse_train": (4,), "Xpulse_train": (3,),
    "active_initial": (2,), "vmin_xmile": (1,), "vmax_xmile": (1,),
    "random_0_1": (0,), "random_uniform": (3,), "random_normal": (5,),
    "random_exponential": (5,),
    # arrays
    "sum": (1,), "prod": (1,), "vmin": (1,), "vmax": (1,), "elmcount": (1,),
    "vector_select": (5,), "vector_sort_order": (2,), "vector_rank": (2,),
    "vector_reorder": (2,), "invert_matrix": (1, 2),
}

# Readable names of what the engine refuses, for error messages.
_CONSTRUCTS = {
    "GetLookupsStructure": "GET XLS/DIRECT LOOKUPS outside a lookup definition",
}
_HINT = "see docs/supported.md for what reformsim simulates"


def read_model(path: str | Path,
               data_files: str | Path | Sequence[str | Path] = ()) -> ir.ModelIR:
    """Read a Vensim (.mdl) or XMILE (.xmile, .stmx, .xml) file into the IR.

    ``data_files`` are searched, in order, for the series of data variables
    that have no equation (``x :=``), as PySD's ``data_files``.
    """
    path = Path(path)
    files = [Path(data_files)] if isinstance(data_files, (str, Path)) else \
        [Path(f) for f in data_files]
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ModelError(path, path.name, "unsupported file type",
                         hint="use a Vensim .mdl or an XMILE .xmile/.stmx/.xml file")
    if not path.is_file():
        raise ModelError(path, path.name, "no such file",
                         hint=f"looked in {path.resolve().parent}; check the path and its spelling")
    abstract = expand_macros(path, _abstract_model(path, kind))
    model = _Converter(path, abstract, files).convert()
    if kind == "vensim":   # units synonyms live in the settings after the sketch
        model = replace(model, unit_synonyms=synonym_groups(
            path.read_text(encoding="utf-8", errors="replace")))
    return model


def _abstract_model(path: Path, kind: str) -> Any:
    """PySD's AbstractModel of the file; its warnings are re-issued as ours."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            reader = (vensim_reader if kind == "vensim" else xmile_reader)(path)
        except OSError as exc:
            raise ModelError(path, path.name, f"cannot be read: {exc.strerror or exc}") from exc
        try:
            reader.parse()
            abstract = reader.get_abstract_model()
        except ModelError:
            raise
        except Exception as exc:  # the translators raise many kinds; all mean "cannot read"
            raise parse_failure(path, reader, exc) from exc
    ours = [str(w.message) for w in caught if issubclass(w.category, ReformsimWarning)]
    abstract.reformsim_warnings = tuple(dict.fromkeys(ours + [
        f"{path.name}: {' '.join(str(w.message).split())}" for w in caught  # PySD's own notes,
        if issubclass(w.category, UserWarning) and "pysd" in w.filename]))  # not deprecations
    for message in abstract.reformsim_warnings:
        warnings.warn(message, ReformsimWarning, stacklevel=3)
    return abstract


def _is_lookup(element: Any) -> bool:
    """A lookup definition ``name( (x,y)... )``: PySD marks the component, not the element."""
    return any(type(c).__name__ == "AbstractLookup" for c in element.components)


class _Converter:
    """Walks one AbstractModel and builds the IR, refusing what it cannot simulate.

    Size: a little over 250 lines because it holds one rule per PySD structure
    (the ``_RULES`` table at its end) beside the element walk that uses them;
    external data lives apart (:mod:`reformsim.model.external`).
    """

    def __init__(self, path: Path, abstract: Any, data_files: Sequence[Path] = ()) -> None:
        self.path, self.abstract, self.data_files = path, abstract, tuple(data_files)
        self.main = abstract.sections[0]
        self.idents: dict[str, str] = {}
        self.lookups: set[str] = set()
        self.element = ""  # the element being converted, for messages
        self.component: Any = None  # its equation being converted

    def convert(self) -> ir.ModelIR:
        self.subscripts, self.manager = self._subscripts()
        self.external = ExternalData(self.path, self.manager, self.data_files)
        self.subscript_names = {ident(n): n for n in self.subscripts.ranges}
        self.subscript_names.update({ident(x): x for xs in self.subscripts.ranges.values()
                                     for x in xs})
        for element in self.main.elements:
            self._register(element)
        try:
            elements = tuple(self._element(e) for e in self.main.elements)
        finally:
            readers().Excels.clean()  # each data file was read once, for this model
        if all(e.kind == "control" for e in elements):
            raise ModelError(self.path, self.path.name, "the model defines no variables",
                             hint="a file from an older Stella may need saving as XMILE 1.0")
        missing = [c for c in ir.CONTROLS if c not in {e.ident for e in elements}]
        if missing:
            raise ModelError(self.path, missing[0].upper().replace("_", " "),
                             "the model does not define this control variable")
        return ir.ModelIR(self.path, elements, getattr(self.abstract, "reformsim_warnings", ()),
                          _ranges(self.manager))  # with any range PySD added while merging

    def _subscripts(self) -> tuple[ir.Subscripts, Any]:
        """The ranges, with copies and nested subranges expanded by PySD's SubscriptManager."""
        from pysd.builders.python.subscripts import SubscriptManager

        try:  # ranges read from spreadsheets (GET XLS/DIRECT SUBSCRIPT) are read here
            manager = SubscriptManager(self.main.subscripts, self.path.parent)
        except Exception as exc:  # PySD's readers raise many kinds: all mean "cannot read"
            read = [s for s in self.main.subscripts if isinstance(s.subscripts, dict)]
            if not read:
                raise
            self.element = read[0].name
            raise file_error(self.path, self.element, read[0].subscripts.get("file", "?"),
                             exc) from None
        return _ranges(manager), manager


    def _register(self, element: Any) -> None:
        canonical = ident(element.name)
        for alias in (canonical, canonical.strip('"'), ident(element.name.strip('"'))):
            self.idents.setdefault(alias, canonical)
        if _is_lookup(element):
            self.lookups.add(canonical)

    def _element(self, element: Any) -> ir.Element:
        self.element = element.name
        kind_name = type(element).__name__
        if kind_name == "AbstractData":
            self._refuse("a data variable (:=)")
        lookup = _is_lookup(element)

        def convert(component: Any) -> Any:
            self.component = component
            return (self._table if lookup else self._expr)(component.ast)

        kind = "lookup" if lookup else (
            "control" if kind_name == "AbstractControlElement" else "aux")
        components = element.components
        dims: tuple[str, ...] = ()
        if len(components) == 1 and not components[0].subscripts[0]:
            expr: Any = convert(components[0])
        else:
            if kind == "control":
                self._refuse("a subscripted control variable")
            if all(not c.subscripts[0] for c in components):
                raise ModelError(self.path, self.element, f"is defined {len(components)} times",
                                 hint="keep one equation for it (or give each its subscripts)")
            if any(not c.subscripts[0] for c in components):
                self._refuse("an element defined both with and without subscripts")
            expr = ir.Pieces(tuple(
                ir.Piece(tuple(c.subscripts[0]), tuple(tuple(x) for x in c.subscripts[1]),
                         convert(c))
                for c in components))
            dims = self._merged_dims([list(c.subscripts[0]) for c in components])
        low, high, increment = (*(None if v is None or v != v else float(v)  # None, NaN: none
                                  for v in element.limits or ()), None, None, None)[:3]
        return ir.Element(name=element.name, ident=ident(element.name), kind=kind, expr=expr,
                          units=element.units or "", documentation=element.documentation or "",
                          limits=(low, high), increment=increment, dims=dims)

    def _merged_dims(self, subs_list: list[list[str]]) -> tuple[str, ...]:
        """The ranges an array spans once all its pieces are put together (PySD's rule)."""
        known = set(self.subscripts.ranges) | {x for xs in self.subscripts.ranges.values()
                                               for x in xs}
        for subs in subs_list:
            for sub in subs:
                if sub not in known:
                    raise ModelError(self.path, self.element,
                                     f"uses the subscript {sub!r}, which no range defines",
                                     hint=did_you_mean(sub, sorted(known)))
        if len({len(s) for s in subs_list}) != 1:
            raise ModelError(self.path, self.element,
                             "its equations use different numbers of subscripts")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dims = self.manager.make_merge_list(subs_list, self.element)
        if None in dims:
            raise UnsupportedError(self.path, self.element,
                                   "its equations do not cover a range reformsim can name",
                                   _HINT)
        return tuple(dims)

    def _refuse(self, construct: str) -> None:
        raise UnsupportedError(self.path, self.element,
                               f"uses {construct}, which reformsim does not simulate yet", _HINT)

    # --- expressions -------------------------------------------------------------------------

    def _expr(self, node: Any) -> ir.Expr:
        if isinstance(node, bool):
            return ir.Num(float(node))
        if isinstance(node, (int, float, np.integer, np.floating)):
            return ir.Num(float(node))
        if isinstance(node, np.ndarray):
            values = np.asarray(node, dtype=float)
            return ir.ArrayLit(tuple(values.reshape(-1).tolist()), values.shape)
        rule = self._RULES.get(type(node).__name__)
        if rule is None:
            name = type(node).__name__
            self._refuse(_CONSTRUCTS.get(name, name))
        return rule(self, node)

    def _reference(self, node: Any) -> ir.Expr:
        subs = tuple(getattr(node.subscripts, "subscripts", None) or ())
        if node.reference not in self.idents and node.reference in self.subscript_names:
            if subs:
                self._refuse(f"the subscript {node.reference!r} with subscripts")
            return ir.SubscriptValue(self.subscript_names[node.reference])
        return ir.Ref(self._resolve(node.reference), subs)

    def _resolve(self, reference: str) -> str:
        if reference == "time":
            return "time"
        for candidate in (reference, reference.strip('"')):
            if candidate in self.idents:
                return self.idents[candidate]
        raise ModelError(self.path, self.element, f"refers to {reference!r}, which is not defined",
                         hint=did_you_mean(reference, self.idents))

    def _arithmetic(self, node: Any) -> ir.Expr:
        ops, args = list(node.operators), [self._expr(a) for a in node.arguments]
        if ops == ["negative"]:
            return ir.Op("neg", (args[0],))
        if any(o not in {"+", "-", "*", "/", "^"} for o in ops) or len(ops) != len(args) - 1:
            self._refuse(f"the operator sequence {ops}")
        if ops and all(o == "^" for o in ops):  # exponentiation groups to the right
            acc = args[-1]
            for arg in reversed(args[:-1]):
                acc = self._power(arg, acc)
            return acc
        if len(args) == 2:
            return ir.Op(ops[0], tuple(args))
        return ir.Chain(tuple(ops), tuple(args))

    @staticmethod
    def _power(base: ir.Expr, exponent: ir.Expr) -> ir.Expr:
        # The translator folds "-2" into a negative literal, but Vensim binds unary minus
        # looser than ^: -2^2 is -(2^2) = -4.
        if isinstance(base, ir.Num) and base.value < 0:
            return ir.Op("neg", (ir.Op("^", (ir.Num(-base.value), exponent)),))
        return ir.Op("^", (base, exponent))

    _LOGIC = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
              ":and:": "and", ":or:": "or", ":not:": "not", "and": "and", "or": "or", "not": "not"}

    def _logic(self, node: Any) -> ir.Expr:
        ops = [self._LOGIC.get(str(o).lower()) for o in node.operators]
        args = [self._expr(a) for a in node.arguments]
        if None in ops:
            self._refuse(f"the logical operator sequence {list(node.operators)}")
        if ops == ["not"]:
            return ir.Op("not", (args[0],))
        if len(ops) != len(args) - 1:
            self._refuse(f"the logical operator sequence {list(node.operators)}")
        acc = args[0]
        for op, arg in zip(ops, args[1:]):
            acc = ir.Op(op, (acc, arg))  # type: ignore[arg-type]
        return acc

    def _call(self, node: Any) -> ir.Expr:
        func = (node.function.reference if hasattr(node.function, "reference")
                else str(node.function))
        args = tuple(self._expr(a) for a in node.arguments)
        target = self.idents.get(func) or self.idents.get(func.strip('"'))
        if target in self.lookups:
            if len(args) != 1:
                self._refuse(f"a call of lookup {func!r} with {len(args)} arguments")
            subs = tuple(getattr(getattr(node.function, "subscripts", None), "subscripts", None)
                         or ())
            return ir.LookupCall(target, args[0], subs)
        if func == "get_time_value" and len(args) == 3:
            value = time_value(args)
            if isinstance(value, str):
                self._refuse(value)
            return value  # type: ignore[return-value]
        if func not in BUILTINS:
            self._refuse(f"the function {func.upper()}")
        if len(args) not in BUILTINS[func]:
            self._refuse(f"{func.upper()} with {len(args)} arguments")
        return ir.Call(func, args)

    def _table(self, node: Any) -> ir.Table | ir.TableArray:
        if type(node).__name__ == "GetLookupsStructure":
            return self.external.lookups(self.element, self.component, node)
        if type(node).__name__ != "LookupsStructure":
            self._refuse(_CONSTRUCTS.get(type(node).__name__, type(node).__name__))
        xs = np.asarray(node.x, dtype=float)
        ys = np.asarray(node.y, dtype=float)
        if xs.ndim != 1 or ys.shape != xs.shape or len(xs) == 0:
            self._refuse("a lookup table whose x and y do not pair up")
        if np.any(np.diff(xs) < 0):
            raise ModelError(self.path, self.element, "lookup x values must not decrease",
                             hint=f"x values are {list(xs)}")
        mode = {"interpolate": "interpolate", "extrapolate": "extrapolate",
                "hold_backward": "hold_backward"}.get(node.type)
        if mode is None:
            self._refuse(f"lookup interpolation {node.type!r}")
        return ir.Table(tuple(xs.tolist()), tuple(ys.tolist()), mode)

    def _inline_lookup(self, node: Any) -> ir.Expr:
        return ir.InlineLookup(self._expr(node.argument), self._table(node.lookups))

    def _external_rule(method: str) -> Callable[..., ir.Expr]:
        def convert(self: _Converter, node: Any) -> ir.Expr:
            return getattr(self.external, method)(self.element, self.component, node)
        return convert

    def _function(func: str, *fields: str) -> Callable[..., ir.Expr]:
        def convert(self: _Converter, node: Any) -> ir.Expr:
            return ir.Call(func, tuple(self._expr(getattr(node, f)) for f in fields))
        return convert

    def _stateful(kind: str, *fields: str, order: Any = None) -> Callable[..., ir.Expr]:
        def convert(self: _Converter, node: Any) -> ir.Expr:
            args = [self._expr(getattr(node, f)) for f in fields]
            if order is not None:
                args.append(self._expr(getattr(node, order)))
            nonneg = bool(getattr(node, "non_negative", False))
            return ir.Stateful(kind, tuple(args), nonneg)
        return convert

    _RULES: dict[str, Callable[..., ir.Expr]] = {
        "ReferenceStructure": _reference,
        "ArithmeticStructure": _arithmetic,
        "LogicStructure": _logic,
        "CallStructure": _call,
        "GameStructure": lambda self, node: self._expr(node.expression),
        "AllocateAvailableStructure": _function("allocate_available", "request", "pp", "avail"),
        "AllocateByPriorityStructure": _function("allocate_by_priority", "request", "priority",
                                                 "size", "width", "supply"),
        "InlineLookupsStructure": _inline_lookup,
        "GetConstantsStructure": _external_rule("constants"),
        "GetDataStructure": _external_rule("data"),
        "DataStructure": _external_rule("data_variable"),
        "InitialStructure": _stateful("initial", "initial"),
        "IntegStructure": _stateful("integ", "flow", "initial"),
        "DelayStructure": _stateful("delay", "input", "delay_time", "initial", order="order"),
        "DelayNStructure": _stateful("delayn", "input", "delay_time", "initial", order="order"),
        "DelayFixedStructure": _stateful("delay_fixed", "input", "delay_time", "initial"),
        "SmoothStructure": _stateful("smooth", "input", "smooth_time", "initial", order="order"),
        "SmoothNStructure": _stateful("smooth", "input", "smooth_time", "initial", order="order"),
        "TrendStructure": _stateful("trend", "input", "average_time", "initial_trend"),
        "ForecastStructure": _stateful("forecast", "input", "average_time", "horizon",
                                       "initial_trend"),
        "SampleIfTrueStructure": _stateful("sample_if_true", "condition", "input", "initial"),
    }


def _ranges(manager: Any) -> ir.Subscripts:
    """PySD's SubscriptManager's ranges, main ranges and mappings as reformsim IR."""
    ranges = {name: tuple(elements) for name, elements in manager.subscripts.items()}
    families = {}
    for main, subs in manager.subranges.items():
        families[main] = main
        for sub in subs:
            families.setdefault(sub, main)
    for name, elements in ranges.items():  # a range no main range holds is its own family
        families.setdefault(name, next((m for m, subs in manager.subranges.items()
                                        if set(elements) <= set(ranges[m])), name))
    mapping = {name: tuple(m for m in manager.mapping.get(name, ()) if m in ranges)
               for name in ranges}
    return ir.Subscripts(ranges, mapping, families)
