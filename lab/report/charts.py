"""Charts for the quality report, where people would rather look than read a table.

Each function returns an inline-ready `<svg>` string. The SVG is deterministic: no date, no
matplotlib version, and ids come from a fixed hash salt, so a report re-rendered from the same run
folder is byte-identical and its recorded hash can be verified. Ids are prefixed per chart and the
embedded stylesheet is scoped to the chart, so several charts can share one HTML page.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec
from xml.sax.saxutils import quoteattr

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

P = ParamSpec("P")

# Okabe–Ito: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
WIDTH = 8.0  # inches
_RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": "exolab",
    "svg.fonttype": "none",  # real <text>: searchable, accessible, no glyph paths
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "sans-serif"],
    "font.size": 9,
    "text.parse_math": False,  # a "$" in a run label or question id stays a dollar sign
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True)
class TrendPoint:
    """One run on the trend chart; `current` marks the run the report is about."""

    label: str
    completeness: float | None
    accuracy: float | None
    current: bool = False


def _styled(draw: Callable[P, str]) -> Callable[P, str]:
    """Artists read rcParams when they are created, so the whole drawing runs inside the style."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        with matplotlib.rc_context(_RC):
            return draw(*args, **kwargs)

    return wrapper


def _figure(height: float, width: float = WIDTH) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _to_svg(fig: Figure, title: str, slug: str) -> str:
    """Serialise without volatile metadata; make ids page-unique and label the root for screen readers."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    root = f"exolab-{slug}"
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{root}-\1"', svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{root}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{root}-\1)", svg)
    svg = re.sub(r"(<style[^>]*>)\*\{", rf"\1#{root} *{{", svg)
    return svg.replace("<svg", f'<svg id="{root}" role="img" aria-label={quoteattr(title)}', 1)


def _message(text: str, title: str, slug: str) -> str:
    fig = _figure(1.2)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#555555")
    return _to_svg(fig, title, slug)


@_styled
def question_heatmap_svg(completeness: pd.DataFrame, accuracy: pd.DataFrame) -> str:
    """Completeness and accuracy per question (rows) and prompt version (columns), as 0–100 % heatmaps,
    so weak questions and the version that fixed or broke them stand out at a glance."""
    title = "Completeness and accuracy per question and prompt version"
    if completeness.empty:
        return _message("no questions", title, "question-heatmap")
    questions = [str(q) for q in completeness.index]
    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#e6e6e6")
    fig = _figure(1.4 + 0.34 * max(len(questions), 2), min(WIDTH, 4.0 + 1.4 * len(completeness.columns)))
    axes = fig.subplots(1, 2, sharey=True)
    image = None
    for ax, name, frame in zip(axes, ("Completeness", "Accuracy"), (completeness, accuracy), strict=True):
        values = frame.reindex(index=completeness.index).to_numpy(dtype=float, na_value=np.nan) * 100
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=100, aspect="auto")
        for (row, col), value in np.ndenumerate(values):
            if math.isnan(value):
                ax.text(col, row, "n/a", ha="center", va="center", color="#666666")
                continue
            red, green, blue, _ = cmap(value / 100)
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            ax.text(col, row, f"{value:.0f}%", ha="center", va="center", color="white" if dark else "black")
        ax.set_title(name, fontsize=11)
        ax.set_xticks(range(len(frame.columns)), [str(c) for c in frame.columns])
        ax.set_yticks(range(len(questions)), questions)
        ax.tick_params(length=0)
        ax.set_xticks(np.arange(-0.5, len(frame.columns)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(questions)), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="minor", length=0)
        ax.spines[:].set_visible(False)
    assert image is not None
    fig.colorbar(image, ax=axes, ticks=[0, 25, 50, 75, 100], format=PercentFormatter(100), shrink=0.8, aspect=30)
    fig.suptitle(title, fontsize=12)
    return _to_svg(fig, title, "question-heatmap")


@_styled
def trend_svg(points: list[TrendPoint]) -> str:
    """Completeness and accuracy over recent runs, oldest first, with this run's versions marked (and
    not joined to each other), so a regression shows as a dip rather than a number to compare by eye."""
    title = "Completeness and accuracy across runs"
    if not points:
        return _message("no runs", title, "trend")
    fig = _figure(3.8)
    ax = fig.subplots()
    xs = np.arange(len(points))
    series = (("Completeness", "completeness", PALETTE[0], "o"), ("Accuracy", "accuracy", PALETTE[2], "s"))
    for name, attr, colour, marker in series:
        ys = np.array([np.nan if getattr(p, attr) is None else getattr(p, attr) * 100 for p in points], dtype=float)
        # the line joins the earlier runs only: this run's versions are alternatives, not a sequence
        current = [i for i, p in enumerate(points) if p.current and not math.isnan(ys[i])]
        history = ys.copy()
        history[[i for i, p in enumerate(points) if p.current]] = np.nan
        ax.plot(xs, history, color=colour, marker=marker, markersize=5, linewidth=1.8, label=name)
        ax.plot(xs[current], ys[current], linestyle="none", marker=marker, markersize=5, color=colour)
        ax.plot(xs[current], ys[current], linestyle="none", marker=marker, markersize=11,
                markerfacecolor="none", markeredgecolor=colour, markeredgewidth=2)
    for i, point in enumerate(points):
        if point.current:
            ax.axvline(i, color="#999999", linestyle=":", linewidth=1, zorder=0)
            ax.annotate("this run", xy=(i, 1.0), xycoords=ax.get_xaxis_transform(), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontweight="bold")
    ax.set_xlim(-0.5, len(points) - 0.5)
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    rotate = len(points) > 10 or max(len(p.label) for p in points) * len(points) > 90
    ax.set_xticks(xs, [p.label for p in points], rotation=45 if rotate else 0, ha="right" if rotate else "center")
    for tick, point in zip(ax.get_xticklabels(), points, strict=True):
        tick.set_fontweight("bold" if point.current else "normal")
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.8)
    ax.set_axisbelow(True)
    fig.legend(loc="outside lower center", frameon=False, ncols=2)
    fig.suptitle(title, fontsize=12)
    return _to_svg(fig, title, "trend")


@_styled
def first_question_svg(turns: dict[str, list[int | None]]) -> str:
    """How early each prompt version starts discovery: scenarios counted by the assistant turn of the
    first discovery question, with "never" for scenarios where none was asked."""
    title = "Turn of the first discovery question per prompt version"
    if not any(turns.values()):
        return _message("no scenarios", title, "first-question")
    asked = sorted({t for values in turns.values() for t in values if t is not None})
    numbers = list(range(1, asked[-1] + 1)) if asked and asked[-1] <= 20 else asked
    categories: list[int | None] = [*numbers, None]
    fig = _figure(3.8)
    ax = fig.subplots()
    width = 0.8 / len(turns)
    for k, (version, values) in enumerate(turns.items()):
        counts = Counter(values)
        offsets = np.arange(len(categories)) - 0.4 + width * (k + 0.5)
        ax.bar(offsets, [counts[c] for c in categories], width=width * 0.92,
               color=PALETTE[k % len(PALETTE)], label=f"{version} (n={len(values)})")
    if numbers:
        ax.axvline(len(numbers) - 0.5, color="#999999", linestyle=":", linewidth=1)
    ax.set_xticks(range(len(categories)), [str(c) if c is not None else "never" for c in categories])
    ax.set_xlabel("assistant turn")
    ax.set_ylabel("scenarios")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(frameon=False, title="prompt version", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(title, fontsize=12)
    return _to_svg(fig, title, "first-question")
