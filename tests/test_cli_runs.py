"""``reformsim run``, ``compare`` and ``plot`` through CliRunner, plus real subprocesses.

Every scenario-file error of issue 3 (item 2) is one case of
``test_bad_scenario_file_is_one_line_error_and_writes_nothing``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from reformsim.cli import main
from reformsim.cli import options as cli_runs
from reformsim.report import figures as plots
from reformsim.report import tables as analysis
from reformsim.report.rundir import read_run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "models" / "examples"   # the tutorial of docs/scenarios.md
ROADMAP = EXAMPLES / "roadmap.mdl"
SCENARIOS = ROOT / "tests" / "scenarios"
KPI_COLUMNS = ["scenario", "label", "variable", "units", "year", "value", "delta", "delta_pct",
               "baseline"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _invoke(args: list[str]):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def roadmap_run(tmp_path_factory) -> Path:
    """models/examples/roadmap.yaml run once: status quo, ICT first, holistic."""
    out = tmp_path_factory.mktemp("roadmap") / "run"
    _invoke(["-q", "run", str(EXAMPLES / "roadmap.yaml"), "-o", str(out), "--at", "2030",
             "--at", "2040"])
    return out


@pytest.fixture(scope="module")
def uncertain_run(tmp_path_factory) -> Path:
    """models/examples/roadmap_uncertain.yaml: two scenarios x 16 samples."""
    out = tmp_path_factory.mktemp("uncertain") / "run"
    _invoke(["-q", "run", str(EXAMPLES / "roadmap_uncertain.yaml"), "-o", str(out), "--at", "2030"])
    return out


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- item 2: every bad scenario file is one error naming file, scenario and key ---------------

# (file name, text with {model} for roadmap.mdl, extra arguments, expected output lines;
#  {tmp} in the expected lines is the folder of the bad file)
BAD = {
    "unknown-variable": ("bad.yaml", """
model: {model}
scenarios:
  s: {{set: {{ICT Shre: 0.3}}}}
""", [], ["Error: bad.yaml: scenario 's': 'set': 'ICT Shre' is not in the model",
          "  hint: did you mean 'ICT Share'?"]),
    "unknown-variable-in-cin": ("policy b.cin", "ICT Shar = 0.3\n", ["--model", str(ROADMAP)],
                                [("Error: policy b.cin: scenario 'policy b': 'set': 'ICT Shar' "
                                  "is not in the model"), "  hint: did you mean 'ICT Share'?"]),
    "unknown-output": ("bad.yaml", """
model: {model}
scenarios:
  s: {{}}
outputs: [Service Qualty]
""", [], ["Error: bad.yaml: 'outputs': 'Service Qualty' is not in the model",
          "  hint: did you mean 'Service Quality'?"]),
    "unknown-uncertain-parameter": ("bad.yaml", """
model: {model}
uncertainty:
  samples: 4
  parameters:
    Adoption Tme: {{uniform: [1, 2]}}
""", [], ["Error: bad.yaml: 'uncertainty': 'Adoption Tme' is not in the model",
          "  hint: did you mean 'Adoption Time'?"]),
    "wrong-type-text-for-number": ("bad.yaml", """
model: {model}
scenarios:
  s: {{set: {{ICT Share: lots}}}}
""", [], ["Error: bad.yaml: scenario 's': 'set': 'ICT Share' must be a number, got 'lots'"]),
    "wrong-type-time-step": ("bad.yaml", """
model: {model}
time: {{step: fast}}
""", [], ["Error: bad.yaml: 'time': 'step' must be a number, got 'fast'"]),
    "negative-time-step": ("bad.yaml", """
model: {model}
time: {{step: -0.25}}
scenarios:
  s: {{}}
""", [], ["Error: bad.yaml: 'time': 'step' must be positive, got -0.25"]),
    "zero-time-step": ("bad.yaml", """
model: {model}
time: {{step: 0}}
scenarios:
  s: {{}}
""", [], ["Error: bad.yaml: 'time': 'step' must be positive, got 0"]),
    "missing-model": ("bad.yaml", """
model: missing.mdl
scenarios:
  s: {{}}
""", [], ["Error: bad.yaml: 'model': no such file: 'missing.mdl'",
          "  hint: the path is relative to the scenario file: {tmp}/missing.mdl"]),
    "no-model-named": ("bad.yaml", """
scenarios:
  s: {{}}
""", [], ["Error: bad.yaml: 'model': the file names no model",
          "  hint: add 'model: path/to/model.mdl', pass --model, or give it with a YAML file "
          "that names one"]),
    "missing-csv": ("bad.yaml", """
model: {model}
scenarios:
  s:
    schedule:
      ICT Share: {{csv: nothere.csv, column: ict}}
""", [], [("Error: bad.yaml: scenario 's': 'schedule': 'ICT Share': no such CSV file: "
           "'nothere.csv'"),
          "  hint: the path is relative to the scenario file: {tmp}/nothere.csv"]),
    "missing-csv-column": ("bad.yaml", """
model: {model}
scenarios:
  s:
    schedule:
      ICT Share: {{csv: budgets.csv, column: ITC, time: year}}
""", [], [("Error: bad.yaml: scenario 's': 'schedule': 'ICT Share': budgets.csv has no column "
           "'ITC'"), "  hint: its columns are ['year', 'ict', 'training']"]),
    "extends-nothing": ("bad.yaml", """
model: {model}
scenarios:
  status quo: {{}}
  s: {{extends: status qou}}
