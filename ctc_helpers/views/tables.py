"""The display edge of the phase notebooks: texts, display tables and the results record.

Everything a reader sees is made here or in :mod:`ctc_helpers.plots.profile`, from the published folder
read by :func:`ctc_helpers.publish.read.load_published` (re-exported here, so that notebooks write
``display.load_published``): headings and narrative in Swedish or English from
``data_schema/i18n.yaml``, display copies of tables with percentages formatted and suppressed cells
shown as "–" with a footnote ("färre än 10 svar"), and the small results record of each notebook.
Rounding and translation happen only on these copies.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.paths import resolve_path
from ctc_helpers.publish.read import (
    Published,
    check_wave,
    load_published,
    previous_wave_of,
    select_rows,
)
from ctc_helpers.views.frames import areas_frame, breakdown_frame, profile_frame
from ctc_helpers.views.labels import (
    area_name,
    check_area,
    grade_labels,
    has_text,
    measure_labels,
    rule_labels,
    sex_labels,
)
from ctc_helpers.vocab import CITY, TOTAL

__all__ = [
    # re-exported from ctc_helpers.publish.read (the notebooks' entry points)
    "CITY",
    "Published",
    "load_published",
    "resolve_path",
    "check_area",
    "check_wave",
    "previous_wave_of",
    "area_name",
    "measure_labels",
    "grade_labels",
    "sex_labels",
    "rule_labels",
    "select_rows",
    "profile_frame",
    "breakdown_frame",
    "areas_frame",
    # display
    "DisplayTable",
    "html_table",
    "text_table",
    "format_pct",
    "format_points",
    "format_count",
    "show",
    "heading",
    "narrative",
    "section",
    "report_header",
    "synthetic_banner",
    "display_table",
    "profile_table",
    "breakdown_table",
    "areas_table",
    "participation_table",
    "screening_table",
    "glossary_table",
    "methods_appendix",
    "profile_summary",
    "priority_note",
    "priority_table",
    "choice_table",
    "choice_note",
    "write_results",
]


@dataclass(frozen=True)
class DisplayTable:
    """A display copy of a table (all cells text) with its footnotes; renders as HTML.

    ``frame`` is what a reader sees; ``footnotes`` are shown under the table.
    """

    frame: pd.DataFrame
    footnotes: tuple[str, ...] = field(default_factory=tuple)

    def _repr_html_(self) -> str:
        notes = "".join(
            f'<p class="ctc-note"><small>{html.escape(n)}</small></p>' for n in self.footnotes
        )
        return f"<div>{html_table(self.frame)}{notes}</div>"

    def __repr__(self) -> str:
        return "\n".join([text_table(self.frame), *self.footnotes])


def html_table(frame: pd.DataFrame) -> str:
    """A display table as HTML on one line: the markup of ``DataFrame.to_html(index=False,
    na_rep="", border=0, classes="ctc-table")`` without its line breaks and indentation.

    Executed notebooks are saved after every cell and store HTML line by line, so a compact
    table is cheaper to save and smaller. Cells are escaped like pandas does (``&``, ``<``,
    ``>``); missing values are empty. A short cell (at most ``KEEP_TOGETHER`` characters, such
    as ``"2 (0,6 %)"`` or ``"29–33 %"``) is kept on one line with no-break spaces, so that a
    narrow column never splits a number from its unit; longer text wraps as usual. Frames with
    non-text cells or a column MultiIndex are left to pandas (its number formatting) and then
    compacted.

    >>> html_table(pd.DataFrame({"Mått": ["a<b", None]}))
    '<table class="dataframe ctc-table"><thead><tr style="text-align: right;"><th>Mått</th></tr></thead><tbody><tr><td>a&lt;b</td></tr><tr><td></td></tr></tbody></table>'
    """
    if isinstance(frame.columns, pd.MultiIndex) or not all(
        dtype.kind == "O" for dtype in frame.dtypes
    ):
        markup = frame.to_html(index=False, escape=True, na_rep="", border=0, classes="ctc-table")
        return _BETWEEN_TAGS.sub("><", markup)
    head = "".join(f"<th>{_escape(column)}</th>" for column in frame.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{_escape(value, keep_together=True)}</td>" for value in row)
        + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return (
        '<table class="dataframe ctc-table"><thead><tr style="text-align: right;">'
        f"{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def text_table(frame: pd.DataFrame) -> str:
    """A display table as plain text: columns right-aligned to their widest cell."""
    columns = [
        [str(name), *("" if _missing(v) else str(v) for v in frame.iloc[:, i])]
        for i, name in enumerate(frame.columns)
    ]
    if not columns:
        return ""
    widths = [max(map(len, column)) for column in columns]
    return "\n".join(
        " ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in zip(*columns, strict=True)
    )


_BETWEEN_TAGS = re.compile(r">\s*\n\s*<")
KEEP_TOGETHER = 16  # characters: a table cell this short never wraps (html_table)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _escape(value: Any, *, keep_together: bool = False) -> str:
    if _missing(value):
        return ""
    text = str(value)
    if keep_together and len(text) <= KEEP_TOGETHER:
        text = text.replace(" ", "\u00a0")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------------------------
# Number formatting (display copies only)


def _round_half_up(value: float, decimals: int = 0) -> float:
    factor = 10**decimals
    return math.floor(abs(value) * factor + 0.5 + 1e-9) / factor * (1 if value >= 0 else -1)


def _number(value: float, decimals: int, lang: str) -> str:
    text = f"{_round_half_up(value, decimals):.{decimals}f}"
    text = "0" if decimals == 0 and text == "-0" else text
    return text.replace(".", ",").replace("-", "−") if lang == "sv" else text


def format_pct(value: float | None, lang: str | None = None, *, decimals: int = 0) -> str:
    """A proportion (0..1) as a percentage: ``"37 %"`` (sv) or ``"37%"`` (en); NaN gives ``""``.

    Half rounds up, as in :func:`ctc_helpers.privacy.suppress.mask_for_display`.

    >>> format_pct(0.375, "sv"), format_pct(0.375, "en"), format_pct(0.0512, "sv", decimals=1)
    ('38 %', '38%', '5,1 %')
    """
    lang = check_language(lang)
    if value is None or pd.isna(value):
        return ""
    number = _number(100 * float(value), decimals, lang)
    return f"{number} %" if lang == "sv" else f"{number}%"


def format_points(value: float | None, lang: str | None = None, *, decimals: int = 0) -> str:
    """A difference of proportions in percentage points, signed: ``"+12"``; NaN gives ``""``.

    >>> format_points(0.123, "sv"), format_points(-0.05, "sv"), format_points(-0.05, "en")
    ('+12', '−5', '-5')
    """
    lang = check_language(lang)
    if value is None or pd.isna(value):
        return ""
    number = _number(100 * float(value), decimals, lang)
    return number if number.startswith(("−", "-")) or number == "0" else f"+{number}"


def format_count(value: float | None, lang: str | None = None) -> str:
    """A count as a whole number with a thin space as thousands separator in Swedish.

    >>> format_count(12345.0, "sv"), format_count(12345, "en"), format_count(float("nan"))
    ('12\\u202f345', '12,345', '')
    """
    lang = check_language(lang)
    if value is None or pd.isna(value):
        return ""
    text = f"{int(_round_half_up(float(value))):,}"
    return text.replace(",", "\u202f") if lang == "sv" else text


# --------------------------------------------------------------------------------------------
# Texts


def show(*parts: object) -> None:
    """Display the parts of a report section in order; ``None`` (nothing to say) is skipped.

    A section of a phase notebook is one markdown comment and one cell with one call::

        display.show(
            display.section("risk_profile", lang, area=area, name=name),
            charts.chart(pub, "risk_profile", **chart),
            display.profile_table(pub, kind="risk", area=area, wave=wave, lang=lang),
        )

    The helpers only build the parts (tested without a notebook); this call shows them. Few
    cells keep a report fast: papermill saves the whole notebook before and after every cell.
    """
    from IPython.display import display as ipython_display

    for part in parts:
        if part is not None:
            ipython_display(part)


def heading(key: str, lang: str | None = None, *, level: int = 2, **values: object) -> Markdown:
    """A section heading from the i18n text ``report_<key>`` (``level`` = number of ``#``)."""
    return Markdown(f"{'#' * level} {t(f'report_{key}', lang, **values)}")


def narrative(key: str, lang: str | None = None, **values: object) -> Markdown:
    """A paragraph from the i18n text ``report_<key>_text`` with ``{placeholders}`` filled."""
    return Markdown(t(f"report_{key}_text", lang, **values))


def section(
    key: str, lang: str | None = None, *, area: str | None = None, level: int = 2, **values: object
) -> Markdown:
    """A section: heading ``report_<key>`` and paragraph ``report_<key>_text``.

    For the city report (``area == "all"``) the paragraph ``report_<key>_city_text`` is used when
    it exists. ``values`` fill the ``{placeholders}`` of both texts.
    """
    text_key = f"report_{key}_city_text" if area == CITY else f"report_{key}_text"
    text_key = text_key if has_text(text_key) else f"report_{key}_text"
    title = t(f"report_{key}", lang, **values)
    body = t(text_key, lang, **values) if has_text(text_key) else ""
    return Markdown(f"{'#' * level} {title}\n\n{body}".rstrip())


def report_header(
    published: Published, *, phase: str, area: str, wave: int, lang: str | None = None
) -> Markdown:
    """Title, purpose and (for synthetic data) the synthetic-data notice of a phase report.

    ``phase`` names the texts ``report_<phase>_title`` and ``report_<phase>_purpose``.
    """
    lang = check_language(lang)
    name = area_name(published, area, lang)
    title = t(f"report_{phase}_title", lang, area=name, wave=wave)
    purpose = t(f"report_{phase}_purpose", lang, area=name, wave=wave)
    banner = synthetic_banner(published.run_info, lang)
    notice = f"\n\n{banner.data}" if banner is not None else ""
    return Markdown(f"# {title}\n\n{purpose}{notice}")


def synthetic_banner(run_info: dict[str, Any], lang: str | None = None) -> HTML | None:
    """A framed notice when the published data are synthetic; ``None`` (nothing shown) otherwise."""
    if not run_info.get("synthetic", False):
        return None
    text = html.escape(t("synthetic_notice", lang))
    return HTML(
        '<div class="ctc-synthetic" style="border:2px solid #D55E00;padding:0.6em 1em;'
        f'margin:0.5em 0;background:#FFF4EC"><strong>{text}</strong></div>'
    )


def display_table(
    frame: pd.DataFrame, *, lang: str | None = None, min_cell: int = 10, notes: tuple[str, ...] = ()
) -> DisplayTable:
    """Wrap a display frame; adds the suppression footnote when a cell shows the marker."""
    marker = t("suppressed_marker", lang)
    shows_marker = bool(frame.astype(str).eq(marker).to_numpy().any())
    footnote = (f"{marker} {t('suppressed_note', lang, min_n=min_cell)}",) if shows_marker else ()
    return DisplayTable(frame.reset_index(drop=True), footnote + tuple(notes))


# --------------------------------------------------------------------------------------------
# Results record


def write_results(output_dir: str | Path, area: str, phase: str, payload: dict) -> Path | None:
    """Write the notebook's small results record ``<output_dir>/<phase>.json``.

    Parameters
    ----------
    output_dir : str or Path
        Folder of the area's reports (the batch passes ``reports/<wave>/<area_id>``); ``""``
        writes nothing (an interactive run).
    area, phase : str
        Recorded in the file with the time it was written (UTC).
    payload : dict
        JSON-compatible values; NumPy numbers and arrays, pandas values and NaN (as ``null``)
        are converted.

    Returns
    -------
    Path or None
        The file written.
    """
    if not str(output_dir):
        return None
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "area": area,
        "phase": phase,
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        **payload,
    }
    target = folder / f"{phase}.json"
    text = json.dumps(_json_safe(record), ensure_ascii=False, indent=2, allow_nan=False)
    target.write_text(text + "\n", encoding="utf-8")
    return target


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Series):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Path | pd.Timestamp):
        return str(value)
    return value


