"""XMILE files -> PySD's AbstractModel: a pre-pass over the XML, then PySD's XMILE translator.

PySD parses each XMILE equation well, but it reads a file as one flat model: it
finds no variables in XMILE 1.0 files that list them straight under
``<model>`` (older Stella), merges the variables of every ``<model>`` (a
model with modules) into one, ignores ``<macro>`` definitions, and reads
``<inflow>`` names as expressions. So reformsim keeps PySD's equation parser
and rewrites the document around it:

- every ``<model>`` becomes a section of its own (PySD's ``Section`` on a
  small document holding that model alone), and so does every ``<macro>``
  (its ``<parm>`` names become the section's parameters and its ``<eqn>``
  the output, as in Vensim); the macros are then expanded per call site
  (:mod:`reformsim.model.macros`) and module instances flattened
  (:mod:`reformsim.model.modules`);
- variables written straight under ``<model>`` are moved into ``<variables>``;
- flow names in ``<inflow>``/``<outflow>`` are read as names (quoted), so
  names with commas or brackets work;
- an equation the writing program could not convert (``???``) is refused,
  naming the variable, rather than reported as a syntax error.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .external import ident
from .macros import DEFAULT_PREFIX
from .modules import connected, flatten_modules

_VARIABLES = ("stock", "flow", "aux", "gf", "module", "group")
_PLACEHOLDERS = ("???",)


class XmileReader:
    """Reads an XMILE document as PySD's XmileFile does (``parse``, ``get_abstract_model``).

    ``root`` comes from :func:`reformsim.model.source.xmile_root`, the one parser of
    model files (entities, DTDs and the network off).
    """

    def __init__(self, path: Path, root: Any) -> None:
        self.path, self.root = path, root
        self.abstract: Any = None

    def parse(self) -> None:
        self.abstract = abstract_model(self.path, self.root)

    def get_abstract_model(self) -> Any:
        return self.abstract


def abstract_model(path: Path, root: Any) -> Any:
    """PySD's AbstractModel of an XMILE document: the main model, macros and submodels."""
    from pysd.translators.structures.abstract_model import AbstractModel

    root = copy.deepcopy(root)
    ns = {"ns": root.nsmap[None]}
    models = root.xpath("ns:model", namespaces=ns)
    if not models:
        raise ModelError(path, path.name, "the file has no <model>",
                         hint="give an XMILE file saved by Stella, Simlin or Vensim")
    fed = _fed(root, ns)
    modules = {ident(m.get("name", "").replace("\\n", " "))
               for m in root.iter(f"{{{ns['ns']}}}module")}
    for model in models:
        _wrap_variables(model, ns)
        _check_equations(path, model, ns, fed.get(model.get("name", ""), set()))
        _quote_flow_names(model, ns)
        _use_points(model, ns)
        _quote_module_references(model, ns, modules)
    for macro in root.xpath("ns:macro", namespaces=ns):
        _check_equations(path, macro, ns, set())
        _quote_flow_names(macro, ns)
        _use_points(macro, ns)
    main = [m for m in models if not m.get("name")] or models[:1]
    sections = [_section(root, main[0], ns, "__main__", "main", path)]
    sections += [_macro_section(root, macro, ns, path)
                 for macro in root.xpath("ns:macro", namespaces=ns)]
    abstract = AbstractModel(original_path=path, sections=tuple(sections))
    submodels = {m.get("name"): m for m in models if m is not main[0] and m.get("name")}
    if submodels or main[0].xpath("ns:variables/ns:module", namespaces=ns):
        parsed = {name: _section(root, model, ns, ident(name), "module", path)
                  for name, model in submodels.items()}
        abstract = flatten_modules(path, abstract, main[0], parsed, submodels, ns)
    return abstract


def _fed(root: Any, ns: dict[str, str]) -> dict[str, set[str]]:
    """Per submodel: the variables some <module> of it feeds with a <connect>."""
    fed: dict[str, set[str]] = {}
    for module in root.iter(f"{{{ns['ns']}}}module"):
        model = module.get("model") or module.get("name", "")
        fed.setdefault(model, set()).update(
            connected(c.get("to", ""), module.get("name", ""))
            for c in module.xpath("ns:connect", namespaces=ns))
    return fed


def _use_points(model: Any, ns: dict[str, str]) -> None:
    """A graphical function with <xpts> takes its x values from them, not from <xscale>.

    (<xscale> is then only the display range; PySD prefers it, which turns a
    table whose xscale is 0..0 into a single column.) ``discrete="true"`` is
    the older spelling of ``type="discrete"``.
    """
    for gf in model.iter(f"{{{ns['ns']}}}gf"):
        if gf.xpath("ns:xpts", namespaces=ns):
            for scale in gf.xpath("ns:xscale", namespaces=ns):
                gf.remove(scale)
        if gf.get("discrete", "").lower() == "true" and "type" not in gf.attrib:
            gf.set("type", "discrete")


def _wrap_variables(model: Any, ns: dict[str, str]) -> None:
    """XMILE 1.0 as older Stella wrote it: variables right under <model>, no <variables>."""
    if model.xpath("ns:variables", namespaces=ns):
        return
    loose = [child for child in model if _local(child) in _VARIABLES]
    variables = model.makeelement(f"{{{ns['ns']}}}variables")
    for child in loose:
        variables.append(child)   # moves it
    model.insert(0, variables)


