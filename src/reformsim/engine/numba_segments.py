"""A by-cell Euler body split into member loops that LLVM runs on several members at once.

A model of scalars keeps its block's cells x members (:mod:`numba_source`): one loop over
the members runs the whole rate pass. Where the body is plain arithmetic, LLVM runs that
loop on 8 members at once. A single call it cannot inline (exp, a power) or inner loop (a
delay's stages) would keep the whole body one member at a time.

:func:`split` cuts such a body into segments, each its own loop over the members (loop
fission), and makes each loop one LLVM can vectorise where it has no such call:

- **Schedule.** The statements LLVM can vectorise go in some segments, the calls and
  loops in the others, as few segments as the dependencies allow (a list schedule that
  alternates between the two kinds), of at most LONGEST statements.
- **One array, fixed rows.** A value one segment computes and another reads crosses in
  ``WF``, one array of rows of WIDTH members: a dynamic element in its row of ``Sb`` (the
  saves read them there, so every element is stored at every step, and the save itself is
  gone), any other value in a row of ``X``; the block's constants and states are rows of it
  too. Every cell is ``WF[<constant> + i]``, so LLVM sees each pair of cells at a constant
  distance of at least WIDTH and needs no check at run time that a loop's stores do not
  overlap its loads (with an array per row it needs one per pair, and gives up).
- **Nothing conditional to load.** Each segment reads the constants it uses at its top,
  so that a choice between two constants (``a if c else b``) is a choice between values;
  literals and the tables' points are read before the time loop. A state's or constant's
  load is repeated in each segment that reads it rather than carried.
- **No call for a lookup.** A table's interpolation (``interp<n>``) is written out where
  it is used (numba_codegen.interpolation_lines: no branch, no load).
- **A name set once.** Each segment's names are its own (``v65_3``): numba rebuilds the
  SSA form of a name set in several places (for the reform model, 2 s of a 21 s compile).
- Derivatives of rows become ``D[row, i]``; the step's commit is last, its loops over rows
  loop nests with the members innermost.

Each statement still runs the same IEEE operations on the same operands, in the same order,
and no value is stored as anything but a float64: a member's results are bit for bit those
of the unsplit body, which a lone member and a block's last few run alike.

The input is :class:`numba_rates.RatePass`'s lines (its own regular text: one top-level
statement per line, nested blocks indented by four spaces); a body this module does not
recognise, or in which no segment would run on several members, is not split
(:func:`split` returns None) and runs one member at a time, members x cells.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .numba_codegen import interpolation_lines

# Values the rate pass computes once per member and time: dynamic elements (v), states' and
# their arguments' values (s, y, a<j>_<k>, q) and scalar derivatives (d).
NAME = re.compile(r"\b([vsdyq]\d+|a\d+_\d+)\b")
ASSIGN = re.compile(r"^(\w+) = (.*)$")
WORD = re.compile(r"\b[A-Za-z_]\w*\b")
LOOP = re.compile(r"^for (\w+) in ")
CALL = re.compile(r"\binterp(\d+)\(")                  # a table's interpolation
# A load that is cheaper to repeat than to carry: one cell of a block's array (or a name
# that is such a load).
LOAD = re.compile(r"^(?:Yb|Cb|Zb|K)\[[^\[\]]*\]$")
SAVE = re.compile(r"^    Sb\[(\d+), i\] = (\w+)$")
DERIVATIVE = re.compile(r"\bD\[([^\[\]]*)\]")
CELL = re.compile(r"\b(Sb|X|Cb|Yb)\[(\d+), i\]")    # a cell at a fixed row
LITERAL = re.compile(r"\bL\[(\d+)\]")
CONSTANT = re.compile(r"\bCb\[(\d+), i\]")            # a constant's cell: read at the top
POINT = re.compile(r"\bTB\[(\d+)\]")                 # a table's point
# Statements a member loop has at most: LLVM's analysis of a loop's loads and stores gives up
# past 100 pairs that may depend on each other (its -max-dependences), and with it the loop
LONGEST = 48
WIDTH = 72    # members a block has room for: 8 x an odd number (rows in distinct cache sets)


@dataclass
class _Group:
    """Consecutive top-level statements that share a local (prev, time, o...): one unit."""

    lines: list[str]
    defines: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    calls: bool = False   # a call LLVM does not inline, or a loop: run member by member


def split(lines: list[str], inlined: tuple[str, ...],
          columns: int) -> tuple[list[str], list[str]] | None:
    """The member loops of a by-cell Euler body (lines at the time loop's depth, before
    indentation) of a model with ``columns`` constant cells, and the integrator's start that
    lays out the cells they read and write (instead of numba_source's), or None where the
    body is not one this module knows how to split. A block has at most WIDTH members."""
    statements = _statements(lines)
    saves = [s for s in statements if s[0] == "if save:"]
    commits = [s for s in statements if s[0] == "if commit:"]
    body = [s for s in statements if s[0] not in ("if save:", "if commit:")]
    if len(saves) != 1 or len(commits) > 1 or (commits and statements[-1] is not commits[0]):
        return None
    rows = {}
    for line in saves[0][1:]:
        match = SAVE.match(line)
        if not match:
            return None
        rows[match.group(2)] = int(match.group(1))
    tags = itertools.count()
    body = [piece for statement in body for piece in _inlined(statement, tags)]
    loads: dict[str, str] = {}          # name -> its line, repeated where it is read
    units: list[list[str]] = []
    for statement in body:
        match = ASSIGN.match(statement[0])
        if len(statement) == 1 and match and NAME.fullmatch(match.group(1)) \
                and match.group(1) not in rows and (LOAD.match(match.group(2)) or
                                                    match.group(2) in loads):
            loads[match.group(1)] = statement[0]
        else:
            units.append(statement)
    groups = _groups(units, inlined)
    if groups is None:
        return None
    order = _schedule(groups)
    if order is None or not any(not group.calls for segment in order for group in segment):
        return None   # (no loop would run on several members: not worth the layout)
    commit = [line[4:] for line in commits[0][1:]] if commits else []
    carried = _carried(order, rows, loads, set(NAME.findall("\n".join(commit))))
    segments = [_segment(segment, rows, loads, carried) for segment in order]
    tail = _commit(commit, rows, loads, carried) if commit else []
    return _flat([line for segment in segments for line in segment] + tail,
                 len(rows), len(carried), columns)


def _flat(lines: list[str], saved: int, carried: int, columns: int) -> tuple[list[str], list[str]]:
    """The member loops with every cell at a fixed row of one array (``WF``, rows of WIDTH
    members: Sb's, then X's, C's and Y's; see the module's docstring for why), each loop's
    names its own, and the integrator's start that makes the array (``Sb``, ``Cb`` and
    ``Yb`` are views of its rows; the literals and tables' points the loops read, locals)."""
    x0, c0 = saved, saved + carried
    y0 = c0 + columns
    base = {"Sb": 0, "X": x0, "Cb": c0, "Yb": y0}
    literals = sorted({int(k) for line in lines for k in LITERAL.findall(line)})
    points = sorted({int(k) for line in lines for k in POINT.findall(line)})

    def place(match: re.Match) -> str:
        return f"WF[{(base[match.group(1)] + int(match.group(2))) * WIDTH} + i]"

    lines = _own_names([POINT.sub(r"tb\1", LITERAL.sub(r"l\1", CELL.sub(place, line)))
                        for line in lines])
    setup = ["nb = hi - lo", "Zb = across(lo, hi, Z)", "OBb = np.zeros(nb)", "T = np.empty(nb)",
             "W = np.empty(work)", "R = WO.shape[0]", f"width = {WIDTH}",
             f"WF = np.empty(({y0} + R) * {WIDTH})",
             f"WS = WF.reshape(({y0} + R, {WIDTH}))",
             "for i in range(nb):",
             f"    for k in range({columns}):",
             f"        WS[{c0} + k, i] = C[lo + i, k]",
             "    for k in range(R):",
             f"        WS[{y0} + k, i] = Y[lo + i, k]",
             f"Sb = WS[0:{saved}]", f"Cb = WS[{c0}:{y0}]", f"Yb = WS[{y0}:]"]
    return lines, setup + [f"l{k} = L[{k}]" for k in literals] + \
        [f"tb{k} = TB[{k}]" for k in points]


def _own_names(lines: list[str]) -> list[str]:
    """Each member loop's names its own (``v65_3``: member loop 3's copy of v65, its index
    ``i_3``): a name set in one place only, whose SSA form numba need not rebuild (for the
    reform model: 21 -> 19 s of its first compilation)."""
    out: list[str] = []
    at = 0
    while at < len(lines):
        line = lines[at]
        if line.strip() != "for i in range(nb):":
            out.append(line)
            at += 1
            continue
        depth = len(line) - len(line.lstrip())
        end = at + 1
        while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) > depth:
            end += 1
        block = lines[at:end]
        names = {"i"} | {m.group(1) for row in block[1:] if (m := ASSIGN.match(row.strip()))} \
            | {m.group(1) for row in block[1:] if (m := LOOP.match(row.strip()))}
        own = re.compile(r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\b")
        n = len(out)
        out += [own.sub(lambda m: f"{m.group(1)}_{n}", row) for row in block]
        at = end
    return out


def _inlined(statement: list[str], tags: Iterator[int]) -> list[list[str]]:
    """A one-line statement with its tables' interpolations (``interp<n>(x, points...)``)
    written out before it, a statement a line (numba_codegen.interpolation_lines, names
    ``ip<tag>...``), so that the member loop has no call: numba's own inlining of such a
    function takes seconds a call."""
    if len(statement) != 1:
        return [statement]
    lines, line = [], statement[0]
    while match := CALL.search(line):
        args, depth, start = [], 0, match.end()
        for at in range(match.end(), len(line)):
            if line[at] == "(":
                depth += 1
            elif line[at] == ")" and depth:
                depth -= 1
            elif line[at] in ",)" and not depth:
                args.append(line[start:at].strip())
                start = at + 1
                if line[at] == ")":
                    break
        tag = f"ip{next(tags)}"
        lines += [f"{tag}_x = {args[0]}"] + interpolation_lines(
            int(match.group(1)), f"{tag}_x", args[1:], tag)
        line = line[:match.start()] + tag + line[at + 1:]
    return [[piece] for piece in lines + [line]]


def _statements(lines: list[str]) -> list[list[str]]:
    """Top-level statements, each with its indented lines."""
    statements: list[list[str]] = []
    for line in lines:
        if line.startswith(" ") and statements:
            statements[-1].append(line)
        else:
            statements.append([line])
    return statements


def _groups(statements: list[list[str]], inlined: tuple[str, ...]) -> list[_Group] | None:
    """Statements joined from one that sets a local (prev, time, key: not one of NAME's) to
    the last that reads it before it is set again: a local never crosses member loops."""
    words = [set(WORD.findall("\n".join(statement))) for statement in statements]
    sets = [{m.group(1)} if (m := ASSIGN.match(statement[0])) and
            not NAME.fullmatch(m.group(1)) else set() for statement in statements]
    reach = list(range(len(statements)))
    for a, names in enumerate(sets):
        for name in names:
            for b in range(a + 1, len(statements)):
                if name in sets[b]:
                    break
                if name in words[b]:
                    reach[a] = b
    groups: list[_Group] = []
    a = 0
    while a < len(statements):
        b, k = reach[a], a
        while k <= b:
            b, k = max(b, reach[k]), k + 1
        group = _Group([line for statement in statements[a:b + 1] for line in statement])
        text = "\n".join(group.lines)
        if "W[" in text or "Sb[" in text or "X[" in text:
            return None   # an array element (W) or a name this module would shadow
        group.defines = {m.group(1) for line in group.lines
                         if (m := ASSIGN.match(line.strip())) and NAME.fullmatch(m.group(1))}
        group.reads = set(NAME.findall(text)) - group.defines
        for call in inlined:
            text = text.replace(call, "(")
        group.calls = any(word in text for word in ("for ", "while ", "F.", "np.", "watch("))
        groups.append(group)
        a = b + 1
    return groups


def _schedule(groups: list[_Group]) -> list[list[_Group]] | None:
    """Segments of groups, alternating between vectorisable ones and calls, each segment as
    long as the dependencies allow (a group's values come from earlier segments or earlier
    in its own); within a kind, the rate order is kept."""
    where = {name: k for k, group in enumerate(groups) for name in group.defines}
    needs = [{where[name] for name in group.reads if name in where} for group in groups]
    done: set[int] = set()
    segments: list[list[_Group]] = []
    calls, idle = False, 0
    while len(done) < len(groups):
        if idle == 2:   # neither kind can go on: a value read before it is computed
            return None
        segment: list[int] = []
        progress = True
        while progress:
            progress = False
            for k, group in enumerate(groups):
                if k not in done and group.calls == calls and needs[k] <= done:
                    done.add(k)
                    segment.append(k)
                    progress = True
        if segment:
            segments.append([groups[k] for k in segment])
        idle = 0 if segment else idle + 1
        calls = not calls
    return [segment[at:at + LONGEST] for segment in segments
            for at in range(0, len(segment), LONGEST)]


def _carried(order: list[list[_Group]], rows: dict[str, int], loads: dict[str, str],
             committed: set[str]) -> dict[str, int]:
    """Rows of X for the values one segment computes and another (or the commit, which reads
    ``committed``) reads, dynamic elements aside (they cross in Sb)."""
    home = {name: k for k, segment in enumerate(order) for group in segment
            for name in group.defines}
    carried: dict[str, int] = {}
    for k, segment in enumerate(order):
        for group in segment:
            for name in sorted(group.reads):
                if name in home and home[name] != k and name not in rows \
                        and name not in loads and name not in carried:
                    carried[name] = len(carried)
    for name in sorted(committed & set(home), key=_natural):
        if name not in rows and name not in carried:
            carried[name] = len(carried)
    return carried


def _fetch(names: set[str], defined: set[str], rows: dict[str, int], loads: dict[str, str],
           carried: dict[str, int]) -> list[str]:
    """Lines that bring a segment the values it reads and does not compute: repeated loads
    (and those they read, first), elements from Sb, the rest from X."""
    lines: list[str] = []
    seen: set[str] = set()

    def bring(name: str) -> None:
        if name in seen or name in defined:
            return
        seen.add(name)
        if name in loads:
            for inner in NAME.findall(ASSIGN.match(loads[name]).group(2)):
                bring(inner)
            lines.append(loads[name])
        elif name in rows:
            lines.append(f"{name} = Sb[{rows[name]}, i]")
        elif name in carried:
            lines.append(f"{name} = X[{carried[name]}, i]")

    for name in sorted(names, key=_natural):
        bring(name)
    return lines


def _natural(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _segment(segment: list[_Group], rows: dict[str, int], loads: dict[str, str],
             carried: dict[str, int]) -> list[str]:
    defined = {name for group in segment for name in group.defines}
    reads = {name for group in segment for name in group.reads}
    body = [line for group in segment for line in group.lines]
    stores = [f"Sb[{rows[name]}, i] = {name}" for name in sorted(defined, key=_natural)
              if name in rows]
    stores += [f"X[{carried[name]}, i] = {name}" for name in sorted(defined, key=_natural)
               if name in carried]
    constants = sorted({int(k) for line in body for k in CONSTANT.findall(line)})
    body = [CONSTANT.sub(r"cb\1", line) for line in body]
    inner = _fetch(reads, defined, rows, loads, carried) + \
        [f"cb{k} = Cb[{k}, i]" for k in constants] + body + stores
    return ["for i in range(nb):", "    e = lo + i"] + \
        ["    " + DERIVATIVE.sub(r"D[\1, i]", line) for line in inner]


def _commit(lines: list[str], rows: dict[str, int], loads: dict[str, str],
            carried: dict[str, int]) -> list[str]:
    """The step's commit: statements that read the member's values in a member loop; loops
    over rows that read none of them as loop nests, the members innermost."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            reads = {name for line in pending for name in NAME.findall(line)}
            assigned = {m.group(1) for line in pending if (m := ASSIGN.match(line))}
            inner = _fetch(reads, assigned, rows, loads, carried) + pending
            out.extend(["for i in range(nb):", "    e = lo + i"] +
                       ["    " + DERIVATIVE.sub(r"D[\1, i]", line) for line in inner])
            pending.clear()

    for statement in _statements(lines):
        text = "\n".join(statement)
        if statement[0].startswith("for ") and not NAME.search(text):
            flush()
            out.append(statement[0])
            out += ["    for i in range(nb):"] + \
                ["    " + DERIVATIVE.sub(r"D[\1, i]", line) for line in statement[1:]]
        else:
            pending.extend(statement)
    flush()
    return ["if commit:"] + ["    " + line for line in out]
