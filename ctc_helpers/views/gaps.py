"""The resource and gap analysis for people (notebook 03 and the gap dashboard): the inventory's
summary, the programmes not counted and the warnings (in a reader's words; the coordinator's
precise messages go to the run summary through
:func:`ctc_helpers.phases.gaps.gaps.gap_summary`), where the priorities come from, the gap
matrix, each gap named and explained, the gap types, and the programmes suggested, in Swedish or
English.

The analysis itself is in :mod:`ctc_helpers.phases.gaps`; its charts are in
:mod:`ctc_helpers.plots.gaps`.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from ctc_helpers.config.inventory import FLAGGED_KINDS, GAP_TYPES, load_inventory_schema
from ctc_helpers.config.programme_bank import ProgrammeBank
from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.gaps.inventory import Inventory
from ctc_helpers.views.escape import markdown_text
from ctc_helpers.views.numbers import format_count, format_pct
from ctc_helpers.views.tables import DisplayTable, display_table
from ctc_helpers.vocab import CITY

__all__ = [
    "inventory_summary",
    "set_aside_notes",
    "warning_notes",
    "priorities_note",
    "matrix_table",
    "explain_gaps",
    "gap_table",
    "gap_types",
    "gap_types_table",
    "suggestion_table",
]


def inventory_summary(inventory: Inventory, lang: str | None = None) -> Markdown:
    """A sentence on the rows read, kept, rejected and skipped (Markdown)."""
    return Markdown(
        markdown_text(
            "inv_summary",
            lang,
            file=inventory.path.name,
            read=inventory.n_read,
            kept=inventory.n_kept,
            rejected=inventory.n_rejected,
            blank=inventory.n_blank,
        )
    )


def set_aside_notes(
    inventory: Inventory, lang: str | None = None, *, area: str = CITY
) -> HTML | None:
    """The inventory rows that are not counted, in a reader's words (the programme as written,
    never the file, row or column: those are in the coordinator's run summary); the city report
    lists every row, an area's report the rows of that area. None when there are none."""
    lang = check_language(lang)
    problems = inventory.problems
    problems = problems if area == CITY else problems.loc[problems["area"].eq(area)]
    if problems.empty:
        return None
    items = [_set_aside_text(rows, lang) for _, rows in problems.groupby("row", sort=True)]
    named = list(dict.fromkeys(i for i in items if i))
    unreadable = sum(not i for i in items)
    if unreadable:
        named.append(t("inv_read_unreadable", lang, count=unreadable))
    return _framed(t("inv_read_set_aside_title", lang), named, t("inv_read_coordinator", lang))


def _set_aside_text(rows: pd.DataFrame, lang: str) -> str:
    """One sentence on a rejected row ("" when not even its programme could be read)."""
    programme = str(rows["programme"].iloc[0]).strip()
    if not programme:
        return ""
    kinds = set(rows["kind"])
    key = (
        "inv_read_not_in_bank"
        if "inv_unknown_bank_id" in kinds
        else "inv_read_duplicate"
        if kinds == {"inv_duplicate_row"}
        else "inv_read_incomplete"
    )
    return t(key, lang, programme=programme)


def warning_notes(
    inventory: Inventory, lang: str | None = None, *, area: str = CITY
) -> HTML | None:
    """The inventory's warnings for ``area`` (all for ``"all"``) as a framed list, flagged
    programmes first, in a reader's words (no file, row or column: the precise messages are in
    the coordinator's run summary); None when there are none."""
    lang = check_language(lang)
    notes = inventory.warnings
    notes = notes if area == CITY else notes.loc[notes["area"].eq(area)]
    if notes.empty:
        return None
    order = notes["kind"].isin(FLAGGED_KINDS)
    notes = pd.concat([notes.loc[order], notes.loc[~order]])
    texts = [
        _warning_text(key, details, lang)
        for key, details in zip(notes["key"], notes["details"], strict=True)
    ]
    return _framed(t("inv_warnings_title", lang), texts)


