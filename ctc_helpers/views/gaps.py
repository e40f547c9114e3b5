"""The display edge of the resource and gap analysis (notebook 03 and the gap dashboard): the
city view (every area's priorities next to its programme coverage) with its chart, the reach
chart, and the tables and texts of the report in Swedish or English.

Part of the resource and gap analysis; the overview is in :mod:`ctc_helpers.phases.gaps.inputs`.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.inventory import (
    CITY,
    FLAGGED_KINDS,
    GAP_TYPES,
    TOTAL,
    _factor_kinds,
    load_inventory_schema,
)
from ctc_helpers.config.programme_bank import ProgrammeBank
from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.gaps.gaps import coverage_summary, gap_matrix
from ctc_helpers.phases.gaps.inventory import Inventory

__all__ = [
    "city_view",
    "report_areas",
    "city_view_figsize",
    "plot_city_view",
    "plot_reach",
    "inventory_summary",
    "problems_table",
    "warning_notes",
    "priorities_note",
    "matrix_table",
    "gap_table",
    "suggestion_table",
    "gap_summary",
]


# --------------------------------------------------------------------------------------------
# City view


def city_view(
    programmes: pd.DataFrame,
    priorities: pd.DataFrame,
    *,
    areas: Sequence[str] | None = None,
    aggregates: pd.DataFrame | None = None,
    wave: int | None = None,
    instrument: Any = None,
) -> pd.DataFrame:
    """Areas x factors: each area's priority next to its programme coverage.

    Shows whether programmes follow local risk (a universal programme where the factor is
    prioritised) or are spread evenly. Factors shown: those prioritised in at least one area or
    targeted by at least one programme.

    Parameters
    ----------
    programmes, priorities : pandas.DataFrame
        From :func:`current_programmes` and :func:`prioritised_factors` (``area="all"``).
    areas : sequence of str, optional
        Areas in display order (default those in the two frames, sorted).
    aggregates : pandas.DataFrame, optional
        The published aggregate table; with ``wave`` it adds ``pct`` (the area's share at risk
        or with protection; NaN when suppressed).
    instrument : Instrument or pandas.DataFrame, optional
        For the kind of each factor.

    Returns
    -------
    pandas.DataFrame
        One row per area x factor: the columns of :func:`coverage_summary` (a pair without any
        programme or priority has zero counts and ``coverage == "none"``) plus ``pct``.
    """
    summary = coverage_summary(gap_matrix(programmes, priorities, instrument=instrument))
    kinds = _factor_kinds(instrument)
    areas = list(areas) if areas is not None else sorted(set(summary["area"]))
    summary = summary.loc[summary["area"].isin(areas)]
    factors = sorted(set(summary["factor"]), key=lambda f: (kinds.get(f) != "risk", f))
    grid = pd.MultiIndex.from_product([areas, factors], names=["area", "factor"]).to_frame(
        index=False
    )
    view = grid.merge(summary, on=["area", "factor"], how="left")
    view = view.assign(
        kind=view["factor"].map(kinds).fillna(""),
        prioritised=view["prioritised"].eq(True),
        priority_source=view["priority_source"].fillna(""),
        n_programmes=view["n_programmes"].fillna(0).astype(int),
        n_tested=view["n_tested"].fillna(0).astype(int),
        n_flagged=view["n_flagged"].fillna(0).astype(int),
        best_rating=view["best_rating"].fillna(""),
        coverage=view["coverage"].fillna("none"),
    )
    return view.assign(pct=_area_pct(view, aggregates, wave))


def _area_pct(view: pd.DataFrame, aggregates: pd.DataFrame | None, wave: int | None) -> pd.Series:
    if aggregates is None or wave is None:
        return pd.Series(np.nan, index=view.index)
    rows = aggregates.loc[
        aggregates["wave"].eq(wave) & aggregates["grade"].eq(TOTAL) & aggregates["sex"].eq(TOTAL)
    ]
    pct = rows["pct"].where(~rows["suppressed"].astype(bool))
    lookup = dict(zip(zip(rows["area"], rows["measure"], strict=True), pct, strict=True))
    return pd.Series(
        [lookup.get(k, np.nan) for k in zip(view["area"], view["factor"], strict=True)],
        index=view.index,
        dtype=float,
    )


def report_areas(areas: pd.DataFrame, area: str) -> list[str]:
    """The areas a report covers: every area id of the list for ``"all"``, else ``[area]``.

    >>> report_areas(pd.DataFrame({"area_id": ["a", "b"]}), "all"), report_areas(None, "b")
    (['a', 'b'], ['b'])
    """
    return list(areas["area_id"]) if area == CITY else [area]


def city_view_figsize(view: pd.DataFrame) -> tuple[float, float]:
    """A figure size for :func:`plot_city_view`: one row per factor, one column per area.

    >>> city_view_figsize(pd.DataFrame({"area": ["a", "b"], "factor": ["f", "f"]}))
    (6.0, 3.1)
    """
    columns, rows = view["area"].nunique(), view["factor"].nunique()
    return round(4.6 + 0.7 * columns, 1), round(2.8 + 0.3 * rows, 1)


_COVERAGE_COLOURS = {"tested": "#0072B2", "untested": "#E69F00", "none": "#FFFFFF"}


def plot_city_view(
    view: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
    ax: Any = None,
) -> Any:
    """Grid of factors (rows) x areas (columns) from :func:`city_view`.

    Cell colour = coverage (blue: a tested programme, orange: only untested ones, white: none);
    the number = programmes (not flagged); a thick black frame = a prioritised factor, hatched
    when no programme covers it; "!" = a flagged programme in use. Reads without colour through
    the numbers, frames and hatching. :func:`city_view_figsize` gives a fitting figure size.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    labels, area_names = labels or {}, area_names or {}
    areas = list(dict.fromkeys(view["area"]))
    factors = list(dict.fromkeys(view["factor"]))
    for cell in view.to_dict("records"):
        _city_cell(ax, cell, x=areas.index(cell["area"]), y=factors.index(cell["factor"]))
    ax.set_xlim(0, len(areas))
    ax.set_ylim(len(factors), 0)
    ax.set_aspect("equal")
    ax.xaxis.tick_top()
    ax.set_xticks(
        [i + 0.5 for i in range(len(areas))],
        [area_names.get(a, a) for a in areas],
        rotation=45,
        ha="left",
        fontsize="small",
    )
    ax.set_yticks(
        [i + 0.5 for i in range(len(factors))],
        [labels.get(f, f) for f in factors],
        fontsize="small",
    )
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.legend(
        handles=_city_legend(lang),
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
        fontsize="small",
        title=t("res_city_legend_title", lang),
        title_fontsize="small",
    )
    return ax


