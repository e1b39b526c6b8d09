"""Bad model files, as a careless or hostile user would give them: each is one clean error
(``Error: file: element: problem`` plus a hint, exit code 1, no traceback), through the
library and the command line alike; nothing in a model file is fetched, expanded or run."""

from __future__ import annotations

import pytest

import reformsim
from reformsim.cli import main

CONTROLS = ("FINAL TIME = 1\n\t~\t\n\t~\t|\nINITIAL TIME = 0\n\t~\t\n\t~\t|\n"
            "SAVEPER = 1\n\t~\t\n\t~\t|\nTIME STEP = 1\n\t~\t\n\t~\t|\n")


def mdl(*equations: str) -> str:
    return "{UTF-8}\n" + "".join(f"{e}\n\t~\t\n\t~\t|\n" for e in equations) + CONTROLS


def xmile(body: str, doctype: str = "") -> str:
    return (f'<?xml version="1.0"?>\n{doctype}<xmile version="1.0" '
            'xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header><name>t</name>'
            '</header><sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs><model>'
            f'<variables>{body}</variables></model></xmile>')


XXE = '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/hostname">]>\n'
LAUGHS = ('<!DOCTYPE x [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>\n')

# case -> (file name, content, the error's start after "<file>: ")
CASES = {
    "binary garbage": ("m.mdl", bytes(range(256)) * 8, "'m.mdl': is not a text file"),
    "empty": ("m.mdl", b"", "'m.mdl': the file is empty"),
    "only spaces": ("m.mdl", b"  \n\t\n", "'m.mdl': the file is empty"),
    "not utf-8 though it says so": ("m.mdl", mdl("x = 1").encode() + b"y = \xe9\n",
                                    "'line 17': is not UTF-8 text (byte 0xE9"),
    "unknown encoding": ("m.mdl", b"{NO-SUCH-CODEC}\n" + mdl("x = 1").encode()[8:],
                         "'m.mdl': its first line names an unknown encoding"),
    "truncated": ("m.mdl", mdl("x = 1")[:40].encode(), "'INITIAL TIME': the model does not "
                  "define this control variable"),
    "open parenthesis": ("m.mdl", mdl("x = (1 + 2"), "'x': its equation has unbalanced "
                         "parentheses: 1 '(' not closed"),
    "close parenthesis": ("m.mdl", mdl("y = 1", "x = 1 + 2)"), "'x': its equation has "
                          "unbalanced parentheses: a ')' closes nothing"),
    "unreadable equation": ("m.mdl", mdl("x = 1 +* 2"), "'x': its equation cannot be read"),
    "defined twice": ("m.mdl", mdl("x = 1", "x = 2"), "'x': is defined 2 times"),
    "undefined name": ("m.mdl", mdl("x = y + 1"), "'x': refers to 'y', which is not defined"),
    "xxe": ("m.xmile", xmile('<aux name="x"><eqn>&secret;</eqn></aux>', XXE),
            "'m.xmile': declares XML entities"),
    "billion laughs": ("m.xmile", xmile('<aux name="x"><eqn>1</eqn><doc>&d;</doc></aux>',
                                        LAUGHS), "'m.xmile': declares XML entities"),
    "binary xmile": ("m.xmile", bytes(range(256)) * 4, "'line 1': is not well-formed XML"),
    "empty xmile": ("m.xmile", b"", "'line 1': is not well-formed XML"),
    "xml that is not xmile": ("m.xmile", b"<?xml version='1.0'?><html><body/></html>",
                              "'m.xmile': is not an XMILE file (its root is <html>"),
    "wrong suffix": ("m.py", b"import os", "'m.py': unsupported file type"),
}


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(("name", "content", "expected"), CASES.values(), ids=CASES.keys())
def test_library_raises_one_model_error(tmp_path, name, content, expected):
    with pytest.raises(reformsim.ModelError) as caught:
        reformsim.load_model(_write(tmp_path, name, content))
    assert str(caught.value).startswith(f"{name}: {expected}")


@pytest.mark.parametrize(("name", "content", "expected"), CASES.values(), ids=CASES.keys())
def test_command_line_prints_one_error(runner, tmp_path, name, content, expected):
    result = runner.invoke(main, ["check", str(_write(tmp_path, name, content))])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {name}: {expected}")
    assert "Traceback" not in result.stderr and result.exception.__class__ is SystemExit


