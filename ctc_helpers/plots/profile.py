"""Charts of the area profile and the prioritisation worksheet, one style, Swedish by default.

Every function takes the published tables (or a frame made from them), draws on ``ax`` (a new
Axes when ``None``) and returns the Axes. None of them shows, saves or sizes the figure: that is
the caller's job. Suppressed values are never drawn; their place is a labelled gap ("för få svar").

Colours come from one colour-blind-safe palette, seaborn's ``"colorblind"`` (after Okabe & Ito
2008), held here as constants: the area in blue, the city in orange, the previous wave in black,
suggested factors in vermillion; grades and sexes take the palette in order; the heat map uses
``cividis`` (designed for colour-vision deficiency). Percentages are 0-100 on the axes; the tables
behind them hold 0..1.

The functions draw with matplotlib and style each Axes themselves, so they look the same with or
without :func:`use_style` and do not import seaborn: seaborn imports ``scipy.stats``, about 2 s,
more than a whole empty papermill run (about 0.9 s) and paid by every report of a batch.
:func:`use_style` applies the matching seaborn theme for interactive work.

Examples
--------
>>> sorted(PALETTE)
['area', 'city', 'gap', 'grid', 'other', 'previous', 'suggested']
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from ctc_helpers.i18n import check_language, t
from ctc_helpers.views.frames import areas_frame, breakdown_frame, profile_frame
from ctc_helpers.views.labels import measure_labels
from ctc_helpers.vocab import CITY

__all__ = [
    "PALETTE",
    "use_style",
    "plot_profile",
    "plot_behaviours",
    "plot_area_comparison",
    "plot_prioritization",
]

PALETTE = {
    "area": "#0072B2",  # blue
    "city": "#E69F00",  # orange
    "previous": "#000000",  # black
    "suggested": "#D55E00",  # vermillion
    "other": "#999999",  # grey
    "gap": "#6E6E6E",  # text of a suppressed gap
    "grid": "#DDDDDD",
}
COLORBLIND = (  # seaborn.color_palette("colorblind").as_hex()
    "#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc",
    "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9",
)  # fmt: skip
HEATMAP_CMAP = "cividis_r"
COMPARISONS = ("city", "previous_wave")


def use_style() -> None:
    """Apply the matching seaborn theme (white grid, colour-blind palette) to new figures.

    Optional: the plot functions style their Axes themselves. Imports seaborn (slow, see above).
    """
    import seaborn as sns  # with scipy.stats 1.2 s at import (after pandas); optional styling only

    sns.set_theme(style="whitegrid", palette="colorblind", font_scale=0.9)


def _axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.gca()


def _finish(ax: Axes, *, value_axis: str = "x") -> Axes:
    for side in ("top", "right", "left" if value_axis == "x" else "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y" if value_axis == "x" else "x", length=0)
    ax.grid(axis=value_axis, color=PALETTE["grid"], linewidth=0.8)
    ax.grid(axis="y" if value_axis == "x" else "x", visible=False)
    ax.set_axisbelow(True)
    return ax


def _layout(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[float, str]]]:
    """Row positions with a header row per domain: (frame with ``y``, [(y, domain label)])."""
    positions, headers, y = [], [], 0.0
    for domain, group in frame.groupby("domain_label", sort=False):
        headers.append((y, str(domain)))
        y += 1
        positions.extend(y + np.arange(len(group)))
        y += len(group)
    return frame.assign(y=positions), headers


def _row_labels(
    ax: Axes, placed: pd.DataFrame, headers: list[tuple[float, str]], label: str
) -> None:
    ticks = [*placed["y"], *(y for y, _ in headers)]
    texts = [*placed[label], *(text for _, text in headers)]
    ax.set_yticks(ticks, texts)
    for tick in ax.get_yticklabels()[len(placed) :]:
        tick.set_fontweight("bold")
    ax.set_ylim(max(ticks) + 0.7, -0.7)


def _gap_labels(ax: Axes, ys: Sequence[float], lang: str, *, x: float = 0.5) -> None:
    for y in ys:
        ax.text(x, y, t("plot_too_few", lang), va="center", ha="left", fontsize="small",
                style="italic", color=PALETTE["gap"])  # fmt: skip


def _percent_axis(ax: Axes, values: Sequence[float], label: str) -> None:
    finite = [v for v in values if pd.notna(v)]
    top = min(100.0, max([*finite, 10.0]) * 1.15)
    ax.set_xlim(0, top)
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel(label)


def plot_profile(
    table: pd.DataFrame,
    *,
    kind: str = "risk",
    area: str,
    wave: int,
    comparison: Sequence[str] = COMPARISONS,
    measures: pd.DataFrame | None = None,
    area_label: str | None = None,
    ax: Axes | None = None,
    lang: str | None = None,
) -> Axes:
    """Risk or protective profile, CTC style: one bar per factor grouped by domain.

    Bars give the area's share at risk (``kind="risk"``) or with protection
    (``"protective"``) with 95 % interval whiskers; markers give the city (diamond) and the
    previous wave (open circle), as chosen in ``comparison``. With ``measures`` the composite of
    the same kind ends the chart and labels are the factors' names. For the city
    (``area == "all"``) the city marker is left out.

    Parameters
    ----------
    table : pandas.DataFrame
        The published tidy aggregate table.
    kind : {"risk", "protective", "behaviour", "composite"}
    area, wave : area id (``"all"``: the city) and survey year.
    comparison : sequence of {"city", "previous_wave"}
        Comparison series to draw.
    measures : pandas.DataFrame, optional
        Published measures (labels, and which composite ends the profile).
    area_label : str, optional
        Legend text of the bars (default: the area id, or the city's name).
    ax : matplotlib Axes, optional
    lang : {"sv", "en"}, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = check_language(lang)
    unknown = [c for c in comparison if c not in COMPARISONS]
    if unknown:
        raise ValueError(
            f"comparison {unknown[0]!r} is unknown; choose from: {', '.join(COMPARISONS)}."
        )
    ax = _axes(ax)
    frame = profile_frame(
        table, None, kind=kind, area=area, wave=wave, measures=measures, lang=lang
    )
    if frame.empty:
        return _empty(ax, lang)
    placed, headers = _layout(frame)
    shown = placed.loc[~placed["suppressed"]]
    label = area_label or (t("city", lang) if area == CITY else area)
    bars = _bars(ax, shown, label=f"{label} {wave}")
    if "city" in comparison and area != CITY:
        city = placed.loc[~placed["city_suppressed"].fillna(True).astype(bool)]
        ax.scatter(100 * city["pct_city"], city["y"], marker="D", s=28, zorder=3,
                   color=PALETTE["city"], label=f"{t('city', lang)} {wave}")  # fmt: skip
    previous = placed["previous_wave"].iloc[0]
    if "previous_wave" in comparison and pd.notna(previous):
        before = placed.loc[~placed["previous_suppressed"].fillna(True).astype(bool)]
        ax.scatter(100 * before["pct_previous"], before["y"], marker="o", s=30, zorder=4,
                   facecolors="none", edgecolors=PALETTE["previous"], linewidths=1.2,
                   label=f"{label} {int(previous)}")  # fmt: skip
    _gap_labels(ax, placed.loc[placed["suppressed"], "y"], lang)
    _row_labels(ax, placed, headers, "label")
    values = [
        *(100 * placed["ci_high"]),
        *(100 * placed["pct_city"]),
        *(100 * placed["pct_previous"]),
    ]
    _percent_axis(ax, values, t(f"plot_axis_{kind}", lang))
    _legend(ax, first=[bars])
    return _finish(ax)


def _bars(ax: Axes, shown: pd.DataFrame, *, label: str) -> Patch:
    pct = 100 * shown["pct"]
    err = np.vstack([pct - 100 * shown["ci_low"], 100 * shown["ci_high"] - pct])
    ax.barh(shown["y"], pct, height=0.7, color=PALETTE["area"], zorder=2,
            xerr=np.nan_to_num(err), error_kw={"ecolor": "#333333", "elinewidth": 0.9, "capsize": 2})  # fmt: skip
    return Patch(color=PALETTE["area"], label=label)


def _legend(ax: Axes, *, first: Sequence = (), extra: Sequence = ()) -> None:
    """Legend below the Axes: ``first`` (bar colours), the labelled markers, then ``extra``.

    Bars get explicit patches so that a series whose every value is hidden keeps its colour.
    """
    markers, labels = ax.get_legend_handles_labels()
    handles = [*first, *markers, *extra]
    labels = [*(h.get_label() for h in first), *labels, *(h.get_label() for h in extra)]
    if handles:
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.08),
                  ncol=min(len(handles), 4), frameon=False, fontsize="small")  # fmt: skip


