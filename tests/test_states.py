"""Every kind of state has a rule wherever a kind picks behaviour, and nothing more."""

from __future__ import annotations

import pytest

from reformsim.engine import initpass, numba_rates, program, rates, states

TABLES = {
    "initial value (initpass.INIT_OUTPUTS)": initpass.INIT_OUTPUTS,
    "derivative (rates.RateWriter.DERIVATIVES)": rates.RateWriter.DERIVATIVES,
    "compiled output (numba_rates.RatePass.OUTPUTS)": numba_rates.RatePass.OUTPUTS,
    "compiled derivative (numba_rates.RatePass.DERIVATIVES)": numba_rates.RatePass.DERIVATIVES,
}
# kinds with a continuous output read from the state rows or a register; INITIAL is a value
WITH_OUTPUT = set(states.KINDS) - {"initial"}


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_every_kind_has_a_rule(table):
    assert set(table) == set(states.KINDS)


def test_every_kind_with_an_output_has_an_output_rule():
    assert set(rates.RateWriter.OUTPUTS) == WITH_OUTPUT


def test_kinds_with_rows_start_them_and_discrete_kinds_keep_a_register():
    with_rows = {k for k, kind in states.KINDS.items() if kind.rows != "none"}
    assert set(program._STAGES) == with_rows
    assert set(program._REGISTERS) == set(program._UPDATES) == set(states.DISCRETE)
    assert set(numba_rates.RatePass.UPDATES) == set(numba_rates.REGISTERS) == set(states.DISCRETE)


def test_argument_tables_name_real_arguments():
    arity = {"integ": 2, "delay": 4, "delayn": 4, "delay_fixed": 3, "smooth": 4, "trend": 3,
             "forecast": 4, "sample_if_true": 3, "initial": 1}
    assert set(arity) == set(states.KINDS)
    for name, kind in states.KINDS.items():
        used = set(kind.init_args) | set(kind.output_args) | set(kind.structural_args)
        assert used <= set(range(arity[name])), name
        assert kind.initial_arg is None or kind.initial_arg in kind.init_args, name
