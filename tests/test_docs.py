"""Every ``reformsim`` command of README.md and docs/*.md runs as written from an empty folder,
after ``reformsim examples .`` (what a newcomer does after ``pip install``), and prints what
the page shows.

A page's commands run in order, in one folder per page: in ``console`` blocks the lines
starting ``$ reformsim``, followed by what they print; in other blocks the lines starting
``reformsim`` (a trailing ``# comment`` dropped; a line ending in a backslash goes on). A
command shown printing ``Error: ...`` must fail with exit code 1 and that message; any other
must succeed, and every line shown under it (but ``...``) must be a line it prints, except on
the reform model, whose numbers are its own (tests/test_reform_model.py pins what matters).
The decision analyses run with small sizes (``SMALL``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from reformsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
REFORM = ("reform.mdl", "reform_roadmaps", "reform_factorial")
# The decision analyses (docs/analysis.md, the README) run studies of minutes on the reform
# model as written; here they run as written with small sizes appended (the last of a repeated
# option wins), which checks every name, path and flag of the example, not its numbers.
STUDIES = ("sensitivity", "optimize", "calibrate", "robustness", "factorial")
SMALL = {"sensitivity": ["--samples", "4"],
         "optimize": ["--samples", "2", "--generations", "2", "--population", "4"],
         "calibrate": ["--steps", "50"]}


def commands(page: Path) -> list[tuple[str, list[str]]]:
    """(command, lines shown under it) of a page, in order."""
    found: list[tuple[str, list[str]]] = []
    kind = None
    text = re.sub(r"\\\n\s*", " ", page.read_text(encoding="utf-8"))   # continued lines
    for line in text.splitlines():
        fence = FENCE.match(line)
        if fence:
            kind = None if kind is not None else fence.group(1) or "plain"
            continue
        if kind is None:
            continue
        if kind == "console" and line.startswith("$ "):
            if line[2:].startswith("reformsim "):
                found.append((line[2:], []))
            continue
        if kind == "console" and found and not line.startswith("$"):
            found[-1][1].append(line)
        elif kind != "console" and line.startswith("reformsim "):
            found.append((line.split("  #")[0].strip(), []))
    return found


def _pages_with_commands() -> list[Path]:
    return [page for page in PAGES if commands(page)]


@pytest.mark.parametrize("page", _pages_with_commands(), ids=lambda p: p.name)
def test_every_command_of_the_page_runs_as_written(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    steps = commands(page)
    if "reformsim examples ." not in [command for command, _ in steps]:   # else the page does it
        assert runner.invoke(main, ["examples", "."]).exit_code == 0
    for command, shown in steps:
        args = shlex.split(command)[1:]
        args += small(args)
        result = runner.invoke(main, args)
        printed = (result.stdout + result.stderr).splitlines()
        expected = [line for line in shown if line.strip() and line.strip() != "..."]
        if any(line.startswith("Error:") for line in expected):
            assert result.exit_code == 1, (command, result.output)
            assert [line for line in expected if line in printed] == expected, (command, printed)
            continue
        assert result.exit_code == 0, (command, result.output)
        assert result.exc_info is None or result.exc_info[0] is SystemExit
        if not any(name in command for name in REFORM) and args[-1] != "run":
            missing = [line for line in expected if line.rstrip() not in
                       [p.rstrip() for p in printed]]
            assert missing == [], (command, missing, printed)


def test_the_pages_show_commands():
    names = {page.name for page in _pages_with_commands()}
    assert {"README.md", "scenarios.md", "model.md"} <= names


def small(args: list[str]) -> list[str]:
    """Options that make a documented study quick (FAST needs more than 64 samples)."""
    if args[0] == "sensitivity" and "fast" in args:
        return ["--samples", "65"]
    return SMALL.get(args[0], [])


def test_analysis_examples_name_files_a_newcomer_has(tmp_path, monkeypatch):
    """Every file an analysis example reads is one 'reformsim examples' gives, or one an
    earlier command of the same page writes (its -o)."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["examples", "."]).exit_code == 0
    missing, studied = [], 0
    for page in PAGES:
        written: set[str] = set()
        for command, _ in commands(page):
            args = shlex.split(command)[1:]
            if args[0] in STUDIES:
                studied += 1
                missing += [f"{page.name}: {arg}" for arg in args[1:3]
                            if not arg.startswith("-") and "/" in arg
                            and not Path(arg).exists() and arg.rstrip("/") not in written]
            written |= {args[i + 1].rstrip("/") for i, a in enumerate(args[:-1]) if a == "-o"}
    assert studied >= 8 and missing == []


def test_the_example_data_are_what_their_script_writes(tool):
    data = ROOT / "models" / "examples" / "service_backlog_data.csv"
    assert data.read_text(encoding="utf-8") == tool("write_example_data").text()


def test_the_example_calibration_finds_the_values_the_data_were_made_with(tool):
    """The documented example (README, docs/analysis.md) recovers the known values of the
    synthetic data within its intervals."""
    import reformsim

    made = tool("write_example_data")
    fit = reformsim.calibrate(made.MODEL, made.OUT, {"Time to hire": (2, 15),
                                                     "Time to erode standard": (1, 24)},
                              initial={"Staff": (10, 18)}, intervals="wald")
    for name, value in {**made.TRUTH, **made.INITIAL}.items():
        low, high = fit.intervals[name]
        assert low < value < high, (name, value, fit.intervals[name])