def _text_of(mapping: dict[str, str] | str | None, lang: str | None) -> str:
    return "" if mapping is None else text_of(mapping, lang)


# --------------------------------------------------------------------------------------------
# Display tables (text cells, suppressed cells as the marker, footnotes)


def _cells(values: pd.Series, hidden: pd.Series, formatter, lang: str) -> pd.Series:
    marker = t("suppressed_marker", lang)
    return pd.Series(
        [marker if h else formatter(v, lang) for v, h in zip(values, hidden, strict=True)],
        index=values.index,
        dtype=object,
    )


def _interval(low: float, high: float, lang: str) -> str:
    if pd.isna(low) or pd.isna(high):
        return ""
    return f"{format_pct(low, lang).rstrip(' %')}–{format_pct(high, lang)}"


def _col(key: str, lang: str, **values: object) -> str:
    return t(f"report_col_{key}", lang, **values)


def _change_text(code: str, lang: str, *, versus_city: bool) -> str:
    if not code:
        return ""
    key = f"report_vs_city_{code}" if versus_city and code != "too_few" else f"change_{code}"
    return t(key, lang) if has_text(key) else code


def profile_table(
    published: Published, *, kind: str, area: str, wave: int, lang: str | None = None
) -> DisplayTable:
    """The numbers behind :func:`ctc_helpers.plots.profile.plot_profile` (and the behaviour totals).

    Columns: domain, measure, the area's share with its 95 % interval and ``n``, the city's share
    and the difference in percentage points with its verdict (area reports), the previous wave's
    share and the verdict on the change.
    """
    lang = check_language(lang)
    frame = profile_frame(
        published.aggregates, published.comparisons, kind=kind, area=area, wave=wave,
        measures=published.measures, lang=lang,
    )  # fmt: skip
    hidden = frame["suppressed"]
    columns = {
        _col("domain", lang): frame["domain_label"],
        _col("measure", lang): frame["label"],
        area_name(published, area, lang): _cells(frame["pct"], hidden, format_pct, lang),
        _col("interval", lang): [
            "" if h else _interval(lo, hi, lang)
            for lo, hi, h in zip(frame["ci_low"], frame["ci_high"], hidden, strict=True)
        ],
        _col("n", lang): _cells(frame["n"], hidden, format_count, lang),
    }
    if area != CITY:
        columns[t("city", lang)] = _cells(
            frame["pct_city"], frame["city_suppressed"].fillna(False).astype(bool), format_pct, lang
        )
        columns[_col("diff_city", lang)] = [
            _join(format_points(d, lang), _change_text(c, lang, versus_city=True))
            for d, c in zip(frame["diff_city"], frame["change_city"], strict=True)
        ]
    previous = frame["previous_wave"].iloc[0] if len(frame) else None
    if previous is not None and not pd.isna(previous):
        previous = int(previous)
        columns[str(previous)] = _cells(
            frame["pct_previous"],
            frame["previous_suppressed"].fillna(False).astype(bool),
            format_pct,
            lang,
        )
        columns[_col("change_since", lang, wave=previous)] = [
            _join(format_points(d, lang), _change_text(c, lang, versus_city=False))
            for d, c in zip(frame["diff_previous"], frame["change_previous"], strict=True)
        ]
    notes = (t("report_note_interval", lang),)
    return display_table(pd.DataFrame(columns), lang=lang, min_cell=published.min_cell, notes=notes)


