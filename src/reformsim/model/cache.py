"""reformsim's cache directory (the model cache lives here too, once written)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where reformsim keeps what it can rebuild: ``$REFORMSIM_CACHE_DIR``, else the user's
    cache directory (platformdirs when installed, else ``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    chosen = os.environ.get("REFORMSIM_CACHE_DIR")
    if chosen:
        return Path(chosen)
    try:
        from platformdirs import user_cache_dir
    except ImportError:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "reformsim"
    return Path(user_cache_dir("reformsim", appauthor=False))
