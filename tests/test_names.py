"""Model names never share the engine's namespace, and long operator chains compile.

A model element may be named anything Vensim allows, ``__s0`` (the look of an
internal state reference) included; a sum of hundreds of terms is evaluated left
to right exactly as the nested binary operations would be.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import reformsim

CONTROLS = """INITIAL TIME = 0
\t~\tMonth
\t~\t\t|
FINAL TIME = 2
\t~\tMonth
\t~\t\t|
SAVEPER = 1
\t~\tMonth
\t~\t\t|
TIME STEP = 1
\t~\tMonth
\t~\t\t|
"""


def _model(tmp_path: Path, equations: dict[str, str], name: str = "m.mdl") -> Path:
    body = "".join(f"{lhs}= {rhs}\n\t~\tDmnl\n\t~\t\t|\n" for lhs, rhs in equations.items())
    path = tmp_path / name
    path.write_text("{UTF-8}\n" + body + CONTROLS, encoding="utf-8")
    return path


# names of the engine's own: state references, slots, literals, the generated code's locals
INTERNAL = ["__s0", "__s1", '"__s0+1"', "s0", "v0", "L0", "t", "dt", "np", "F", "K", "n"]


@pytest.mark.parametrize("internal", INTERNAL)
def test_a_model_name_that_looks_internal_is_just_a_name(tmp_path, internal):
    # before the StateRef node, x = __s0*2 read the stock's state: 200 instead of 10
    path = _model(tmp_path, {"Stock": "INTEG(0, 100)", internal: "5",
                             "x": f"{internal} * 2", "y": "Stock + x"})
    results = reformsim.simulate(reformsim.load_model(path), outputs=["x", "y"])
    assert results["x"].tolist() == [[10.0, 10.0, 10.0]]
    assert results["y"].tolist() == [[110.0, 110.0, 110.0]]


def _left_fold(values: list[float], ops: list[str]) -> float:
    acc = values[0]
    for op, value in zip(ops, values[1:]):
        acc = {"+": acc + value, "-": acc - value, "*": acc * value, "/": acc / value}[op]
    return acc


@pytest.mark.parametrize("terms", [3, 220, 250, 1000])
@pytest.mark.parametrize("family", ["+-", "*/"])
def test_long_chains_compile_and_fold_left_to_right(tmp_path, terms, family):
    values = [1 + (i * 0.37) % 1.9 for i in range(terms)]
    ops = [family[i % 3 == 0] for i in range(1, terms)]
    equations = {f"a{i}": repr(v) for i, v in enumerate(values)}
    equations["total"] = "a0" + "".join(f" {op} a{i}" for i, op in enumerate(ops, 1))
    results = reformsim.simulate(reformsim.load_model(_model(tmp_path, equations)),
                                 outputs=["total"])
    assert results["total"][0, 0] == _left_fold(values, ops)   # bit for bit
