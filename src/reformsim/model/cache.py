"""The model cache: a translated model read back in milliseconds while nothing it came from changed.

Translating a model with PySD's parser takes seconds; its IR is plain frozen data.
:func:`read_model_cached` keeps the IR in ``<cache>/models/``, one file per model,
named by the hash of what the translation read: the model file's bytes and path,
the data files' bytes, reformsim's and PySD's versions, the model package's own source
and this format's. Files the translator
opened besides (spreadsheets of GET XLS/DIRECT functions) are listed in the entry
with the hash of their bytes and checked at every load. A change to any of them is
a miss: the model is translated again and the entry rewritten.

Entries are JSON, not pickle: loading a pickle runs whatever code it names, so a
cache file that anyone else could write would be code execution; JSON is decoded
into the IR's own dataclasses only (:data:`ir` classes, by name). An entry is
written whole or not at all (a temporary file, then ``os.replace``), and carries the
hash of its payload: a truncated or altered entry fails the check and is rebuilt,
never loaded. PySD is imported only on a miss.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import hashlib
import json
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import errors
from ..errors import ReformsimWarning
from . import ir

log = logging.getLogger("reformsim.model.cache")

FORMAT = 1
_CLASSES = {name: cls for name, cls in vars(ir).items()
            if isinstance(cls, type) and dataclasses.is_dataclass(cls)}


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


def read_model_cached(path: str | Path,
                      data_files: str | Path | Sequence[str | Path] = ()) -> ir.ModelIR:
    """:func:`translate.read_model`, from the cache when nothing it read has changed."""
    path = Path(path)
    files = [Path(data_files)] if isinstance(data_files, (str, Path)) else \
        [Path(f) for f in data_files]
    try:
        key = _key(path, files)
    except OSError:   # a missing file: let the translator say so, in its words
        key = None
    entry = _entry(key) if key else None
    if entry is not None:
        found = _load(entry, path)
        if found is not None:
            model, said = found
            _warn(said)
            return model
    from .translate import read_model

    caught: list = []
    try:
        with _recording() as opened, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = read_model(path, files)
    finally:   # the translation's warnings, under the caller's filters, even if it failed;
        # the libraries' own notes (a deprecated pandas engine PySD uses...) are not the model's
        for w in caught:
            if issubclass(w.category, ReformsimWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    said = [(w.category.__name__, str(w.message)) for w in caught
            if issubclass(w.category, ReformsimWarning)]
    if entry is not None:
        _store(entry, model, opened - {path.resolve(), *(f.resolve() for f in files)}, said)
    return model


def _warn(said: list) -> None:
    """The warnings the translation gave, given again when its result comes from the cache."""
    for category, message in said:
        warnings.warn(message, getattr(errors, category, ReformsimWarning), stacklevel=4)


def _key(path: Path, files: list[Path]) -> str:
    digest = hashlib.sha256(_translator_stamp().encode())
    for file in (path, *files):
        digest.update(f"{file.resolve()}\n".encode())
        digest.update(_hash(file).encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _translator_stamp() -> str:
    """What a translation depends on besides its files: reformsim's version, this format,
    PySD's version and the source of the model package (a translator edited between two
    releases is a change too)."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    try:
        pysd = version("pysd")
    except PackageNotFoundError:
        pysd = "?"
    code = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        code.update(module.read_bytes())
    return f"reformsim {__version__} cache format {FORMAT} pysd {pysd} {code.hexdigest()}\n"


