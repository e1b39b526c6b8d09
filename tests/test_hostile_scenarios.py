"""Bad scenario files: each is one clean error naming the file, the scenario and the key, from
the library and from ``reformsim run`` alike (exit code 1, no traceback, nothing written);
none hangs or exhausts memory, and a refused data file is never read."""

from __future__ import annotations

import shutil

import pytest

import reformsim
from conftest import model_path
from reformsim.cli import main
from reformsim.scenarios.ensemble import expand
from reformsim.scenarios.spec import ScenarioError

HEAD = "model: blowup.mdl\n"
UNCERTAIN = "uncertainty: {{samples: {samples}, seed: {seed}, parameters: {{K: {dist}}}}}\n"


def uncertain(samples="4", seed="1", dist="{uniform: [2, 3]}") -> str:
    return HEAD + UNCERTAIN.format(samples=samples, seed=seed, dist=dist)


def bomb(levels: int = 8) -> str:
    """A "billion laughs": 9^levels strings from a few lines, used as a label."""
    lines = ['  p0: {label: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]}']
    lines += [f"  p{i}: {{label: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]}"
              for i in range(1, levels + 1)]
    return ("packages:\n" + "\n".join(lines) + "\n" + HEAD
            + f"scenarios: {{a: {{label: *l{levels}}}}}\n")


# case -> (file name, content, the error after "<file>: ")
CASES = {
    "not utf-8": ("s.yaml", HEAD.encode() + b"scenarios: {caf\xe9: {}}\n",
                  "'line 2': is not UTF-8 text (byte 0xE9 cannot be read)"),
    "cin not utf-8": ("s.cin", b"K = 2\nname\xff = 1\n", "'line 2': is not UTF-8 text"),
    "nested 100,000 deep": ("s.yaml", HEAD + "scenarios: " + "[" * 100_000 + "]" * 100_000,
                            "'line 2': not valid YAML: nested more than 64 levels deep"),
    "alias bomb as a label": ("s.yaml", bomb(), "'line 1': not valid YAML: its aliases (*name) "
                              "expand to more than 200,000 values"),
    "alias as a label": ("s.yaml", 'x: &a [1, 2]\n', "'x': unknown key"),
    "list as a label": ("s.yaml", HEAD + "scenarios: {a: {label: [1, 2, 3, 4, 5, 6, 7, 8]}}",
                        "scenario 'a': 'label': expected text, got [1, 2, 3, 4, 5, 6, ...]"),
    "key given twice": ("s.yaml", HEAD + "scenarios: {a: {}, a: {}}",
                        "'line 2': not valid YAML: the key 'a' is given twice"),
    "a list as a key": ("s.yaml", HEAD + "scenarios: {[1, 2]: {}}",
                        "'line 2': not valid YAML: a key must be a name, got [1, 2]"),
    "python tag": ("s.yaml", HEAD + "scenarios: !!python/object/apply:os.system [echo hi]",
                   "'line 2': not valid YAML: could not determine a constructor"),
    "top is a list": ("s.yaml", "- 1\n- 2\n", "expected a mapping with 'scenarios'"),
    "seed -1": ("s.yaml", uncertain(seed="-1"), "'uncertainty': 'seed' must be a whole number "
                "from 0 to 9223372036854775807, got -1"),
    "seed 2^63": ("s.yaml", uncertain(seed=str(2**63)), "'uncertainty': 'seed' must be a whole "
                  "number from 0 to 9223372036854775807, got 9223372036854775808"),
    "seed 1e23": ("s.yaml", uncertain(seed="1e23"), "'uncertainty': 'seed' must be a whole "
                  "number from 0 to 9223372036854775807, got '1e23'"),
    "samples 0": ("s.yaml", uncertain(samples="0"), "'uncertainty': 'samples' must be a whole "
                  "number >= 1, got 0"),
    "lognormal mu=800": ("s.yaml", uncertain(dist="{lognormal: [800, 1]}"),
                         "'uncertainty': 'K': lognormal [800.0, 1.0]: its draws would be beyond "
                         "the largest number"),
    "uniform over all floats": ("s.yaml", uncertain(dist="{uniform: [-1e308, 1e308]}"),
                                "'uncertainty': 'K': uniform [-1e+308, 1e+308]: its draws would "
                                "be beyond"),
    "csv outside the folder": ("s.yaml", HEAD + "scenarios: {a: {schedule: {K: {csv: "
                               "../secret.csv, column: x}}}}", "scenario 'a': 'schedule': 'K': "
                               "the CSV file '../secret.csv' is outside the scenario file's "
                               "folder, so it was not read"),
    "csv absolute": ("s.yaml", HEAD + "scenarios: {a: {schedule: {K: {csv: /etc/passwd, "
                     "column: x}}}}", "scenario 'a': 'schedule': 'K': the CSV file "
                     "'/etc/passwd' is outside"),
    "csv not utf-8": ("s.yaml", HEAD + "scenarios: {a: {schedule: {K: {csv: latin.csv, "
                      "column: k}}}}", "latin.csv: 'line 2': is not UTF-8 text"),
    "csv with a nul byte": ("s.yaml", HEAD + "scenarios: {a: {schedule: {K: {csv: nul.csv, "
                            "column: k}}}}", "scenario 'a': 'schedule': 'K': nul.csv line 2: "
                            "expected numbers, got ['0', '\\x001']"),
    "cin infinite value": ("s.cin", "K = inf\n", "scenario 's': 'line 1': 'K': expected a "
                           "number, got 'inf'"),
    "cin nan in a lookup": ("s.cin", "T((0,1),(1,nan))\n", "scenario 's': 'line 1': cannot "
                            "read the lookup points"),
}


