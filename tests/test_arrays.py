"""Subscripted models: arrays in the engine, their names, settings and results.

The conformance suite (tests/test_conformance*.py) checks Vensim's own
outputs and PySD's runtime on the test-models; these tests use small models
of their own, so they run without ../shared.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

import reformsim
from reformsim.model.ir import fold_name

HEADER = "{UTF-8}\n"
CONTROLS = """
FINAL TIME = 4 ~ Month ~ |
INITIAL TIME = 0 ~ Month ~ |
SAVEPER = 1 ~ Month ~ |
TIME STEP = 0.25 ~ Month ~ |
"""

# A population over regions and age groups: an aging chain along a subrange mapped onto the
# next cohort, :EXCEPT:, a transposed reference, SUM over a range, subscripts as values,
# DELAY3 and SMOOTH per cell.
AGING = HEADER + """
Region: north, south, east ~~|
Age: young, adult, old ~~|
Older: adult, old ~~|
Younger: young, adult -> Older ~~|
Population[Region, Age] = INTEG(Births[Region, Age] + Arriving[Region, Age]
    - Leaving[Region, Age] - Deaths[Region, Age], Initial population[Region, Age]) ~ people ~ |
Initial population[Region, Age] = 100, 80, 60; 50, 40, 30; 20, 20, 20 ~ people ~ |
Births[Region, young] = SUM(Population[Region, Age!]) * Birth rate[Region] ~ people/Month ~ |
Births[Region, Older] = 0 ~ people/Month ~ |
Birth rate[Region] = 0.01, 0.02, 0.03 ~ 1/Month ~ |
Leaving[Region, Younger] = Population[Region, Younger] / Years per cohort ~ people/Month ~ |
Leaving[Region, old] = 0 ~ people/Month ~ |
Arriving[Region, Older] = DELAY3(Leaving[Region, Younger], 1) ~ people/Month ~ |
Arriving[Region, young] = 0 ~ people/Month ~ |
Years per cohort = 20 ~ Month ~ |
Deaths[Region, Age] :EXCEPT: [Region, old] = Population[Region, Age] * 0.001 ~ people/Month ~ |
Deaths[Region, old] = Population[Region, old] * Mortality[old, Region] ~ people/Month ~ |
Mortality[Age, Region] = Age * 0.01 + 0 * Region ~ 1/Month ~ |
Total[Region] = SUM(Population[Region, Age!]) ~ people ~ |
Everyone = SUM(Population[Region!, Age!]) ~ people ~ |
Smoothed total[Region] = SMOOTH(Total[Region], 2) ~ people ~ |
Ranks[Region] = VECTOR RANK(Total[Region], 1) ~ Dmnl ~ |
Order[Region] = VECTOR SORT ORDER(Total[Region], 0) ~ Dmnl ~ |
Sorted[Region] = VECTOR REORDER(Total[Region], Order[Region]) ~ people ~ |
Regions = ELMCOUNT(Region) ~ Dmnl ~ |
Largest = VMAX(Total[Region!]) ~ people ~ |
Smallest = VMIN(Total[Region!]) ~ people ~ |
Growth product = PROD(Birth rate[Region!] + 1) ~ Dmnl ~ |
""" + CONTROLS

MATRIX = HEADER + """
Row: r1, r2 ~~|
Col: c1, c2 ~~|
Matrix[Row, Col] = 4, 7; 2, 6 ~ Dmnl ~ |
Growing[Row, Col] = Matrix[Row, Col] * (1 + Time) ~ Dmnl ~ |
Inverse[Row, Col] = INVERT MATRIX(Growing[Row, Col], 2) ~ Dmnl ~ |
Transposed[Col, Row] = Growing[Row, Col] ~ Dmnl ~ |
""" + CONTROLS


@pytest.fixture
def write(tmp_path):
    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


def _pysd_run(path, names):
    import pysd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pysd.read_vensim(str(path)).run(return_columns=names)


@pytest.mark.parametrize("text", [AGING, MATRIX], ids=["aging", "matrix"])
def test_array_model_equals_pysd_runtime_in_every_cell(write, tmp_path, text):
    path = write("model.mdl", text)
    model = reformsim.load_model(path)
    names = [e.name for e in model.elements if e.kind == "aux"]
    results = reformsim.simulate(model, outputs=names)
    copy = tmp_path / "pysd"
    copy.mkdir()
    shutil.copy(path, copy / path.name)
    expected = _pysd_run(copy / path.name, names)
    columns = {fold_name(c): c for c in expected.columns}
    assert len(results.names) > len(names)  # arrays have one column per cell
    for name in results.names:
        np.testing.assert_allclose(results[name][0], expected[columns[fold_name(name)]].to_numpy(
            dtype=float), rtol=1e-12, atol=1e-12, err_msg=name)


def test_cells_are_named_as_vensim_names_them(write):
    model = reformsim.load_model(write("aging.mdl", AGING))
    results = reformsim.simulate(model, outputs=["Population", "Everyone"])
    assert results.names[:4] == ("Population[north,young]", "Population[north,adult]",
                                 "Population[north,old]", "Population[south,young]")
    assert results.names[-1] == "Everyone"
    assert results.units["Population[east,old]"] == "people"


def test_sum_over_cells_is_the_total(write):
    model = reformsim.load_model(write("aging.mdl", AGING))
    results = reformsim.simulate(model, outputs=["Population", "Everyone", "Total"])
    cells = results.values[0][:, :9]
    np.testing.assert_allclose(cells.sum(axis=1), results["Everyone"][0], rtol=1e-13)
    totals = [results[f"Total[{r}]"][0] for r in ("north", "south", "east")]
    np.testing.assert_allclose(sum(totals), results["Everyone"][0], rtol=1e-13)


def test_ensemble_member_equals_its_single_run_bit_for_bit(write):
    model = reformsim.load_model(write("aging.mdl", AGING))
    rates = np.array([[0.01, 0.02, 0.03], [0.05, 0.0, 0.01], [0.02, 0.02, 0.02]])
    ensemble = reformsim.simulate(model, params={"Birth rate": rates,
                                                 "Years per cohort": [20, 10, 5]})
    for i in range(3):
        single = reformsim.simulate(model, params={"Birth rate": rates[i],
                                                   "Years per cohort": [20, 10, 5][i]})
        assert np.array_equal(ensemble.values[i], single.values[0])


def test_one_cell_can_be_set_and_the_others_keep_their_equation(write):
    model = reformsim.load_model(write("aging.mdl", AGING))
    base = reformsim.simulate(model, outputs=["Birth rate"])
    changed = reformsim.simulate(model, params={"Birth rate[south]": [0.5, 0.6]},
                                 outputs=["Birth rate"])
    assert changed.size == 2
    np.testing.assert_array_equal(changed["Birth rate[south]"][:, 0], [0.5, 0.6])
    for region in ("north", "east"):
        np.testing.assert_array_equal(changed[f"Birth rate[{region}]"][:, 0],
                                      base[f"Birth rate[{region}]"][0, 0])


def test_a_whole_array_takes_a_number_or_its_shape(write):
    model = reformsim.load_model(write("aging.mdl", AGING))
    every = reformsim.simulate(model, params={"Birth rate": 0.04}, outputs=["Birth rate"])
    assert np.all(every.values == 0.04)
    with pytest.raises(reformsim.SimulationError, match=r"array of shape \(3,\)"):
        reformsim.simulate(model, params={"Birth rate": [0.1, 0.2]})
    with pytest.raises(reformsim.SimulationError,
                       match=r"'Birth rate\[west\]' is not a cell of 'Birth rate'"):
        reformsim.simulate(model, params={"Birth rate[west]": 0.1})


def test_initial_values_of_an_array_stock_can_be_set_as_a_whole(write):
    model = reformsim.load_model(write("aging.mdl", AGING))
    start = np.arange(9.0).reshape(3, 3) + 1
    results = reformsim.simulate(model, initial={"Population": start}, outputs=["Population"])
    np.testing.assert_array_equal(results.values[0, 0], start.reshape(-1))


def test_to_xarray_keeps_the_subscript_ranges(write):
    model = reformsim.load_model(write("aging.mdl", AGING))
    results = reformsim.simulate(model, params={"Years per cohort": [20, 10]},
                                 outputs=["Population", "Everyone"])
    dataset = results.to_xarray()
    population = dataset["Population"]
    assert population.dims == ("member", "time", "Region", "Age")
    assert list(population["Age"].values) == ["young", "adult", "old"]
    np.testing.assert_array_equal(population.sel(Region="south", Age="old").values,
                                  results["Population[south,old]"])
    assert dataset["Everyone"].dims == ("member", "time")


def test_an_array_equation_that_does_not_fit_names_the_element(write):
    text = AGING.replace("Everyone = SUM(Population[Region!, Age!])",
                         "Everyone = SUM(Population[Region!, Age])")
    with pytest.raises(reformsim.ModelError) as caught:
        reformsim.load_model(write("bad.mdl", text))
    assert str(caught.value).startswith("bad.mdl: 'Everyone': is a scalar but its equation "
                                        "gives an array over Age")
    assert "\n  hint: " in str(caught.value)


def test_cells_of_a_partly_named_range_are_nan(write):
    text = HEADER + "Dims: A, B, C ~~|\nx[A] = 1 ~~|\nx[C] = 3 ~~|\n" + CONTROLS
    model = reformsim.load_model(write("partial.mdl", text))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reformsim.ReformsimWarning)  # a NaN member is reported
        results = reformsim.simulate(model, outputs=["x"])
    assert results["x[A]"][0, 0] == 1 and np.isnan(results["x[B]"][0, 0])


def test_subscripted_delays_member_equals_single_run_bit_for_bit():
    from conformance import SUITE

    path = SUITE / "tests" / "subscripted_delays" / "test_subscripted_delays.mdl"
    if not path.is_file():
        pytest.skip("../shared/test-models is absent")
    model = reformsim.load_model(path)
    delays = np.array([[10, 3, 2, 4], [5, 5, 5, 5], [2, 8, 3, 6]], dtype=float)
    ensemble = reformsim.simulate(model, params={"delay": delays})
    for i, row in enumerate(delays):
        single = reformsim.simulate(model, params={"delay": row})
        assert np.array_equal(ensemble.values[i], single.values[0], equal_nan=True)


SCENARIOS = """model: aging.mdl
scenarios:
  base: {label: Base}
  south boom:
    label: Births up in the south
    set: {"Birth rate[south]": 0.05}
  all slow:
    label: Slow births everywhere
    set: {Birth rate: 0.005}
