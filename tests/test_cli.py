"""The command line through CliRunner (exact output, exit codes) and one real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reformsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "examples" / "service_backlog.mdl"

SUBSCRIPTED = """{UTF-8}
Region: north, south
	~	~	|
Population[Region]= 10, 20
	~	people	~	|
Total = Population[Region]
	~	people	~	|
FINAL TIME = 1 ~ Month ~ |
INITIAL TIME = 0 ~ Month ~ |
SAVEPER = 1 ~ Month ~ |
TIME STEP = 1 ~ Month ~ |
"""


@pytest.fixture
def runner():
    return CliRunner()


def test_check_lists_stocks(runner):
    result = runner.invoke(main, ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.output == ("service_backlog.mdl: 26 variables, 3 stocks, 1 lookups, "
                             "1 other states\n"
                             "  Backlog [cases]\n  Service standard [hours/cases]\n"
                             "  Staff [official]\n0 findings\n")


def test_check_reports_findings(runner, tmp_path):
    model = tmp_path / "leaky.mdl"
    model.write_text("""{UTF-8}
Stock= INTEG(-Stock / Tau, 10)
	~	widgets	~	What is left.	|
Tau= 4
	~	Month	~		|
Spare= 3
	~		~	Nothing reads this.	|
FINAL TIME = 2 ~ Month ~ |
INITIAL TIME = 0 ~ Month ~ |
SAVEPER = 1 ~ Month ~ |
TIME STEP = 1 ~ Month ~ |
""")
    result = runner.invoke(main, ["check", str(model)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2:] == [
        "4 findings:",
        "  documentation: 'Tau': has no documentation",
        "  units: 'Spare': has no units",
        "  unused: 'Spare': is a constant nothing reads",
        "  equilibrium: 'Stock': starts at 10 and moves -2.5 per time unit",
    ]


def test_describe_lists_stocks_flows_constants_lookups(runner):
    result = runner.invoke(main, ["describe", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Stocks (3)"
    assert "Flows (5)" in lines and "Constants (12)" in lines and "Lookups (1)" in lines
    assert "  Hiring [official/Month]: Replacing leavers and closing the staffing gap." in lines


def test_check_names_an_array_equation_that_does_not_fit_its_variable(runner, tmp_path):
    model = tmp_path / "regions.mdl"
    model.write_text(SUBSCRIPTED)
    result = runner.invoke(main, ["check", str(model)])
    assert result.exit_code == 1
    assert result.output == ("Error: regions.mdl: 'Total': is a scalar but its equation gives an "
                             "array over Region\n  hint: add the subscripts to its name, or SUM "
                             "over them\n")


def test_check_refuses_wrong_file_type(runner, tmp_path):
    model = tmp_path / "model.xlsx"
    model.write_text("")
    result = runner.invoke(main, ["check", str(model)])
    assert result.exit_code == 1
    assert result.output == ("Error: model.xlsx: 'model.xlsx': unsupported file type\n"
                             "  hint: use a Vensim .mdl or an XMILE .xmile/.stmx/.xml file\n")


def test_simulate_prints_members_side_by_side(runner):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "-p", "Demand surge=0,0.2",
                                  "--var", "Service quality,Staff", "--at", "0", "--at", "60"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Demand surge=0",
        "   time  Service quality       Staff",
        "[Month]           [Dmnl]  [official]",
        "      0                1     14.2857",
        "     60                1     14.2857",
        "",
        "Demand surge=0.2",
        "   time  Service quality       Staff",
        "[Month]           [Dmnl]  [official]",
        "      0                1     14.2857",
        "     60         0.937256     16.0673"]


def test_simulate_csv(runner):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "--var", "Backlog", "--at", "0",
                                  "--csv"])
    assert result.exit_code == 0, result.output
    assert result.output == "time,Backlog\n0.0,1000.0\n"


def test_simulate_unknown_parameter_suggests(runner):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "-p", "Demand surj=0.1"])
    assert result.exit_code == 1
    assert result.output == ("Error: service_backlog.mdl: parameter 'Demand surj' is not in the "
                             "model; did you mean 'Demand surge'?\n")


def test_simulate_refuses_setting_a_flow(runner):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "-p", "Hiring=3"])
    assert result.exit_code == 1
    assert "'Hiring' is not a constant" in result.output


@pytest.mark.parametrize("value", ["Demand surge", "Demand surge=high", "=3"],
                         ids=["no-value", "not-a-number", "no-name"])
def test_simulate_bad_param_syntax_is_a_usage_error(runner, value):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "-p", value])
    assert result.exit_code == 2
    assert "expected NAME=VALUE or NAME=V1,V2,..." in result.output


def test_verify_passes_against_its_own_output(runner, tmp_path):
    import reformsim

    frame = reformsim.simulate(reformsim.load_model(EXAMPLE),
                               outputs=["Backlog", "Staff"]).to_dataframe()
    frame.index.name = "Time"
    frame.to_csv(reference := tmp_path / "output.csv")
    result = runner.invoke(main, ["verify", str(EXAMPLE), "--against", str(reference)])
    assert result.exit_code == 0, result.output
    assert result.output == ("2 variables at 61 times compared\n"
                             "all within |ours - expected| <= 1e-5 + 1e-5 |expected|\n")


def test_verify_reports_the_worst_difference(runner, tmp_path):
    reference = tmp_path / "output.tab"
    reference.write_text("Time\tBacklog\tUnknown\n0\t1000\t1\n1\t1001\t1\n")
    result = runner.invoke(main, ["verify", str(EXAMPLE), "--against", str(reference)])
    assert result.exit_code == 1
    assert result.output == ("1 variables at 2 times compared; 1 columns not in the model\n"
                             "  differs: 'Backlog' at t=1: ours 1000, expected 1001\n")


def test_help_is_instant_and_imports_no_engine():
    code = ("import sys; from reformsim.cli import main\n"
            "heavy = [m for m in ('pysd', 'numpy', 'scipy', 'pandas') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readme_quick_start_command_runs(tmp_path):
    """The README's first command, after the install: the shipped scenarios, in a real process.
    The README shows the start of what it prints: the same notes, headings and rows (the
    reform model's numbers are its own, and tests/test_reform_model.py checks them)."""
    result = subprocess.run([sys.executable, "-m", "reformsim", "-q", "run", "-o",
                             str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    readme = (ROOT / "README.md").read_text()
    assert "python -m pip install . && reformsim run\n" in readme
    shown = readme.split("reform_roadmaps\n\n", 1)[1].split("...\n", 1)[0].splitlines()
    printed = result.stdout.splitlines()
    assert printed[0] == "reform_roadmaps"
    for line, real in zip(shown, printed[2:]):
        assert line[:31] == real[:31]                 # labels, notes and headings, not values
    assert (tmp_path / "run" / "reform_roadmaps" / "figures" / "overview.png").is_file()


def test_wheel_carries_the_shipped_model_and_scenarios(tmp_path):
    """'reformsim run' needs them after a non-editable install: shipped/ must land in the wheel."""
    import shutil
    import zipfile

    source = tmp_path / "source"  # pip wheel leaves build/ behind: keep it out of the project
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "runs", "__pycache__", "*.egg-info", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(source)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("reformsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "reformsim/shipped/models/examples/service_backlog.mdl" in names
    assert "reformsim/shipped/models/examples/service_backlog.yaml" in names
    assert "reformsim/shipped/models/reform.mdl" in names
    assert "reformsim/shipped/scenarios/reform_roadmaps.yaml" in names
    assert "reformsim/shipped/scenarios/archetypes/finland.yaml" in names
    assert "reformsim/shipped/models/examples/policy.cin" in names           # the tutorial's


def test_describe_gives_constants_their_values(runner):
    result = runner.invoke(main, ["describe", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "  Surge start = 12 [Month]: When the rise in demand begins (assumption)." in \
        result.output.splitlines()


def test_describe_levers_is_a_table_of_values_units_and_ranges(runner, write_mdl):
    model = write_mdl("levers.mdl", {})
    model.write_text(model.read_text().replace("{UTF-8}\n", """{UTF-8}
Budget share= 0.25
	~	Dmnl [0,1]
	~	LEVER. Share of the budget on it.
	|
Start year= 2026
	~	Year [2025,?]
	~	LEVER. When it starts.
	|
Price= 3
	~	EUR
	~	Not a lever.
	|
Spend= Budget share * Price * (Time >= Start year)
	~	EUR
	~	What goes out.
	|
"""))
    result = runner.invoke(main, ["describe", str(model), "--levers"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        '2 levers (documented "LEVER.") of 3 constants',
        "name          value  units  range      what it is",
        "Budget share   0.25  Dmnl   [0, 1]     Share of the budget on it.",
        "Start year     2026  Year   [2025, ?]  When it starts."]


def test_describe_filter_keeps_what_holds_the_text(runner):
    result = runner.invoke(main, ["describe", str(EXAMPLE), "--filter", "STAFF"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Stocks (1 of 3)", "  Staff [official]: Officials working on the service.",
        "Flows (1 of 5)", "  Hiring [official/Month]: Replacing leavers and closing the "
                          "staffing gap."]


def test_describe_filter_finding_nothing_says_so(runner):
    result = runner.invoke(main, ["describe", str(EXAMPLE), "--filter", "zebra"])
    assert result.output == "nothing in the model holds 'zebra'\n"


def test_check_a_scenario_file_warns_of_shares_and_late_steps(runner, tmp_path):
    roadmap = ROOT / "models" / "examples" / "roadmap.mdl"
    path = tmp_path / "plans.yaml"
    path.write_text(f"""model: {roadmap}
scenarios:
  none: {{}}
  all on ict: {{set: {{ICT Share: 1}}}}
  too much:
    set: {{ICT Share: 2, Training Share: 2, Engagement Share: 1.4}}
  late:
    set: {{ICT Share: 1}}
    schedule:
      Training Share: [{{at: 2099, value: 0.5}}]
""")
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "plans.yaml on roadmap.mdl: 4 scenarios, 3 warnings:",
        "  plans.yaml: scenario 'too much': the shares of the reform budget (ICT Share, "
        "Training Share, Engagement Share) sum to 5.4, not 1: more than all of it",
        "  plans.yaml: scenario 'late': 'schedule': 'Training Share': a step at 2099 is outside "
        "the run (2025 to 2045), so it never applies",
        "  plans.yaml: scenario 'late': the shares of the reform budget (ICT Share, Training "
        "Share, Engagement Share) sum to 1.5 from 2099, not 1: more than all of it"]


def test_check_notes_shares_that_leave_part_of_a_budget_unallocated(runner, tmp_path):
    """Less than the whole may be meant (a factorial's packages): a note, which run skips."""
    roadmap = ROOT / "models" / "examples" / "roadmap.mdl"
    path = tmp_path / "plans.yaml"
    path.write_text(f"model: {roadmap}\nscenarios:\n  half: {{set: {{ICT Share: 0.5}}}}\n")
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "plans.yaml on roadmap.mdl: 1 scenarios, 0 warnings, 1 notes:",
        "  note: plans.yaml: scenario 'half': the shares of the reform budget (ICT Share, "
        "Training Share, Engagement Share) sum to 0.5, not 1: 50% of it is not allocated"]
    result = runner.invoke(main, ["run", str(path), "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "not allocated" not in result.output
