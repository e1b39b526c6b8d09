"""Rewrite the Vensim sketch (diagram) section of a model from its equations.

Usage::

    PYTHONPATH=src python tools/write_sketch.py [models/reform.mdl]

The model is read with reformsim's own translator (``reformsim.model.translate.read_model``), which gives
every variable and what its equation reads. From that the script draws one view per sector
(``SECTORS`` below): the sector's stocks as boxes, their flows as valves with pipes to the stocks
they drain and fill (or to clouds at the model boundary), the sector's auxiliaries, constants and
lookups as plain names, a shadow variable ``<name>`` for every variable of another sector that the
sector reads, and one influence arrow for every dependency (initial values included). Stock-flow
chains run left to right; the other names are put on a grid next to what they connect to.

Only the text from the line ``\\\\\\---/// Sketch information`` to the end of the file is replaced:
the equations are not touched. Run it again after changing equations; it fails loudly if a stock's
net rate is not a sum of named flows (Vensim needs a named flow for each valve).
"""

from __future__ import annotations

import math
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from reformsim.model import ir
from reformsim.model.translate import read_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "reform.mdl"
SKETCH_MARK = "\\\\\\---/// Sketch information"
VIEW_HEAD = ("\\\\\\---/// Sketch information - do not modify anything except names\n"
             "V300  Do not put anything below this section - it will be ignored\n")
VIEW_STYLE = ("$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|"
              "96,96,100,0")
SHADOW_TAIL = "0,3,-1,0,0,0,128-128-128,0-0-0,|12||128-128-128"

# Views in order, each starting at a variable in file order; a constant (an equation that reads
# nothing) joins the view of the first variable that reads it.
SECTORS = [
    ("Budget and strategies", "Reform budget"),
    ("Leadership and institutions", "Leadership without programmes"),
    ("Digital channel and inclusion", "ICT spending half saturation"),
    ("Engagement, knowledge and transparency", "Knowledge without programmes"),
    ("Workforce", "Hours per official"),
    ("Process capability", "Maximum capability"),
    ("Digital channel and inclusion", "Innovation coefficient general"),
    ("Service operations", "Reference demand"),
    ("Quality and citizens' perceptions", "Effect of time per case on quality"),
    ("Reform commitment", "Normal management perception time"),
    ("Trust and legitimacy", "Reference trust"),
    ("Outcomes and cost", "Responsiveness cap"),
]
BUILTIN_NAMES = {"time": "Time"}

# Grid geometry (pixels): a cell holds one name; chains of stocks and flows get rows of their own.
CELL_W, CELL_H = 190, 64
LEFT, TOP = 80, 60
CHAIN_GAP = 4          # grid rows between two chain rows
RELAX_PASSES = 6
MIN_WIDTH = 7          # grid columns of a view at least
WRAP = 18              # characters per line of a name


@dataclass
class Node:
    """One drawn object of a view."""

    name: str
    kind: str          # stock, flow, aux, shadow, cloud
    col: int = -1
    row: int = -1
    vertical: bool = False
    id: int = 0
    valve_id: int = 0

    @property
    def xy(self) -> tuple[int, int]:
        return LEFT + self.col * CELL_W, TOP + self.row * CELL_H


@dataclass
class Model:
    """What the sketch needs from the equations."""

    order: list[str]                       # variable names in file order
    reads: dict[str, set[str]]             # variable -> variables its equation reads
    stocks: list[str]
    inflows: dict[str, list[str]]          # stock -> flows filling it
    outflows: dict[str, list[str]]         # stock -> flows draining it
    flow_ends: dict[str, list]             # flow -> [source stock or None, sink stock or None]


@dataclass
class View:
    """One sector's diagram."""

    title: str
    nodes: dict[str, Node] = field(default_factory=dict)     # primary names and flows
    shadows: dict[str, Node] = field(default_factory=dict)
    clouds: list[tuple[Node, str, str]] = field(default_factory=list)   # (cloud, flow, end)
    taken: set[tuple[int, int]] = field(default_factory=set)


def refs(expr: object) -> set[str]:
    """Identifiers an expression reads: references, lookup tables and stateful arguments."""
    if isinstance(expr, ir.Ref):
        return {expr.ident}
    if isinstance(expr, ir.LookupCall):
        return {expr.table} | refs(expr.arg)
    if isinstance(expr, ir.InlineLookup):
        return refs(expr.arg)
    return set().union(set(), *(refs(a) for a in ir.children(expr)))