def test_errors_keep_pysd_s_exception_as_their_cause(tmp_path):
    with pytest.raises(reformsim.ModelError) as caught:
        reformsim.load_model(_write(tmp_path, "m.mdl", mdl("x = 1 +* 2")))
    assert caught.value.__cause__ is not None


def test_nothing_is_fetched_or_expanded(tmp_path):
    """The XXE case refers to a real file: its content must appear nowhere."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doctype = f'<!DOCTYPE x [<!ENTITY s SYSTEM "file://{secret}">]>\n'
    with pytest.raises(reformsim.ModelError) as caught:
        reformsim.load_model(_write(tmp_path, "m.xmile",
                                    xmile('<aux name="x"><eqn>&s;</eqn></aux>', doctype)))
    assert "TOP-SECRET" not in str(caught.value)


# --- XML that is not well-formed: read as PySD reads it, by recovering, and said so ----------

RECOVERED = {  # case -> (content, then: None when the model loads, else the error)
    "truncated": (xmile('<aux name="x"><eqn>1</eqn></aux>')[:200],
                  "m.xmile: 'm.xmile': the model defines no variables"),
    "unclosed tag": (xmile('<aux name="x"><eqn>1</eqn><aux name="y"><eqn>2</eqn></aux>'), None),
}


@pytest.mark.parametrize(("content", "error"), RECOVERED.values(), ids=RECOVERED.keys())
def test_xml_that_is_not_well_formed_is_recovered_with_a_warning(tmp_path, runner, content,
                                                                  error):
    path = _write(tmp_path, "m.xmile", content)
    with pytest.warns(reformsim.ReformsimWarning, match=r"^m.xmile: line \d+: the file is not "
                                                          r"well-formed XML \("):
        if error is None:
            reformsim.load_model(path)
        else:
            with pytest.raises(reformsim.ModelError, match=f"^{error}"):
                reformsim.load_model(path)
    result = runner.invoke(main, ["check", str(path)])
    lines = result.stderr.splitlines()
    assert lines[0].startswith("warning: m.xmile: line ") and "Traceback" not in result.output
    assert result.exit_code == (0 if error is None else 1)
    if error is not None:
        assert lines[1] == f"Error: {error}"


# --- warnings PySD gave and the first edition swallowed ---------------------------------------

@pytest.mark.parametrize(("equation", "note"), [
    ("c :THE CONDITION: x > 0", "':CONSTRAINT:' detected"),
    ("t :TEST INPUT: 1", "':TEST INPUT:' detected"),
], ids=["constraint", "test-input"])
def test_pysd_s_warnings_are_ours(tmp_path, equation, note):
    path = _write(tmp_path, "m.mdl", mdl("x = 1", equation))
    with pytest.warns(reformsim.ReformsimWarning, match=f"^m.mdl: {note}"):
        reformsim.load_model(path)


def test_command_line_shows_a_warning_as_one_line(runner, tmp_path):
    path = _write(tmp_path, "m.mdl", mdl("x = 1", "c :THE CONDITION: x > 0"))
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if "CONSTRAINT" in line]
    assert warning == ["warning: m.mdl: ':CONSTRAINT:' detected. The expression content is not "
                       "parsed and will be ignored."]


# --- silent wrong answers ------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "equation", "expected"), [
    (".mdl", "(-2)^2", 4.0), (".mdl", "-2^2", -4.0), (".mdl", '"odd (-2)^2 name" + 1', 3.0),
    (".xmile", "(-2)^2", 4.0), (".xmile", "-2^2", -4.0), (".xmile", "(-2)^3", -8.0),
], ids=["mdl-paren", "mdl-bare", "mdl-quoted-name", "xmile-paren", "xmile-bare", "xmile-odd"])
def test_a_parenthesised_negative_base_is_squared(tmp_path, suffix, equation, expected):
    if suffix == ".mdl":
        content = mdl(f"x = {equation}", '"odd (-2)^2 name" = 2')
    else:
        content = xmile(f'<aux name="x"><eqn>{equation}</eqn></aux>')
    model = reformsim.load_model(_write(tmp_path, f"m{suffix}", content))
    assert reformsim.simulate(model, outputs=["x"])["x"][0, 0] == expected