""", [], ["Error: bad.yaml: scenario 's': 'extends': no scenario is named 'status qou'",
          "  hint: did you mean 'status quo'?"]),
    "extends-cycle": ("bad.yaml", """
model: {model}
scenarios:
  a: {{extends: b}}
  b: {{extends: c}}
  c: {{extends: a}}
""", [], [("Error: bad.yaml: scenario 'a': 'extends': extends itself through "
           "'a' -> 'b' -> 'c' -> 'a'"),
          "  hint: break the cycle: one of them must not extend another"]),
    "extends-itself": ("bad.yaml", """
model: {model}
scenarios:
  a: {{extends: a}}
""", [], ["Error: bad.yaml: scenario 'a': 'extends': extends itself through 'a' -> 'a'",
          "  hint: break the cycle: one of them must not extend another"]),
    "set-a-flow": ("bad.yaml", """
model: {model}
scenarios:
  s: {{set: {{Hiring: 3}}}}
""", [], [("Error: bad.yaml: scenario 's': 'set': 'Hiring' is computed during the run, "
           "not a constant"), "  hint: change the constants it is computed from"]),
    "schedule-a-flow": ("bad.yaml", """
model: {model}
scenarios:
  s:
    schedule:
      Adoption Rate: [{{at: 2030, value: 1}}]
""", [], [("Error: bad.yaml: scenario 's': 'schedule': 'Adoption Rate' is computed during the "
           "run, not a constant"), "  hint: change the constants it is computed from"]),
    "set-a-stock": ("bad.yaml", """
model: {model}
scenarios:
  s: {{set: {{Staff Capacity: 120}}}}
""", [], ["Error: bad.yaml: scenario 's': 'set': 'Staff Capacity' is a stock, not a constant",
          "  hint: set its initial value under 'initial'"]),
    "initial-of-a-constant": ("bad.yaml", """
model: {model}
scenarios:
  s: {{initial: {{ICT Share: 0.3}}}}
""", [], ["Error: bad.yaml: scenario 's': 'initial': 'ICT Share' is a constant, not a stock",
          "  hint: set it under 'set' or 'schedule'"]),
    "package-sets-a-flow": ("bad.yaml", """
model: {model}
packages:
  p: {{set: {{Attrition: 1}}}}
factorial: [p]
""", [], [("Error: bad.yaml: package 'p': 'set': 'Attrition' is computed during the run, "
           "not a constant"), "  hint: change the constants it is computed from"]),
    "unknown-key-in-scenario": ("bad.yaml", """
model: {model}
scenarios:
  s: {{sett: {{ICT Share: 0.3}}}}
""", [], ["Error: bad.yaml: scenario 's': 'sett': unknown key",
          "  hint: did you mean 'set'?"]),
    "unknown-key-at-top": ("bad.yaml", """
model: {model}
scenario:
  s: {{}}
""", [], ["Error: bad.yaml: 'scenario': unknown key", "  hint: did you mean 'scenarios'?"]),
    "unknown-package": ("bad.yaml", """
model: {model}
scenarios:
  s: {{packages: [itc]}}
packages:
  ict: {{set: {{ICT Share: 0.3}}}}
""", [], ["Error: bad.yaml: scenario 's': 'packages': no package is named 'itc'",
          "  hint: did you mean 'ict'?"]),
    "unknown-sampling-method": ("bad.yaml", """
model: {model}
uncertainty:
  samples: 4
  method: sobel
  parameters:
    Adoption Time: {{uniform: [1, 3]}}
""", [], ["Error: bad.yaml: 'uncertainty': unknown method 'sobel'",
          "  hint: did you mean 'sobol'?"]),
    "key-given-twice": ("bad.yaml", """
model: {model}
scenarios:
  s: {{}}
  s: {{}}