def signed_terms(expr: object, sign: int = 1) -> list[tuple[int, str]]:
    """A stock's net rate as (+1/-1, flow identifier) terms; anything else is an error."""
    if isinstance(expr, ir.Ref):
        return [(sign, expr.ident)]
    if isinstance(expr, ir.Op) and expr.op in "+-" and len(expr.args) == 2:
        second = sign if expr.op == "+" else -sign
        return signed_terms(expr.args[0], sign) + signed_terms(expr.args[1], second)
    if isinstance(expr, ir.Chain) and set(expr.ops) <= {"+", "-"}:
        signs = [sign] + [sign if op == "+" else -sign for op in expr.ops]
        return [term for s, a in zip(signs, expr.args) for term in signed_terms(a, s)]
    raise SystemExit(f"a stock's rate is not a sum of named flows: {expr!r}")


def read(path: Path) -> Model:
    """The variables, dependencies and stock-flow structure of a model file."""
    elements = read_model(path).elements
    name_of = {e.ident: e.name for e in elements} | BUILTIN_NAMES
    model = Model([e.name for e in elements if e.kind != "control"], {}, [], {}, {}, {})
    for e in elements:
        if e.kind == "control":
            continue
        if e.is_stock:
            _read_stock(model, e, name_of)
        elif e.kind == "lookup":
            model.reads[e.name] = set()
        else:
            model.reads[e.name] = {name_of[i] for i in refs(e.expr)}
    return model


def _read_stock(model: Model, e: ir.Element, name_of: dict[str, str]) -> None:
    rate, initial = e.expr.args[0], e.expr.args[1]
    model.stocks.append(e.name)
    model.reads[e.name] = {name_of[i] for i in refs(initial)}
    model.inflows[e.name], model.outflows[e.name] = [], []
    for sign, ident in signed_terms(rate):
        flow = name_of[ident]
        ends = model.flow_ends.setdefault(flow, [None, None])
        end = 1 if sign > 0 else 0
        if ends[end] is not None:
            raise SystemExit(f"{flow!r} fills or drains two stocks: {ends[end]!r}, {e.name!r}")
        ends[end] = e.name
        (model.inflows if sign > 0 else model.outflows)[e.name].append(flow)


def sectors(model: Model) -> dict[str, str]:
    """Variable -> view title: file-order ranges, constants moved to their first reader."""
    starts = {first: title for title, first in SECTORS}
    sector, title = {}, SECTORS[0][0]
    for name in model.order:
        title = starts.get(name, title)
        sector[name] = title
    for flow, (source, sink) in model.flow_ends.items():
        sector[flow] = sector[sink or source]
    readers: dict[str, list[str]] = {}
    for name in model.order:
        for dep in model.reads[name]:
            readers.setdefault(dep, []).append(name)
    for name in model.order:
        if not model.reads[name] and name not in model.stocks and name in readers:
            sector[name] = sector[readers[name][0]]
    return sector


def chains(model: Model, stocks: list[str]) -> list[list[str]]:
    """The view's stocks as left-to-right chains linked by stock-to-stock flows."""
    nxt = {}
    for flow, (source, sink) in model.flow_ends.items():
        if source in stocks and sink in stocks:
            nxt[source] = (flow, sink)
    heads = [s for s in stocks if s not in {sink for _, sink in nxt.values()}]
    found = []
    for head in heads:
        chain, stock = [head], head
        while stock in nxt:
            flow, stock = nxt[stock]
            chain += [flow, stock]
        found.append(chain)
    return found


def place_chains(view: View, model: Model, stocks: list[str]) -> None:
    """Lay the chains on rows, flows left to right; short chains share a row."""
    laid = [_with_boundary_flows(model, chain) for chain in chains(model, stocks)]
    width = max([len(items) for items in laid] + [MIN_WIDTH])
    col, row = 0, 2
    for chain, items in zip(chains(model, stocks), laid):
        if col and col + len(items) > width:
            col, row = 0, row + CHAIN_GAP + 1
        for i, (name, kind, flow, end) in enumerate(items):
            _put(view, Node(name, kind), col + i, row, flow, end)
        for stock in chain[::2]:
            _vertical_flows(view, model, stock)
            view.taken.add((view.nodes[stock].col, row - 1))   # room for a label drawn above
        col += len(items) + 1


