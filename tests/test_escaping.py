"""Model text never reaches generated code unescaped.

``tests/models/escaping`` holds twin models written by ``generate.py`` there: ``plain.*`` and
``nasty.*`` have the same elements in the same order with the same numbers (constants, a lookup
definition called from an aux, WITH LOOKUP / an XMILE inline gf, a flow, an INTEG stock, SMOOTH,
IF THEN ELSE). In ``nasty.*`` every variable name, units string, documentation string and the
lookup's name is hostile text aimed at code generation: quote break-outs (``'`` ``"`` ``'''``
``\"\"\"``, the Vensim escape ``\\"``, backslash-escaped quotes ``\\\\"``), Python code
(``__import__('os').system(...)``, ``open(...)``, ``os._exit(n)``), comments, ``def``-header
injection, format strings (``{}``, ``%s``, ``$x``), backslash escapes kept as text (``\\n``,
``\\x00``, ``\\N{...}``), Unicode (RTL override, zero-width space, a name that NFKC-normalises to
another element's name, ``np``), path traversal, shell, HTML, YAML and CSV payloads, NUL and ESC
bytes in documentation, documentation ending in a backslash, Vensim syntax characters inside quoted
names. ``README.md`` beside the models lists what each string targets.

The payloads write marker files named ``reformsim_pwned_*`` into the working directory (the tests
run in a fresh temporary directory), one writes ``/tmp/reformsim_pwned``, and the ``os._exit``
payloads each use their own exit code (``EXIT_CODES``). The nasty models are first loaded and
simulated in a child process, so a payload that kills the process fails one test with the culprit
named instead of taking pytest down; the in-process tests only run once that probe is clean.

Names are compared exactly as PySD's translators give them in ``element.name`` (Vensim quoted
names keep their quotes and ``\\"`` escapes). The plain twins are also checked against PySD's own
runtime, run on a copy in ``tmp_path``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pysd
import pytest
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures.abstract_model import AbstractLookup
from pysd.translators.vensim.vensim_file import VensimFile
from pysd.translators.xmile.xmile_file import XmileFile

import reformsim

MODELS = Path(__file__).parent / "models" / "escaping"
FORMATS = [pytest.param("mdl", id="mdl"), pytest.param("xmile", id="xmile")]
ABSOLUTE_MARKER = Path("/tmp/reformsim_pwned")
MARKER_PREFIX = "reformsim_pwned"

# plain name -> nasty name, exactly as PySD's translator gives element.name (same element order).
MDL_NAMES = {
    'initial level': '"\'); open(\'reformsim_pwned_name_sq\', \'w\'); (\'"',
    'inflow rate': '"+__import__(\'os\').system(\'touch reformsim_pwned_name_concat\')+"',
    'outflow fraction': '"\\"); import os; os._exit(3); (\\""',
    'threshold': '"\\\\"); open(\'reformsim_pwned_name_bsq\', \'w\'); #"',
    'smoothing time': '\U0001d52b\U0001d52d',
    'gain': 'np',
    'effect table': '"effect(x): __import__(\'os\')._exit(8) #\'\'\'\\"\\"\\"\'); '
                    'open(\'reformsim_pwned_name_lookup\', \'w\'); (\'"',
    'effect': '"{0}{}{x}{__class__.__init__.__globals__}%s%d%(x)s$x${x}"',
    'inflow': '"line\\nbreak\\ttab\\rcr\\x00nul\\u0041\\N{BULLET}\\0 end"',
    'drain multiplier': '"~|:=[]()!,;<>&*^/+-== :AND: :OR: :NOT: {curly} #hash"',
    'outflow': '"../../../../../tmp/reformsim_pwned_path/..\\..\\NUL:\\x.py"',
    'stock': '"Stock ÄÖÜ ß 名前 🐍 \u202eRTL zero\u200bwidth `tick` $(touch reformsim_pwned_shell)"',
    'smoothed stock': '"\\"\\"\\"+__import__(\'os\').system(\'touch reformsim_pwned_name_tdq\')+\\"\\"\\""',
    'alarm': "lambda's $HOME ünï",
    'FINAL TIME': 'FINAL TIME',
    'INITIAL TIME': 'INITIAL TIME',
    'SAVEPER': 'SAVEPER',
    'TIME STEP': 'TIME STEP',
}
XMILE_NAMES = {
    'initial level': "'); open('reformsim_pwned_x_name_sq', 'w'); ('",
    'inflow rate': "'''); open('reformsim_pwned_x_name_tsq', 'w'); ('''",
    'outflow fraction': "\\'); import os; os._exit(13); #",
    'threshold': "\\\\'); open('reformsim_pwned_x_name_bsq', 'w'); #",
    'smoothing time': '\U0001d52b\U0001d52d',
    'gain': 'np',
    'effect': '{0}{}{x}{__class__.__init__.__globals__}%s%d%(x)s$x${x}',
    'drain multiplier': '~|:=[]()!,;<>&*^/+-== and or not {curly} #hash',
    'smoothed stock': "'''+__import__('os').system('touch reformsim_pwned_x_name_tdq')+'''",
    'alarm': 'lambda\'s\n"""); import os; os._exit(19); ("""\t$HOME "+__import__(\'os\')._exit(20)+"',
    'inflow': 'tab\\there\\x00\\u0041\\N{BULLET}\\0 end',
    'outflow': '../../../../../tmp/reformsim_pwned_x_path/..\\..\\NUL:\\x.py',
    'effect table': "effect(x): __import__('os')._exit(18) #'''",
    'stock': 'Stock ÄÖÜ ß 名前 🐍 \u202eRTL zero\u200bwidth `tick` $(touch reformsim_pwned_x_shell)',
    'INITIAL TIME': 'INITIAL TIME',
    'FINAL TIME': 'FINAL TIME',
    'TIME STEP': 'TIME STEP',
    'SAVEPER': 'SAVEPER',
}
NAMES = {"mdl": MDL_NAMES, "xmile": XMILE_NAMES}
CONTROL = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}
CONSTANTS = ["initial level", "inflow rate", "outflow fraction", "threshold", "smoothing time", "gain"]

# Which hostile string an os._exit(n) payload comes from.
EXIT_CODES = {
    3: "nasty.mdl: name of 'outflow fraction'", 4: "nasty.mdl: units of 'outflow fraction'",
    5: "nasty.mdl: documentation of 'outflow fraction'", 6: "nasty.mdl: units of INITIAL TIME",
    7: "nasty.mdl: documentation of INITIAL TIME", 8: "nasty.mdl: lookup name (def-header injection)",
    13: "nasty.xmile: name of 'outflow fraction'", 14: "nasty.xmile: units of 'outflow fraction'",
    15: "nasty.xmile: documentation of 'outflow fraction'",
    18: "nasty.xmile: lookup name (def-header injection)",
    19: "nasty.xmile: name of 'alarm' (triple-quote break-out)",
    20: "nasty.xmile: name of 'alarm' (double-quote concatenation)",
}

# PySD's runtime on plain.mdl / plain.xmile (identical), final values at t = 20, for the record.
PYSD_FINAL = {"stock": 34.10528476676449, "smoothed stock": 31.079700208142274,
              "outflow": 5.115792715014674, "inflow": 6.0, "effect": 4.0,
              "drain multiplier": 1.5, "alarm": 1.0}


def _path(kind: str, fmt: str) -> Path:
    return MODELS / f"{kind}.{fmt}"


@cache
def _elements(kind: str, fmt: str) -> tuple:
    """PySD's AbstractElements of one twin, in file order."""
    reader = (VensimFile if fmt == "mdl" else XmileFile)(_path(kind, fmt))
    reader.parse()
    return tuple(reader.get_abstract_model().sections[0].elements)


def _variables(kind: str, fmt: str) -> set[str]:
    """Names a result holds by default: every element but the lookup and the control variables."""
    return {e.name for e in _elements(kind, fmt)
            if e.name not in CONTROL and not isinstance(e.components[0], AbstractLookup)}


def _key(name: str) -> str:
    """How PySD's ASTs spell a reference to name."""
    return name.lower().replace(" ", "_")


def _canonical(ast: object, rename: dict[str, str]) -> object:
    """An AST as nested tuples, with references renamed."""
    if isinstance(ast, ae.ReferenceStructure):
        return ("ref", rename.get(ast.reference, ast.reference), _canonical(ast.subscripts, rename))
    if dataclasses.is_dataclass(ast):
        return (type(ast).__name__,) + tuple(_canonical(getattr(ast, f.name), rename)
                                             for f in dataclasses.fields(ast))
    if isinstance(ast, (tuple, list)):
        return tuple(_canonical(item, rename) for item in ast)
    return float(ast) if isinstance(ast, (int, float, np.number)) else ast


def _new_files(folder: Path, before: set[Path]) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p not in before)