def _join(number: str, verdict: str) -> str:
    return f"{number} ({verdict})" if number and verdict else number or verdict


def breakdown_table(
    published: Published,
    *,
    kind: str = "behaviour",
    area: str,
    wave: int,
    by: str = "grade",
    lang: str | None = None,
) -> DisplayTable:
    """The numbers behind :func:`ctc_helpers.plots.profile.plot_behaviours`: one column per grade or sex."""
    lang = check_language(lang)
    frame = breakdown_frame(
        published.aggregates, kind=kind, area=area, wave=wave, by=by,
        measures=published.measures, lang=lang,
    )  # fmt: skip
    cells = frame.assign(value=_cells(frame["pct"], frame["suppressed"], format_pct, lang))
    groups = list(dict.fromkeys(cells["group_label"]))
    wide = cells.pivot_table(
        index=["label"], columns="group_label", values="value", aggfunc="first", sort=False
    ).reindex(columns=groups)
    wide = wide.reindex(list(dict.fromkeys(cells["label"]))).reset_index()
    wide.columns = [_col("measure", lang), *groups]
    return display_table(wide.fillna(""), lang=lang, min_cell=published.min_cell)


def areas_table(
    published: Published, *, kind: str, wave: int, lang: str | None = None
) -> DisplayTable:
    """Every area's share of each measure of ``kind``: the numbers behind the area chart."""
    lang = check_language(lang)
    frame = areas_frame(
        published.aggregates, kind=kind, wave=wave, areas=published.areas,
        measures=published.measures, lang=lang,
    )  # fmt: skip
    cells = frame.assign(value=_cells(frame["pct"], frame["suppressed"], format_pct, lang))
    areas = list(dict.fromkeys(cells["area_label"]))
    wide = cells.pivot_table(
        index="label", columns="area_label", values="value", aggfunc="first", sort=False
    ).reindex(columns=areas)
    wide = wide.reindex(list(dict.fromkeys(cells["label"]))).reset_index()
    wide.columns = [_col("measure", lang), *areas]
    return display_table(wide.fillna(""), lang=lang, min_cell=published.min_cell)


