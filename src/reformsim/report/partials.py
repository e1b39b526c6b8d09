"""The hidden folders of run directories being made (``.<name>.partial-<host>-<pid>-...``):
their names, those that killed runs left (removed by the next run beside them once their
process is gone), and those this process leaves when a stop cuts it short (removed at its
exit)."""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

STALE_AFTER = 7 * 24 * 3600    # seconds after which a hidden folder of another host is stale
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?:(?P<host>.+)-)?(?P<pid>\d+)(?:-\d+-[^-]+)?$")


def prefix_of(target: Path) -> str:
    """The start of the hidden folder's name of a run directory made here: the target's name,
    this host, process and thread (mkdtemp adds a random end)."""
    return f".{target.name}.partial-{_host()}-{os.getpid()}-{threading.get_ident()}-"


def _host() -> str:
    """This host's name as hidden folders spell it (what ``_PARTIAL`` reads back)."""
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


class Making:
    """The hidden folders this process is making: removed at its exit if still there.

    A stop (Ctrl-C, SIGTERM) unwinds a run and its Staging removes the folder. But one that
    lands between ``mkdtemp`` making the folder and the caller holding the Staging as a
    context manager (a CI run's SIGTERM did) leaves a folder no one will remove; the
    interpreter's exit, which the stop leads to, removes it here. Each is known by its folder
    and prefix (``mkdtemp``'s random end is not known until it returns)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reserved: list[tuple[Path, str]] = []
        self._registered = False

    def reserve(self, parent: Path, prefix: str) -> None:
        with self._lock:
            if not self._registered:
                atexit.register(self.remove_left)
                self._registered = True
            self._reserved.append((parent, prefix))

    def release(self, folder: Path) -> None:
        """Forget the reservation that ``folder`` (made with its prefix) was made under."""
        with self._lock:
            for k, (parent, prefix) in enumerate(self._reserved):
                if folder.parent == parent and folder.name.startswith(prefix):
                    del self._reserved[k]
                    return

    def remove_left(self) -> None:
        with self._lock:
            left, self._reserved = self._reserved, []
        for parent, prefix in left:
            for folder in parent.glob(glob.escape(prefix) + "*"):
                shutil.rmtree(folder, ignore_errors=True)


MAKING = Making()


def remove_stale(folder: Path) -> list[Path]:
    """Remove hidden run folders in ``folder`` whose process is gone (or, made on another
    host, that are older than STALE_AFTER); returns those removed."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    here = _host()
    for entry in entries:
        match = _PARTIAL.match(entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink():
            continue
        host = match.group("host")
        if host in (None, here):
            stale = not _alive(int(match.group("pid")))
        else:
            stale = time.time() - entry.stat().st_mtime > STALE_AFTER
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
