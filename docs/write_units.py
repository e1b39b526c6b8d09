"""Write docs/units-suite.md: reformsim's units check beside Simlin's on every model of the suite.

    python docs/write_units.py            # from the project root, with ../shared and pysimlin

Each row is a variable that one checker reports and the other does not, with the rule of
docs/units.md that explains the difference (a difference no rule explains fails the run).
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conformance import SUITE, cases  # noqa: E402

# (who reports it, a pattern of its message) -> why the other checker does not
REASONS = [
    ("ours", r"takes (SIN|COS|TAN|EXP|LN|LOG) of",
     "EXP, LN, LOG and trigonometric functions need a dimensionless argument here (rule 5); "
     "Simlin carries the argument's units through"),
    ("ours", r"raises .* to a power that is not a number",
     "a variable power of a quantity with units has no units (rule 5); Simlin does not check it"),
    ("ours", r"delay or smoothing time is in|average time is in|time argument is in",
     "delay, smoothing and averaging times must be in the time unit (rule 4); Simlin does "
     "not check the arguments of its delay and smooth functions"),
    ("ours", r"its units say '.*' where the model elsewhere says",
     "one unit spelled in the singular and the plural is reported once (rule 3); Simlin reads "
     "the two spellings as one unit without a word"),
    ("ours", r"its (net )?flow .* a stock in",
     "a flow that does not fit its stock is reported on the stock (rule 6); Simlin reports "
     "it on the flow"),
    ("simlin", r"attached stock",
     "reformsim reports this on the stock (rule 6)"),
    ("ours", r"gives Dmnl but its units are",
     "a number times a dimensionless function (PULSE, STEP of a number) stays "
     "dimensionless (rule 2); Simlin leaves such a product's units open"),
    ("ours", r"(adds|subtracts) Month and Dmnl",
     "RAMP(1, ...) is a number per time unit and SIN(...) is dimensionless: the sum mixes them "
     "(rules 2, 5); Simlin leaves the numbers' units open"),
    ("ours", r"gives 1/Month but its units are fraction/Month",
     "'fraction' is a unit name like any other (Vensim reads units literally); Simlin does "
     "not check TREND's units"),
    ("simlin", r"saveper",
     "control variables are not checked: an XMILE file gives them the time unit of its "
     "<sim_specs> (Months) whatever their own <units> say (Minute)"),
    ("simlin", r"argument units to match, but 'month' and 'unit'",
     "Simlin infers units for variables declared without any (receipts = Time: month); "
     "reformsim leaves them unknown and the lint reports them as missing (rule 1)"),
    ("ours", r"",   # the legacy Stella files (matched by name): Simlin reads no units there
     "Simlin reads no units from pre-XMILE-1.0 Stella files; the same model's newer files get "
     "the same report from both"),
]
LEGACY = re.compile(r"_legacy\.stmx$")


def _ours(case) -> dict[str, str] | None:
    from reformsim.model.ir import fold_name
    from reformsim.model.translate import read_model
    from reformsim.model.unitcheck import check_units

    try:
        return {fold_name(p.element): p.problem for p in check_units(
            read_model(case.path, case.data_files))}
    except Exception:  # noqa: BLE001 - a file reformsim cannot read (docs/conformance.md)
        return None


def _simlins(case) -> dict[str, str] | None:
    import simlin

    from reformsim.model.ir import fold_name
    try:
        errors = simlin.load(str(case.path)).project.get_errors()
    except Exception:  # noqa: BLE001 - a file Simlin cannot read
        return None
    return {fold_name(e.variable_name): (e.details or e.message.splitlines()[-1])
            for e in errors if int(e.kind) == 3 and e.variable_name}


def _reason(who: str, case_id: str, name: str, message: str) -> str:
    if who == "ours" and LEGACY.search(case_id):
        return REASONS[-1][2]
    for side, pattern, reason in REASONS[:-1]:
        if side == who and re.search(pattern, f"{name} {message}"):
            return reason
    raise SystemExit(f"no rule explains: {case_id}: {who}: {name}: {message}")


def main() -> int:
    if not SUITE.is_dir():
        print(f"no conformance suite at {SUITE}", file=sys.stderr)
        return 1
    rows, unread, same, agreeing = [], [], 0, 0
    seen = set()
    for case in cases():
        if case.path in seen:
            continue
        seen.add(case.path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours, theirs = _ours(case), _simlins(case)
        if ours is None or theirs is None:
            unread.append((case.id, "reformsim" if ours is None else "Simlin"))
            continue
        same += ours.keys() == theirs.keys()
        agreeing += len(ours.keys() & theirs.keys())
        for who, found, other in (("ours", ours, theirs), ("simlin", theirs, ours)):
            for name in sorted(set(found) - set(other)):
                rows.append(f"| `{case.id}` | {name} | {'reformsim' if who == 'ours' else 'Simlin'}"
                            f": {found[name].replace('|', '/')} | "
                            f"{_reason(who, case.id, name, found[name])} |")
    compared = len(seen) - len(unread)
    lines = [
        "# Units: reformsim's check beside Simlin's on the conformance suite",
        "",
        "Generated by `python docs/write_units.py` (pysimlin's `project.get_errors()`, units "
        "kind, against `reformsim.model.unitcheck.check_units`). The rules are in units.md.",
        "",
        f"Models compared: {compared}; the same variables reported by both: {same}; variables "
        f"both report: {agreeing}. Simlin's model-wide summaries (\"the units of a, b and c "
        "are inconsistent\") name no variable of their own and are left out.",
        "",
        "| model | variable | reported by | why the other does not |",
        "|---|---|---|---|",
        *rows,
        "",
        "Not compared (the file cannot be read by one of them; docs/conformance.md says why "
        "for reformsim): " + ", ".join(f"`{i}` ({who})" for i, who in unread) + ".",
        "",
    ]
    (ROOT / "docs" / "units-suite.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[:6]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