""", [], ["Error: bad.yaml: 'line 4': not valid YAML: the key 's' is given twice"]),
}


def _write_bad(folder: Path, case: str) -> tuple[Path, list[str], list[str]]:
    name, text, extra, expected = BAD[case]
    shutil.copy(EXAMPLES / "budgets.csv", folder / "budgets.csv")
    path = folder / name
    path.write_text(text.lstrip("\n").format(model=ROADMAP), encoding="utf-8")
    return path, extra, [line.format(tmp=folder) for line in expected]


def _assert_one_error(result, expected: list[str]) -> None:
    assert result.exit_code == 1, result.output
    assert result.exc_info is not None and result.exc_info[0] is SystemExit  # not a crash
    assert "Traceback" not in result.output
    assert result.output.splitlines() == expected


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_scenario_file_is_one_error_and_writes_nothing(runner, tmp_path, monkeypatch, case):
    path, extra, expected = _write_bad(tmp_path, case)
    out = tmp_path / "out"
    result = runner.invoke(main, ["-q", "run", str(path), "-o", str(out), *extra])
    _assert_one_error(result, expected)
    assert not out.exists()
    assert list(tmp_path.glob(".out.partial-*")) == []

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["-q", "run", str(path), *extra])
    _assert_one_error(result, expected)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("case", ["unknown-variable", "extends-cycle", "missing-csv-column"],
                         ids=["unknown-variable", "extends-cycle", "missing-csv-column"])
def test_compare_refuses_a_bad_scenario_file_the_same_way(runner, tmp_path, monkeypatch, case):
    path, _, expected = _write_bad(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["compare", str(path)])
    _assert_one_error(result, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"budgets.csv", path.name})


def test_error_without_quiet_still_names_the_problem_last(runner, tmp_path):
    """Without -q the "running ..." note comes first, on stderr; the error follows it."""
    path, _, expected = _write_bad(tmp_path, "set-a-stock")
    result = runner.invoke(main, ["run", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == ["running bad.yaml on roadmap.mdl",
                                          "bad.yaml: reading roadmap.mdl", *expected]


# --- run -----------------------------------------------------------------------------------


ROADMAP_SLIDES = ["figures/01-ict-share.png", "figures/02-training-share.png",
                  "figures/03-engagement-share.png", "figures/04-service-quality.png",
                  "figures/05-trust-in-government.png", "figures/overview.png"]


def test_run_writes_a_run_directory(roadmap_run):
    assert sorted(_digests(roadmap_run)) == ROADMAP_SLIDES + ["kpis.csv", "manifest.json",
                                                              "report.html", "results.nc",
                                                              "scenarios/roadmap.yaml"]
    with (roadmap_run / "kpis.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == KPI_COLUMNS
    assert {(r["scenario"], r["label"]) for r in rows} == {
        ("status quo", "Status quo"), ("ict first", "ICT first"), ("holistic", "Holistic roadmap")}
    assert {float(r["year"]) for r in rows} == {2030.0, 2040.0}
    assert {r["baseline"] for r in rows} == {"status quo"}
    manifest = json.loads((roadmap_run / "manifest.json").read_text())
    assert (roadmap_run / manifest["model"]["path"]).resolve() == ROADMAP  # relative to the run
    assert manifest["model"]["sha256"] == hashlib.sha256(ROADMAP.read_bytes()).hexdigest()
    assert [Path(f["path"]).name for f in manifest["scenario_files"]] == ["roadmap.yaml"]
    assert (manifest["method"], manifest["time_step"], manifest["members"]) == ("euler", 0.25, 3)


def test_run_of_an_uncertain_file_writes_its_slides(uncertain_run):
    assert sorted(p.name for p in (uncertain_run / "figures").iterdir()) == [
        "01-trust-adjustment-time.png", "02-adoption-time.png", "03-engagement-elasticity.png",
        "04-trust-in-government.png", "overview.png"]
    with (uncertain_run / "kpis.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header == KPI_COLUMNS[:6] + ["p5", "p95"] + KPI_COLUMNS[6:]
    dataset, manifest = read_run(uncertain_run)
    assert dict(dataset.sizes) == {"scenario": 2, "sample": 16, "time": 21}
    assert (manifest["seed"], manifest["members"]) == (7, 32)


def test_run_prints_the_table_with_scenario_labels(runner, tmp_path):
    result = runner.invoke(main, ["-q", "run", str(EXAMPLES / "roadmap.yaml"), "-o",
                                  str(tmp_path / "run"), "--at", "2040"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Δ: difference from Status quo; Δ%: relative to it."
    for label in ("Status quo", "ICT first", "Holistic roadmap"):
        assert any(line.startswith(label + " ") for line in lines), label
    assert "Service Quality [dmnl]" in lines


def test_run_never_overwrites(runner, roadmap_run):
    before = _digests(roadmap_run)
    result = runner.invoke(main, ["-q", "run", str(EXAMPLES / "roadmap.yaml"), "-o",
                                  str(roadmap_run)])
    assert result.exit_code == 1
    assert result.output == (f"Error: {roadmap_run}: already exists; reformsim never overwrites "
                             "a run\n  hint: choose another output directory with -o\n")
    assert _digests(roadmap_run) == before
    assert list(roadmap_run.parent.glob(".run.partial-*")) == []


@pytest.mark.parametrize("quiet", [False, True], ids=["notes", "quiet"])
def test_quiet_suppresses_the_notes(runner, tmp_path, quiet):
    out = tmp_path / "run"
    result = runner.invoke(main, ["-q"] * quiet + ["run", str(EXAMPLES / "roadmap.yaml"),
                                                   "-o", str(out), "--at", "2040"])
    assert result.exit_code == 0, result.output
    notes = [] if quiet else [
        "running roadmap.yaml on roadmap.mdl",
        "roadmap.yaml: reading roadmap.mdl",
        "roadmap.yaml: simulating 3 scenarios x 1 sample (3 members)",
        "roadmap.yaml: writing the run directory (5 slides)",
        f"run directory: {out}"]
    compiling = "roadmap.yaml: compiling roadmap.mdl to machine code"   # on a cold cache only
    assert [n for n in result.stderr.splitlines() if not n.startswith(compiling)] == notes
    assert "run directory" not in result.stdout


def test_run_without_arguments_runs_each_shipped_file(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["-q", "run"])
    assert result.exit_code == 0, result.output
    runs = sorted((tmp_path / "runs").iterdir())
    assert [r.name.split("-")[0] for r in runs] == ["reform_factorial", "reform_roadmaps"]
    # the roadmaps' table comes first, the factorial's after, each at most a screen
    roadmaps, factorial = result.stdout.split("\nreform_factorial\n")
    assert roadmaps.startswith("reform_roadmaps\n")
    assert len(roadmaps.splitlines()) <= 52 and len(factorial.splitlines()) <= 52
    for run_dir in runs:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert Path(manifest["model"]["path"]).name == "reform.mdl"
        assert [Path(f["path"]).name for f in manifest["scenario_files"]] == \
            [run_dir.name.split("-")[0] + ".yaml"]
    assert (runs[1] / "figures" / "overview.png").is_file()
    assert (runs[0] / "figures" / "01-composite-outcome.png").is_file()    # a ranking
    assert "Holistic roadmap" in result.stdout
    assert "(base) (base)" not in result.stdout
    _assert_slides(runs)


def _assert_slides(runs: list[Path]) -> None:
    """Every figure of the shipped runs is a 16:9 slide (1920 x 1080), titled by a variable's
    name, with text readable at 1280 px wide (12 pt and up), naming no internal document, its
    legend (if any) beside the plot; and those slides are what the run directory holds."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    from reformsim.report.effects import slide as effects_slide
    from reformsim.report.figures import Deck, plot_fans
    from reformsim.report.rundir import run_inputs
    from reformsim.report.style import MAX_LINES
    from reformsim.scenarios.loading import load_scenarios

    for run_dir in runs:
        for png in (run_dir / "figures").iterdir():
            with Image.open(png) as image:
                assert image.size == (1920, 1080), png
        dataset, manifest = read_run(run_dir)
        variables = [v for v in dataset.data_vars if "time" in dataset[v].dims]
        many = dataset.sizes["scenario"] > MAX_LINES
        deck = Deck(dataset, "ranking" if many else "fan")
        slides = [(v, lambda v=v: deck.slide(v)) for v in variables]   # one figure, redrawn
        if not many:
            slides.append(("Outcomes by scenario", lambda: plot_fans(dataset, variables[:6])))
        factorial = load_scenarios(run_inputs(run_dir, manifest)[1]).factorial
        if factorial is not None:    # the package effects beside each ranking
            slides += [(v, lambda v=v: effects_slide(dataset, factorial, v)) for v in variables]
            assert len(list((run_dir / "figures").glob("*-effects.png"))) == len(variables)
        for variable, draw in slides:
            fig = draw()
            texts = list(fig.texts) + [t for lg in fig.legends for t in lg.get_texts()]
            for ax in fig.axes:
                texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
                          *ax.get_xticklabels(), *ax.get_yticklabels()]
            words = " ".join(t.get_text() for t in texts)
            title = next(t.get_text() for t in fig.texts if t.get_gid() == "title")
            assert title.startswith(variable), (run_dir.name, title)
            assert ".md" not in words and "Dmnl" not in words, (run_dir.name, variable)
            assert min(t.get_fontsize() for t in texts if t.get_text()) >= 12
            renderer = FigureCanvasAgg(fig).get_renderer()
            for legend in fig.legends:
                left = legend.get_window_extent(renderer).x0
                assert all(ax.get_window_extent(renderer).x1 < left for ax in fig.axes)
                assert len(legend.get_texts()) <= MAX_LINES + 3


