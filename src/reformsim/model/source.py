"""Model files handed to PySD's translators safely, and their failures told in our words.

- A Vensim file is checked to be text in the encoding its header names (a
  binary or mis-encoded file is refused with the line, not a decoder's
  internals); ``(-2)^2`` is kept from PySD's folding of ``(-2)`` into the
  literal ``-2`` (which would make it ``-2^2`` = -4); so is XMILE's.
- An XMILE file is parsed with entity resolution, DTD loading and network
  access off, and a file that declares entities is refused: nothing in a
  model file is fetched or expanded.
- A Vensim parse failure names the element whose equation PySD could not
  read, and says so plainly for unbalanced parentheses.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from ..errors import ModelError, ReformsimWarning, shown

_HINT = "open it in Vensim/Stella and check its syntax"
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# "(-2)" right before "^", outside quoted names: PySD folds it into the literal -2
_NEGATIVE_BASE = re.compile(rf'("(?:\\.|[^"\\])*")|\(\s*-\s*({_NUMBER})\s*\)(?=\s*\^)')


def vensim_reader(path: Path) -> Any:
    """PySD's VensimFile for ``path``, its text checked, its negative bases kept and its macro
    calls' output lists (``NAME(a, b : x, y)``) written so PySD's grammar reads them."""
    from pysd.translators.vensim.vensim_file import VensimFile

    from .macros import mark_outputs

    reader = VensimFile(path, encoding=_vensim_encoding(path))
    reader.model_text = mark_outputs(_keep_negative_bases(reader.model_text))
    return reader


def _vensim_encoding(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise ModelError(path, path.name, "the file is empty", hint="give a Vensim .mdl file")
    head = data[:65536]
    if sum(b < 32 and b not in b"\t\n\r" for b in head) > len(head) // 20:  # >5% controls
        raise ModelError(path, path.name, "is not a text file (it holds binary data)",
                         hint="give a Vensim .mdl file saved as text")
    first = data.split(b"\n", 1)[0]
    declared = re.search(rb"\{([A-Za-z0-9_.:-]+)\}", first)
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        data.decode(encoding)
    except LookupError:
        raise ModelError(path, path.name, f"its first line names an unknown encoding "
                         f"{{{encoding}}}", hint="start the file with {UTF-8}") from None
    except UnicodeDecodeError as exc:
        if declared is None:    # no header: Vensim wrote the system's code page
            return "cp1252"
        line = data[:exc.start].count(b"\n") + 1
        raise ModelError(path, f"line {line}", f"is not {encoding} text (byte "
                         f"0x{data[exc.start]:02X} cannot be read)",
                         hint=f"save the file as {encoding}, or fix its first line "
                              f"({{{encoding}}})") from None
    return encoding


def _keep_negative_bases(text: str) -> str:
    """``(-2)^x`` -> ``(-1*2)^x`` in equations (before each element's first ``~``)."""
    def equations(element: str) -> str:
        equation, tilde, rest = element.partition("~")
        return _NEGATIVE_BASE.sub(lambda m: m.group(1) or f"(-1*{m.group(2)})", equation) \
            + tilde + rest

    return "|".join(equations(element) for element in text.split("|"))


def xmile_reader(path: Path) -> Any:
    """A reader of the XMILE file (PySD's equation parser, reformsim's document pre-pass,
    :mod:`reformsim.model.xmile`) on the document parsed by a parser that resolves nothing."""
    from .xmile import XmileReader

    return XmileReader(path, xmile_root(path))


def xmile_root(path: Path) -> Any:
    """The root element of an XMILE file: no entities, no DTD, no network; ModelError else."""
    from lxml import etree

    def parser(recover: bool) -> Any:
        return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True,
                               dtd_validation=False, huge_tree=False, remove_comments=True,
                               recover=recover)

    strict = parser(recover=False)
    try:
        tree = etree.parse(str(path), parser=strict)
    except etree.XMLSyntaxError as exc:  # (exc.error_log holds earlier parses' errors too)
        line = f"line {exc.lineno}" if getattr(exc, "lineno", None) else path.name
        failure = ModelError(path, line, f"is not well-formed XML: {_message(exc)}",
                             hint="the file may be truncated or not an XMILE file")
        try:  # read it as PySD does, recovering what can be read
            tree = etree.parse(str(path), parser=parser(recover=True))
        except etree.XMLSyntaxError:
            raise failure from exc
        if tree.getroot() is None:
            raise failure from exc
        # undeclared prefixes alone (Stella writes <isee:prefs> without declaring isee) are
        # harmless; anything else is worth a word, since the model read may miss a part
        if not all(e.type_name.startswith("NS_ERR") for e in strict.error_log):
            warnings.warn(f"{path.name}: {line}: the file is not well-formed XML "
                          f"({_message(exc)}); it was read by recovering, as PySD does: check "
                          "that the model has everything it should", ReformsimWarning)
    dtd = tree.docinfo.internalDTD
    if dtd is not None and list(dtd.iterentities()):
        raise ModelError(path, path.name, "declares XML entities (<!ENTITY ...>), which a model "
                         "file never needs; refused, as they can read other files or expand "
                         "without bound", hint="remove the <!DOCTYPE ...> block")
    root = tree.getroot()
    if root is None or etree.QName(root).localname.lower() != "xmile" or None not in root.nsmap:
        tag = "nothing" if root is None else f"<{etree.QName(root).localname}>"
        raise ModelError(path, path.name, f"is not an XMILE file (its root is {tag}, "
                         "expected <xmile xmlns=...>)",
                         hint="give a Vensim .mdl or an XMILE file saved by Stella or Simlin")
    for equation in root.iter("{*}eqn"):  # PySD's XMILE parser folds "(-2)" as its Vensim one
        if equation.text:
            equation.text = _keep_negative_bases(equation.text)
    return root


