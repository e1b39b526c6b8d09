"""A stop asked by a signal (Ctrl-C, a scheduler's or ``kill``'s SIGTERM) while the command line
works: raised where it lands, and raised again where other code swallowed it.

Where it lands, a stop is an exception that unwinds the run (a run directory being written is
removed): SIGINT an :class:`Interrupted` (a KeyboardInterrupt: click says "Aborted!" and exits
1), SIGTERM ``SystemExit(128 + 15)``. Two things can get in the way, both seen in real runs:

- Code between the signal and the command line swallows the exception. A compiled extension
  being imported (matplotlib's ft2font, say) turns it into ``ImportError: initialization
  failed``, which an optional import skips; in a weakref callback or ``__del__`` (importlib's
  module locks have one) Python cannot raise it at all and prints it as "Exception ignored"
  (not for a stop: it is no error). So the stop is remembered, and :func:`check` raises it
  again at the points that matter: before a run directory moves into place, and before an
  error is reported as a bug in reformsim. During the run's imports a stop only waits
  (:func:`deferred`): cut there, an extension's initialisation could also crash the
  interpreter at exit.
- Python 3.11 remembers a plain KeyboardInterrupt that passed through ``exec`` of a string
  (every ``@dataclass`` makes one) and ends the process with SIGINT even after the command
  line handled it. An :class:`Interrupted` is a subclass, which that check passes over.

After the command (the interpreter's exit: the worker shut down, threads joined), a signal ends
the process at once, quietly, with ``128 + signal``: the work is done or already unwound.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

STOPS = (signal.SIGINT, signal.SIGTERM)
_ASKED: list[int] = []      # the signals received while handled(), first first
_DEFERRING: list[bool] = []  # one entry per deferred() block the work is in


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) while the command line works."""


def _exception(number: int) -> BaseException:
    return Interrupted() if number == signal.SIGINT else SystemExit(128 + number)


def _ask(number: int, frame: Any) -> None:
    _ASKED.append(number)
    if not _DEFERRING:
        raise _exception(number)


def check() -> None:
    """Raise the stop again if one was asked (and swallowed on its way up); else nothing."""
    if _ASKED:
        raise _exception(_ASKED[0])


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within the block a stop is only remembered; it is raised when the block ends. For work
    that must not be cut in the middle: a compiled extension's initialisation. Cut by a Ctrl-C,
    one turned the stop into an ImportError; early in a run, three Ctrl-Cs in about 700 also
    ended in a crash at exit ("Fatal Python error: PyThreadState_Get"), none since the run's
    imports wait (400 tries)."""
    _DEFERRING.append(True)
    try:
        yield
    finally:
        _DEFERRING.pop()
    check()


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM stop the work as above; the previous handlers are
    restored, and the stop forgotten, when it ends. Outside the main thread (where Python
    cannot set a handler) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _ask) for number in STOPS}
    hook = sys.unraisablehook
    _ASKED.clear()

    def unraisable(what: Any) -> None:   # a stop that Python could not raise where it landed
        if not (_ASKED and isinstance(what.exc_value, (Interrupted, SystemExit))):
            hook(what)

    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        sys.unraisablehook = hook
        _ASKED.clear()


def leave_at_once_when_stopped() -> None:
    """From now on a stop ends the process at once with ``128 + signal``: for the
    interpreter's exit after the command, where there is nothing left to unwind and a
    KeyboardInterrupt would print a traceback out of ``threading``'s shutdown."""
    def leave(number: int, frame: Any) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(128 + number)

    for number in STOPS:
        signal.signal(number, leave)
