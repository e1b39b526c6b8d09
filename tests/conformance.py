"""The conformance suite: every model in ../shared/test-models against Vensim's (or Stella's) output.

Shared by ``tests/test_conformance.py`` and ``docs/write_conformance.py``.
A case is one model file next to an ``output.csv``/``output.tab``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
SUITE = SHARED / "test-models"
MODEL_SUFFIXES = {".mdl": "Vensim", ".xmile": "XMILE", ".stmx": "XMILE"}


# model -> the data files its data variables (x :=, no equation) are read from, as in PySD's tests
DATA_FILES = {"tests/data_from_other_model/test_data_from_other_model.mdl": ("data.tab",)}
# model -> its own output when it is not output.tab/.csv: the folder's README says data.tab is
# Vensim's run of model_to_generate_data.mdl (data.vdf exported as text)
CANONICAL = {"tests/data_from_other_model/model_to_generate_data.mdl": "data.tab"}


@dataclass(frozen=True)
class Case:
    path: Path
    canonical: Path

    @property
    def data_files(self) -> tuple[Path, ...]:
        return tuple(self.path.parent / f for f in DATA_FILES.get(self.id, ()))

    @property
    def id(self) -> str:
        return str(self.path.relative_to(SUITE))

    @property
    def language(self) -> str:
        return MODEL_SUFFIXES[self.path.suffix.lower()]


@dataclass(frozen=True)
class Outcome:
    status: str        # pass | fail | unsupported | error
    detail: str = ""


def cases() -> list[Case]:
    """Every model file of the suite that has a canonical output beside it."""
    if not SUITE.is_dir():
        return []
    found = []
    for folder in sorted(p for group in ("samples", "tests") for p in (SUITE / group).glob("*")
                         if p.is_dir()):
        canonical = next((folder / n for n in ("output.csv", "output.tab")
                          if (folder / n).is_file()), None)
        if canonical is None:
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in MODEL_SUFFIXES:
                own = CANONICAL.get(str(path.relative_to(SUITE)))
                found.append(Case(path, folder / own if own else canonical))
    return found


def is_subscripted(case: Case) -> bool:
    """True for a Vensim model that defines subscript ranges (read with PySD's translator)."""
    import warnings

    if case.language != "Vensim":
        return False
    from pysd.translators.vensim.vensim_file import VensimFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = VensimFile(case.path)
            reader.parse()
        except Exception:  # unreadable: counted with the unreadable ones
            return False
        return any(section.subscripts for section in reader.get_abstract_model().sections)


def load(case: Case):
    """The case's model, compiled; PySD's notes on it (':CONSTRAINT:' ignored...), which
    reformsim re-issues as warnings, are not what the suite compares."""
    import warnings

    import reformsim

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reformsim.ReformsimWarning)
        return reformsim.load_model(case.path, case.data_files)


def run(case: Case) -> Outcome:
    """Simulate one case with reformsim and compare it with the canonical output."""
    import reformsim
    from reformsim.report.verify import verify

    try:
        model = load(case)
    except reformsim.UnsupportedError as exc:
        return Outcome("unsupported", exc.problem)
    except reformsim.ReformsimError as exc:
        return Outcome("error", str(exc).splitlines()[0])
    try:
        report = verify(model, case.canonical)
    except reformsim.ReformsimError as exc:
        return Outcome("error", str(exc).splitlines()[0])
    if report.problem:
        return Outcome("error" if not report.compared else "fail", report.problem)
    if report.ignored:  # a variable of the output the model lacks is a failure, not a skip
        missing = ", ".join(repr(c) for c in report.ignored[:3])
        more = f" and {len(report.ignored) - 3} more" if len(report.ignored) > 3 else ""
        return Outcome("fail", f"the model does not define {missing}{more}, which the "
                               "output has")
    if report.mismatches:
        worst = max(report.mismatches, key=lambda m: abs(m.ours - m.expected))
        return Outcome("fail", str(worst))
    return Outcome("pass")
