"""Subscripted lookups and data read from files (GET XLS/DIRECT ...), on tiny hand-written models."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from conformance import SUITE

DIM = "dim:\n\tA, B\n\t~\t\n\t~\t\n\t|\n\n"
TABLES = ("tab[A](\n\t(0,0),(10,10))\n\t~\t\n\t~\t\n\t|\n\n"
          "tab[B](\n\t(0,5),(2,7),(4,1))\n\t~\t\n\t~\t\n\t|\n\n")
TIMES = np.arange(5.0)


def run(path, *names):
    results = reformsim.simulate(reformsim.load_model(path))
    return [results[name][0] for name in names]


# --- subscripted lookups -----------------------------------------------------------------------

def test_each_cell_uses_its_own_table(write_mdl):
    path = write_mdl("tables.mdl", {"y[dim]": "tab[dim](Time)", "x[dim]": "-1, 20",
                                    "w[dim]": "tab[dim](x[dim])", "z": "tab[B](Time / 2)"},
                     preamble=DIM + TABLES)
    y_a, y_b, w_a, w_b, z = run(path, "y[A]", "y[B]", "w[A]", "w[B]", "z")
    np.testing.assert_allclose(y_a, TIMES)
    np.testing.assert_allclose(y_b, np.interp(TIMES, [0, 2, 4], [5, 7, 1]))
    np.testing.assert_allclose(w_a, 0.0)       # held below the first point
    np.testing.assert_allclose(w_b, 1.0)       # held beyond the last point
    np.testing.assert_allclose(z, np.interp(TIMES / 2, [0, 2, 4], [5, 7, 1]))


def test_a_subscripted_lookup_spreads_over_the_arguments_ranges(write_mdl):
    # the table varies along dim, the argument along other: every pair is evaluated
    other = "other:\n\tX, Y\n\t~\t\n\t~\t\n\t|\n\n"
    path = write_mdl("spread.mdl", {"x[other]": "1, 3", "y[dim, other]": "tab[dim](x[other])",
                                    "v[other, dim]": "tab[dim](x[other])"},
                     preamble=DIM + other + TABLES)
    cells = run(path, "y[A,X]", "y[A,Y]", "y[B,X]", "y[B,Y]", "v[Y,B]")
    np.testing.assert_allclose([c[0] for c in cells], [1, 3, 6, 4, 4])


# --- external data -----------------------------------------------------------------------------

CSV = ("name,0,2,4\n"
       "a,1,3,5\n"
       "b,10,30,50\n")


@pytest.fixture
def data_csv(tmp_path):
    (tmp_path / "d.csv").write_text(CSV)
    return tmp_path / "d.csv"


def test_constants_lookups_and_data_from_a_csv(write_mdl, data_csv):
    path = write_mdl("csv.mdl", {
        "c[dim]": "GET DIRECT CONSTANTS('d.csv', ',', 'B2*')",   # B2, B3 (down the column)
        "one": "GET DIRECT CONSTANTS('d.csv', ',', 'D3')",
        "lk[dim]": "GET DIRECT LOOKUPS('d.csv', ',', '1', 'B2')",
        "l[dim]": "lk[dim](Time / 2)",
        "series[dim]:": "GET DIRECT DATA('d.csv', ',', '1', 'B2')",
    }, preamble=DIM)
    c_a, c_b, one, l_b, s_a, s_b = run(path, "c[A]", "c[B]", "one", "l[B]", "series[A]",
                                       "series[B]")
    np.testing.assert_allclose([c_a[0], c_b[0], one[0]], [1, 10, 50])
    np.testing.assert_allclose(l_b, np.interp(TIMES / 2, [0, 2, 4], [10, 30, 50]))
    np.testing.assert_allclose(s_a, [1, 2, 3, 4, 5])
    np.testing.assert_allclose(s_b, [10, 20, 30, 40, 50])


@pytest.mark.parametrize(("keyword", "expected"), [
    ("", [1, 2, 3, 4, 5]),
    (":INTERPOLATE:", [1, 2, 3, 4, 5]),
    (":HOLD BACKWARD:", [1, 1, 3, 3, 5]),
    (":LOOK FORWARD:", [1, 3, 3, 5, 5]),
    pytest.param(":RAW:", [1, np.nan, 3, np.nan, 5],   # NaN between times, as in PySD
                 marks=pytest.mark.filterwarnings("ignore::reformsim.ReformsimWarning")),
])
def test_data_keywords_read_between_the_times(write_mdl, data_csv, keyword, expected):
    path = write_mdl("modes.mdl", {f"series{keyword}:":
                                   "GET DIRECT DATA('d.csv', ',', '1', 'B2')"})
    np.testing.assert_allclose(run(path, "series")[0], expected)


def test_data_holds_its_end_values_beyond_its_times(write_mdl, data_csv):
    path = write_mdl("ends.mdl", {"series:": "GET DIRECT DATA('d.csv', ',', '1', 'C2')"},
                     final=6)   # the series has times 2 and 4 only
    np.testing.assert_allclose(run(path, "series")[0], [3, 3, 3, 4, 5, 5, 5])


def test_pieces_mix_file_values_and_numbers_from_an_xlsx(write_mdl, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "inputs"
    for row in (["", "A", "B"], ["x", 2.5, 7.5], ["y", 0, 1]):
        sheet.append(row)
    sheet["E1"], sheet["E2"] = "C", "D"
    book.save(tmp_path / "in.xlsx")
    range_ = "range:\n\tGET DIRECT SUBSCRIPT('in.xlsx', 'inputs', 'E1', 'E2', '')\n\t~\t\n\t~\t\n\t|\n\n"
    path = write_mdl("xlsx.mdl", {
        "v[dim]": "GET XLS CONSTANTS('in.xlsx', 'inputs', 'B2')",
        "w[range]": "7, 8",
        "mixed[A]": "GET XLS CONSTANTS('in.xlsx', 'inputs', 'C3') ~~|\nmixed[B]=\n\t4",
    }, preamble=DIM + range_)
    v_a, v_b, w_d, m_a, m_b = run(path, "v[A]", "v[B]", "w[D]", "mixed[A]", "mixed[B]")
    np.testing.assert_allclose([v_a[0], v_b[0], w_d[0], m_a[0], m_b[0]], [2.5, 7.5, 8, 1, 4])


@pytest.mark.parametrize(("equation", "problem"), [
    ("GET DIRECT CONSTANTS('nowhere.csv', ',', 'B2')", "'nowhere.csv': the file does not exist"),
    ("GET XLS CONSTANTS('in.xlsx', 'missing sheet', 'B2')", "'in.xlsx': "),
], ids=["missing-file", "missing-sheet"])
def test_an_unreadable_data_file_is_a_model_error(write_mdl, tmp_path, equation, problem):
    openpyxl = pytest.importorskip("openpyxl")
    openpyxl.Workbook().save(tmp_path / "in.xlsx")
    path = write_mdl("refused.mdl", {"x": equation})
    with pytest.raises(reformsim.ModelError) as caught:
        reformsim.load_model(path)
    text = str(caught.value)
    assert text.startswith(f"refused.mdl: 'x': cannot read the data file {problem}")
    assert "\n  hint: data files are looked for beside the model" in text
    assert caught.value.__suppress_context__   # no chained traceback from PySD's readers


# --- the conformance models these constructs come from ----------------------------------------

@pytest.mark.skipif(not SUITE.is_dir(), reason="../shared/test-models is absent")
@pytest.mark.parametrize("folder", ["get_lookups_subscripted_args", "get_data_args_3d_xls",
                                    "get_mixed_definitions", "partial_range_definitions"])
def test_conformance_models_with_external_data(folder):
    from conformance import cases
    from conformance import run as run_case

    case = next(c for c in cases() if c.path.parent.name == folder)
    assert run_case(case).status == "pass"


# --- data variables with no equation, read from data files given at load ----------------------

DATA_VARIABLE = DIM + "x[dim]:INTERPOLATE:\n\t~\t\n\t~\t\n\t|\n\n"


def test_data_variables_come_from_the_data_files(write_mdl, tmp_path):
    (tmp_path / "series.csv").write_text("Time,x[A],x[B]\n0,1,10\n2,3,30\n4,5,50\n")
    path = write_mdl("datavar.mdl", {"y[dim]": "x[dim] * 2"}, preamble=DATA_VARIABLE)
    model = reformsim.load_model(path, data_files=[tmp_path / "series.csv"])
    results = reformsim.simulate(model)
    np.testing.assert_allclose(results["y[A]"][0], [2, 4, 6, 8, 10])
    np.testing.assert_allclose(results["x[B]"][0], [10, 20, 30, 40, 50])


def test_a_data_variable_needs_its_data_files(write_mdl, tmp_path):
    path = write_mdl("datavar.mdl", {"y[dim]": "x[dim] * 2"}, preamble=DATA_VARIABLE)
    with pytest.raises(reformsim.UnsupportedError, match="no data file was given") as caught:
        reformsim.load_model(path)
    assert "data_files=" in str(caught.value)
    (tmp_path / "other.csv").write_text("time,z\n0,1\n4,5\n")
    with pytest.raises(reformsim.ModelError, match=r"^datavar\.mdl: 'x': cannot read the data file"):
        reformsim.load_model(path, data_files=[tmp_path / "other.csv"])


def test_data_files_on_the_command_line(write_mdl, tmp_path):
    from click.testing import CliRunner

    from reformsim.cli.app import main

    (tmp_path / "series.csv").write_text("Time,x[A],x[B]\n0,1,10\n2,3,30\n4,5,50\n")
    path = write_mdl("datavar.mdl", {"y[dim]": "x[dim] * 2"}, preamble=DATA_VARIABLE)
    refused = CliRunner().invoke(main, ["check", str(path)])
    assert refused.exit_code == 1 and "--data FILE" in refused.output
    result = CliRunner().invoke(main, ["simulate", str(path), "--data",
                                       str(tmp_path / "series.csv"), "--var", "y", "--at", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].split() == ["2", "6", "60"]


def test_replacing_a_subscripted_lookup_is_refused_not_ignored(write_mdl):
    path = write_mdl("tables.mdl", {"y[dim]": "tab[dim](Time)"}, preamble=DIM + TABLES)
    model = reformsim.load_model(path)
    with pytest.raises(reformsim.SimulationError, match="'tab' is subscripted"):
        reformsim.simulate(model, lookups={"tab": reformsim.Table([0, 1], [0, 1])})


def test_a_range_read_from_a_missing_file_names_the_range(write_mdl):
    range_ = "range:\n\tGET DIRECT SUBSCRIPT('gone.xlsx', 'S', 'A1', 'A2', '')\n\t~\t\n\t~\t\n\t|\n\n"
    path = write_mdl("ranges.mdl", {"x[range]": "1"}, preamble=range_)
    with pytest.raises(reformsim.ModelError,
                       match=r"^ranges\.mdl: 'range': cannot read the data file 'gone\.xlsx': "
                             "the file does not exist"):
        reformsim.load_model(path)
