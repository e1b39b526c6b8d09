"""Write the escaping twins: plain.mdl / nasty.mdl and plain.xmile / nasty.xmile.

Run ``python tests/models/escaping/generate.py`` after editing this file; the model files are the
artefacts the tests read, and ``tests/test_escaping.py`` checks that they are what this script writes.

Each twin pair has the same elements in the same order with the same numbers.  In the nasty twin every
variable name, unit string, documentation string and the lookup's name is hostile text.  The strings
below are written exactly as they appear in the model file (Vensim or XMILE syntax), so ``\\"`` in a
Vensim name is Vensim's escaped quote, kept as two characters by PySD.  Invisible characters are put in
with ``\\u``/``\\x`` escapes.  Marker files are relative paths: the tests run with the working
directory in a fresh temporary folder, so any ``reformsim_pwned_*`` file that appears there means
that model text was executed.  Each ``os._exit`` payload has its own exit code, so a dead process
tells which string ran.  README.md beside this file lists what each string targets.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
RLO, ZWSP, NUL, ESC = "\u202e", "\u200b", "\x00", "\x1b"
FRAKTUR_NP = "\U0001d52b\U0001d52d"  # MATHEMATICAL FRAKTUR SMALL N, P: NFKC-normalises to "np"

# ---------------------------------------------------------------------------------------------
# The shared structure.  {name} placeholders are references; the spelling used for a reference
# can differ from the definition (case, underscores), as Vensim allows.
# ---------------------------------------------------------------------------------------------
MDL_EQUATIONS = [
    ("initial level", "10"),
    ("inflow rate", "1.5"),
    ("outflow fraction", "0.1"),
    ("threshold", "14"),
    ("smoothing time", "3"),
    ("gain", "4"),
    ("effect table", None),  # lookup definition, see LOOKUP
    ("effect", "{effect table}(Time / 2)"),
    ("inflow", "{inflow rate} * {effect}"),
    ("drain multiplier", "WITH LOOKUP({Stock} / 4, ([(0,0)-(8,2)],(0,0.5),(5,1),(8,1.5)))"),
    ("outflow", "{Stock} * {outflow fraction} * {drain multiplier} * {gain} / 4"),
    ("stock", "INTEG({inflow} - {outflow}, {initial level})"),
    ("smoothed stock", "SMOOTH({stock}, {smoothing time})"),
    ("alarm", "IF THEN ELSE({smoothed_stock} > {threshold}, 1, 0)"),
]
LOOKUP = "[(0,0)-(10,10)],(0,0),(5,3),(10,4)"
CONTROL = [("FINAL TIME", "20"), ("INITIAL TIME", "0"), ("SAVEPER", "\n        TIME STEP"),
           ("TIME STEP", "0.25")]

PLAIN_MDL = {
    # name: (units, documentation)
    "initial level": ("widgets", "Stock value at INITIAL TIME."),
    "inflow rate": ("widgets/Month [0,?]", "Base inflow per month."),
    "outflow fraction": ("1/Month", "Fraction of the stock drained per month."),
    "threshold": ("widgets", "Smoothed stock above which the alarm is on."),
    "smoothing time": ("Month", "Averaging time of the smoothed stock."),
    "gain": ("dmnl", "Outflow gain; the outflow divides it by 4 again."),
    "effect table": ("dmnl", "Effect of (Time / 2) on the inflow."),
    "effect": ("dmnl", "Lookup call."),
    "inflow": ("widgets/Month", "Flow into the stock."),
    "drain multiplier": ("dmnl", "Inline lookup on the stock; flat above stock = 32."),
    "outflow": ("widgets/Month", "Flow out of the stock."),
    "stock": ("widgets", "The stock."),
    "smoothed stock": ("widgets", "First-order smooth of the stock."),
    "alarm": ("dmnl", "1 while the smoothed stock exceeds the threshold."),
    "FINAL TIME": ("Month", "The final time for the simulation."),
    "INITIAL TIME": ("Month", "The initial time for the simulation."),
    "SAVEPER": ("Month [0,?]", "The frequency with which output is stored."),
    "TIME STEP": ("Month [0,?]", "The time step for the simulation."),
}

# ---------------------------------------------------------------------------------------------
# Vensim: hostile names (as written in the .mdl, outer quotes included)
# ---------------------------------------------------------------------------------------------
NASTY_MDL_NAMES = {
    "initial level": """"'); open('reformsim_pwned_name_sq', 'w'); ('\"""",
    "inflow rate": '''"+__import__('os').system('touch reformsim_pwned_name_concat')+"''',
    "outflow fraction": r'''"\"); import os; os._exit(3); (\""''',
    "threshold": r'''"\\"); open('reformsim_pwned_name_bsq', 'w'); #"''',
    "smoothing time": FRAKTUR_NP,
    "gain": "np",
    "effect table": r'''"effect(x): __import__('os')._exit(8) #'''
                    + r"""'''\"\"\"'); open('reformsim_pwned_name_lookup', 'w'); ('""" + '"',
    "effect": '"{0}{}{x}{__class__.__init__.__globals__}%s%d%(x)s$x${x}"',
    "inflow": r'"line\nbreak\ttab\rcr\x00nul\u0041\N{BULLET}\0 end"',
    "drain multiplier": '"~|:=[]()!,;<>&*^/+-== :AND: :OR: :NOT: {curly} #hash"',
    "outflow": r'"../../../../../tmp/reformsim_pwned_path/..\..\NUL:\x.py"',
    "stock": f'"Stock ÄÖÜ ß 名前 🐍 {RLO}RTL zero{ZWSP}width `tick` $(touch reformsim_pwned_shell)"',
    "smoothed stock": r'''"\"\"\"+__import__('os').system('touch reformsim_pwned_name_tdq')+\"\"\""''',
    "alarm": "lambda's $HOME ünï",
}
# Trailing spaces after a final backslash keep it from being read as a Vensim line continuation.
NASTY_MDL = {
    "initial level": (
        "widgets'); open('reformsim_pwned_units_sq', 'w'); ('",
        "'''); open('reformsim_pwned_doc_tsq', 'w'); (''' Single quotes: 'x' \\' \\\\'"),
    "inflow rate": (
        '"""+__import__(\'os\').system(\'touch reformsim_pwned_units_tdq\')+""" [0,?]',
        '"""); __import__(\'os\').system(\'touch reformsim_pwned_doc_tdq\'); ("""'),
    "outflow fraction": (
        '1/Month "); import os; os._exit(4); ("',
        '"); import os; os._exit(5); ("'),
    "threshold": (
        r"widgets \ # \n \t \x00 \N{BULLET} \u0041 \\ ",
        "C:\\new\\table\\x00\\u0041\\N{DEGREE SIGN}\\N{no such name}\\\n"
        "\tline continuation above; this docstring ends with a backslash \\ "),
    "smoothing time": (
        "Month {0} {} {name} {{ }} %s %d %(name)s $name ${name}",
        "Format strings: {0} {} {name} {__class__} {{ }} %s %d %(name)s %% $name ${name} f'{x}'"),
    "gain": (
        "dmnl ' \" \" '",
        "# not a comment\n\tnor is this: \"\"\" ''' \\ "),
    "effect table": (
        '=cmd+HYPERLINK("x","y") @SUM(1) -2 +3',
        "<script>alert('xss')</script> ]]> --> */ <!-- &amp; &lt; `rm -rf /` "
        "$(touch reformsim_pwned_doc_shell)"),
    "effect": (
        "d\u0301mnl ÄÖÜ 名前 🐍 " + RLO + "x" + ZWSP,
        "!!python/object/apply:os.system ['touch reformsim_pwned_doc_yaml'] &a *a {a: b}"),
    "inflow": (
        f"{ESC}[2J{ESC}[31mwidgets/Month{ESC}[0m",
        "Real newlines (PySD folds them to spaces):\nline two\n\tline three\r\nline four; "
        f"a NUL byte:{NUL}; ESC:{ESC}[31m red{ESC}[0m"),
    "drain multiplier": (
        '"~|" "|~" dmnl',
        "Quotes \" ' \" ` and an odd number of them: \""),
    "outflow": (
        "widgets/Month <script>alert('x')</script> ]]> --> */",
        "../../../../../tmp/reformsim_pwned_doc_path \\\\server\\share"),
    "stock": (
        "widgets ../../etc/passwd",
        f"Unicode: ÄÖÜ ß 名前 🐍 {RLO}RTL{ZWSP} e\u0301 \ufeffBOM {FRAKTUR_NP}"),
    "smoothed stock": (
        "widgets '''+__import__('os').system('touch reformsim_pwned_units_tsq')+'''",
        "\"\"\"+__import__('os').system('touch reformsim_pwned_doc_concat')+\"\"\""),
    "alarm": (
        "dmnl\\ ",
        "ends with a backslash \\ "),
    "FINAL TIME": (
        "Month'); open('reformsim_pwned_units_final', 'w'); ('",
        '"""); open(\'/tmp/reformsim_pwned\', \'w\'); ("""'),
    "INITIAL TIME": (
        'Month "); import os; os._exit(6); ("',
        '"); import os; os._exit(7); ("'),
    "SAVEPER": ("Month\\ [0,?]", "{0}{}%s\\n"),
    "TIME STEP": ("Month'\"'\" [0,?]", "'''\\ "),
}