def participation_table(
    published: Published, *, area: str, wave: int, by: str = "school", lang: str | None = None
) -> DisplayTable:
    """Questionnaires by school, or valid questionnaires by grade and sex.

    ``by="school"``: one row per school of the area and the total (answered and valid
    questionnaires, enrolment and response rate where enrolment is known); for the city
    (``area == "all"``) one row per area. ``by="grade"``: valid questionnaires, one row per grade
    and the total, one column per published sex and the total.
    """
    lang = check_language(lang)
    rows = published.participation.loc[published.participation["wave"].eq(wave)]
    notes: tuple[str, ...] = ()
    if by == "school":
        scope = rows if area == CITY else rows.loc[rows["area"].eq(area)]
        frame = _by_place(scope, published, area=area, lang=lang)
        notes = () if _enrolment_known(scope) else (t("report_note_no_enrolment", lang),)
    elif by == "grade":
        frame = _by_grade_and_sex(rows.loc[rows["area"].eq(area)], lang=lang)
    else:
        raise ValueError(f"by is {by!r}; choose 'school' or 'grade'.")
    return display_table(frame, lang=lang, min_cell=published.min_cell, notes=notes)


def _enrolment_known(rows: pd.DataFrame) -> bool:
    return "enrolled" in rows.columns and bool(rows["enrolled"].notna().any())