def _check_equations(path: Path, model: Any, ns: dict[str, str], fed: set[str]) -> None:
    """Comments ``{...}`` dropped from equations; placeholders refused unless a module feeds them.

    ``fed`` holds the variables of this model that a <connect> feeds from outside.
    """
    for eqn in model.iter(f"{{{ns['ns']}}}eqn"):
        text = _COMMENT.sub(lambda m: m.group(1) or " ", eqn.text or "").strip()
        owner = eqn.getparent()
        while owner is not None and owner.get("name") is None:
            owner = owner.getparent()
        name = (owner.get("name") if owner is not None else path.name).replace("\\n", " ")
        if text and text not in _PLACEHOLDERS:
            eqn.text = text
        elif ident(name) in fed:
            eqn.text = "0"   # never read: the module's <connect> gives the value
        elif text in _PLACEHOLDERS:
            raise ModelError(path, name, f"its equation is {text!r}: the program that wrote "
                             "the file could not convert it, so the file does not say what "
                             "it is", hint="give it an equation (or use the original model "
                                           "the file was converted from)")
        elif _local(owner) != "gf":
            raise ModelError(path, name, "has no equation",
                             hint="give it one, or connect it when it is a module's input")


# an XMILE comment {...} in an equation, outside quoted names (kept: group 1)
_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|\{[^}]*\}')


def _quote_module_references(model: Any, ns: dict[str, str], modules: set[str]) -> None:
    """``module.variable`` in an equation becomes a quoted name (PySD's grammar has no dots)."""
    if not modules:
        return
    pattern = re.compile(r'("(?:\\.|[^"\\])*")|(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)')

    def quote(match: re.Match) -> str:
        name = match.group(2)
        if name is None or ident(name.split(".", 1)[0]) not in modules:
            return match.group(0)
        return f'"{name}"'

    for eqn in model.iter(f"{{{ns['ns']}}}eqn"):
        if eqn.text:
            eqn.text = pattern.sub(quote, eqn.text)


def _quote_flow_names(model: Any, ns: dict[str, str]) -> None:
    """<inflow>/<outflow> hold names, which PySD parses as expressions: quote them."""
    for tag in ("inflow", "outflow"):
        for node in model.iter(f"{{{ns['ns']}}}{tag}"):
            name = (node.text or "").strip()
            if name and not name.startswith('"'):
                node.text = '"' + name.replace('"', '\\"') + '"'


def _local(node: Any) -> str:
    tag = node.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _document(root: Any, variables: list[Any], ns: dict[str, str]) -> Any:
    """A small XMILE document: the root's settings and one <model> with these variables."""
    doc = root.makeelement(root.tag, nsmap=root.nsmap)
    for child in root:
        if _local(child) in ("sim_specs", "dimensions", "behavior", "header"):
            doc.append(copy.deepcopy(child))
    model = doc.makeelement(f"{{{ns['ns']}}}model")
    holder = doc.makeelement(f"{{{ns['ns']}}}variables")
    for variable in variables:
        holder.append(copy.deepcopy(variable))
    model.append(holder)
    doc.append(model)
    return doc


def _parsed(doc: Any, ns: dict[str, str], name: str, kind: str, path: Path,
            params: list[str] | None = None) -> Any:
    from pysd.translators.xmile.xmile_section import Section

    section = Section(name=name, path=path.with_suffix(".py"), section_type=kind,
                      params=params or [], returns=[], content_root=doc, namespace=ns["ns"],
                      split=False, views_dict=None)
    section.parse(parse_all=False)   # PySD adds the control variables to __main__ only
    for component in section.components:
        try:
            component.parse(section.behaviors)
        except Exception as exc:  # PySD's grammar raises its own kinds: all mean "cannot read"
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(path, component.name, f"its equation cannot be read: {message}",
                             hint="check its syntax; in XMILE a name with spaces is written "
                                  "with underscores or in quotes") from None
    return section.get_abstract_section()


def _section(root: Any, model: Any, ns: dict[str, str], name: str, kind: str,
             path: Path) -> Any:
    variables = [v for v in model.xpath("ns:variables/*", namespaces=ns)
                 if _local(v) in ("stock", "flow", "aux", "gf")]
    return _parsed(_document(root, variables, ns), ns, name, kind, path)


def _macro_section(root: Any, macro: Any, ns: dict[str, str], path: Path) -> Any:
    """A <macro> as a section like Vensim's: parameters, and an output named as the macro."""
    name = macro.get("name", "")
    params = [(p.text or "").strip() for p in macro.xpath("ns:parm", namespaces=ns)]
    # a variable without an equation named as a parameter is the parameter (xmutil writes the
    # flow of INTEG(input, ...) so: <flow name="input"/>)
    variables = [v for v in macro.xpath("ns:variables/*", namespaces=ns)
                 if _local(v) in ("stock", "flow", "aux", "gf") and not (
                     ident(v.get("name", "")) in {ident(p) for p in params}
                     and not v.xpath("ns:eqn", namespaces=ns))]
    own = {ident(v.get("name", "").replace("\\n", " ")) for v in variables}
    eqn = macro.xpath("ns:eqn", namespaces=ns)
    if ident(name) not in own:   # the output is the <eqn>: an expression of the parameters
        if not eqn or not (eqn[0].text or "").strip():
            raise ModelError(path, name, "the macro has no <eqn> (its output)")
        output = macro.makeelement(f"{{{ns['ns']}}}aux", name=name)
        output.append(copy.deepcopy(eqn[0]))
        variables.append(output)
    for parm in macro.xpath("ns:parm[@default]", namespaces=ns):
        default = macro.makeelement(f"{{{ns['ns']}}}aux",
                                    name=DEFAULT_PREFIX + (parm.text or "").strip())
        equation = default.makeelement(f"{{{ns['ns']}}}eqn")
        equation.text = parm.get("default")
        default.append(equation)
        variables.append(default)
    return _parsed(_document(root, variables, ns), ns, ident(name), "macro", path, params)