def _markers(folder: Path) -> list[str]:
    found = [str(p) for p in folder.rglob(f"{MARKER_PREFIX}*")]
    return found + ([str(ABSOLUTE_MARKER)] if ABSOLUTE_MARKER.exists() else [])


# --------------------------------------------------------------------------------------------
# The fixture itself (needs only PySD)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_twins_parse_to_the_same_structure(fmt: str) -> None:
    plain, nasty = _elements("plain", fmt), _elements("nasty", fmt)
    # PySD silently treats everything after an unparsable Vensim entry as the sketch: count them.
    assert len(plain) == len(nasty) == 18
    assert {p.name: n.name for p, n in zip(plain, nasty)} == NAMES[fmt]
    rename = {_key(n.name): _key(p.name) for p, n in zip(plain, nasty)}
    for p, n in zip(plain, nasty):
        assert type(p) is type(n) and p.limits == n.limits, p.name
        assert ([(type(c), c.subscripts, _canonical(c.ast, {})) for c in p.components]
                == [(type(c), c.subscripts, _canonical(c.ast, rename)) for c in n.components]), p.name


@pytest.mark.parametrize("fmt", FORMATS)
def test_nasty_twin_is_still_nasty(fmt: str) -> None:
    nasty = _elements("nasty", fmt)
    names = " ".join(e.name for e in nasty)
    texts = " ".join(e.units + " " + e.documentation for e in nasty)
    for fragment in ["'", '"', "\\", "'''", "__import__('os')", "os._exit(", "{}", "%s", "#",
                     "\u202e", "\u200b", "🐍", "../"]:
        assert fragment in names, fragment
    for fragment in ["'''", '"""', "__import__('os')", "os._exit(", "{0}", "%(name)s", "\\n",
                     "<script>", "!!python/object"]:
        assert fragment in texts, fragment
    assert any(e.documentation.endswith("\\") for e in nasty)
    if fmt == "mdl":
        assert "\x00" in texts and "\x1b" in texts and '\\"' in names and "\\n" in names
    else:
        assert "\n" in names and "\n" in texts


