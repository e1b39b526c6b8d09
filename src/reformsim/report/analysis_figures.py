"""Figures of the decision analyses: index bars with intervals, indices over time, tornado,
rank correlations, factorial effects, optimiser convergence, data versus fit, regret.

Object-oriented matplotlib only; every function returns a Figure (save with
:func:`reformsim.report.figures.save_figure`). Inputs are the studies' plain results
(DataFrames and the dataclasses of ``reformsim.analysis``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .labels import signed
from .style import FONT, PALETTE, SLIDE, new_slide, plain, set_titles

FIGSIZE = SLIDE                  # 16:9, as every figure for the room
BLUE, VERMILION, GREEN = PALETTE[0], PALETTE[1], PALETTE[2]
GREY = "#999999"
TOP = 12     # parameters shown in bar charts: the most influential


def _figure(rows: int = 1, columns: int = 1, **kw: Any) -> tuple[Figure, Any]:
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    return fig, fig.subplots(rows, columns, squeeze=False, **kw)


def _style(ax: Axes, title: str = "", xlabel: str = "", ylabel: str = "") -> None:
    ax.set_title(title, fontsize=FONT["panel"], loc="left")
    ax.set_xlabel(xlabel, fontsize=FONT["label"])
    ax.set_ylabel(ylabel, fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["ticks"])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _time_text(time: Any, sentence: bool = False) -> str:
    """``2045`` or ``mean 2030-2045``; in a sentence, ``in 2045``, ``mean over 2030-2045``."""
    if isinstance(time, list | tuple):
        return f"{'mean over' if sentence else 'mean'} {time[0]:g}-{time[1]:g}"
    return f"{'in ' if sentence else ''}{time:g}"


def _rows(df: pd.DataFrame, output: str, time: Any) -> pd.DataFrame:
    return df[(df["output"] == output) & df["time"].apply(lambda t: t == time)]


def plot_indices(indices: pd.DataFrame, output: str, time: Any, method: str) -> Figure:
    """Horizontal bars per parameter: S1 and ST with their intervals (Sobol, FAST), or
    mu* with its interval (Morris); most influential on top."""
    rows = _rows(indices, output, time)
    fig, axes = _figure()
    ax = axes[0, 0]
    if method == "morris":
        rows = rows.sort_values("mu_star").tail(TOP)
        y = np.arange(len(rows))
        ax.barh(y, rows["mu_star"], xerr=rows["mu_star_conf"], color=BLUE, capsize=4,
                label="μ* (mean |elementary effect|)")
        ax.scatter(rows["sigma"], y, color=VERMILION, zorder=3, label="σ (spread: interactions)")
        xlabel = f"effect on {output} per range step"
    else:
        rows = rows.sort_values("ST").tail(TOP)
        y = np.arange(len(rows))
        ax.barh(y + 0.2, rows["ST"], height=0.38, xerr=rows["ST_conf"], color=BLUE,
                capsize=4, label="total (ST)")
        ax.barh(y - 0.2, rows["S1"], height=0.38, xerr=rows["S1_conf"], color=GREEN,
                capsize=4, label="first order (S1)")
        ax.axvline(0, color=GREY, linewidth=1)
        xlabel = f"share of the variance of {output}"
    ax.set_yticks(y, rows["parameter"])
    name = {"sobol": "Sobol", "fast": "FAST", "morris": "Morris"}.get(method, method)
    _style(ax, f"What drives {output} ({_time_text(time)}): {name}", xlabel)
    ax.legend(fontsize=FONT["legend"], frameon=False, loc="lower right")
    return fig


def plot_indices_over_time(over_time: pd.DataFrame, output: str, method: str) -> Figure:
    """Total (solid) and first-order (dashed) indices of the most influential parameters
    over time (mu* for Morris)."""
    rows = over_time[over_time["output"] == output]
    column = "mu_star" if method == "morris" else "ST"
    ranking = rows.groupby("parameter")[column].mean().sort_values(ascending=False)
    fig, axes = _figure()
    ax = axes[0, 0]
    for k, name in enumerate(ranking.index[:len(PALETTE)]):
        part = rows[rows["parameter"] == name].sort_values("time")
        colour = PALETTE[k]
        ax.plot(part["time"], part[column], color=colour, linewidth=2.5, label=name)
        if method != "morris":
            ax.plot(part["time"], part["S1"], color=colour, linewidth=1.5, linestyle="--")
    label = "μ*" if method == "morris" else "total index ST (solid), first order S1 (dashed)"
    _style(ax, f"Which parameters drive {output}, over time", "time", label)
    ax.legend(fontsize=FONT["legend"], frameon=False, loc="upper left",
              bbox_to_anchor=(1.01, 1.0))      # beside the lines, never over them
    return fig


def plot_tornado(swings: pd.DataFrame, output: str, time: Any) -> Figure:
    """One-at-a-time swings around the base: each parameter alone at its low and high end."""
    rows = _rows(swings, output, time).copy()
    rows["width"] = (rows["at_high"] - rows["at_low"]).abs()
    rows = rows.sort_values("width").tail(TOP)
    base = float(rows["base"].iloc[0]) if len(rows) else 0.0
    fig, axes = _figure()
    ax = axes[0, 0]
    y = np.arange(len(rows))
    ax.barh(y, rows["at_low"] - base, left=base, color=VERMILION, label="parameter at low end")
    ax.barh(y, rows["at_high"] - base, left=base, color=BLUE, label="parameter at high end")
    ax.axvline(base, color="#333333", linewidth=1.5)
    labels = [f"{r.parameter}  ({r.low:g} to {r.high:g})" for r in rows.itertuples()]
    ax.set_yticks(y, labels)
    _style(ax, f"{output} at {_time_text(time)}: one parameter at a time (base {base:.4g})",
           output)
    ax.legend(fontsize=FONT["legend"], frameon=False, loc="lower right")
    return fig


def plot_ranking(ranking: pd.DataFrame, output: str, time: Any) -> Figure:
    """Spearman correlations as a heat map: scenarios down, parameters across."""
    rows = _rows(ranking, output, time)
    labels = list(dict.fromkeys(rows["label"]))
    order = rows.groupby("parameter")["rho"].apply(lambda r: r.abs().mean()).sort_values(
        ascending=False).index[:TOP]
    grid = np.array([[float(rows[(rows["label"] == s) & (rows["parameter"] == p)]["rho"].iloc[0])
                      for p in order] for s in labels])
    fig, axes = _figure()
    ax = axes[0, 0]
    image = ax.imshow(grid, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for (i, j), value in np.ndenumerate(grid):
        ax.text(j, i, f"{value:+.2f}", ha="center", va="center", fontsize=FONT["ticks"] - 1,
                color="white" if abs(value) > 0.6 else "black")
    fig.colorbar(image, ax=ax, label="Spearman's ρ")
    _style(ax, f"Rank correlation of each sampled parameter with {output} "
           f"({_time_text(time)})")
    return fig


def plot_factorial(effects: pd.DataFrame, output: str, time: Any,
                   labels: Mapping[str, str] | None = None,
                   whole: pd.DataFrame | None = None, when: str = "") -> Figure:
    """A slide of a factorial's package effects on ``output`` at ``time``: main effects
    (bars, with 5-95% whiskers over samples) and two-way interactions (a triangle of a
    matrix); the subtitle names the largest effect and, with ``whole``, the whole against
    its parts. ``labels`` maps package names to the labels shown; ``when`` says the time in
    the title (``in 2045``, ``at month 60``; default from ``time``). A new Figure; a slide
    per variable of one run reuses an :class:`EffectsSlide` instead."""
    return EffectsSlide().draw(effects, output, time, labels, whole, when)


class EffectsSlide:
    """The package-effects slide laid out once (figure, titles, both Axes, the colour bar)
    and redrawn per variable: each slide changes only the data, texts and limits, so a
    run's effects slides skip making a figure, three Axes and their ticks anew each."""

    def __init__(self) -> None:
        self.fig, _ = new_slide("")
        self.bars = self.fig.add_axes((0.16, 0.125, 0.33, 0.70))
        self.matrix = self.fig.add_axes((0.585, 0.145, 0.30, 0.68))
        self.image = self.matrix.imshow(np.full((1, 1), np.nan), cmap="RdBu", vmin=-1, vmax=1)
        bar = self.fig.colorbar(self.image, cax=self.fig.add_axes((0.895, 0.145, 0.012, 0.68)))
        bar.set_label("+: better together than apart", fontsize=FONT["label"])
        bar.ax.tick_params(labelsize=FONT["note"])
        _style(self.matrix, "Two-way interactions")
        for side in ("top", "right"):
            self.matrix.spines[side].set_visible(True)

    def draw(self, effects: pd.DataFrame, output: str, time: Any,
             labels: Mapping[str, str] | None = None, whole: pd.DataFrame | None = None,
             when: str = "") -> Figure:
        """The slide of ``output`` (the same Figure each time; see ``plot_factorial``)."""
        rows = _rows(effects, output, time)
        main = rows[rows["kind"] == "main"]
        packages = list(main["effect"])
        names = [plain((labels or {}).get(p, p)) for p in packages]
        set_titles(self.fig, f"{output} {when or _time_text(time, True)}: what each package adds",
                   effects_takeaway(effects, output, time, labels, whole))
        self._main(main, names, output, _scale(rows, output, time, whole))
        self._interactions(rows, packages, names)
        return self.fig

    def _main(self, main: pd.DataFrame, names: list[str], output: str, scale: float) -> None:
        """Main effects as bars, the first package on top."""
        ax = self.bars
        _empty(ax)
        y = np.arange(len(main))
        err = None
        if "p5" in main:
            err = np.vstack([main["value"] - main["p5"], main["p95"] - main["value"]])
        ax.barh(y, main["value"], xerr=err, color=[BLUE if v >= 0 else VERMILION
                                                   for v in main["value"]], capsize=4)
        ax.axvline(0, color=GREY, linewidth=1)
        for k, value in enumerate(main["value"]):
            ax.annotate(signed(value, scale), (max(value, 0), k), xytext=(6, 0),
                        textcoords="offset points", va="center", fontsize=FONT["note"])
        ax.set_yticks(y, names)
        ax.yaxis.set_inverted(True)
        ax.margins(x=0.2)
        _style(ax, "Main effects", f"change in {output}, with minus without"
               + (" (5-95% of samples)" if err is not None else ""))

    def _interactions(self, rows: pd.DataFrame, packages: list[str], names: list[str]) -> None:
        """The lower triangle of the interaction matrix: row b, column a for the pair a x b;
        the colour bar follows the image's limits."""
        n = len(packages)
        grid = np.full((max(n - 1, 1), max(n - 1, 1)), np.nan)
        for r in rows[rows["kind"] == "interaction"].itertuples():
            a, b = r.effect.split(" x ")
            i, j = sorted((packages.index(a), packages.index(b)))
            grid[j - 1, i] = r.value
        ax = self.matrix
        for text in [*ax.texts]:
            text.remove()
        finite = np.abs(grid[np.isfinite(grid)])
        reach = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        ax.ignore_existing_data_limits = True
        self.image.set_data(grid)
        self.image.set_extent((-0.5, grid.shape[1] - 0.5, grid.shape[0] - 0.5, -0.5))
        self.image.set_clim(-reach, reach)
        ax.set_xticks(range(grid.shape[1]), names[:grid.shape[1]], rotation=30, ha="right")
        ax.set_yticks(range(grid.shape[0]), names[1:1 + grid.shape[0]])
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(j, i, signed(value, reach * 10), ha="center", va="center",
                        fontsize=FONT["note"],
                        color="white" if abs(value) > 0.6 * reach else "black")