def _empty(ax: Axes, lang: str) -> Axes:
    ax.text(0.5, 0.5, t("plot_no_data", lang), ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def plot_behaviours(
    table: pd.DataFrame,
    *,
    area: str,
    wave: int,
    by: str = "grade",
    measures: pd.DataFrame | None = None,
    ax: Axes | None = None,
    lang: str | None = None,
) -> Axes:
    """Problem behaviours (% of respondents) by grade or by sex, one bar per group.

    Parameters
    ----------
    table : pandas.DataFrame
        The published tidy aggregate table.
    area, wave : area id (``"all"``: the city) and survey year.
    by : {"grade", "sex"}
        Grades (both sexes together) or girls and boys (all grades together).
    measures : pandas.DataFrame, optional
        Published measures (labels).
    ax : matplotlib Axes, optional
    lang : {"sv", "en"}, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = check_language(lang)
    ax = _axes(ax)
    frame = breakdown_frame(
        table, kind="behaviour", area=area, wave=wave, by=by, measures=measures, lang=lang
    )
    if frame.empty:
        return _empty(ax, lang)
    groups = list(dict.fromkeys(frame["group"]))
    names = dict(zip(frame["group"], frame["group_label"], strict=False))
    colours = dict(zip(groups, COLORBLIND, strict=False))
    rows = {m: i for i, m in enumerate(dict.fromkeys(frame["measure"]))}
    height = 0.8 / len(groups)
    placed = frame.assign(
        y=frame["measure"].map(rows)
        + (frame["group"].map(groups.index) - (len(groups) - 1) / 2) * height
    )
    for group in groups:
        shown = placed.loc[placed["group"].eq(group) & ~placed["suppressed"]]
        ax.barh(shown["y"], 100 * shown["pct"], height=height * 0.95, color=colours[group],
                zorder=2)  # fmt: skip
    gaps = placed.loc[placed["suppressed"], "y"]
    for y in gaps:
        ax.text(0.3, y, t("suppressed_marker", lang), va="center", fontsize="x-small",
                color=PALETTE["gap"])  # fmt: skip
    labels = frame.drop_duplicates("measure").set_index("measure")["label"]
    ax.set_yticks(list(rows.values()), [labels[m] for m in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    _percent_axis(ax, list(100 * frame["pct"]), t("plot_axis_behaviour", lang))
    extra = [Patch(color="none", label=f"– {t('plot_too_few', lang)}")] if len(gaps) else []
    _legend(ax, first=[Patch(color=colours[g], label=names[g]) for g in groups], extra=extra)
    return _finish(ax)


def plot_area_comparison(
    table: pd.DataFrame,
    *,
    kind: str = "risk",
    wave: int,
    area: str | None = None,
    areas: pd.DataFrame | None = None,
    measures: pd.DataFrame | None = None,
    ax: Axes | None = None,
    lang: str | None = None,
) -> Axes:
    """Every area side by side: a heat map of the share per factor (rows) and area (columns).

    Suppressed cells are grey with "–". The column of ``area`` (when it is an area) is framed.

    Parameters
    ----------
    table : pandas.DataFrame
        The published tidy aggregate table.
    kind : {"risk", "protective", "behaviour", "composite"}
    wave : int
    area : str, optional
        Area to frame; ``None`` or ``"all"`` frames nothing.
    areas, measures : pandas.DataFrame, optional
        Area list (``area_id, name``) and measure labels.
    ax : matplotlib Axes, optional
    lang : {"sv", "en"}, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = check_language(lang)
    ax = _axes(ax)
    frame = areas_frame(table, kind=kind, wave=wave, areas=areas, measures=measures, lang=lang)
    if frame.empty:
        return _empty(ax, lang)
    frame = frame.assign(value=(100 * frame["pct"]).where(~frame["suppressed"]))
    columns = list(dict.fromkeys(frame["area_label"]))
    rows = list(dict.fromkeys(frame["label"]))
    grid = frame.pivot_table(index="label", columns="area_label", values="value", aggfunc="first",
                             dropna=False).reindex(index=rows, columns=columns)  # fmt: skip
    _heatmap(ax, grid, label=t(f"plot_axis_{kind}", lang), marker=t("suppressed_marker", lang))
    if area and area != CITY:
        names = {} if areas is None else dict(zip(areas["area_id"], areas["name"], strict=True))
        target = names.get(area, area)
        if target in columns:
            ax.add_patch(plt.Rectangle((columns.index(target), 0), 1, len(rows), fill=False,
                                       edgecolor=PALETTE["suggested"], linewidth=2.5, clip_on=False))  # fmt: skip
    return ax


def _heatmap(ax: Axes, grid: pd.DataFrame, *, label: str, marker: str) -> None:
    values = np.ma.masked_invalid(grid.to_numpy(dtype=float))
    ax.set_facecolor("#EEEEEE")
    mesh = ax.pcolormesh(values, cmap=HEATMAP_CMAP, vmin=0, edgecolors="white", linewidth=0.5)
    colours = mesh.to_rgba(values.filled(0))
    for (row, column), value in np.ndenumerate(values.filled(np.nan)):
        dark = np.isfinite(value) and colours[row, column, :3] @ (0.299, 0.587, 0.114) < 0.5
        text = marker if np.isnan(value) else f"{value:.0f}"
        colour = PALETTE["gap"] if np.isnan(value) else ("white" if dark else "black")
        ax.text(
            column + 0.5,
            row + 0.5,
            text,
            ha="center",
            va="center",
            fontsize="x-small",
            color=colour,
        )
    ax.figure.colorbar(mesh, ax=ax, label=label, format=PercentFormatter(decimals=0))
    ax.set_xticks(np.arange(grid.shape[1]) + 0.5, grid.columns, rotation=45, ha="right",
                  rotation_mode="anchor")  # fmt: skip
    ax.set_yticks(np.arange(grid.shape[0]) + 0.5, grid.index)
    ax.set_ylim(grid.shape[0], 0)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_prioritization(
    ranked: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    ax: Axes | None = None,
    lang: str | None = None,
) -> Axes:
    """How much worse than the city each factor is, with its interval; suggestions highlighted.

    For risk factors "worse" is a higher share at risk, for protective factors a lower share with
    protection, so right of zero is worse for both. Factors are grouped by kind in rank order;
    filled vermillion dots are suggested, a ring marks a statistically clear difference. For the
    city report (no comparison) the share concerned is drawn instead.

    Parameters
    ----------
    ranked : pandas.DataFrame
        Output of :func:`ctc_helpers.phases.prioritization.rank_factors`.
    measures : pandas.DataFrame, optional
        Published measures (labels).
    ax : matplotlib Axes, optional
    lang : {"sv", "en"}, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = check_language(lang)
    ax = _axes(ax)
    if ranked.empty:
        return _empty(ax, lang)
    labels = measure_labels(measures, lang) if measures is not None else {}
    frame = ranked.assign(
        label=[_rank_label(r, labels) for r in ranked.to_dict("records")],
        domain_label=ranked["kind"].map(lambda k: t(f"plot_kind_{k}", lang)),
    )
    placed, headers = _layout(frame)
    versus_city = bool(ranked["diff"].notna().any())
    sign = np.where(placed["kind"].eq("risk"), 100.0, -100.0)
    if versus_city:
        _worse_points(ax, placed.assign(x=placed["diff"] * sign, lo=np.minimum(placed["diff_low"] * sign, placed["diff_high"] * sign),
                                        hi=np.maximum(placed["diff_low"] * sign, placed["diff_high"] * sign)), lang)  # fmt: skip
        ax.set_xlabel(t("plot_axis_worse_points", lang))
    else:
        ok = placed.loc[placed["status"].eq("ok")]
        colours = np.where(ok["suggested"], PALETTE["suggested"], PALETTE["other"])
        ax.barh(ok["y"], 100 * ok["share_concerned"], color=colours, height=0.6, zorder=2)
        _percent_axis(ax, list(100 * ok["share_concerned"]), t("plot_axis_concerned", lang))
    _gap_labels(ax, placed.loc[placed["status"].ne("ok"), "y"], lang, x=0.02)
    _row_labels(ax, placed, headers, "label")
    suggested = Line2D(
        [],
        [],
        marker="o",
        linestyle="",
        color=PALETTE["suggested"],
        label=t("plot_suggested", lang),
    )
    other = Line2D(
        [],
        [],
        marker="o",
        linestyle="",
        color=PALETTE["other"],
        label=t("plot_not_suggested", lang),
    )
    extra = [suggested, other]
    if versus_city:
        extra.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markersize=11,
                            markeredgecolor="#333333", label=t("plot_clear", lang)))  # fmt: skip
    _legend(ax, extra=extra)
    return _finish(ax)


def _rank_label(row: dict, labels: dict[str, str]) -> str:
    name = labels.get(row["factor"], row["factor"])
    return f"{int(row['rank'])}. {name}" if pd.notna(row["rank"]) else name


def _worse_points(ax: Axes, placed: pd.DataFrame, lang: str) -> None:
    ok = placed.loc[placed["status"].eq("ok")]
    ax.axvline(0, color="#333333", linewidth=0.9, zorder=1)
    colours = np.where(ok["suggested"], PALETTE["suggested"], PALETTE["other"])
    ax.hlines(ok["y"], ok["lo"], ok["hi"], colors=colours, linewidth=1.6, zorder=2)
    ax.scatter(ok["x"], ok["y"], c=colours, s=36, zorder=3)
    clear = ok.loc[ok["clear"]]
    ax.scatter(clear["x"], clear["y"], s=130, facecolors="none", edgecolors="#333333",
               linewidths=1.0, zorder=4)  # fmt: skip
    finite = np.abs(np.r_[ok["lo"].dropna(), ok["hi"].dropna(), 5.0])
    reach = float(finite.max()) * 1.1
    ax.set_xlim(-reach, reach)