def _city_cell(ax: Any, cell: dict, *, x: int, y: int) -> None:
    from matplotlib.patches import Rectangle

    prioritised = bool(cell["prioritised"])
    gap = prioritised and cell["coverage"] == "none"
    ax.add_patch(
        Rectangle(
            (x + 0.04, y + 0.04),
            0.92,
            0.92,
            facecolor=_COVERAGE_COLOURS[cell["coverage"]],
            edgecolor="black" if prioritised else "#BBBBBB",
            linewidth=2.2 if prioritised else 0.6,
            hatch="///" if gap else None,
            zorder=2 if prioritised else 1,
        )
    )
    count = str(cell["n_programmes"]) if cell["n_programmes"] else ""
    text = count + ("!" if cell["n_flagged"] else "")
    colour = "white" if cell["coverage"] == "tested" else "black"
    ax.text(
        x + 0.5, y + 0.5, text, ha="center", va="center", fontsize="small", color=colour, zorder=3
    )


def _city_legend(lang: str) -> list:
    from matplotlib.patches import Patch

    return [
        Patch(facecolor=_COVERAGE_COLOURS["tested"], label=t("res_city_legend_tested", lang)),
        Patch(facecolor=_COVERAGE_COLOURS["untested"], label=t("res_city_legend_untested", lang)),
        Patch(facecolor="white", edgecolor="#BBBBBB", label=t("res_city_legend_none", lang)),
        Patch(
            facecolor="white",
            edgecolor="black",
            linewidth=2.2,
            label=t("res_city_legend_priority", lang),
        ),
        Patch(
            facecolor="white", edgecolor="black", hatch="///", label=t("res_city_legend_gap", lang)
        ),
        Patch(facecolor="white", edgecolor="white", label=t("res_city_legend_flagged", lang)),
    ]