def _empty(ax: Axes) -> None:
    """``ax`` without what the last slide drew into it, its ticks kept (as ``figures.Deck``),
    its limits and margins those of a new Axes: the data limits of a line across the Axes
    (``axvline``) pass through the view's transform, so the last slide's view would round
    them differently (all-zero bars would span 0 to 3e-17, not -0.07 to 0.07). What a slide
    sets besides (ticks, labels, inversion, margins) it sets again."""
    for container in [*ax.containers]:
        container.remove()
    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
        artist.remove()
    ax.ignore_existing_data_limits = True
    ax.margins(x=rcParams["axes.xmargin"], y=rcParams["axes.ymargin"])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_autoscale_on(True)


def _scale(rows: pd.DataFrame, output: str, time: Any, whole: pd.DataFrame | None) -> float:
    """The largest number a summary of effects shows (for its digits)."""
    values = list(rows["value"].abs())
    if whole is not None:
        values += list(_rows(whole, output, time)["all"].abs())
    finite = [v for v in values if np.isfinite(v)]
    return max(finite) if finite else 1.0


NO_EFFECT = 1e-12    # effects this small are floating-point noise, not a package's doing


def effects_takeaway(effects: pd.DataFrame, output: str, time: Any,
                     labels: Mapping[str, str] | None = None,
                     whole: pd.DataFrame | None = None) -> str:
    """One sentence: the package with the largest main effect and, with ``whole``, all
    packages together against the sum of each alone."""
    rows = _rows(effects, output, time)
    main = rows[rows["kind"] == "main"]
    if not len(main):
        return ""
    scale = _scale(rows, output, time, whole)
    if not scale > NO_EFFECT:   # every effect is rounding noise (or NaN): no package stands out
        return f"No package changes {output}: every effect is 0"
    top = main.loc[main["value"].abs().idxmax()]
    text = (f"{(labels or {}).get(top['effect'], top['effect'])} has the largest effect "
            f"({signed(top['value'], scale)})")
    together = None if whole is None else _rows(whole, output, time)
    if together is not None and len(together):
        w = together.iloc[0]
        verdict = "more" if w["synergy"] > 0 else "less"
        text += (f"; all {len(main)} together {signed(w['all'], scale)}, {verdict} than the "
                 f"sum of each alone ({signed(w['parts'], scale)})")
    return text