def _place_rows(totals: pd.DataFrame, published: Published, *, area: str, lang: str):
    if area == CITY:
        places = totals.loc[totals["school"].eq(TOTAL)]
        order = [*published.areas["area_id"], CITY]
        rank = places["area"].map(lambda a: order.index(a) if a in order else len(order))
        places = places.assign(_o=rank).sort_values("_o", kind="stable")
        return (
            places,
            places["area"].map(lambda a: area_name(published, a, lang)),
            _col("area", lang),
        )
    schools = totals.loc[totals["school"].ne(TOTAL)].sort_values("school")
    places = pd.concat([schools, totals.loc[totals["school"].eq(TOTAL)]])
    labels = places["school"].map(lambda s: t("report_total", lang) if s == TOTAL else s)
    return places, labels, _col("school", lang)


def _by_place(rows: pd.DataFrame, published: Published, *, area: str, lang: str) -> pd.DataFrame:
    totals = rows.loc[rows["grade"].eq(TOTAL) & rows["sex"].eq(TOTAL)]
    places, labels, first = _place_rows(totals, published, area=area, lang=lang)
    hidden = places["suppressed"].astype(bool)
    columns = {
        first: labels,
        _col("respondents", lang): _cells(places["n"], hidden, format_count, lang),
    }
    if "n_valid" in places.columns:
        columns[_col("valid", lang)] = _cells(places["n_valid"], hidden, format_count, lang)
    if _enrolment_known(places):
        rate = (
            places["response_rate"]
            if "response_rate" in places.columns
            else places["n"] / places["enrolled"]
        )
        columns[_col("enrolled", lang)] = places["enrolled"].map(lambda v: format_count(v, lang))
        columns[_col("response_rate", lang)] = _cells(rate, hidden, format_pct, lang)
    return pd.DataFrame(columns)