def _mdl_reference(names: dict[str, str], key: str) -> str:
    """Spell a reference: 'Stock' in a different case, 'smoothed_stock' with underscores."""
    if key == "Stock":
        base = names["stock"]
        return base.lower() if base != "stock" else "Stock"
    if key == "smoothed_stock":
        return names["smoothed stock"].replace(" ", "_")
    return names[key]


def write_mdl(path: Path, names: dict[str, str], texts: dict[str, tuple[str, str]]) -> None:
    """Write one Vensim twin."""
    out = ["{UTF-8}\n"]
    for key, expr in MDL_EQUATIONS:
        units, doc = texts[key]
        if expr is None:
            out.append(f"{names[key]}(\n\t{LOOKUP})\n")
        else:
            body = re.sub(r"\{([^}]*)\}", lambda m: _mdl_reference(names, m.group(1)), expr)
            out.append(f"{names[key]}=\n\t{body}\n")
        out.append(f"\t~\t{units}\n\t~\t{doc}\n\t|\n\n")
    out.append("********************************************************\n\t.Control\n"
               "********************************************************~\n"
               "\t\tSimulation Control Parameters\n\t|\n\n")
    for name, expr in CONTROL:
        units, doc = texts[name]
        out.append(f"{name}  = {expr}\n\t~\t{units}\n\t~\t{doc}\n\t|\n\n")
    out.append("\\\\\\---/// Sketch information - do not modify anything except names\n"
               "V300  Do not put anything below this section - it will be ignored\n")
    path.write_text("".join(out), encoding="utf-8", newline="\n")