baseline: base
outputs: [Everyone, Total]
"""


def test_scenario_files_set_an_array_whole_or_one_cell(write, tmp_path):
    from click.testing import CliRunner

    from reformsim.cli import main
    from reformsim.report.rundir import read_run

    write("aging.mdl", AGING)
    scenarios = write("aging.yaml", SCENARIOS)
    result = CliRunner().invoke(main, ["run", str(scenarios), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Total[south] [people]" in result.output  # an array stands for each of its cells
    dataset, _ = read_run(tmp_path / "out")
    end = dataset.isel(time=-1, sample=0)
    north, south = end["Total[north]"], end["Total[south]"]
    assert float(south.sel(scenario="south boom")) > float(south.sel(scenario="base"))
    assert float(north.sel(scenario="south boom")) == float(north.sel(scenario="base"))
    assert float(north.sel(scenario="all slow")) < float(north.sel(scenario="base"))


def test_cli_simulate_sets_a_whole_array_per_member_or_one_cell(write):
    from click.testing import CliRunner

    from reformsim.cli import main

    path = write("aging.mdl", AGING)
    whole = CliRunner().invoke(main, ["simulate", str(path), "-p", "Birth rate=0.01,0.05",
                                      "--var", "Everyone", "--at", "4"])
    assert whole.exit_code == 0, whole.output
    assert "Birth rate=0.01" in whole.output and "Birth rate=0.05" in whole.output
    cell = CliRunner().invoke(main, ["simulate", str(path), "-p", "Birth rate[south]=0.05",
                                     "--var", "Total", "--at", "4"])
    assert cell.exit_code == 0, cell.output
    assert "Total[south]" in cell.output
    typo = CliRunner().invoke(main, ["simulate", str(path), "-p", "Birth rate[west]=0.05"])
    assert typo.exit_code == 1
    assert "'Birth rate[west]' is not a cell of 'Birth rate'" in typo.output
    assert "Traceback" not in typo.output
