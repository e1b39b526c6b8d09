"""``reformsim explore``: the live explorer, a local web page with a slider per lever."""

from __future__ import annotations

from pathlib import Path

import click

from .app import main
from .options import ExistingFile

DEFAULT_FILE = "reform_roadmaps.yaml"   # the shipped roadmaps: presets worth starting from


@main.command()
@click.argument("scenario_file", required=False, type=ExistingFile)
@click.option("--model", type=ExistingFile,
              help="Model to explore (default: the one the scenario file names).")
@click.option("--kpi", "kpis", multiple=True, metavar="NAME[,NAME...]",
              help="Variables to chart at first (default: the file's first four outputs).")
@click.option("--preset", help="Scenario to start from (default: the file's baseline).")
@click.option("--port", type=click.IntRange(1, 65535), default=5006, show_default=True,
              help="Port on 127.0.0.1 to serve on.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
@click.pass_context
def explore(ctx: click.Context, scenario_file: Path | None, model: Path | None,
            kpis: tuple[str, ...], preset: str | None, port: int, no_browser: bool) -> None:
    """Serve a live explorer of SCENARIO_FILE's model on http://127.0.0.1:PORT/.

    Each lever of the model gets a slider (over its documented range), each scenario of the
    file is a preset to start from, and every release of a slider re-runs the model and
    redraws the chosen KPIs against the file's baseline; uncertainty bands on request.
    Without arguments: the shipped reform model and its roadmaps. Stop with Ctrl+C.
    """
    import logging

    from ..engine.loading import load_model
    from ..explore.server import serve
    from ..explore.session import Explorer
    from ..scenarios.loading import load_scenarios
    from ..scenarios.spec import ScenarioSet

    files = [scenario_file] if scenario_file else ([] if model else [_shipped()])
    scenarios = load_scenarios(files) if files else ScenarioSet()
    target = model or scenarios.model
    if target is None:
        raise click.ClickException(f"{scenario_file}: the file names no model"
                                   "\n  hint: pass --model path/to/model.mdl")
    quiet = ctx.obj.get("quiet", False)
    if not quiet:
        click.echo(f"reading and compiling {Path(target).name} ...", err=True)
    explorer = Explorer(load_model(Path(target)), scenarios, start=preset,
                        kpis=[k.strip() for text in kpis for k in text.split(",") if k.strip()])
    if not quiet:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        for noisy in ("bokeh", "tornado.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        click.echo(f"{len(explorer.levers)} levers, {len(explorer.presets)} presets; serving on "
                   f"http://127.0.0.1:{port}/ (Ctrl+C to stop)", err=True)
    serve(explorer, port=port, show=not no_browser)


def _shipped() -> Path:
    from ..report.runs import shipped_scenarios

    files = shipped_scenarios()
    chosen = [p for p in files if p.name == DEFAULT_FILE] or files
    if not chosen:
        raise click.ClickException("no scenario file given, and none are shipped"
                                   "\n  hint: reformsim explore SCENARIO_FILE, or --model MODEL")
    return chosen[0]