def plot_reach(
    matrix: pd.DataFrame,
    *,
    low_reach: float = 0.30,
    labels: Mapping[str, str] | None = None,
    lang: str | None = None,
    ax: Any = None,
) -> Any:
    """Reach of each programme for the prioritised factors of one area (a gap matrix).

    One bar per prioritised factor x programme (flagged programmes left out), 0-100 % of the
    eligible population, with the ``low_reach`` threshold as a dashed line. A factor without a
    programme, or a programme whose eligible population is unknown, gets a text instead of a bar.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from ctc_helpers.plots.profile import PALETTE

    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    labels = labels or {}
    rows = matrix.loc[matrix["prioritised"] & ~matrix["flagged"]].reset_index(drop=True)
    if rows["area"].nunique() > 1:
        ax.text(
            0.5,
            0.5,
            t("res_plot_city_only", lang),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return ax
    if rows.empty:
        ax.text(
            0.5,
            0.5,
            t("res_plot_no_priorities", lang),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return ax
    names = [
        f"{labels.get(f, f)} – {p}" if pd.notna(p) else labels.get(f, f)
        for f, p in zip(rows["factor"], rows["programme"], strict=True)
    ]
    values = 100 * rows["reach"].astype(float)
    ax.barh(range(len(rows)), values.fillna(0), color=PALETTE["area"], height=0.6, zorder=2)
    for y, (programme, value) in enumerate(zip(rows["programme"], values, strict=True)):
        if pd.isna(value):
            key = "res_plot_no_programme" if pd.isna(programme) else "res_plot_reach_unknown"
            ax.text(
                1,
                y,
                t(key, lang),
                va="center",
                fontsize="small",
                style="italic",
                color=PALETTE["gap"],
            )
    ax.axvline(
        100 * low_reach,
        color=PALETTE["suggested"],
        linestyle="--",
        linewidth=1.2,
        label=t("res_plot_reach_threshold", lang, value=f"{100 * low_reach:.0f}"),
    )
    ax.set_yticks(range(len(rows)), names, fontsize="small")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel(t("res_plot_reach_axis", lang))
    ax.legend(loc="lower right", frameon=False, fontsize="small")
    return ax


# --------------------------------------------------------------------------------------------
# Display edge (notebook 03): texts and tables in Swedish or English


def inventory_summary(inventory: Inventory, lang: str | None = None) -> Any:
    """A sentence on the rows read, kept, rejected and skipped (Markdown)."""
    from IPython.display import Markdown

    return Markdown(
        t(
            "inv_summary",
            lang,
            file=inventory.path.name,
            read=inventory.n_read,
            kept=inventory.n_kept,
            rejected=inventory.n_rejected,
            blank=inventory.n_blank,
        )
    )


def problems_table(inventory: Inventory, lang: str | None = None) -> Any:
    """The rejected rows' problems as a table, or None when there are none."""
    from ctc_helpers.views.tables import display_table

    if inventory.problems.empty:
        return None
    lang = check_language(lang)
    frame = inventory.problems.rename(
        columns={c: t(f"res_col_{c}", lang) for c in ("row", "column", "value", "message")}
    )
    return display_table(frame, lang=lang)


def warning_notes(inventory: Inventory, lang: str | None = None, *, area: str = CITY) -> Any:
    """The inventory's warnings for ``area`` (all for ``"all"``) as a framed list, flagged
    programmes first; None when there are none."""
    from IPython.display import HTML

    notes = inventory.warnings
    notes = notes if area == CITY else notes.loc[notes["area"].eq(area)]
    if notes.empty:
        return None
    order = notes["kind"].isin(FLAGGED_KINDS)
    notes = pd.concat([notes.loc[order], notes.loc[~order]])
    items = "".join(f"<li>{html.escape(m)}</li>" for m in notes["message"])
    title = html.escape(t("inv_warnings_title", lang))
    return HTML(
        '<div class="ctc-warning" style="border:2px solid #D55E00;padding:0.4em 1em;'
        f'background:#FFF4EC"><strong>{title}</strong><ul>{items}</ul></div>'
    )