def _warning_text(key: str, details: Mapping[str, Any], lang: str) -> str:
    values = {
        **details,
        **{k: format_count(details[k], lang) for k in _COUNTS if k in details},
    }
    text = t(key.replace("inv_warn_", "inv_read_", 1), lang, **values)
    return f"{text} {t('inv_read_prefix_note', lang)}" if details.get("prefix") else text


_COUNTS = ("reached", "eligible", "planned", "delivered")


def _framed(title: str, items: list[str], footer: str = "") -> HTML:
    """A framed, escaped list with a bold title (and an optional closing line)."""
    listed = "".join(f"<li>{html.escape(item)}</li>" for item in items)
    closing = f"<p>{html.escape(footer)}</p>" if footer else ""
    return HTML(
        '<div class="ctc-warning" style="border:2px solid #D55E00;padding:0.4em 1em;'
        f'background:#FFF4EC"><strong>{html.escape(title)}</strong><ul>{listed}</ul>'
        f"{closing}</div>"
    )


def priorities_note(
    priorities: pd.DataFrame,
    *,
    area: str,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Markdown:
    """Where the priorities come from, per area (Markdown)."""
    lang = check_language(lang)
    labels, area_names = labels or {}, area_names or {}
    if priorities.empty:
        return Markdown(t("res_prio_none", lang))
    lines = []
    for name, group in priorities.groupby("area", sort=False):
        factors = ", ".join(str(labels.get(f, f)) for f in group["factor"])
        first = group.iloc[0]
        key = "res_prio_from_team" if first["source"] == "team" else "res_prio_from_suggestion"
        wave = "" if pd.isna(first["choice_wave"]) else int(first["choice_wave"])
        lines.append(
            markdown_text(
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
) -> DisplayTable:
    """Display copy of a gap matrix: (area,) factor, priority, programme, level, evidence,
    reach, fidelity, funding end. The area column appears when the matrix holds several areas;
    an empty cell means unknown."""
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


def explain_gaps(
    gaps: pd.DataFrame,
    *,
    bank: ProgrammeBank,
    labels: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """The gaps of :func:`ctc_helpers.phases.gaps.gaps.find_gaps` with their name and explanation.

    Parameters
    ----------
    gaps : pandas.DataFrame
        Output of ``find_gaps``.
    bank : ProgrammeBank
        The evidence behind a flagged programme (its text in ``lang`` and its source).
    labels : mapping, optional
        Factor id -> label for the explanations (default the ids).
    lang : {"sv", "en"}, optional

    Returns
    -------
    pandas.DataFrame
        ``gaps`` plus ``label`` (the gap type's name) and ``explanation`` (a sentence naming the
        programme, the factors and the figures).
    """
    lang = check_language(lang)
    labels = labels or {}
    levels = load_inventory_schema().choice_labels("prevention_levels", lang)
    texts = [
        t(f"res_gap_{g['gap']}_text", lang, **_gap_values(g, bank, labels, levels, lang))
        for g in gaps.to_dict("records")
    ]
    names = [t(f"res_gap_{code}", lang) for code in gaps["gap"]]
    return gaps.assign(
        label=pd.Series(names, index=gaps.index, dtype=object),
        explanation=pd.Series(texts, index=gaps.index, dtype=object),
    )


def _gap_values(
    gap: dict[str, Any],
    bank: ProgrammeBank,
    labels: Mapping[str, str],
    levels: Mapping[str, str],
    lang: str,
) -> dict[str, str]:
    """The ``{placeholders}`` of a gap's explanation (``res_gap_<type>_text``)."""
    entry = bank.programme(gap["bank_id"]) if gap["bank_id"] else None
    return {
        "factors": ", ".join(labels.get(f, f) for f in gap["factors"]),
        "programme": gap["programme"],
        "value": format_pct(gap["value"], lang),
        "threshold": format_pct(gap["threshold"], lang),
        "count": "" if pd.isna(gap["value"]) else f"{gap['value']:.0f}",
        "level": levels.get(gap["level"], gap["level"]),
        "reached": "" if pd.isna(gap["reached"]) else f"{gap['reached']:.0f}",
        "eligible": "" if pd.isna(gap["eligible"]) else f"{gap['eligible']:.0f}",
        "date": gap["funding_end"].isoformat() if gap["funding_end"] else "",
        "cutoff": gap["cutoff"].isoformat() if gap["cutoff"] else "",
        "evidence": (
            entry[f"effect_evidence_{lang}"]
            if entry
            else bank.rating_label(gap["evidence_rating"], lang)
            if gap["evidence_rating"]
            else ""
        ),
        "source": entry["effect_source"] if entry else gap["evidence_source"] or "-",
    }


def gap_table(
    gaps: pd.DataFrame,
    *,
    bank: ProgrammeBank,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> DisplayTable:
    """Display copy of :func:`ctc_helpers.phases.gaps.gaps.find_gaps`: gap, (area,) explanation.

    The area column appears when the gaps come from several areas (the city report).
    """
    lang = check_language(lang)
    if gaps.empty:
        return display_table(
            pd.DataFrame({t("res_col_gap", lang): [t("res_no_gaps", lang)]}), lang=lang
        )
    explained = explain_gaps(gaps, bank=bank, labels=labels, lang=lang)
    columns = {
        t("res_col_gap", lang): explained["label"],
        t("res_col_explanation", lang): explained["explanation"],
    }
    if gaps["area"].nunique() > 1:
        names = area_names or {}
        columns = {t("res_col_area", lang): gaps["area"].map(lambda a: names.get(a, a)), **columns}
    return display_table(pd.DataFrame(columns), lang=lang)


def gap_types(lang: str | None = None) -> pd.DataFrame:
    """The gap types with their name and description: columns ``gap, label, description``.

    >>> gap_types("en").loc[0, "label"]
    'Harmful or ineffective programme in use'
    """
    lang = check_language(lang)
    return pd.DataFrame(
        [
            {
                "gap": g,
                "label": t(f"res_gap_{g}", lang),
                "description": t(f"res_gap_{g}_about", lang),
            }
            for g in GAP_TYPES
        ]
    )


def gap_types_table(lang: str | None = None) -> DisplayTable:
    """Display copy of :func:`gap_types`: the name and meaning of each gap type."""
    types = gap_types(lang)
    return display_table(
        pd.DataFrame({t("res_col_gap", lang): types["label"],
                      t("res_col_meaning", lang): types["description"]}),
        lang=lang,
    )  # fmt: skip


def suggestion_table(
    suggestions: pd.DataFrame,
    *,
    bank: ProgrammeBank | None = None,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> DisplayTable:
    """Display copy of :func:`ctc_helpers.phases.gaps.suggestions.suggest_for_gaps` (or
    ``suggest_programmes``)."""
    lang = check_language(lang)
    labels, names = labels or {}, area_names or {}
    if suggestions.empty:
        return display_table(
            pd.DataFrame({t("res_col_programme", lang): [t("res_no_suggestions", lang)]}), lang=lang
        )
    ratings = _ratings(bank, lang)
    schema = load_inventory_schema()
    settings = schema.choice_labels("settings", lang)
    levels = schema.choice_labels("prevention_levels", lang)
    targeted = suggestions["prevention_levels"].map(_targeted_only)
    flag = t("res_targeted_flag", lang)
    cautions = suggestions[f"caution_{lang}"].fillna("")
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
        t("res_col_level", lang): suggestions["prevention_levels"].map(
            lambda v: ", ".join(levels.get(x, x) for x in str(v).split(";") if x)
        ),
        t("res_col_caution", lang): [
            f"{flag} {c}".strip() if only else c for only, c in zip(targeted, cautions, strict=True)
        ],
    }
    if "area" in suggestions.columns and suggestions["area"].nunique() > 1:
        columns = {
            t("res_col_area", lang): suggestions["area"].map(lambda a: names.get(a, a)),
            **columns,
        }
    return display_table(pd.DataFrame(columns), lang=lang, notes=(t("res_suggestion_note", lang),))


def _targeted_only(levels: object) -> bool:
    """True for a programme offered only as selective or indicated prevention (no universal
    level): every gap here is on a factor prioritised for a whole area, so such a programme
    reaches only part of the group the gap is about."""
    found = {x for x in str(levels or "").split(";") if x}
    return bool(found) and "universal" not in found