def _message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"\s*\(.*?, line \d+\)$", "", text)


def parse_failure(path: Path, reader: Any, exc: Exception) -> ModelError:
    """A ModelError for a model PySD could not read, naming the element when we can find it."""
    element, problem = _failing_element(reader)
    if element is None:
        return ModelError(path, path.name, f"the model cannot be read: {_message(exc)}", _HINT)
    return ModelError(path, element, problem, _HINT)


def _failing_element(reader: Any) -> tuple[str | None, str]:
    """(name, problem) of the first Vensim element PySD cannot parse, or (None, "")."""
    from pysd.translators.vensim.vensim_file import VensimFile

    if not isinstance(reader, VensimFile):
        return None, ""
    try:
        reader.parse(parse_all=False)
        for section in reader.sections:
            section.parse(parse_all=False)
    except Exception:  # the file's overall layout is wrong: no one element to blame
        return None, ""
    for section in reader.sections:
        for element in section.elements:
            try:
                component = element.parse()
                if hasattr(component, "parse"):
                    component.parse()
            except Exception as exc:  # this element is the one
                return _element_name(element.equation), _equation_problem(element.equation,
                                                                          exc)
    return None, ""


def _element_name(equation: str) -> str:
    name = re.split(r"[=(\[:]", equation, maxsplit=1)[0].strip()
    return shown(name)[1:-1] if len(name) > 60 else name or "?"


def _equation_problem(equation: str, exc: Exception) -> str:
    body = equation.split("=", 1)[1] if "=" in equation else equation
    body = re.sub(r'"(?:\\.|[^"\\])*"', '""', body)  # brackets in quoted names do not count
    for opening, closing, what in (("(", ")", "parentheses"), ("[", "]", "brackets")):
        depth = 0
        for char in body:
            depth += (char == opening) - (char == closing)
            if depth < 0:
                return f"its equation has unbalanced {what}: a {closing!r} closes nothing"
        if depth > 0:
            return f"its equation has unbalanced {what}: {depth} {opening!r} not closed"
    return f"its equation cannot be read: {_message(exc)}"