def test_twins_are_what_generate_py_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("escaping_generate", MODELS / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    for written in generate.write_all(tmp_path):
        assert written.read_bytes() == (MODELS / written.name).read_bytes(), written.name


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------

PROBE = """
import sys
import reformsim
for path in sys.argv[1:]:
    frame = reformsim.simulate(reformsim.load_model(path)).to_dataframe()
    assert len(frame.columns) > 0, path
print("REFORMSIM_PROBE_OK")
"""


@cache
def _probe(fmt: str) -> str:
    """Load and simulate nasty.<fmt> in a child process in a scratch directory; '' when clean."""
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="reformsim_escaping_"))
    try:
        model = scratch / f"nasty.{fmt}"
        shutil.copy(_path("nasty", fmt), model)
        ABSOLUTE_MARKER.unlink(missing_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(reformsim.__file__).resolve().parents[1])]
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        done = subprocess.run([sys.executable, "-c", PROBE, str(model)], cwd=scratch, env=env,
                              capture_output=True, text=True, timeout=600)
        problems = []
        if done.returncode != 0:
            culprit = EXIT_CODES.get(done.returncode, "a crash or an error, see stderr")
            problems.append(f"child exited with {done.returncode} ({culprit})")
        elif "REFORMSIM_PROBE_OK" not in done.stdout:
            problems.append("child exited 0 before finishing (sys.exit/os._exit(0) from model text?)")
        if markers := _markers(scratch):
            problems.append(f"model text was executed, marker files: {markers}")
        if unexpected := [f for f in _new_files(scratch, {model}) if not f.startswith(MARKER_PREFIX)]:
            problems.append(f"files written next to the model or in the working directory: {unexpected}")
        if not problems:
            return ""
        return "\n".join(problems + ["--- stdout", done.stdout[-3000:], "--- stderr", done.stderr[-6000:]])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        ABSOLUTE_MARKER.unlink(missing_ok=True)