def _with_boundary_flows(model: Model, chain: list[str]) -> list[tuple[str, str, str, str]]:
    """The chain with its first stock's cloud inflow on the left and last stock's outflow right.

    Items are (name, kind, flow, end); a cloud names its flow and whether it is its source or sink.
    """
    items = [(n, "stock" if i % 2 == 0 else "flow", "", "") for i, n in enumerate(chain)]
    first = [f for f in model.inflows[chain[0]] if model.flow_ends[f][0] is None]
    last = [f for f in model.outflows[chain[-1]] if model.flow_ends[f][1] is None]
    if first:
        items = [("", "cloud", first[0], "source"), (first[0], "flow", "", "")] + items
    if last:
        items += [(last[0], "flow", "", ""), ("", "cloud", last[0], "sink")]
    return items


def _vertical_flows(view: View, model: Model, stock: str) -> None:
    """Cloud flows a chain row has no room for: inflows from above, outflows below."""
    col, row = view.nodes[stock].col, view.nodes[stock].row
    for flow in model.inflows[stock] + model.outflows[stock]:
        if flow in view.nodes:
            continue
        inflow = flow in model.inflows[stock]
        step = -1 if inflow else 1
        _put(view, Node(flow, "flow", vertical=True), col, row + step)
        _put(view, Node("", "cloud"), col, row + 2 * step, flow, "source" if inflow else "sink")


def _put(view: View, node: Node, col: int, row: int, flow: str = "", end: str = "") -> None:
    node.col, node.row = col, row
    view.taken.add((col, row))
    if node.kind == "cloud":
        view.clouds.append((node, flow, end))
    else:
        view.nodes[node.name] = node


def place_names(view: View, names: list[str], links: dict[str, set[str]], width: int) -> None:
    """Greedy: each name goes to the free cell nearest the centre of its placed neighbours."""
    todo = list(names)
    while todo:
        placed = {n: view.nodes.get(n) or view.shadows.get(n) for n in links}
        best = max(todo, key=lambda n: (sum(1 for m in links[n] if placed.get(m)), -todo.index(n)))
        near = [placed[m] for m in links[best] if placed.get(m)]
        col, row = (_mean(near) if near else (0, 0))
        node = Node(best, "shadow" if best.startswith("<") else "aux")
        node.col, node.row = _free_cell(view, col, row, width)
        view.taken.add((node.col, node.row))
        if node.kind == "shadow":
            node.name = best[1:-1]
            view.shadows[node.name] = node
        else:
            view.nodes[best] = node
        todo.remove(best)


def _mean(nodes: list[Node]) -> tuple[float, float]:
    return (sum(n.col for n in nodes) / len(nodes), sum(n.row for n in nodes) / len(nodes))


def _free_cell(view: View, col: float, row: float, width: int) -> tuple[int, int]:
    """The free grid cell nearest (col, row), inside the view's width."""
    best, best_d = None, math.inf
    for c in range(width):
        for r in range(int(row) + 40):
            if (c, r) in view.taken:
                continue
            d = (c - col) ** 2 + 1.6 * (r - row) ** 2
            if d < best_d:
                best, best_d = (c, r), d
    return best


def build_view(title: str, model: Model, sector: dict[str, str]) -> View:
    """Place one sector's stocks, flows, names and shadows."""
    view = View(title)
    members = [n for n in model.order if sector[n] == title]
    place_chains(view, model, [n for n in members if n in model.stocks])
    links: dict[str, set[str]] = {n: set() for n in members}
    for target in members:
        for dep in model.reads[target]:
            key = dep if sector.get(dep) == title else f"<{dep}>"
            links.setdefault(key, set()).add(target)
            links[target].add(key)
    names = [n for n in members if n not in view.nodes] + sorted(k for k in links if k[0] == "<")
    width = max([n.col for n in view.nodes.values()] + [MIN_WIDTH]) + 2
    place_names(view, names, links, width)
    for _ in range(RELAX_PASSES):
        relax(view, names, links, width)
    return view


def relax(view: View, names: list[str], links: dict[str, set[str]], width: int) -> None:
    """Move each name to the free cell nearest the centre of all its neighbours (shorter arrows)."""
    for key in names:
        node = _node(view, key)
        view.taken.discard((node.col, node.row))
        node.col, node.row = _free_cell(view, *_mean([_node(view, m) for m in links[key]]), width)
        view.taken.add((node.col, node.row))


def _node(view: View, key: str) -> Node:
    return view.shadows[key[1:-1]] if key.startswith("<") else view.nodes[key]


