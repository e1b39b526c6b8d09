"""Macros (Vensim ``:MACRO:``, XMILE ``<macro>``) expanded at every call site.

Vensim expands a macro where it is called: each call makes its own copies of
the macro's variables (its stocks included), named after the equation that
calls it, and the call reads the copy of the macro-named variable. This module
does the same on PySD's AbstractModel, before the IR is built, so the engine
never sees a macro: an instance's variables are ordinary elements.

- Instance names follow Vensim's ``#caller>MACRO#`` for the macro's output and
  ``#caller>MACRO>variable#`` for its other variables (a second call of one
  macro in the same equation is ``MACRO 2``); nested calls extend the path.
- An argument that is a number or a plain reference is used as it is; any
  other expression becomes an element of its own (``#caller>MACRO>param#``),
  evaluated once per step in the caller's context, as Vensim's expansion does.
- Names inside a macro are its own. ``name$`` reaches the model's variable
  ``name`` (Vensim's escape); ``Time`` and the control variables are the model's.
- A call in a subscripted equation gives every variable of the instance the
  subscripts of that equation's left side (Vensim: "the created variables
  inherit the subscripts from the left hand side"); tables stay unsubscripted.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ModelError, UnsupportedError
from .external import ident

DEFAULT_PREFIX = "default of "   # an XMILE <parm default="..."> kept as a variable of its macro

MAX_DEPTH = 32   # nested macro calls; deeper means a macro that calls itself
CONTROL = ("time", "time_step", "initial_time", "final_time", "saveper")
_HINT = "see docs/supported.md for what reformsim simulates"


def expand_macros(path: Path, abstract: Any) -> Any:
    """``abstract`` with every macro call replaced by the elements of its instance.

    Returns an AbstractModel with only the main section (the macros are
    gone); a model without macros is returned as it is.
    """
    if len(abstract.sections) == 1:
        return abstract
    main = abstract.sections[0]
    macros = {section.name: section for section in abstract.sections[1:]}
    expander = _Expander(path, macros, {ident(e.name): e.units or "" for e in main.elements})
    elements = []
    for element in main.elements:
        elements.append(expander.element(element, element.name))
    expanded = dataclasses.replace(abstract, sections=(dataclasses.replace(
        main, elements=tuple(elements) + tuple(expander.made)),))
    if hasattr(abstract, "reformsim_warnings"):
        expanded.reformsim_warnings = abstract.reformsim_warnings
    return expanded


OUTPUT_MARK = "=>"   # a macro call's output list, passed to PySD as strings: 'x' -> '=>x'
_KEYWORD = re.compile(r":(AND|OR|NOT|NA|EXCEPT|IMPLIES|INTERPOLATE|RAW|HOLD BACKWARD|"
                      r"LOOK FORWARD):", re.IGNORECASE)


def mark_outputs(text: str) -> str:
    """Vensim's macro calls with outputs, ``NAME(a, b : x, y)``, as ``NAME(a, b, '=>x', '=>y')``.

    PySD's grammar has no ``:`` in a call; the outputs travel as marked string
    arguments and :class:`_Expander` binds them. Only equations are read (not the
    ``:MACRO:`` headers, units, comments or the sketch).
    """
    model, sep, sketch = text.partition("\\\\\\---///")
    elements = model.split("|")
    for k, element in enumerate(elements):
        equation, tilde, rest = element.partition("~")
        if ":MACRO:" in equation.upper() or "=" not in equation:   # headers, subscript ranges
            continue
        elements[k] = _mark(equation) + tilde + rest
    return "|".join(elements) + sep + sketch


def _mark(equation: str) -> str:
    out, depth, i = [], 0, 0
    while i < len(equation):
        char = equation[i]
        keyword = _KEYWORD.match(equation, i) if char == ":" else None
        if char == '"':   # a quoted name: copied as it is
            end = equation.find('"', i + 1)
            end = len(equation) if end < 0 else end + 1
            out.append(equation[i:end])
            i = end
            continue
        if keyword:
            out.append(keyword.group(0))
            i = keyword.end()
            continue
        if char == ":" and depth > 0 and not equation.startswith(":=", i):
            close = equation.find(")", i)
            close = len(equation) if close < 0 else close
            names = [n.strip() for n in equation[i + 1:close].split(",") if n.strip()]
            out.append("".join(f", '{OUTPUT_MARK}{n}'" for n in names))
            i = close
            continue
        depth += (char == "(") - (char == ")")
        out.append(char)
        i += 1
    return "".join(out)


def walk(node: Any, rule: Callable[[Any], Any | None]) -> Any:
    """``node`` rebuilt bottom-up where ``rule`` returns a replacement (None: keep, go deeper)."""
    replaced = rule(node)
    if replaced is not None:
        return replaced
    if isinstance(node, (list, tuple)):
        return type(node)(walk(x, rule) for x in node)
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return node
    changes = {f.name: walk(getattr(node, f.name), rule) for f in dataclasses.fields(node)}
    return dataclasses.replace(node, **changes)


def _structure(name: str, **fields: Any) -> Any:
    from pysd.translators.structures import abstract_expressions
    return getattr(abstract_expressions, name)(**fields)


def reference(name: str, subs: list[str]) -> Any:
    sub_ref = _structure("SubscriptsReferenceStructure", subscripts=tuple(subs)) if subs else None
    return _structure("ReferenceStructure", reference=name, subscripts=sub_ref)


def called(node: Any) -> str | None:
    """The name a CallStructure calls, or None for other nodes."""
    if type(node).__name__ != "CallStructure":
        return None
    return getattr(node.function, "reference", None)


class _Expander:
    """Makes the instances of the macros called by one model."""

    def __init__(self, path: Path, macros: dict[str, Any], units: dict[str, str]) -> None:
        self.path, self.macros, self.units = path, macros, units
        self.taken = {name.strip('"') for name in units}
        self.made: list[Any] = []     # elements of every instance, in the order made
        self.element_name = ""

    def element(self, element: Any, where: str) -> Any:
        """An element (of the model or of an instance) with its macro calls expanded."""
        components = []
        for component in element.components:
            calls: dict[str, int] = {}
            subs = list(component.subscripts[0])

            def expand(node: Any, subs: list[str] = subs, calls: dict[str, int] = calls) -> Any:
                name = called(node)
                if name not in self.macros:
                    return None
                args = [walk(a, expand) for a in node.arguments]
                calls[name] = calls.get(name, 0) + 1
                return self._instance(name, args, subs, where, calls[name], depth=0)

            self.element_name = element.name
            components.append(dataclasses.replace(component, ast=walk(component.ast, expand)))
        return dataclasses.replace(element, components=components)

    def _instance(self, name: str, args: list[Any], subs: list[str], caller: str, count: int,
                  depth: int) -> Any:
        """Make one instance of macro ``name``; return the reference that reads its output."""
        macro = self.macros[name]
        outputs = [a[len(OUTPUT_MARK):] for a in args
                   if isinstance(a, str) and a.startswith(OUTPUT_MARK)]
        args = [a for a in args if not (isinstance(a, str) and a.startswith(OUTPUT_MARK))]
        if depth > MAX_DEPTH:
            raise UnsupportedError(self.path, self.element_name,
                                   f"calls the macro {self._title(macro)!r} recursively "
                                   f"(more than {MAX_DEPTH} levels deep)", _HINT)
        local = {ident(e.name): e for e in macro.elements}
        # XMILE's <parm default=...>: a parameter left out takes its default, a macro variable
        missing = [p for p in macro.params[len(args):] if ident(DEFAULT_PREFIX + p) in local]
        if len(args) + len(missing) != len(macro.params):
            raise ModelError(self.path, self.element_name,
                             f"calls the macro {self._title(macro)!r} with {len(args)} "
                             f"arguments; it takes {len(macro.params)} "
                             f"({', '.join(macro.params)})")
        if len(outputs) > len(macro.returns):
            raise ModelError(self.path, self.element_name,
                             f"calls the macro {self._title(macro)!r} with {len(outputs)} "
                             f"outputs after ':'; it has {len(macro.returns)}")
        prefix = f"{caller}>{self._title(macro)}" + (f" {count}" if count > 1 else "")
        names = {key: (f"#{prefix}#" if key == macro.name else f"#{prefix}>{e.name}#")
                 for key, e in local.items()}
        bound = {ident(param): self._argument(prefix, param, arg, subs)
                 for param, arg in zip(macro.params, args)}
        bound.update({ident(p): reference(ident(names[ident(DEFAULT_PREFIX + p)]), subs)
                      for p in missing})
        for key, element in local.items():
            self._check_scalar(macro, element)
            self._claim(names[key])
            table = _is_lookup(element)
            rename = self._renamer(macro, names, bound, [] if table else subs)
            calls: dict[str, int] = {}

            def nested(node: Any, key: str = key, calls: dict[str, int] = calls) -> Any:
                target = called(node)
                if target in self.macros and not (target in local and _is_lookup(local[target])):
                    inner = [walk(a, nested) for a in node.arguments]
                    calls[target] = calls.get(target, 0) + 1
                    return self._instance(target, inner, subs, names[key][1:-1],
                                          calls[target], depth + 1)
                return rename(node)

            components = [dataclasses.replace(
                c, subscripts=([] if table else list(subs), []), ast=walk(c.ast, nested))
                for c in element.components]
            units = self._units(element.units, bound)
            self.units[ident(names[key])] = units
            self.made.append(dataclasses.replace(element, name=names[key],
                                                 components=components, units=units))
        if macro.name not in local:
            raise ModelError(self.path, self._title(macro),
                             "is a macro with no equation for its own name (its output)")
        self._bind_outputs(macro, outputs, names, subs, caller)
        return reference(ident(names[macro.name]), subs)

    def _bind_outputs(self, macro: Any, outputs: list[str], names: dict[str, str],
                      subs: list[str], caller: str) -> None:
        """``NAME(a, b : x, y)``: x and y become model variables reading the outputs."""
        for output, inner in zip(outputs, macro.returns):
            if ident(inner) not in names:
                raise ModelError(self.path, self._title(macro),
                                 f"lists the output {inner!r} but has no equation for it")
            self._claim(output)
            units = self.units.get(ident(names[ident(inner)]), "")
            self.made.append(_aux(output, reference(ident(names[ident(inner)]), subs), subs,
                                  f"an output of the macro call in {caller!r}", units))
            self.units[ident(output)] = units

    def _argument(self, prefix: str, param: str, arg: Any, subs: list[str]) -> Any:
        """What a parameter stands for: the argument itself, or an element holding it."""
        if isinstance(arg, (int, float)) or type(arg).__name__ == "ReferenceStructure":
            return arg
        name = f"#{prefix}>{param}#"
        self._claim(name)
        self.made.append(_aux(name, arg, subs))
        self.units[ident(name)] = ""
        return reference(ident(name), subs)

    def _renamer(self, macro: Any, names: dict[str, str], bound: dict[str, Any],
                 subs: list[str]) -> Callable[[Any], Any | None]:
        """The rule that points a macro body's references at this instance."""
        title = self._title(macro)

        def rename(node: Any) -> Any | None:
            if called(node) is not None and called(node) not in names:   # a builtin
                return dataclasses.replace(node, arguments=walk(node.arguments, rename))
            if type(node).__name__ != "ReferenceStructure":
                return None
            ref = node.reference
            if ref in bound:
                return bound[ref]
            if ref in names:
                return reference(ident(names[ref]), subs if node.subscripts is None else
                                  list(node.subscripts.subscripts))
            if ref.endswith("$"):   # Vensim's escape to a model variable
                return reference(ref[:-1].rstrip("_"), [])
            if ref in CONTROL:
                return node
            raise ModelError(self.path, title,
                             f"the macro refers to {ref!r}, which it does not define",
                             hint=f"inside a macro, write {ref}$ for the model's variable, "
                                  "or pass it as an argument")
        return rename

    def _units(self, units: str | None, bound: dict[str, Any]) -> str:
        """Units naming a parameter take the units of the argument (Vensim's rule), if known."""
        arg = bound.get(ident((units or "").strip()))
        if arg is None:
            return units or ""
        return self.units.get(getattr(arg, "reference", None), "")

    def _claim(self, name: str) -> None:
        key = ident(name)
        if key in self.taken:
            raise ModelError(self.path, name, "a macro instance's name is already in use",
                             hint="rename the model variable that has this name")
        self.taken.add(key)

    def _check_scalar(self, macro: Any, element: Any) -> None:
        if any(c.subscripts[0] for c in element.components):
            raise UnsupportedError(self.path, self._title(macro),
                                   f"defines {element.name!r} with subscripts inside a macro; "
                                   "Vensim macros take subscripts from where they are called",
                                   _HINT)

    @staticmethod
    def _title(macro: Any) -> str:
        """A macro's name as written (its output variable's spelling)."""
        for element in macro.elements:
            if ident(element.name) == macro.name:
                return element.name
        return macro.name


def _is_lookup(element: Any) -> bool:
    return any(type(c).__name__ == "AbstractLookup" for c in element.components)


def _aux(name: str, ast: Any, subs: list[str],
         documentation: str = "an argument of a macro call", units: str = "") -> Any:
    from pysd.translators.structures.abstract_model import AbstractComponent, AbstractElement
    return AbstractElement(name=name, components=[AbstractComponent(
        subscripts=(list(subs), []), ast=ast)], units=units, limits=(None, None),
        documentation=documentation)