@pytest.fixture
def folder(tmp_path):
    """A scenario folder beside a secret file, with the blowup model and two odd CSV files."""
    (tmp_path / "secret.csv").write_text("x\nTOP-SECRET\n")
    inside = tmp_path / "scenarios"
    inside.mkdir()
    shutil.copy(model_path("blowup"), inside / "blowup.mdl")
    (inside / "latin.csv").write_bytes(b"t,k\n0,caf\xe9\n")
    (inside / "nul.csv").write_bytes(b"t,k\n0,\x001\n")
    return inside


def _write(folder, name, content):
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _load(path):
    scenarios = reformsim.load_scenarios(path)
    return expand(scenarios, reformsim.load_model(model_path("blowup")))


@pytest.mark.parametrize(("name", "content", "expected"), CASES.values(), ids=CASES.keys())
def test_library_raises_one_scenario_error(folder, name, content, expected):
    with pytest.raises(ScenarioError) as caught:
        _load(_write(folder, name, content))
    text = str(caught.value)
    assert text.startswith(expected if expected.startswith("latin.csv") else f"{name}: {expected}")
    assert "TOP-SECRET" not in text and len(text) < 600


@pytest.mark.parametrize(("name", "content", "expected"), CASES.values(), ids=CASES.keys())
def test_run_prints_one_error_and_writes_nothing(runner, folder, name, content, expected):
    path = _write(folder, name, content)
    out = folder / "out"
    result = runner.invoke(main, ["-q", "run", str(path), "--model",
                                  str(folder / "blowup.mdl"), "-o", str(out)])
    assert result.exit_code == 1, result.output
    first = expected if expected.startswith("latin.csv") else f"{name}: {expected}"
    assert result.stderr.startswith(f"Error: {first}")
    assert "Traceback" not in result.output and "TOP-SECRET" not in result.output
    assert not out.exists() and not list(folder.glob(".out.partial-*"))


def test_a_huge_sample_count_is_refused_before_allocating(folder):
    path = _write(folder, "s.yaml", uncertain(samples=str(10**13)))
    with pytest.raises(ScenarioError, match=r"^s.yaml: 'uncertainty': 'samples': "
                                            r"10,000,000,000,000 samples x 1 scenarios would "
                                            r"need [\d,.]+ GiB to lay out, but"):
        _load(path)


def test_outside_data_is_read_when_the_user_allows_it(folder):
    (folder.parent / "series.csv").write_text("t,k\n0,2\n4,3\n")
    path = _write(folder, "s.yaml", HEAD + "scenarios: {a: {schedule: {K: {csv: ../series.csv, "
                                           "column: k}}}}")
    scenarios = reformsim.load_scenarios(path, allow_outside_data=True)
    assert scenarios.scenarios[0].changes.schedule["K"].points == ((0.0, 2.0), (4.0, 3.0))


def test_run_allows_outside_data_with_a_flag(runner, folder):
    (folder.parent / "series.csv").write_text("t,k\n0,2\n4,3\n")
    path = _write(folder, "s.yaml", HEAD + "scenarios: {a: {schedule: {K: {csv: ../series.csv, "
                                           "column: k}}}}")
    result = runner.invoke(main, ["-q", "run", str(path), "-o", str(folder / "out"),
                                  "--allow-outside-data"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("given", ["str", "path", "list"])
def test_load_scenarios_takes_one_path_or_a_list(folder, given):
    path = _write(folder, "s.yaml", HEAD + "scenarios: {a: {}, b: {set: {K: 3}}}")
    argument = {"str": str(path), "path": path, "list": [str(path)]}[given]
    assert [s.name for s in reformsim.load_scenarios(argument).scenarios] == ["a", "b"]


def test_a_folder_is_not_a_scenario_file(folder):
    with pytest.raises(ScenarioError, match="is a folder, not a scenario file"):
        reformsim.load_scenarios(folder)