def _require_clean_probe(fmt: str) -> None:
    if problem := _probe(fmt):
        pytest.fail(f"nasty.{fmt} is not safe to load in-process:\n{problem}", pytrace=False)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory: relative marker files land here."""
    ABSOLUTE_MARKER.unlink(missing_ok=True)
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    yield folder
    assert _markers(folder) == [], "model text was executed"
    ABSOLUTE_MARKER.unlink(missing_ok=True)


def _load(kind: str, fmt: str, folder: Path) -> reformsim.CompiledModel:
    """Load a copy of one twin (in folder) and check nothing else appeared there."""
    model = folder / f"{kind}.{fmt}"
    shutil.copy(_path(kind, fmt), model)
    before = set(folder.rglob("*"))
    loaded = reformsim.load_model(model)
    assert _new_files(folder, before) == [], "files written next to the model"
    return loaded


@pytest.mark.parametrize("fmt", FORMATS)
def test_nasty_model_executes_nothing(fmt: str) -> None:
    _require_clean_probe(fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_nasty_twin_simulates_like_plain(fmt: str, workdir: Path) -> None:
    _require_clean_probe(fmt)
    names = NAMES[fmt]
    plain, nasty = _load("plain", fmt, workdir), _load("nasty", fmt, workdir)
    rp = reformsim.simulate(plain).to_dataframe()
    rn = reformsim.simulate(nasty).to_dataframe()

    assert set(rp.columns) == _variables("plain", fmt)
    assert set(rn.columns) == _variables("nasty", fmt)
    assert [names[c] for c in rp.columns] == list(rn.columns)
    np.testing.assert_array_equal(rp.index.to_numpy(), rn.index.to_numpy())
    assert np.array_equal(rp.to_numpy(), rn.to_numpy())
    assert _new_files(workdir, {workdir / f"plain.{fmt}", workdir / f"nasty.{fmt}"}) == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["plain", "nasty"])
def test_results_carry_names_units_and_docs_unchanged(kind: str, fmt: str, workdir: Path) -> None:
    if kind == "nasty":
        _require_clean_probe(fmt)
    res = reformsim.simulate(_load(kind, fmt, workdir))
    elements = {e.name: e for e in _elements(kind, fmt)}
    columns = list(res.to_dataframe().columns)
    assert set(columns) == _variables(kind, fmt)
    assert set(columns) <= set(res.units) & set(res.docs)
    assert set(res.units) | set(res.docs) <= set(elements), "names changed in units/docs"
    for name in res.units:
        assert res.units[name] == elements[name].units, name
    for name in res.docs:
        assert res.docs[name] == elements[name].documentation, name


@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_twin_matches_pysd_runtime(fmt: str, tmp_path: Path, workdir: Path) -> None:
    ours = reformsim.simulate(_load("plain", fmt, workdir)).to_dataframe()
    copy = tmp_path / "pysd" / f"plain.{fmt}"
    copy.parent.mkdir()
    shutil.copy(_path("plain", fmt), copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PySD's own pandas/chardet deprecations
        theirs = (pysd.read_vensim if fmt == "mdl" else pysd.read_xmile)(str(copy)).run()
    assert set(theirs.columns) - CONTROL <= set(ours.columns)
    shared = [c for c in ours.columns if c in theirs.columns]
    assert len(shared) == len(ours.columns)
    np.testing.assert_allclose(ours.index.to_numpy(dtype=float), theirs.index.to_numpy(dtype=float),
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours[shared].to_numpy(dtype=float), theirs[shared].to_numpy(dtype=float),
                               rtol=0, atol=1e-9)
    final = theirs.iloc[-1]
    assert {k: final[k] for k in PYSD_FINAL} == pytest.approx(PYSD_FINAL, abs=1e-12)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("constant", CONSTANTS, ids=lambda c: c.replace(" ", "_"))
def test_set_constant_by_hostile_name(constant: str, fmt: str, workdir: Path) -> None:
    _require_clean_probe(fmt)
    hostile = NAMES[fmt][constant]
    plain, nasty = _load("plain", fmt, workdir), _load("nasty", fmt, workdir)
    rp = reformsim.simulate(plain, params={constant: 2.0}).to_dataframe()
    rn = reformsim.simulate(nasty, params={hostile: 2.0}).to_dataframe()
    assert [NAMES[fmt][c] for c in rp.columns] == list(rn.columns)
    assert np.array_equal(rp.to_numpy(), rn.to_numpy())
    assert (rn[hostile].to_numpy() == 2.0).all()
    default = reformsim.simulate(plain).to_dataframe()  # no constant is 2 already
    assert not np.array_equal(default.to_numpy(), rp.to_numpy()), "the parameter had no effect"