# ---------------------------------------------------------------------------------------------
# XMILE: names live in attributes, so XML escaping applies on top; PySD's XMILE translator turns
# the two characters \n in a name into a space and strips the quotes from references, so names
# that are referenced cannot contain \n or a double quote.  "alarm" is referenced by nothing, so
# it gets a real newline, a tab and double quotes.
# ---------------------------------------------------------------------------------------------
NASTY_XMILE_NAMES = {
    "initial level": "'); open('reformsim_pwned_x_name_sq', 'w'); ('",
    "inflow rate": "'''); open('reformsim_pwned_x_name_tsq', 'w'); ('''",
    "outflow fraction": r"\'); import os; os._exit(13); #",
    "threshold": r"\\'); open('reformsim_pwned_x_name_bsq', 'w'); #",
    "smoothing time": FRAKTUR_NP,
    "gain": "np",
    "effect table": "effect(x): __import__('os')._exit(18) #'''",
    "effect": "{0}{}{x}{__class__.__init__.__globals__}%s%d%(x)s$x${x}",
    "inflow": r"tab\there\x00\u0041\N{BULLET}\0 end",
    "drain multiplier": "~|:=[]()!,;<>&*^/+-== and or not {curly} #hash",
    "outflow": r"../../../../../tmp/reformsim_pwned_x_path/..\..\NUL:\x.py",
    "stock": f"Stock ÄÖÜ ß 名前 🐍 {RLO}RTL zero{ZWSP}width `tick` $(touch reformsim_pwned_x_shell)",
    "smoothed stock": "'''+__import__('os').system('touch reformsim_pwned_x_name_tdq')+'''",
    "alarm": "lambda's\n\"\"\"); import os; os._exit(19); (\"\"\"\t$HOME \"+__import__('os')._exit(20)+\"",
}
NASTY_XMILE = {
    "initial level": ("widgets'); open('reformsim_pwned_x_units_sq', 'w'); ('",
                      "'''); open('reformsim_pwned_x_doc_tsq', 'w'); (''' \\' \\\\'"),
    "inflow rate": ('widgets/Month """+__import__(\'os\').system(\'touch reformsim_pwned_x_units_tdq\')+"""',
                    'Real newlines survive in XMILE:\n"""); __import__(\'os\').system('
                    '\'touch reformsim_pwned_x_doc_tdq\'); ("""\n\tindented line\n'),
    "outflow fraction": ('1/Month "); import os; os._exit(14); ("',
                         '"); import os; os._exit(15); ("'),
    "threshold": (r"widgets \ # \n \t \x00 \N{BULLET} \u0041 \\",
                  "C:\\new\\table\\x00\\u0041\\N{no such name}\nends with a backslash \\"),
    "smoothing time": ("Month {0} {} {name} {{ }} %s %d %(name)s $name ${name}",
                       "Format strings: {0} {} {name} {__class__} {{ }} %s %d %(name)s %% $name f'{x}'"),
    "gain": ("dmnl ' \" \" '", "# not a comment\nnor is this: \"\"\" ''' \\"),
    "effect table": ("dmnl <b>&amp;</b>",
                     "<script>alert('xss')</script> ]]> --> */ <!-- `rm -rf /` "
                     "$(touch reformsim_pwned_x_doc_shell)"),
    "effect": ("d\u0301mnl ÄÖÜ 名前 🐍 " + RLO + "x" + ZWSP,
               "!!python/object/apply:os.system ['touch reformsim_pwned_x_doc_yaml'] &a *a"),
    "inflow": ("widgets/Month\n\t\"continued\"", "~ | tilde and pipe are fine in XMILE docs"),
    "drain multiplier": ('"~|" "|~" dmnl', "Quotes \" ' ` and an odd number of them: \""),
    "outflow": ("widgets/Month", "../../../../../tmp/reformsim_pwned_x_doc_path \\\\server\\share"),
    "stock": ("widgets ../../etc/passwd",
              f"Unicode: ÄÖÜ ß 名前 🐍 {RLO}RTL{ZWSP} e\u0301 \ufeffBOM {FRAKTUR_NP}"),
    "smoothed stock": ("widgets '''+__import__('os').system('touch reformsim_pwned_x_units_tsq')+'''",
                       "\"\"\"+__import__('os').system('touch reformsim_pwned_x_doc_concat')+\"\"\""),
    "alarm": ("dmnl\\", "ends with a backslash \\"),
}
PLAIN_XMILE = {key: (units.replace(" [0,?]", ""), doc) for key, (units, doc) in PLAIN_MDL.items()}