def plot_convergence(history: pd.DataFrame, variable: str, maximize: bool) -> Figure:
    """Best objective so far and each generation's median against members simulated."""
    fig, axes = _figure()
    ax = axes[0, 0]
    ax.plot(history["evaluations"], history["best"], color=BLUE, linewidth=2.5,
            label="best so far")
    ax.plot(history["evaluations"], history["median"], color=GREY, linewidth=1.5,
            label="generation median")
    _style(ax, f"{'Maximising' if maximize else 'Minimising'} {variable}: convergence",
           "members simulated", variable)
    ax.legend(fontsize=FONT["legend"], frameon=False)
    return fig


def plot_fit(calibration: Any) -> Figure:
    """Data (points) against the fitted run (line), with the 5-95% band of posterior draws."""
    names = list(calibration.observations.names)
    fig, axes = _figure(len(names), 1, sharex=True)
    for ax, name in zip(axes[:, 0], names):
        if calibration.band is not None:
            low, high = calibration.band[name]
            ax.fill_between(calibration.times, low, high, color=BLUE, alpha=0.2,
                            label="5-95% over posterior draws")
        ax.plot(calibration.times, calibration.fit[name], color=BLUE, linewidth=2.5,
                label="fitted run")
        ax.scatter(calibration.observations.times[name], calibration.observations.values[name],
                   color=VERMILION, zorder=3, label="data")
        stats = calibration.theil[name]
        check = " (check, not fitted)" if name in calibration.checks else ""
        _style(ax, f"{name}{check}: RMSPE {stats['RMSPE']:.1%}, U^M {stats['UM']:.2f}, "
               f"U^S {stats['US']:.2f}, U^C {stats['UC']:.2f}", ylabel=name)
    axes[0, 0].legend(fontsize=FONT["legend"], frameon=False)
    axes[-1, 0].set_xlabel("time", fontsize=FONT["label"])
    return fig


