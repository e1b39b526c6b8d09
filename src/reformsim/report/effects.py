"""A factorial run's package effects, where ``reformsim run`` shows them: a few lines under the
KPI table and a slide per variable (main effects and two-way interactions,
``analysis.factorial.factorial_effects``), so that "holistic beats the sum of single practices"
is read off the run, not computed by hand. ``reformsim factorial`` gives the full tables."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..analysis.factorial import FactorialEffects, factorial_effects
from ..analysis.requests import Period
from ..scenarios.spec import Factorial, combination_name
from .labels import signed, when

WIDTH = 100      # characters of a summary line
SHOWN = 3        # interactions named in the summary, at each end


def package_labels(dataset: Any, factorial: Factorial) -> dict[str, str]:
    """Each package's label: the label of the combination holding it alone."""
    names = [str(s) for s in dataset["scenario"].values]
    labels = [str(x) for x in dataset["label"].values] if "label" in dataset.coords else names
    by_name = dict(zip(names, labels))
    return {p: by_name.get(combination_name(factorial, (p,)), p) for p in factorial.packages}


def effects_at(dataset: Any, factorial: Factorial, variables: Sequence[str],
               time: float) -> FactorialEffects:
    """Main effects, interactions and the whole against its parts at one save time."""
    return factorial_effects(dataset, factorial, list(variables), [Period(time, time)])


def summary(dataset: Any, factorial: Factorial, variable: str, time: float) -> str:
    """A few lines for under the KPI table: each package's main effect, the strongest
    interactions at both ends, and all packages together against the sum of each alone."""
    found = effects_at(dataset, factorial, [variable], time)
    labels = package_labels(dataset, factorial)
    effects = found.effects
    scale = max([*effects["value"].abs(), abs(float(found.whole["all"].iloc[0])), 1e-12])
    main = effects[effects["kind"] == "main"].sort_values("value", ascending=False)
    pairs = effects[effects["kind"] == "interaction"].sort_values("value", ascending=False)

    def named(rows: Any) -> str:
        return ", ".join(f"{' x '.join(labels.get(p, p) for p in r.effect.split(' x '))} "
                         f"{signed(r.value, scale)}" for r in rows.itertuples())

    samples = dataset.sizes.get("sample", 1)
    over = f", means over {samples} samples" if samples > 1 else ""
    lines = [f"Package effects on {variable} {when(dataset, time)} "
             f"({2 ** len(factorial.packages)} combinations{over}):",
             f"main effects: {named(main)}"]
    if len(pairs):
        top, bottom = pairs.head(SHOWN), pairs.tail(SHOWN).iloc[::-1]
        bottom = bottom[~bottom["effect"].isin(top["effect"])]
        lines.append(f"largest interactions: {named(top)}"
                     + (f"; most negative: {named(bottom)}" if len(bottom) else ""))
    whole = found.whole.iloc[0]
    lines.append(f"all {len(main)} together: {signed(whole['all'], scale)} over the base; "
                 f"each alone, added up: {signed(whole['parts'], scale)} (synergy "
                 f"{signed(whole['synergy'], scale)}); 'reformsim factorial' gives every effect")
    wrapped = [textwrap.fill(lines[0], WIDTH)] + [
        textwrap.fill(line, WIDTH, initial_indent="  ", subsequent_indent="    ")
        for line in lines[1:]]
    return "\n".join(wrapped)


def document(dataset: Any, factorial: Factorial, variable: str, time: float) -> dict[str, Any]:
    """The same for ``--format json``: effects and the whole against its parts as records."""
    from .analysis_output import records

    found = effects_at(dataset, factorial, [variable], time)
    return {"variable": variable, "time": time, "effects": records(found.effects),
            "whole": records(found.whole)}


def slide(dataset: Any, factorial: Factorial, variable: str,
          found: FactorialEffects | None = None, drawn: Any = None) -> Any:
    """The effects slide of one variable at the end of the run (a Figure); ``found``: the
    effects already computed at that time; ``drawn``: an ``EffectsSlide`` to redraw (its
    Figure is returned), a new one without."""
    from .analysis_figures import EffectsSlide

    time = float(dataset["time"].values[-1])
    found = found or effects_at(dataset, factorial, [variable], time)
    return (drawn or EffectsSlide()).draw(found.effects, variable, time,
                                          package_labels(dataset, factorial), found.whole,
                                          when(dataset, time))


def slides(dataset: Any, factorial: Factorial, variables: Sequence[str],
           names: Sequence[str], clock: Any) -> dict[str, Callable[[Path], object]]:
    """A slide per variable (file name -> writer) of its package effects at the end of the
    run; the effects are computed once, when the first slide is written, and every slide
    redraws one layout (``analysis_figures.EffectsSlide``)."""
    time = float(dataset["time"].values[-1])
    found: dict[str, Any] = {}

    def writer(variable: str) -> Callable[[Path], object]:
        def write(path: Path) -> object:
            from .figures import save_figure

            with clock.phase("figures"):
                if "effects" not in found:
                    from .analysis_figures import EffectsSlide

                    found["effects"] = effects_at(dataset, factorial, variables, time)
                    found["slide"] = EffectsSlide()
                return save_figure(slide(dataset, factorial, variable, found["effects"],
                                         found["slide"]), path)
        return write

    return {name: writer(variable) for variable, name in zip(variables, names)}
