"""numba_segments: how a by-cell Euler body is cut into member loops (text in, text out).

The compiled results of split bodies are checked against the numpy backend in
test_compiled_backend (the conformance models, the reform model, tests/models/segments.mdl);
these tests pin the cutting itself: a local stays in one loop, no name is set in two, calls
and plain arithmetic go to loops of their own, and a body with nothing to vectorise is left
alone.
"""

from __future__ import annotations

import re

from reformsim.engine import numba_segments
from reformsim.engine.numba_source import INLINED

BODY = [
    "s0 = Yb[0, i]",
    "v1 = s0",
    "v2 = (Cb[0, i] * v1)",
    "v3 = np.exp((Cb[1, i] * t))",
    "v4 = (v2 + v3) if (v2 > Cb[2, i]) else Cb[3, i]",
    "v5 = F.power(v4, Cb[4, i])",
    "d0 = (v5 - v2)",
    "prev = v4",
    "q1 = L[0]",
    "for k in range(or1):",
    "    o = Yb[ro1 + (k)*1, i] / q1",
    "    D[ro1 + (k)*1] = (prev - o) * of1",
    "    prev = o",
    "if save:",
    "    Sb[0, i] = v1",
    "    Sb[1, i] = v2",
    "    Sb[2, i] = v3",
    "    Sb[3, i] = v4",
    "    Sb[4, i] = v5",
    "if commit:",
    "    Yb[0, i] = s0 + d0 * dt",
    "    for k in range(1, R):",
    "        Yb[k, i] += D[k] * dt",
]


def loops(lines: list[str]) -> list[list[str]]:
    """The member loops of split's output, each with its body."""
    out: list[list[str]] = []
    for line in lines:
        if re.match(r"\s*for i_\d+ in range\(nb\):", line):
            out.append([line])
        elif out and line.startswith(" "):
            out[-1].append(line)
    return out


def test_calls_and_plain_arithmetic_run_in_loops_of_their_own():
    lines, setup = numba_segments.split(BODY, INLINED, columns=5)
    members = loops(lines)
    def computing(name: str) -> list[str]:
        [member] = [m for m in members                   # (not brought from WF)
                    if any(re.search(rf"{name}_\d+ = (?!WF\[)", x) for x in m)]
        return member

    for name in ("v2", "v4", "d0"):   # plain arithmetic: in loops without a call
        assert not any("np.exp" in x or "F.power" in x for x in computing(name))
    assert any("np.exp" in x for x in computing("v3"))
    assert computing("v3") is not computing("v2")
    # v4 reads v2 and v3, computed in other loops: from their rows of WF
    assert any(re.search(r"v2_\d+ = WF\[\d+ \+ i_\d+\]", x) for x in computing("v4"))
    assert "Sb = WS[0:5]" in setup and f"width = {numba_segments.WIDTH}" in setup


def test_a_local_never_crosses_member_loops_and_a_name_is_set_in_one_place():
    """prev is set two statements before the delay's loop reads it (q1 between): the three
    stay in one member loop. Every name a loop sets is its own (suffix _<loop>)."""
    lines, _ = numba_segments.split(BODY, INLINED, columns=5)
    members = loops(lines)
    with_prev = [m for m in members if any("prev_" in x for x in m)]
    assert len(with_prev) == 1 and any("for k_" in x for x in with_prev[0])
    seen: dict[str, int] = {}
    for n, member in enumerate(members):
        for line in member[1:]:
            if match := re.match(r"\s*(\w+) = ", line):
                assert seen.setdefault(match.group(1), n) == n, match.group(1)


def test_no_value_is_read_before_a_loop_computes_it():
    """Each name a loop reads is set earlier in that loop."""
    lines, _ = numba_segments.split(BODY, INLINED, columns=5)
    for member in loops(lines):
        set_here = {re.match(r"\s*for (\w+)", member[0]).group(1)}
        for line in member[1:]:
            target = re.match(r"\s*(?:for )?(\w+)(?: = | in )", line)
            right = line.split(" = ", 1)[-1] if " = " in line else line
            for name in re.findall(r"\b([vsdq]\d+_\d+|cb\d+_\d+|prev_\d+|o_\d+|e_\d+)\b",
                                   right):
                assert name in set_here, (name, line)
            if target:
                set_here.add(target.group(1))


def test_a_body_with_nothing_to_run_on_several_members_is_not_split():
    body = ["v0 = np.exp(Cb[0, i])", "v1 = F.power(v0, Cb[1, i])",
            "if save:", "    Sb[0, i] = v0", "    Sb[1, i] = v1"]
    assert numba_segments.split(body, INLINED, columns=2) is None


def test_a_lookup_is_written_out_and_its_points_read_before_the_time_loop():
    body = ["v0 = (Cb[0, i] * interp3(t, TB[0], TB[1], TB[2], TB[3], TB[4], TB[5]))",
            "if save:", "    Sb[0, i] = v0"]
    lines, setup = numba_segments.split(body, INLINED, columns=1)
    assert not any("interp3(" in line for line in lines)
    assert [f"tb{k} = TB[{k}]" for k in range(6)] == [x for x in setup if x.startswith("tb")]
    assert any(re.search(r"v0_\d+ = \(cb0_\d+ \* ip0_\d+\)", line) for line in lines)