def label_size(name: str, stock: bool = False) -> tuple[int, int, int]:
    """Half width, half height and line count of a name as Vensim wraps it."""
    lines = textwrap.wrap(name, WRAP) or [""]
    if stock:
        return 50, 25, len(lines)
    return max(20, int(2.9 * max(map(len, lines))) + 4), 7 * len(lines) + 1, len(lines)


def quote(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9 _]+", name) else '"' + name.replace('"', '\\"') + '"'


def records(view: View, model: Model) -> list[str]:
    """The view's sketch lines: objects first, then pipes and influence arrows."""
    next_id = iter(range(1, 100000))
    nodes = [*view.nodes.values(), *view.shadows.values(), *(c for c, _, _ in view.clouds)]
    lines = [line for node in sorted(nodes, key=lambda n: (n.row, n.col))
             for line in _object_line(view, node, next_id)]
    lines += _pipes(view, model, next_id)
    lines += _arrows(view, model, next_id)
    return lines


def _object_line(view: View, node: Node, next_id) -> list[str]:
    x, y = node.xy
    if node.kind == "cloud":
        node.id = next(next_id)
        return [f"12,{node.id},48,{x},{y},10,8,0,3,0,0,-1,0,0,0"]
    if node.kind == "flow":
        node.valve_id, node.id = next(next_id), next(next_id)
        w, h, _ = label_size(node.name)
        if node.vertical:
            return [f"11,{node.valve_id},48,{x},{y},8,6,33,3,0,0,4,0,0,0",
                    f"10,{node.id},{quote(node.name)},{x + w + 12},{y},{w},{h},40,3,0,0,-1,0,0,0"]
        return [f"11,{node.valve_id},48,{x},{y},6,8,34,3,0,0,1,0,0,0",
                f"10,{node.id},{quote(node.name)},{x},{y + h + 10},{w},{h},40,3,0,0,-1,0,0,0"]
    node.id = next(next_id)
    if node.kind == "stock":
        w, h, _ = label_size(node.name, stock=True)
        return [f"10,{node.id},{quote(node.name)},{x},{y},{w},{h},3,3,0,0,0,0,0,0"]
    w, h, _ = label_size(node.name)
    if node.kind == "shadow":
        return [f"10,{node.id},{quote(node.name)},{x},{y},{w},{h},8,2,{SHADOW_TAIL}"]
    return [f"10,{node.id},{quote(node.name)},{x},{y},{w},{h},8,3,0,0,0,0,0,0"]


def _pipes(view: View, model: Model, next_id) -> list[str]:
    """Flow pipes: valve to the stock or cloud it fills (4) and to the one it drains (100)."""
    lines = []
    for flow in (n for n in view.nodes.values() if n.kind == "flow"):
        source, sink = model.flow_ends[flow.name]
        clouds = {end: c for c, f, end in view.clouds if f == flow.name}
        for end, stock, code in (("sink", sink, 4), ("source", source, 100)):
            target = view.nodes[stock] if stock else clouds[end]
            mx, my = _mid(flow.xy, target.xy)
            lines.append(f"1,{next(next_id)},{flow.valve_id},{target.id},{code},0,0,22,0,0,0,"
                         f"-1--1--1,,1|({mx},{my})|")
    return lines


def _arrows(view: View, model: Model, next_id) -> list[str]:
    """One straight influence arrow for every dependency of a variable of this view."""
    lines = []
    for target in view.nodes.values():
        for dep in sorted(model.reads[target.name]):
            source = view.nodes.get(dep) or view.shadows[dep]
            mx, my = _mid(source.xy, target.xy)
            lines.append(f"1,{next(next_id)},{source.id},{target.id},0,0,0,0,0,64,0,-1--1--1,,"
                         f"1|({mx},{my})|")
    return lines


def _mid(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return (a[0] + b[0]) // 2, (a[1] + b[1]) // 2


def sketch(model: Model) -> str:
    """The whole sketch section, one view per sector."""
    sector = sectors(model)
    titles = list(dict.fromkeys(title for title, _ in SECTORS))
    out = []
    for title in titles:
        view = build_view(title, model, sector)
        out.append(VIEW_HEAD + f"*{title}\n{VIEW_STYLE}\n" + "\n".join(records(view, model)) + "\n")
    return "".join(out) + "///---\\\\\\\n:L<%^E!@\n"


def main(path: Path = DEFAULT_MODEL) -> None:
    text = path.read_text(encoding="utf-8")
    start = text.index(SKETCH_MARK)
    path.write_text(text[:start] + sketch(read(path)), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MODEL)