def _by_grade_and_sex(rows: pd.DataFrame, *, lang: str) -> pd.DataFrame:
    rows = rows.loc[rows["school"].eq(TOTAL)]
    grades, sexes = grade_labels(lang), sex_labels(lang)
    rows = rows.loc[rows["grade"].isin(grades) & rows["sex"].isin(sexes)]
    counts = rows["n_valid"] if "n_valid" in rows.columns else rows["n"]
    cells = rows.assign(value=_cells(counts, rows["suppressed"].astype(bool), format_count, lang))
    wide = cells.pivot_table(index="grade", columns="sex", values="value", aggfunc="first")
    grade_order = [g for g in grades if g in wide.index]
    sex_order = [s for s in sexes if s in wide.columns]
    wide = wide.reindex(index=grade_order, columns=sex_order).fillna("")
    wide.columns = [sexes[s] for s in sex_order]
    return wide.rename(index=grades).rename_axis(_col("grade", lang)).reset_index()


def screening_table(
    published: Published, *, area: str, wave: int, lang: str | None = None
) -> DisplayTable:
    """Questionnaires flagged by each validity rule, by grade: ``count (share)``.

    The first row gives the questionnaires screened in each grade, the last (``any_excluded``)
    those excluded by at least one rule.
    """
    lang = check_language(lang)
    log = published.screening_log
    grades = grade_labels(lang)
    rows = log.loc[log["wave"].eq(wave) & log["area"].eq(area) & log["grade"].isin(grades)]
    hidden = rows["suppressed"].astype(bool)
    share = rows["n_flagged"] / rows["n_respondents"].where(rows["n_respondents"] > 0)
    marker = t("suppressed_marker", lang)
    text = [
        marker if h else f"{format_count(k, lang)} ({format_pct(s, lang, decimals=1)})"
        for k, s, h in zip(rows["n_flagged"], share, hidden, strict=True)
    ]
    labels = rule_labels(published, lang)
    order = [g for g in grades if g in set(rows["grade"])]
    wide = (
        rows.assign(value=text, rule_label=rows["rule"].map(lambda r: labels.get(r, r)))
        .pivot_table(
            index="rule_label", columns="grade", values="value", aggfunc="first", sort=False
        )
        .reindex(columns=order)
    )
    screened = rows.drop_duplicates("grade").set_index("grade")
    first = pd.DataFrame(
        [
            [
                marker
                if screened.loc[g, "suppressed"]
                else format_count(screened.loc[g, "n_respondents"], lang)
                for g in order
            ]
        ],
        index=[t("report_screened", lang)],
        columns=order,
    )
    frame = pd.concat([first, wide]).rename(columns=grades)
    frame = frame.rename_axis(_col("rule", lang)).reset_index().fillna("")
    return display_table(frame, lang=lang, min_cell=published.min_cell)


def glossary_table(lang: str | None = None) -> DisplayTable:
    """The glossary (``data_schema/glossary.yaml``) as a two-column table."""
    from ctc_helpers.config.glossary import load_glossary

    lang = check_language(lang)
    terms = load_glossary(lang)
    frame = pd.DataFrame(
        {_col("term", lang): terms["term"], _col("definition", lang): terms["definition"]}
    )
    return DisplayTable(frame)


