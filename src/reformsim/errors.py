"""Errors reformsim reports to a user, and the "did you mean" helper."""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable
from pathlib import Path


class ReformsimError(Exception):
    """Base class for every error reformsim reports to a user."""


class ModelError(ReformsimError):
    """A model file is invalid, or a request names something the model lacks."""

    def __init__(self, source: Path | str, element: str, problem: str, hint: str = "") -> None:
        self.source, self.element, self.problem, self.hint = Path(source), element, problem, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.source.name}: {self.element!r}: {self.problem}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class UnsupportedError(ModelError):
    """The model uses a construct reformsim does not simulate (yet)."""


class SimulationError(ReformsimError):
    """A simulation request cannot be carried out as asked."""


class ReformsimWarning(UserWarning):
    """Something worth a user's attention that did not stop the run."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return "did you mean 'x'?" for the closest known name, or ""."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


# Terminal escape sequences (CSI, OSC, other ESC-led), C0/C1 controls but newline and tab, and
# the Unicode controls that reorder text on screen (bidi embeddings, overrides, isolates).
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?"
                      r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` without what could take over a terminal: escape sequences and control
    characters (newlines and tabs are kept). Use it wherever untrusted text (scenario labels,
    model names, file contents) is echoed."""
    return _CONTROL.sub("", str(text))


_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlevel = 60, 60, 3
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6


def shown(value: object) -> str:
    """``repr(value)``, cut short: what an error message quotes of a value the user gave
    (a list built by YAML aliases can expand to gigabytes)."""
    return _SHORT.repr(value)
