"""How much memory is free (before laying out or streaming an ensemble)."""

from __future__ import annotations

import os
import re


def free_memory() -> int | None:
    """Bytes of memory available (Linux's MemAvailable, which counts reclaimable caches; else
    the free pages), or None when the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            found = re.search(r"^MemAvailable:\s*(\d+) kB", handle.read(), re.M)
        if found:
            return int(found.group(1)) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