def plot_regret(table: pd.DataFrame, output: str, time: Any) -> Figure:
    """Mean and largest regret of each roadmap across futures (lower is more robust)."""
    rows = _rows(table, output, time).sort_values("max_regret", ascending=False)
    fig, axes = _figure()
    ax = axes[0, 0]
    y = np.arange(len(rows))
    ax.barh(y + 0.2, rows["max_regret"], height=0.38, color=VERMILION, label="largest regret")
    ax.barh(y - 0.2, rows["mean_regret"], height=0.38, color=BLUE, label="mean regret")
    ax.set_yticks(y, rows["label"])
    _style(ax, f"Regret on {output} ({_time_text(time)})",
           f"shortfall in {output} from the best roadmap of each future")
    ax.legend(fontsize=FONT["legend"], frameon=False, loc="upper right")   # the small regrets
    return fig


def first_key(df: pd.DataFrame) -> list[tuple[str, Any]]:
    """(output, time) pairs of a study's rows, in order."""
    seen: list[tuple[str, Any]] = []
    for output, time in zip(df["output"], df["time"]):
        if (output, time) not in seen:
            seen.append((output, time))
    return seen


def slug(text: str) -> str:
    """A file-name part from a variable's name."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def keys_of(df: pd.DataFrame, outputs: Sequence[str]) -> list[tuple[str, Any]]:
    return [k for k in first_key(df) if k[0] in outputs]