def methods_appendix(published: Published, lang: str | None = None) -> Markdown:
    """The methods appendix: instrument, cut points, suppression and screening rules."""
    lang = check_language(lang)
    info = published.run_info
    instrument = info.get("instrument") or {}
    cuts = published.cutpoints
    methods = ", ".join(f"{m} ({k})" for m, k in cuts["method"].value_counts().items())
    references = ", ".join(sorted({str(r) for r in cuts["reference"].dropna()})) or "–"
    rules = {k: v for k, v in rule_labels(published, lang).items() if k != "any_excluded"}
    rule_lines = (
        "\n".join(f"    - {label}" for label in rules.values())
        or f"    - {t('report_methods_no_rules', lang)}"
    )
    lines = [
        t(
            "report_methods_instrument",
            lang,
            id=instrument.get("id", ""),
            version=instrument.get("version", ""),
        ),
        f"  {_text_of(instrument.get('notice'), lang)}".rstrip(),
        t(
            "report_methods_cutpoints",
            lang,
            version=_versions_text(info.get("cutpoint_version", ""), lang),
            methods=methods,
            reference=references,
        ),
        t("report_methods_suppression", lang, min_n=published.min_cell),
        t("report_methods_screening", lang),
        rule_lines,
        t("report_methods_statistics", lang),
        t("report_methods_glossary", lang),
    ]
    return Markdown(
        "\n".join(f"- {line}" if not line.startswith(" ") else line for line in lines if line)
    )


def _versions_text(value: Any, lang: str) -> str:
    """One version as is; a few joined; many as their common prefix and their number."""
    versions = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    if len(versions) <= 3:
        return ", ".join(versions)
    prefix = os.path.commonprefix(versions)
    prefix = prefix[: prefix.rfind("/") + 1] if "/" in prefix else prefix
    return t("report_methods_versions", lang, prefix=prefix, k=len(versions))


def profile_summary(published: Published, *, area: str, wave: int) -> dict[str, Any]:
    """The results record of notebook 01: respondents, shown/suppressed cells, clear differences."""
    own = select_rows(published.aggregates, wave=wave, area=area, grade=None, sex=None)
    totals = select_rows(published.participation, wave=wave, area=area, kinds=None)
    totals = totals.loc[totals["school"].eq(TOTAL)]
    comp = select_rows(published.comparisons, wave=wave, area=area)
    clear = comp.loc[comp["change"].isin(["increase", "decrease"])]
    return {
        "wave": wave,
        "respondents": None if totals.empty else totals["n"].iloc[0],
        "synthetic": published.synthetic,
        "min_cell": published.min_cell,
        "cells": len(own),
        "cells_suppressed": int(own["suppressed"].sum()),
        "clear_vs_city": sorted(clear.loc[clear["comparison"].eq("city"), "measure"]),
        "clear_since_previous": sorted(
            clear.loc[clear["comparison"].eq("previous_wave"), "measure"]
        ),
    }


# --------------------------------------------------------------------------------------------
# Prioritisation worksheet (notebook 02)


def priority_note(ranked: pd.DataFrame, lang: str | None = None) -> Markdown | None:
    """A note when factors (or the whole area) have too few answers to be judged; else ``None``."""
    too_few = ranked["status"].eq("too_few")
    if too_few.all():
        return Markdown(f"**{t('report_prio_all_too_few', lang)}**")
    if too_few.any():
        return Markdown(t("report_prio_some_too_few", lang, k=int(too_few.sum())))
    return None


