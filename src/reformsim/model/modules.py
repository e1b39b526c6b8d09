"""XMILE modules flattened into the main model: one copy of a submodel per ``<module>``.

A ``<module name="hares">`` makes an instance of the submodel ``hares`` (or of
the one its ``model`` attribute names) whose variables are called
``hares.<variable>`` in the main model, as Stella and Simlin name them. Each
``<connect to="x" from="y"/>`` feeds the instance's ``x`` from ``y`` in the
model that holds the module (``.y`` or ``y``: a variable of that model;
``other.y``: a variable of another instance), so the submodel's stand-in
equation for ``x`` (a placeholder such as ``{Enter equation...}``) is never
read. Modules may hold modules; names then nest (``outer.inner.x``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .external import ident
from .macros import CONTROL, called, reference, walk

MAX_DEPTH = 16


def flatten_modules(path: Path, abstract: Any, main_node: Any, sections: dict[str, Any],
                    nodes: dict[str, Any], ns: dict[str, str]) -> Any:
    """``abstract`` with every module instance's variables added to its main section."""
    flattener = _Flattener(path, sections, nodes, ns)
    main = abstract.sections[0]
    flattener.taken = {ident(e.name) for e in main.elements}
    flattener.instances(main_node, "", 0)
    sections_left = (dataclasses.replace(main, elements=tuple(main.elements) + tuple(
        flattener.made)),) + tuple(abstract.sections[1:])
    return dataclasses.replace(abstract, sections=sections_left)


class _Flattener:
    def __init__(self, path: Path, sections: dict[str, Any], nodes: dict[str, Any],
                 ns: dict[str, str]) -> None:
        self.path, self.sections, self.nodes, self.ns = path, sections, nodes, ns
        self.made: list[Any] = []
        self.taken: set[str] = set()

    def instances(self, model: Any, prefix: str, depth: int) -> None:
        """Instantiate every <module> of ``model`` (itself an instance named ``prefix``)."""
        for module in model.xpath("ns:variables/ns:module", namespaces=self.ns):
            name = module.get("name", "").replace("\\n", " ")
            source = module.get("model") or module.get("name", "")
            if source not in self.sections:
                raise ModelError(self.path, prefix + name,
                                 f"is a module of the model {source!r}, which the file does "
                                 "not define", hint="the file may be missing a <model name=...>")
            if depth >= MAX_DEPTH:
                raise ModelError(self.path, prefix + name, "modules nest too deeply (a module "
                                 "that holds itself?)")
            inputs = {connected(c.get("to", ""), name): self._source(c.get("from", ""), prefix)
                      for c in module.xpath("ns:connect", namespaces=self.ns)}
            self._instance(self.sections[source], f"{prefix}{name}.", inputs,
                           self._nested(source))
            self.instances(self.nodes[source], f"{prefix}{name}.", depth + 1)

    def _nested(self, source: str) -> set[str]:
        node = self.nodes[source]
        return {ident(m.get("name", "").replace("\\n", " "))
                for m in node.xpath("ns:variables/ns:module", namespaces=self.ns)}

    @staticmethod
    def _source(name: str, prefix: str) -> str:
        """A <connect from=...> as an identifier of the flattened model."""
        return ident(prefix + name.lstrip(".").replace("\\n", " "))

    def _instance(self, section: Any, prefix: str, inputs: dict[str, str],
                  nested: set[str]) -> None:
        local = {ident(e.name) for e in section.elements}
        unknown = sorted(set(inputs) - local)
        if unknown:
            raise ModelError(self.path, prefix[:-1], f"connects {unknown[0]!r}, which its "
                             "model does not define")

        def rename(node: Any) -> Any | None:
            if called(node) is not None and called(node) not in local:   # a builtin
                return dataclasses.replace(node, arguments=walk(node.arguments, rename))
            if type(node).__name__ != "ReferenceStructure":
                return None
            ref = node.reference
            if ref in local or ref.split(".", 1)[0] in nested:
                return reference(ident(prefix) + ref, _subs(node))
            if ref in CONTROL:
                return node
            raise ModelError(self.path, prefix[:-1], f"its model refers to {ref!r}, which it "
                             "does not define", hint="connect it with <connect to=... from=...>")

        for element in section.elements:
            key = ident(element.name)
            name = prefix + element.name
            if ident(name) in self.taken:
                raise ModelError(self.path, name, "is defined twice (by a module and the model)")
            self.taken.add(ident(name))
            if key in inputs:   # fed from outside: the stand-in equation is not read
                components = [dataclasses.replace(element.components[0], ast=reference(
                    inputs[key], []))]
                element = dataclasses.replace(element, components=components)
            else:
                element = dataclasses.replace(element, components=[
                    dataclasses.replace(c, ast=walk(c.ast, rename)) for c in element.components])
            self.made.append(dataclasses.replace(element, name=name))


def connected(to: str, module: str) -> str:
    """A <connect to=...> as the identifier of the module's own variable.

    Stella writes ``to="hares.area"`` (qualified with the module's name),
    other tools ``to="area"``.
    """
    name, own = ident(to.replace("\\n", " ")), ident(module.replace("\\n", " ")) + "."
    return name[len(own):] if name.startswith(own) else name


def _subs(node: Any) -> list[str]:
    return list(node.subscripts.subscripts) if node.subscripts is not None else []