def _hash(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _entry(key: str) -> Path:
    return cache_dir() / "models" / f"{key[:40]}.json"


# --- reading and writing entries ---------------------------------------------------------------

def _load(entry: Path, path: Path) -> tuple[ir.ModelIR, list] | None:
    """The entry's IR, or None when it is absent, corrupt, or a file it read has changed."""
    try:
        found = read_entry(entry, FORMAT)
        if found is None:
            return None
        header, payload = found
        for name, digest in header.get("depends", {}).items():
            if not Path(name).is_file() or _hash(Path(name)) != digest:
                log.info("%s: %s changed; translating again", path.name, name)
                return None
        model = json.loads(payload, object_hook=_decode)
        if not isinstance(model, ir.ModelIR):
            raise ValueError("the payload is not a model")
    except (ValueError, TypeError, KeyError, OSError, RecursionError) as exc:
        log.warning("%s: ignoring the corrupt cache entry %s (%s); translating again",
                    path.name, entry, exc)
        return None
    return dataclasses.replace(model, source=path), list(header.get("warnings", []))


def _store(entry: Path, model: ir.ModelIR, opened: set[Path], said: list) -> None:
    try:
        payload = json.dumps(_encode(model), separators=(",", ":")).encode()
        write_entry(entry, {"format": FORMAT, "model": str(model.source),
                            "depends": {str(f): _hash(f) for f in opened}, "warnings": said},
                    payload)
    except (OSError, TypeError, ValueError) as exc:   # a cache that cannot be written is no cache
        log.warning("cannot write the model cache entry %s: %s", entry, exc)


def read_entry(entry: Path, form: int) -> tuple[dict[str, Any], bytes] | None:
    """The header and payload of an entry written by :func:`write_entry` in format ``form``;
    None when there is none, ValueError when its header is not JSON, its format another or
    its payload does not match its hash."""
    try:
        head, _, payload = entry.read_bytes().partition(b"\n")
    except OSError:
        return None
    header = json.loads(head)
    if not isinstance(header, dict) or \
            header.get("sha256") != hashlib.sha256(payload).hexdigest():
        raise ValueError("the payload does not match its hash")
    if header.get("format") != form:
        raise ValueError(f"format {header.get('format')}, not {form}")
    return header, payload


def write_entry(entry: Path, header: dict[str, Any], payload: bytes) -> None:
    """Write a cache entry whole or not at all (a temporary file, then ``os.replace``): a line
    of JSON, ``header`` with the payload's sha256, then ``payload``. Raises OSError."""
    header = {**header, "sha256": hashlib.sha256(payload).hexdigest()}
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n" + payload)
        os.replace(temp, entry)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and type(value).__name__ in _CLASSES:
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"@": type(value).__name__, **fields}
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"@dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, Path):
        return {"@path": str(value)}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _decode(obj: dict) -> Any:
    if "@" in obj:
        cls = _CLASSES[obj.pop("@")]          # only the IR's own classes
        return cls(**{name: _tuples(value) for name, value in obj.items()})
    if "@dict" in obj:
        return {_tuples(k): _tuples(v) for k, v in obj["@dict"]}
    if "@path" in obj:
        return Path(obj["@path"])
    raise ValueError(f"unexpected object in a cache entry: {sorted(obj)[:3]}")


# --- which files a translation opens ----------------------------------------------------------
# An audit hook (installed once, on the first translation) notes the regular files opened while
# a translation records, outside Python's own installation: the spreadsheets a model reads.

_OPENED: contextvars.ContextVar[set[Path] | None] = contextvars.ContextVar("opened", default=None)
_HOOKED = False


class _recording:
    def __enter__(self) -> set[Path]:
        global _HOOKED
        if not _HOOKED:
            sys.addaudithook(_note_open)
            _HOOKED = True
        self.opened: set[Path] = set()
        self.token = _OPENED.set(self.opened)
        return self.opened

    def __exit__(self, *exc: object) -> None:
        _OPENED.reset(self.token)


_SYSTEM = tuple({str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def _note_open(event: str, args: tuple) -> None:
    if event != "open":
        return
    opened = _OPENED.get()
    if opened is None or not isinstance(args[0], (str, Path)):
        return
    mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
    if any(c in mode for c in "wax+"):
        return
    try:
        file = Path(args[0]).resolve()
        if file.suffix in (".py", ".pyc", ".so") or str(file).startswith(_SYSTEM) or \
                not file.is_file() or str(file).startswith(("/proc/", "/sys/", "/dev/")):
            return
    except (OSError, ValueError):
        return
    opened.add(file)