def priority_table(
    ranked: pd.DataFrame,
    measures: pd.DataFrame | None = None,
    *,
    kind: str = "risk",
    lang: str | None = None,
    min_cell: int = 10,
) -> DisplayTable:
    """The ranked factors of one kind with every criterion, the suggestion and its reason.

    ``ranked`` is the output of :func:`ctc_helpers.phases.prioritization.rank_factors`.
    """
    from ctc_helpers.phases.prioritization import explain_reasons

    lang = check_language(lang)
    rows = ranked.loc[ranked["kind"].eq(kind)]
    labels = measure_labels(measures, lang) if measures is not None else {}
    hidden = rows["status"].ne("ok")
    marker = t("suppressed_marker", lang)
    columns = {
        _col("rank", lang): rows["rank"].map(lambda r: "" if pd.isna(r) else str(int(r))),
        _col("measure", lang): rows["factor"].map(lambda f: labels.get(f, f)),
        _col("id", lang): rows["factor"],
        _col(f"share_{kind}", lang): _cells(rows["pct"], hidden, format_pct, lang),
    }
    if rows["pct_city"].notna().any() and rows["diff"].notna().any():
        columns[t("city", lang)] = rows["pct_city"].map(lambda v: format_pct(v, lang))
        columns[_col("diff_interval", lang)] = [
            marker
            if h
            else _join(
                format_points(d, lang), f"{format_points(lo, lang)} … {format_points(hi, lang)}"
            )
            for d, lo, hi, h in zip(
                rows["diff"], rows["diff_low"], rows["diff_high"], hidden, strict=True
            )
        ]
        columns[_col("clear", lang)] = [
            marker if h else t("report_yes" if c else "report_no", lang)
            for c, h in zip(rows["clear"], hidden, strict=True)
        ]
        columns[_col("grades", lang)] = [
            marker if h else f"{k} / {m}"
            for k, m, h in zip(
                rows["grades_elevated"], rows["grades_with_data"], hidden, strict=True
            )
        ]
    columns[_col("trend", lang)] = [
        marker if h else _join(format_points(d, lang), _change_text(c, lang, versus_city=False))
        for d, c, h in zip(rows["trend_diff"], rows["trend_change"], hidden, strict=True)
    ]
    columns[_col(f"youth_{kind}", lang)] = _cells(
        rows["youth_affected"], hidden, format_count, lang
    )
    columns[_col("score", lang)] = [
        marker if h else str(s) for s, h in zip(rows["score"], hidden, strict=True)
    ]
    columns[_col("suggested", lang)] = rows["suggested"].map(
        lambda s: t("report_yes", lang) if s else ""
    )
    columns[_col("reason", lang)] = explain_reasons(rows, lang)
    notes = (t("report_note_interval", lang), t("report_prio_note_youth", lang))
    return display_table(pd.DataFrame(columns), lang=lang, min_cell=min_cell, notes=notes)


def choice_table(
    ranked: pd.DataFrame,
    choices: Any,
    measures: pd.DataFrame | None = None,
    *,
    lang: str | None = None,
) -> DisplayTable:
    """The suggestion next to the team's recorded choice (``choices`` may be ``None``)."""
    from ctc_helpers.phases.prioritization import compare_choices

    lang = check_language(lang)
    rows = compare_choices(ranked, choices)
    labels = measure_labels(measures, lang) if measures is not None else {}
    yes = t("report_yes", lang)
    frame = pd.DataFrame(
        {
            _col("kind", lang): rows["kind"].map(lambda k: t(f"plot_kind_{k}", lang)),
            _col("measure", lang): rows["factor"].map(lambda f: labels.get(f, f)),
            _col("rank", lang): rows["rank"].map(lambda r: "" if pd.isna(r) else str(int(r))),
            _col("suggested", lang): rows["suggested"].map(lambda s: yes if s else ""),
            _col("chosen", lang): rows["chosen"].map(lambda c: yes if c else ""),
        }
    )
    return DisplayTable(frame.reset_index(drop=True))


def choice_note(
    choices: Any, *, priorities_dir: str | Path, area: str, wave: int, lang: str | None = None
) -> Markdown:
    """How the team's choice was recorded, or how to record it when there is no file yet."""
    lang = check_language(lang)
    if choices is None:
        path = resolve_path(priorities_dir) / f"{area}.yaml"
        example = (
            f"```yaml\narea: {area}\nwave: {wave}\ndecided: {datetime.now(UTC).date().isoformat()}\n"
            "risk_factors: [factor_id_1, factor_id_2]\nprotective_factors: [factor_id_3]\n"
            'note: ""\n```'
        )
        return Markdown(f"{t('report_choice_missing', lang, path=path)}\n\n{example}")
    parts = [
        t("report_choice_recorded", lang, decided=choices.decided.isoformat(), wave=choices.wave)
    ]
    if choices.wave != wave:
        parts.append(t("report_choice_other_wave", lang, wave=choices.wave))
    if choices.note:
        parts.append(f"> {choices.note}")
    return Markdown("\n\n".join(parts))