def priorities_note(
    priorities: pd.DataFrame,
    *,
    area: str,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Any:
    """Where the priorities come from, per area (Markdown)."""
    from IPython.display import Markdown

    lang = check_language(lang)
    labels, area_names = labels or {}, area_names or {}
    if priorities.empty:
        return Markdown(t("res_prio_none", lang))
    lines = []
    for name, group in priorities.groupby("area", sort=False):
        factors = ", ".join(labels.get(f, f) for f in group["factor"])
        first = group.iloc[0]
        key = "res_prio_from_team" if first["source"] == "team" else "res_prio_from_suggestion"
        wave = "" if pd.isna(first["choice_wave"]) else int(first["choice_wave"])
        lines.append(
            t(
                key,
                lang,
                area=area_names.get(name, name),
                factors=factors,
                decided=first["decided"],
                wave=wave,
            )
        )
    prefix = "- " if area == CITY else ""
    return Markdown("\n".join(prefix + line for line in lines))


def _ratings(bank: ProgrammeBank | None, lang: str) -> dict[str, str]:
    if bank is None:
        return {}
    return dict(zip(bank.ratings["evidence_rating"], bank.ratings[f"label_{lang}"], strict=True))


def matrix_table(
    matrix: pd.DataFrame,
    *,
    bank: ProgrammeBank | None = None,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Any:
    """Display copy of a gap matrix: (area,) factor, priority, programme, level, evidence,
    reach, fidelity, funding end. The area column appears when the matrix holds several areas;
    an empty cell means unknown."""
    from ctc_helpers.views.numbers import format_pct
    from ctc_helpers.views.tables import display_table

    lang = check_language(lang)
    labels = labels or {}
    schema = load_inventory_schema()
    levels = schema.choice_labels("prevention_levels", lang)
    ratings = _ratings(bank, lang)
    yes, no = t("res_yes", lang), t("res_no", lang)
    shown = pd.DataFrame(
        {
            t("res_col_factor", lang): matrix["factor"].map(lambda f: labels.get(f, f)),
            t("res_col_prioritised", lang): matrix["prioritised"].map({True: yes, False: no}),
            t("res_col_programme", lang): matrix["programme"].fillna(
                t("res_no_programme_cell", lang)
            ),
            t("res_col_level", lang): matrix["prevention_level"].map(levels).fillna(""),
            t("res_col_evidence", lang): matrix["evidence_rating"]
            .map(lambda r: ratings.get(r, r))
            .fillna(""),
            t("res_col_reach", lang): matrix["reach"].map(lambda v: format_pct(v, lang)),
            t("res_col_fidelity", lang): matrix["fidelity_score"].map(
                lambda v: format_pct(v, lang)
            ),
            t("res_col_funding_end", lang): matrix["funding_end"].map(
                lambda d: d.isoformat() if isinstance(d, dt.date) else ""
            ),
        }
    )
    column = t("res_col_programme", lang)
    shown = shown.assign(
        **{column: np.where(matrix["flagged"], "⚠ " + shown[column], shown[column])}
    )
    if matrix["area"].nunique() > 1:
        names = area_names or {}
        shown.insert(
            0, t("res_col_area", lang), matrix["area"].map(lambda a: names.get(a, a)).to_numpy()
        )
    return display_table(shown, lang=lang, notes=(t("res_matrix_note", lang),))


def gap_table(
    gaps: pd.DataFrame,
    *,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Any:
    """Display copy of :func:`find_gaps`: gap, (area,) explanation."""
    from ctc_helpers.views.tables import display_table

    lang = check_language(lang)
    if gaps.empty:
        return display_table(
            pd.DataFrame({t("res_col_gap", lang): [t("res_no_gaps", lang)]}), lang=lang
        )
    columns = {
        t("res_col_gap", lang): gaps["label"],
        t("res_col_explanation", lang): gaps["explanation"],
    }
    if gaps["area"].nunique() > 1:
        names = area_names or {}
        columns = {t("res_col_area", lang): gaps["area"].map(lambda a: names.get(a, a)), **columns}
    return display_table(pd.DataFrame(columns), lang=lang)


def suggestion_table(
    suggestions: pd.DataFrame,
    *,
    bank: ProgrammeBank | None = None,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Any:
    """Display copy of :func:`suggest_for_gaps` / :func:`suggest_programmes`."""
    from ctc_helpers.views.tables import display_table

    lang = check_language(lang)
    labels, names = labels or {}, area_names or {}
    if suggestions.empty:
        return display_table(
            pd.DataFrame({t("res_col_programme", lang): [t("res_no_suggestions", lang)]}), lang=lang
        )
    ratings = _ratings(bank, lang)
    schema = load_inventory_schema()
    settings = schema.choice_labels("settings", lang)
    columns = {
        t("res_col_factor", lang): suggestions["factor"].map(lambda f: labels.get(f, f)),
        t("res_col_programme", lang): suggestions["name"],
        t("res_col_evidence", lang): suggestions["evidence_rating"].map(
            lambda r: ratings.get(r, r)
        ),
        t("res_col_setting", lang): suggestions["settings"].map(
            lambda s: ", ".join(settings.get(x, x) for x in s.split(";"))
        ),
        t("res_col_ages", lang): [
            f"{a}–{b}" for a, b in zip(suggestions["age_min"], suggestions["age_max"], strict=True)
        ],
        t("res_col_caution", lang): suggestions[f"caution_{lang}"].fillna(""),
    }
    if "area" in suggestions.columns and suggestions["area"].nunique() > 1:
        columns = {
            t("res_col_area", lang): suggestions["area"].map(lambda a: names.get(a, a)),
            **columns,
        }
    return display_table(pd.DataFrame(columns), lang=lang, notes=(t("res_suggestion_note", lang),))


def gap_summary(
    gaps: pd.DataFrame, priorities: pd.DataFrame, inventory: Inventory
) -> dict[str, Any]:
    """The small results record of notebook 03 (counts by gap type, priorities, warnings)."""
    return {
        "priorities": priorities.loc[:, ["area", "factor", "kind", "source"]].to_dict("records"),
        "gaps": {g: int(gaps["gap"].eq(g).sum()) for g in GAP_TYPES},
        "gap_rows": gaps.loc[:, ["area", "gap", "factor", "programme"]].to_dict("records"),
        "inventory": {
            "file": inventory.path.name,
            "read": inventory.n_read,
            "kept": inventory.n_kept,
            "rejected": inventory.n_rejected,
        },
        "flagged_in_use": inventory.warnings.loc[
            inventory.warnings["kind"].isin(FLAGGED_KINDS), "programme"
        ].tolist(),
    }