def test_python_m_reformsim_run_in_a_real_process(tmp_path):
    """The README's main job: the shipped scenarios, from any folder, in a fresh interpreter."""
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "reformsim", "-q", "run", "-o", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Composite outcome [Dmnl]" in done.stdout and "reform_roadmaps\n" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == ["reform_factorial", "reform_roadmaps"]
    assert sorted(p.name for p in (out / "reform_roadmaps").iterdir()) == [
        "figures", "kpis.csv", "manifest.json", "report.html", "results.nc", "scenarios"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_quiet_after_the_command_name(runner, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(main, ["run", "-q", str(EXAMPLES / "roadmap.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_factorial_runs_eight_labelled_combinations_in_one_pass(tmp_path):
    out = tmp_path / "run"
    _invoke(["-q", "run", str(EXAMPLES / "roadmap_factorial.yaml"), "-o", str(out), "--at", "2045"])
    dataset, manifest = read_run(out)
    assert list(dataset.scenario.values) == [
        "status quo", "ict", "capacity", "engagement", "ict+capacity", "ict+engagement",
        "capacity+engagement", "ict+capacity+engagement"]
    assert list(dataset.label.values) == [
        "Status quo", "ICT", "Capacity", "Engagement", "ICT + Capacity", "ICT + Engagement",
        "Capacity + Engagement", "ICT + Capacity + Engagement"]
    assert manifest["members"] == 8 and dataset.sizes["sample"] == 1
    # the one pass equals the hand-written "all three" scenario
    by_hand = tmp_path / "by_hand"
    _invoke(["-q", "run", str(SCENARIOS / "by_hand.yaml"), "-o", str(by_hand)])
    alone, _ = read_run(by_hand)
    np.testing.assert_allclose(
        dataset["Trust in Government"].sel(scenario="ict+capacity+engagement").values,
        alone["Trust in Government"].sel(scenario="all three").values, rtol=1e-12)


def _main_effect(dataset, variable: str, package: str, time: float) -> float:
    """Mean over the combinations with ``package`` minus the mean over those without."""
    at = dataset[variable].sel(time=time).isel(sample=0)
    names = [str(s) for s in dataset.scenario.values]
    inside = [n for n in names if package in n.split("+")]
    return float(at.sel(scenario=inside).mean() - at.sel(
        scenario=[n for n in names if n not in inside]).mean())


def test_a_factorial_run_shows_its_package_effects(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["run", str(EXAMPLES / "roadmap_factorial.yaml"), "-o", str(out)])
    dataset, _ = read_run(out)
    lines = result.stdout.splitlines()
    start = lines.index("Package effects on Service Quality in 2045 (8 combinations):")
    effects = "\n".join(lines[start:])
    main = {p: _main_effect(dataset, "Service Quality", p, 2045.0)
            for p in ("ict", "capacity", "engagement")}
    assert f"main effects: ICT +{main['ict']:.3f}, Capacity +{main['capacity']:.3f}" in effects
    everything = float(dataset["Service Quality"].sel(scenario="ict+capacity+engagement",
                                                      time=2045.0)[0])
    base = float(dataset["Service Quality"].sel(scenario="status quo", time=2045.0)[0])
    assert f"all 3 together: +{everything - base:.3f} over the base" in effects
    slides = sorted(p.name for p in (out / "figures").glob("*-effects.png"))
    assert slides == ["01-service-quality-effects.png", "02-trust-in-government-effects.png",
                      "03-reform-spending-effects.png"]
    import PIL.Image

    with PIL.Image.open(out / "figures" / slides[0]) as image:
        assert image.size == (1920, 1080)


def test_a_factorial_run_in_json_carries_its_effects(tmp_path):
    result = _invoke(["-q", "run", str(EXAMPLES / "roadmap_factorial.yaml"), "--format", "json",
                      "--sort", "Trust in Government", "--at", "2035", "-o",
                      str(tmp_path / "run"), "--figures", "none"])
    (run,) = json.loads(result.stdout)["runs"]
    effects = run["factorial_effects"]
    assert effects["variable"] == "Trust in Government" and effects["time"] == 2035.0
    assert {r["effect"] for r in effects["effects"]} == {
        "ict", "capacity", "engagement", "ict x capacity", "ict x engagement",
        "capacity x engagement"}
    (whole,) = effects["whole"]
    assert whole["synergy"] == pytest.approx(whole["all"] - whole["parts"])


def test_a_run_without_a_factorial_has_no_effects(roadmap_run):
    assert not list((roadmap_run / "figures").glob("*-effects.*"))


# --- compare -------------------------------------------------------------------------------


def _hand_delta(run_dir: Path, scenario: str, baseline: str, time: float) -> tuple[float, float]:
    dataset, _ = read_run(run_dir)
    quality = dataset["Service Quality"].isel(sample=0).sel(time=time)
    value, base = float(quality.sel(scenario=scenario)), float(quality.sel(scenario=baseline))
    return value - base, 100 * (value - base) / abs(base)


def _compare(runner, run_dir: Path, fmt: str, *extra: str):
    result = runner.invoke(main, ["compare", str(run_dir), "--at", "2030", "--at", "2040",
                                  "--baseline", "ict first", "--var", "Service Quality",
                                  "--format", fmt, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_compare_csv_deltas_against_the_named_baseline(runner, roadmap_run):
    rows = list(csv.DictReader(io.StringIO(_compare(runner, roadmap_run, "csv"))))
    assert [(r["scenario"], float(r["year"])) for r in rows] == [
        ("status quo", 2030), ("status quo", 2040), ("ict first", 2030), ("ict first", 2040),
        ("holistic", 2030), ("holistic", 2040)]
    assert {r["baseline"] for r in rows} == {"ict first"}
    holistic = rows[5]
    delta, pct = _hand_delta(roadmap_run, "holistic", "ict first", 2040)
    assert float(holistic["delta"]) == pytest.approx(delta, abs=1e-5)    # 6 digits in files
    assert float(holistic["delta_pct"]) == pytest.approx(pct, rel=1e-5)
    assert float(rows[2]["delta"]) == 0.0


def test_compare_json_is_one_document(runner, roadmap_run):
    document = json.loads(_compare(runner, roadmap_run, "json"))
    assert list(document) == ["time_unit", "kpis", "targets"]
    assert document["time_unit"] == "year" and document["targets"] == []
    records = document["kpis"]
    assert len(records) == 6 and list(records[0]) == KPI_COLUMNS
    delta, _ = _hand_delta(roadmap_run, "status quo", "ict first", 2030)
    assert records[0]["delta"] == pytest.approx(delta, abs=1e-5)


def test_compare_markdown_has_a_column_group_per_year(runner, roadmap_run):
    lines = _compare(runner, roadmap_run, "markdown").splitlines()
    assert lines[:2] == [
        ("| scenario | Service Quality [dmnl] 2030 | Δ | Δ% "
         "| Service Quality [dmnl] 2040 | Δ | Δ% |"),
        "|---|---:|---:|---:|---:|---:|---:|"]
    assert [line.split(" | ")[0] for line in lines[2:] if line] == [
        "| Status quo", "| ICT first", "| Holistic roadmap"]


def test_compare_table_names_the_baseline(runner, roadmap_run):
    lines = _compare(runner, roadmap_run, "table").splitlines()
    assert lines[0] == "Δ: difference from ICT first; Δ%: relative to it."
    holistic = next(line for line in lines if line.startswith("Holistic roadmap"))
    delta, pct = _hand_delta(roadmap_run, "holistic", "ict first", 2040)
    assert holistic.split()[-3:] == ["1.92", f"{delta:+.2f}", f"{pct:+.1f}%"]


def test_compare_unknown_baseline(runner, roadmap_run):
    result = runner.invoke(main, ["compare", str(roadmap_run), "--baseline", "ict frist"])
    assert result.exit_code == 1
    assert result.output == ("Error: baseline 'ict frist' is not a scenario of this run; "
                             "did you mean 'ict first'?\n")


def test_compare_unknown_variable(runner, roadmap_run):
    result = runner.invoke(main, ["compare", str(roadmap_run), "--var", "Service Qualty"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == ("Error: 'Service Qualty' is not in this run; "
                                             "did you mean 'Service Quality'?")


def test_compare_time_to_target(runner, roadmap_run, tmp_path):
    text = _compare(runner, roadmap_run, "csv", "--target", "Service Quality>=1.2",
                    "-o", str(tmp_path / "tables"))
    assert text.splitlines() == [str(tmp_path / "tables" / "kpis.csv"),
                                 str(tmp_path / "tables" / "target-1.csv")]
    target = (tmp_path / "tables" / "target-1.csv").read_text()
    rows = {r["scenario"]: r for r in csv.DictReader(io.StringIO(target))}
    assert rows["status quo"]["time"] == ""          # never reached
    dataset, _ = read_run(roadmap_run)
    quality = dataset["Service Quality"].isel(sample=0).sel(scenario="holistic").values
    times = dataset.time.values
    i = int(np.argmax(quality >= 1.2))
    expected = times[i - 1] + (1.2 - quality[i - 1]) / (quality[i] - quality[i - 1]) * 0.25
    assert float(rows["holistic"]["time"]) == pytest.approx(expected, rel=1e-12)
    assert times[i - 1] < expected <= times[i]


def test_compare_time_to_target_table(runner, roadmap_run):
    text = _compare(runner, roadmap_run, "table", "--target", "Service Quality>=1.2")
    block = text.split("time to Service Quality >= 1.2:\n")[1].splitlines()
    assert block[0].split() == ["scenario", "label", "variable", "units", "target", "direction",
                                "time"]
    assert block[1].split()[-1] == "n/a"


def test_compare_csv_with_a_target_needs_a_folder(runner, roadmap_run):
    result = runner.invoke(main, ["compare", str(roadmap_run), "--format", "csv", "--target",
                                  "Service Quality>=1.2"])
    assert result.exit_code == 2
    assert "give a folder with -o DIR" in result.output


def test_compare_json_with_targets_is_one_document(runner, roadmap_run):
    text = _compare(runner, roadmap_run, "json", "--target", "Service Quality>=1.2",
                    "--target", "Trust in Government>=0.5")
    document = json.loads(text)
    assert [t["target"] for t in document["targets"]] == ["Service Quality >= 1.2",
                                                          "Trust in Government >= 0.5"]
    assert {r["scenario"] for r in document["targets"][0]["rows"]} == {
        "status quo", "ict first", "holistic"}


def test_compare_bad_target_is_a_usage_error(runner, roadmap_run):
    result = runner.invoke(main, ["compare", str(roadmap_run), "--target", "Service Quality>1"])
    assert result.exit_code == 2
    assert "'Service Quality>1': expected NAME>=VALUE or NAME<=VALUE" in result.output


def test_compare_scenario_files_runs_in_memory_and_writes_nothing(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["compare", str(EXAMPLES / "roadmap_factorial.yaml"), "--at",
                                  "2045", "--var", "Service Quality", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["label"] for r in rows][-1] == "ICT + Capacity + Engagement"
    assert len(rows) == 8
    assert list(tmp_path.iterdir()) == []


def test_compare_accepts_a_cin_file_beside_a_yaml_file(runner):
    result = runner.invoke(main, ["compare", str(EXAMPLES / "policy.cin"),
                                  str(EXAMPLES / "roadmap.yaml"), "--at", "2040"])
    assert result.exit_code == 0, result.output
    assert "policy" in result.output


def test_compare_two_run_directories_matches_scenarios_by_name(runner, roadmap_run, tmp_path):
    """Before and after an edit: the same scenario in each run, the difference shown."""
    edited = tmp_path / "edited.yaml"
    shutil.copy(EXAMPLES / "budgets.csv", tmp_path)
    edited.write_text((EXAMPLES / "roadmap.yaml").read_text()
                      .replace("model: roadmap.mdl", f"model: {ROADMAP}")
                      .replace("value: 0.4, ramp: 2", "value: 0.6, ramp: 2"))
    after = tmp_path / "after"
    _invoke(["-q", "run", str(edited), "-o", str(after)])
    result = runner.invoke(main, ["compare", str(roadmap_run), str(after), "--at", "2040",
                                  "--var", "Service Quality", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["runs"] == {"A": str(roadmap_run), "B": str(after)}
    rows = {(r["run"], r["scenario"]): r for r in document["kpis"]}
    before, now = rows[("A", "A:ict first")], rows[("B", "B:ict first")]
    assert now["baseline"] == "A:ict first"
    assert now["delta"] == pytest.approx(now["value"] - before["value"], abs=2e-5)
    assert now["delta"] > 0                          # more ICT, better quality
    assert rows[("B", "B:status quo")]["delta"] == 0
    table = runner.invoke(main, ["compare", str(roadmap_run), str(after), "--at", "2040",
                                 "--var", "Service Quality"]).output.splitlines()
    assert table[:2] == [f"run A: {roadmap_run}", f"run B: {after}"]
    assert "Δ: difference from the same scenario in run A; Δ%: relative to it." in table
    assert [line.split("  ")[0] for line in table if line.startswith("ICT first")] == [
        "ICT first (A)", "ICT first (B)"]


def test_compare_two_run_directories_refuses_a_target(runner, roadmap_run):
    result = runner.invoke(main, ["compare", str(roadmap_run), str(roadmap_run), "--target",
                                  "Service Quality>=1"])
    assert result.exit_code == 2
    assert "--target and --baseline work on one run" in result.output


def test_compare_files_whose_scenario_names_collide(runner, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text((EXAMPLES / "roadmap_factorial.yaml").read_text()
                    .replace("model: roadmap.mdl", f"model: {ROADMAP}"))
    result = runner.invoke(main, ["compare", str(mine), str(EXAMPLES / "roadmap_factorial.yaml"),
                                  "--at", "2045", "--var", "Service Quality", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 16
    assert rows[0]["scenario"] == "mine: status quo" and rows[0]["label"] == "mine: Status quo"
    assert rows[8]["scenario"] == "roadmap_factorial: status quo"
    assert {r["baseline"] for r in rows} == {"mine: status quo"}
    assert float(rows[8]["delta"]) == 0.0           # the same file: the same numbers


# --- plot ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lines", "fan", "grid", "ranking"],
                         ids=["lines", "fan", "grid", "ranking"])
@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"], ids=["png", "svg", "pdf"])
def test_plot_writes_the_image(runner, uncertain_run, tmp_path, kind, suffix):
    target = tmp_path / f"x{suffix}"
    result = runner.invoke(main, ["plot", str(uncertain_run), "Trust in Government",
                                  "--kind", kind, "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{target}\n"
    head = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}[suffix]
    assert target.read_bytes().startswith(head)


def test_plot_unknown_variable(runner, roadmap_run, tmp_path):
    result = runner.invoke(main, ["plot", str(roadmap_run), "Service Qualty", "-o",
                                  str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert result.output == (
        "Error: 'Service Qualty' is not in this run; did you mean 'Service Quality'?\n"
        "  hint: the run holds ICT Share, Training Share, Engagement Share, Service Quality, "
        "Trust in Government\n")
    assert not (tmp_path / "x.png").exists()


def test_plot_bad_suffix_names_the_allowed_ones(runner, roadmap_run, tmp_path):
    result = runner.invoke(main, ["plot", str(roadmap_run), "Service Quality", "-o",
                                  str(tmp_path / "x.gif")])
    assert result.exit_code == 1
    assert result.output == ("Error: x.gif: cannot save a figure as '.gif'; "
                             "expected one of ['.pdf', '.png', '.svg']\n")
    assert list(tmp_path.iterdir()) == []


def test_plot_unknown_kind_is_a_usage_error(runner, roadmap_run):
    result = runner.invoke(main, ["plot", str(roadmap_run), "--kind", "pie"])
    assert result.exit_code == 2
    assert "'pie' is not one of 'lines', 'fan', 'grid', 'ranking'" in result.output


def test_plot_without_output_never_overwrites_a_figure(runner, roadmap_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(roadmap_run, run_dir)
    first = runner.invoke(main, ["plot", str(run_dir), "Service Quality"])
    second = runner.invoke(main, ["plot", str(run_dir), "Trust in Government"])
    assert first.exit_code == second.exit_code == 0
    assert first.output != second.output


# --- help and registries ---------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["compare", "--help"],
                                  ["plot", "--help"]], ids=["main", "run", "compare", "plot"])
def test_help_imports_no_heavy_library(args):
    code = ("import sys\nfrom reformsim.cli import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandas', 'matplotlib', 'pysd', 'xarray') if m in sys.modules]\n"
            "print(heavy, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stderr.strip() == "[]"
    assert done.stdout.startswith("Usage: ")


def test_registries_agree():
    from reformsim.report.runs import FIGURE_FORMATS

    assert cli_runs.FORMATS == tuple(analysis.FORMATS)
    assert set(cli_runs.KINDS) == set(plots.KINDS)
    assert cli_runs.FIGURE_FORMATS == FIGURE_FORMATS
    assert {f".{f}" for f in FIGURE_FORMATS} == set(plots.SAVE_OPTIONS)


# --- options shared by the commands -----------------------------------------------------------


def test_run_json_is_one_document_whatever_the_number_of_runs(runner, tmp_path):
    """Two files naming two models make two runs, and still one JSON document."""
    result = runner.invoke(main, ["-q", "run", str(EXAMPLES / "roadmap.yaml"),
                                  str(EXAMPLES / "service_backlog.yaml"), "-o",
                                  str(tmp_path / "out"), "--format", "json", "--figures", "none"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [r["name"] for r in document["runs"]] == ["roadmap", "service_backlog"]
    assert [r["time_unit"] for r in document["runs"]] == ["year", "month"]
    backlog = document["runs"][1]
    assert Path(backlog["directory"]) == tmp_path / "out" / "service_backlog"
    assert "month" in backlog["kpis"][0] and "year" not in backlog["kpis"][0]
    assert not (tmp_path / "out" / "service_backlog" / "figures").exists()   # nothing drawn


def test_run_csv_is_one_table_naming_each_run(runner, tmp_path):
    result = runner.invoke(main, ["-q", "run", str(EXAMPLES / "roadmap.yaml"),
                                  str(EXAMPLES / "service_backlog.yaml"), "-o",
                                  str(tmp_path / "out"), "--format", "csv", "--figures", "none"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0])[:2] == ["run", "scenario"]
    assert {r["run"] for r in rows} == {"roadmap", "service_backlog"}
    assert {r["time_unit"] for r in rows} == {"year", "month"}


def test_kpis_csv_names_time_by_the_model_s_unit(runner, tmp_path):
    out = tmp_path / "backlog"
    _invoke(["-q", "run", str(EXAMPLES / "service_backlog.yaml"), "-o", str(out),
             "--figures", "none"])
    with (out / "kpis.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert "month" in header and "year" not in header


@pytest.mark.parametrize(("formats", "suffixes"), [("svg,pdf", {".svg", ".pdf"}),
                                                   ("png", {".png"}), ("none", set())],
                         ids=["svg-pdf", "png", "none"])
def test_run_writes_the_figure_formats_asked_for(runner, tmp_path, formats, suffixes):
    out = tmp_path / "run"
    _invoke(["-q", "run", str(EXAMPLES / "roadmap.yaml"), "-o", str(out), "--figures", formats])
    figures = out / "figures"
    assert {p.suffix for p in figures.iterdir()} == suffixes if suffixes else not figures.exists()


def test_every_option_is_checked_before_any_work(runner, tmp_path, monkeypatch):
    from reformsim.report import runs

    def refuse(*args, **kwargs):
        raise AssertionError("simulated before checking the options")

    monkeypatch.setattr(runs, "simulate_scenarios", refuse)
    monkeypatch.chdir(tmp_path)
    for args in (["run", str(EXAMPLES / "roadmap.yaml"), "--figures", "gif"],
                 ["run", str(EXAMPLES / "roadmap.yaml"), "--at", "2030,,2040"],
                 ["run", str(EXAMPLES / "roadmap.yaml"), "--at", "soon"],
                 ["compare", str(EXAMPLES / "roadmap.yaml"), "--target", "Service Quality>1"],
                 ["compare", str(EXAMPLES / "roadmap.yaml"), "--format", "csv", "--target",
                  "Service Quality>=1"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
    assert list(tmp_path.iterdir()) == []


def test_at_takes_commas_like_repeats(runner, roadmap_run):
    def table(*at: str) -> str:
        args = ["compare", str(roadmap_run), "--var", "Service Quality", "--format", "csv"]
        return runner.invoke(main, args + [a for t in at for a in ("--at", t)]).output
    assert table("2030,2040") == table("2030", "2040") != table("2030")


def test_var_takes_commas_and_v_means_verbose(runner, roadmap_run):
    result = runner.invoke(main, ["compare", str(roadmap_run), "--var",
                                  "Service Quality,Trust in Government", "--format", "csv"])
    assert {r["variable"] for r in csv.DictReader(io.StringIO(result.output))} == {
        "Service Quality", "Trust in Government"}
    result = runner.invoke(main, ["compare", str(roadmap_run), "-v", "Service Quality"])
    assert result.exit_code == 2                        # -v is not --var anywhere


def test_baseline_by_label(runner, roadmap_run):
    result = runner.invoke(main, ["compare", str(roadmap_run), "--baseline", "Holistic roadmap",
                                  "--var", "Service Quality", "--format", "json"])
    assert {r["baseline"] for r in json.loads(result.output)["kpis"]} == {"holistic"}


def test_sort_orders_scenarios_keeping_the_baseline_first(runner, roadmap_run):
    def order(*extra: str) -> list[str]:
        result = runner.invoke(main, ["compare", str(roadmap_run), "--at", "2040", "--var",
                                      "Service Quality", "--format", "json", *extra])
        assert result.exit_code == 0, result.output
        return [r["scenario"] for r in json.loads(result.output)["kpis"]]
    assert order() == ["status quo", "ict first", "holistic"]
    assert order("--sort", "Service Quality") == ["status quo", "holistic", "ict first"]
    assert order("--sort", "service quality", "--ascending") == [
        "status quo", "ict first", "holistic"]
    result = runner.invoke(main, ["compare", str(roadmap_run), "--sort", "Service Qualty"])
    assert result.exit_code == 1
    assert "did you mean 'Service Quality'?" in result.output


def test_verbose_run_says_where_the_time_went(runner, tmp_path):
    result = runner.invoke(main, ["-v", "run", str(EXAMPLES / "roadmap.yaml"), "-o",
                                  str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    (timings,) = [line for line in result.stderr.splitlines() if "total" in line]
    phases = [part.split()[0] for part in timings.split(": ", 1)[1].split(", ")]
    assert phases[:4] == ["imports", "read", "scenarios", "simulate"]
    assert {"tables", "figures", "files"} <= set(phases)


def test_plot_subset_of_scenarios_and_years(runner, roadmap_run, tmp_path):
    target = tmp_path / "two.png"
    result = runner.invoke(main, ["plot", str(roadmap_run), "Service Quality", "--scenarios",
                                  "Status quo,holistic", "--from", "2030", "--to", "2035",
                                  "-o", str(target)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["plot", str(roadmap_run), "--scenarios", "nope"])
    assert result.exit_code == 1 and "'nope' is not a scenario" in result.output


def test_plot_of_many_variables_writes_one_slide_per_six(runner, tmp_path):
    out = tmp_path / "run"
    text = (EXAMPLES / "roadmap.yaml").read_text().split("outputs:")[0].replace(
        "model: roadmap.mdl", f"model: {ROADMAP}")
    shutil.copy(EXAMPLES / "budgets.csv", tmp_path)
    (tmp_path / "all.yaml").write_text(text)
    _invoke(["-q", "run", str(tmp_path / "all.yaml"), "-o", str(out), "--figures", "none"])
    dataset, _ = read_run(out)
    count = len([v for v in dataset.data_vars if "time" in dataset[v].dims])
    result = runner.invoke(main, ["plot", str(out), "-o", str(tmp_path / "s.png")])
    assert result.exit_code == 0, result.output
    pages = -(-count // 6)
    assert pages >= 2
    assert result.output.splitlines() == [str(tmp_path / "s.png")] + [
        str(tmp_path / f"s-{n}.png") for n in range(2, pages + 1)]


def test_examples_copies_the_shipped_files_and_never_overwrites(runner, tmp_path):
    result = runner.invoke(main, ["examples", str(tmp_path / "ex")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ex" / "models" / "examples" / "service_backlog.yaml").is_file()
    assert (tmp_path / "ex" / "scenarios" / "reform_roadmaps.yaml").is_file()
    again = runner.invoke(main, ["examples", str(tmp_path / "ex")])
    assert again.exit_code == 1 and "never overwrites" in again.output