def _xref(name: str) -> str:
    """An XMILE equation reference: always quoted, spaces kept."""
    return f'"{name}"'


def write_xmile(path: Path, names: dict[str, str], texts: dict[str, tuple[str, str]]) -> None:
    """Write one XMILE twin: same structure as the Vensim one (XMILE SAVEPER is always DT)."""
    n = {key: _xref(value) for key, value in names.items()}
    stock_ref = _xref(names["stock"].lower())
    smoothed_ref = _xref(names["smoothed stock"].replace(" ", "_"))

    def var(tag: str, key: str, body: str) -> str:
        units, doc = texts[key]
        return (f"            <{tag} name={quoteattr(names[key])}>\n"
                f"{body}"
                f"                <units>{escape(units)}</units>\n"
                f"                <doc>{escape(doc)}</doc>\n"
                f"            </{tag}>\n")

    def eqn(text: str) -> str:
        return f"                <eqn>{escape(text)}</eqn>\n"

    gf = ("                <gf>\n                    <xpts>0,5,8</xpts>\n"
          "                    <ypts>0.5,1,1.5</ypts>\n                </gf>\n")
    variables = [
        var("aux", "initial level", eqn("10")),
        var("aux", "inflow rate", eqn("1.5")),
        var("aux", "outflow fraction", eqn("0.1")),
        var("aux", "threshold", eqn("14")),
        var("aux", "smoothing time", eqn("3")),
        var("aux", "gain", eqn("4")),
        var("gf", "effect table", "                <xpts>0,5,10</xpts>\n"
                                  "                <ypts>0,3,4</ypts>\n"),
        var("aux", "effect", eqn(f"{n['effect table']}(TIME / 2)")),
        var("flow", "inflow", eqn(f"{n['inflow rate']} * {n['effect']}")),
        var("aux", "drain multiplier", eqn(f"{stock_ref} / 4") + gf),
        var("flow", "outflow", eqn(f"{stock_ref} * {n['outflow fraction']} * "
                                   f"{n['drain multiplier']} * {n['gain']} / 4")),
        var("stock", "stock", eqn(n["initial level"])
            + f"                <inflow>{escape(n['inflow'])}</inflow>\n"
            + f"                <outflow>{escape(n['outflow'])}</outflow>\n"),
        var("aux", "smoothed stock", eqn(f"SMTH1({n['stock']}, {n['smoothing time']})")),
        var("aux", "alarm", eqn(f"IF {smoothed_ref} > {n['threshold']} THEN 1 ELSE 0")),
    ]
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">\n'
            "    <header>\n        <vendor>reformsim tests</vendor>\n"
            "        <product version=\"1.0\">generate.py</product>\n    </header>\n"
            "    <sim_specs>\n        <start>0</start>\n        <stop>20</stop>\n"
            "        <dt>0.25</dt>\n    </sim_specs>\n"
            "    <model>\n        <variables>\n" + "".join(variables)
            + "        </variables>\n    </model>\n</xmile>\n")
    path.write_text(text, encoding="utf-8", newline="\n")


def write_all(folder: Path) -> list[Path]:
    """Write the four twins into folder and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in ("plain.mdl", "nasty.mdl", "plain.xmile", "nasty.xmile")]
    plain_names = {key: key for key in NASTY_MDL_NAMES}
    write_mdl(paths[0], plain_names, PLAIN_MDL)
    write_mdl(paths[1], NASTY_MDL_NAMES, NASTY_MDL)
    write_xmile(paths[2], plain_names, PLAIN_XMILE)
    write_xmile(paths[3], NASTY_XMILE_NAMES, NASTY_XMILE)
    return paths


if __name__ == "__main__":
    for written in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(written)
