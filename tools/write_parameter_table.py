"""Rewrite the lever and parameter tables of docs/model.md from the model's equations.

Usage::

    PYTHONPATH=src python tools/write_parameter_table.py [models/reform.mdl]

Every constant of the model is a row: its name, value, the range its units field documents
(``~ Dmnl [0.3,0.6]``), its units, and its documentation, which names the source or says
"assumed" with the reason. Levers (documentation starting "Lever:") go to the first table, the
other constants to the second, grouped by the sector the diagram draws them in
(``tools/write_sketch.py``). Only the text between each table's markers is replaced; a test
fails when the tables are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from write_sketch import read, sectors

from reformsim.model import ir
from reformsim.model.translate import read_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "reform.mdl"
DOCS = ROOT / "docs" / "model.md"
LEVERS = ("<!-- levers: begin (tools/write_parameter_table.py) -->", "<!-- levers: end -->")
PARAMETERS = ("<!-- parameters: begin (tools/write_parameter_table.py) -->",
              "<!-- parameters: end -->")
CONTROLS = {"initial_time", "final_time", "time_step", "saveper"}


def constants(path: Path) -> list[ir.Element]:
    """The model's constants (a number for an equation), in file order."""
    return [e for e in read_model(path).elements
            if e.kind == "aux" and isinstance(e.expr, ir.Num) and e.ident not in CONTROLS]


def units_and_range(element: ir.Element) -> tuple[str, str]:
    units = element.units.split("[")[0].strip()
    low, high = element.limits
    span = "" if low is None and high is None else \
        f"{'' if low is None else f'{low:g}'} to {'' if high is None else f'{high:g}'}"
    return units, span


def row(element: ir.Element, doc: str) -> str:
    units, span = units_and_range(element)
    return f"| {element.name} | {element.expr.value:g} | {span} | {units} | {doc} |"


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def lever_table(elements: list[ir.Element]) -> str:
    lines = ["| Lever | Status quo | Range | Units | What it sets |", "|---|---:|---|---|---|"]
    lines += [row(e, capitalised(e.documentation.removeprefix("Lever:").strip()))
              for e in elements if e.documentation.startswith("Lever:")]
    return "\n".join(lines)


def parameter_table(elements: list[ir.Element], sector: dict[str, str]) -> str:
    groups: dict[str, list[ir.Element]] = {}
    for e in elements:
        if not e.documentation.startswith("Lever:"):
            groups.setdefault(sector[e.name], []).append(e)
    lines = []
    for title, members in groups.items():
        lines += [f"**{title}**", "",
                  "| Parameter | Value | Range | Units | Source, or assumed and why |",
                  "|---|---:|---|---|---|", *(row(e, e.documentation) for e in members), ""]
    return "\n".join(lines).rstrip()


def replace_block(text: str, marks: tuple[str, str], block: str) -> str:
    head, rest = text.split(marks[0])
    _, tail = rest.split(marks[1])
    return f"{head}{marks[0]}\n{block}\n{marks[1]}{tail}"


def tables(path: Path) -> tuple[str, str]:
    elements = constants(path)
    return lever_table(elements), parameter_table(elements, sectors(read(path)))


def main(path: Path = DEFAULT_MODEL) -> None:
    levers, parameters = tables(path)
    text = DOCS.read_text(encoding="utf-8")
    text = replace_block(replace_block(text, LEVERS, levers), PARAMETERS, parameters)
    DOCS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MODEL)
