"""The published folder of a wave, read once and checked, and tidy views of its tables.

Notebooks, reports and dashboards read ONLY the published (suppressed) folder of a wave,
``reports/<wave>/data/`` (see ``docs/ARCHITECTURE.md``). :func:`load_published` reads it, checks
that every file and column is there and hides again every row marked ``suppressed`` (defence in
depth: a suppressed number never reaches a table or a chart even if a file carried it). The views
(:func:`profile_frame`, :func:`breakdown_frame`, :func:`areas_frame`) are tidy and unrounded; the
display copies are made in :mod:`ctc_helpers.views.tables`, the charts in :mod:`ctc_helpers.plots.profile`.

Columns read from the published folder (files may hold more):

==========================  ======================================================================
``aggregates.parquet``      the tidy aggregate table of ARCHITECTURE.md
``comparisons.parquet``     ``wave, area, grade, sex, measure, comparison`` (``"city"`` or
                            ``"previous_wave"``), ``diff, diff_low, diff_high, change``; optional
                            ``reference_wave`` (the earlier wave of a ``previous_wave`` row)
``participation.parquet``   ``wave, area, school, grade, sex, n, suppressed`` (``n``: answered
                            questionnaires); optional ``n_valid, enrolled, response_rate``
``screening_log.parquet``   ``wave, area, grade, rule, n_respondents, n_flagged, suppressed``
                            (questionnaires of the group and those flagged by ``rule``; the rule
                            ``any_excluded`` counts those excluded by at least one rule)
``cutpoints.csv``           ``factor, method, flag_value, high_value, reference, version``
``measures.csv``            ``measure, measure_kind, domain, label_sv, label_en`` (or ``label``
                            with a ``lang`` column); optional ``group, order``
``run_info.json``           ``min_cell``, ``synthetic``, ``waves``, ``areas`` (``area_id, name``),
                            ``instrument`` (``id, version, notice``), ``cutpoint_version`` (text
                            or list); optional ``validity_rules`` (``id, label {sv, en}``), else
                            rule labels come from the default instrument when its ids match
==========================  ======================================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.paths import resolve_path
from ctc_helpers.vocab import CITY, TOTAL

__all__ = [
    "CITY",
    "PUBLISHED_FILES",
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
    "has_text",
]


PUBLISHED_FILES = {
    "aggregates": "aggregates.parquet",
    "comparisons": "comparisons.parquet",
    "participation": "participation.parquet",
    "screening_log": "screening_log.parquet",
    "cutpoints": "cutpoints.csv",
    "measures": "measures.csv",
    "run_info": "run_info.json",
}
REQUIRED_COLUMNS = {
    "aggregates": (
        "wave", "area", "grade", "sex", "measure", "measure_kind", "domain",
        "n", "n_flagged", "pct", "ci_low", "ci_high", "suppressed",
    ),
    "comparisons": (
        "wave", "area", "grade", "sex", "measure", "comparison",
        "diff", "diff_low", "diff_high", "change",
    ),
    "participation": ("wave", "area", "school", "grade", "sex", "n", "suppressed"),
    "screening_log": ("wave", "area", "grade", "rule", "n_respondents", "n_flagged", "suppressed"),
    "cutpoints": ("factor", "method", "flag_value", "high_value", "reference", "version"),
    "measures": ("measure", "measure_kind", "domain"),
}  # fmt: skip
# Value columns blanked (NaN) on every row marked suppressed, per file.
VALUE_COLUMNS = {
    "aggregates": ("n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff", "pct_level2"),
    "comparisons": (
        "pct_area",
        "n_area",
        "pct_city",
        "n_city",
        "pct_rest",
        "n_rest",
        "pct",
        "n",
        "pct_previous",
        "n_previous",
        "diff",
        "diff_low",
        "diff_high",
        "z",
        "p_value",
        "p_holm",
        "cohens_h",
    ),  # fmt: skip
    "participation": ("n", "n_valid", "response_rate"),
    "screening_log": ("n_respondents", "n_flagged"),
}
# Group sizes checked against ``min_cell`` (the comparisons hold both groups of each comparison).
SIZE_COLUMNS = {
    "aggregates": ("n",),
    "comparisons": ("n", "n_area", "n_rest", "n_previous"),
    "participation": ("n",),
    "screening_log": ("n_respondents",),
}
_TEXT_COLUMNS = ("area", "grade", "sex", "school", "measure", "rule", "comparison", "change")


@dataclass(frozen=True)
class Published:
    """The published folder of one wave, read by :func:`load_published`.

    Every frame holds only published (suppressed) values; ``min_cell`` is the minimum group size
    that is shown (at least the one the batch suppressed with).
    """

    path: Path
    aggregates: pd.DataFrame
    comparisons: pd.DataFrame
    participation: pd.DataFrame
    screening_log: pd.DataFrame
    cutpoints: pd.DataFrame
    measures: pd.DataFrame
    run_info: dict[str, Any]
    min_cell: int

    @property
    def waves(self) -> tuple[int, ...]:
        """Survey years present in the aggregate table, oldest first."""
        return tuple(sorted(int(w) for w in self.aggregates["wave"].unique()))

    @property
    def areas(self) -> pd.DataFrame:
        """The area list of the run: columns ``area_id, name``."""
        areas = self.run_info.get("areas") or []
        frame = pd.DataFrame(areas, columns=["area_id", "name"])
        if frame.empty:
            ids = sorted(set(self.aggregates["area"]) - {CITY})
            frame = pd.DataFrame({"area_id": ids, "name": ids})
        return frame

    @property
    def synthetic(self) -> bool:
        return bool(self.run_info.get("synthetic", False))


# --------------------------------------------------------------------------------------------
# Loading


def load_published(data_dir: str | Path, *, min_cell: int | None = None) -> Published:
    """Read and check the published folder of a wave (``reports/<wave>/data``).

    Parameters
    ----------
    data_dir : str or Path
        The folder; a relative path is taken from the current folder when it exists there,
        otherwise from the repository root (so ``"reports/2025/data"`` works from ``notebooks/``).
    min_cell : int, optional
        Smallest group to show. It may not be below the minimum the folder was suppressed with
        (``run_info.json``); a larger value hides, in addition, every row with ``n < min_cell``.

    Returns
    -------
    Published
        The frames (codes as str, waves as int), ``run_info`` and the effective ``min_cell``.

    Raises
    ------
    InputFileError
        If the folder, a file or a required column is missing, or a file cannot be read; the
        message names it and says how the folder is made (``ctc run``).
    ValueError
        If ``min_cell`` is below the published minimum.
    """
    path = _resolve_dir(data_dir)
    run_info = _read_run_info(path)
    published_min = int(run_info.get("min_cell", 10))
    shown_min = _check_min_cell(min_cell, published_min)
    frames = {name: _read_frame(path, name) for name in REQUIRED_COLUMNS}
    frames = {name: _hide_suppressed(frame, name, shown_min) for name, frame in frames.items()}
    frames["measures"] = _normalise_measures(frames["measures"], path)
    return Published(path=path, run_info=run_info, min_cell=shown_min, **frames)


def _resolve_dir(data_dir: str | Path) -> Path:
    path = resolve_path(data_dir)
    if not path.is_dir():
        raise InputFileError(
            f"The published folder {data_dir} does not exist. It is written by `ctc run`"
            " (make run); give data_dir as reports/<wave>/data."
        )
    missing = [name for name in PUBLISHED_FILES.values() if not (path / name).is_file()]
    if missing:
        raise InputFileError(
            f"The published folder {path} lacks {', '.join(missing)}. Run `ctc run` again to"
            " write the whole folder."
        )
    return path


def _read_run_info(path: Path) -> dict[str, Any]:
    file = path / PUBLISHED_FILES["run_info"]
    try:
        info = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(f"Cannot read {file}: {exc}") from None
    if not isinstance(info, dict):
        raise InputFileError(f"{file} must hold a JSON object (keys and values).")
    return info


def _check_min_cell(min_cell: int | None, published_min: int) -> int:
    if min_cell is None:
        return published_min
    if isinstance(min_cell, bool) or not isinstance(min_cell, int | np.integer):
        raise ValueError(f"min_cell must be a whole number; got {min_cell!r}.")
    if min_cell < published_min:
        raise ValueError(
            f"min_cell is {min_cell}, but the published folder was suppressed with a minimum of"
            f" {published_min}; a report cannot show smaller groups. Use {published_min} or more."
        )
    return int(min_cell)


def _read_frame(path: Path, name: str) -> pd.DataFrame:
    file = path / PUBLISHED_FILES[name]
    try:
        frame = pd.read_csv(file) if file.suffix == ".csv" else pd.read_parquet(file)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(f"Cannot read {file}: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"{file.name} has no column {', '.join(repr(c) for c in missing)} (columns found:"
            f" {', '.join(map(str, frame.columns))}). Run `ctc run` again with this version."
        )
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    text = {c: frame[c].astype(str) for c in _TEXT_COLUMNS if c in frame.columns}
    waves = {"wave": frame["wave"].astype(int)} if "wave" in frame.columns else {}
    return frame.assign(**text, **waves)


def _hide_suppressed(frame: pd.DataFrame, name: str, min_cell: int) -> pd.DataFrame:
    """Blank every value of a hidden row: marked suppressed (or too few), or smaller than
    ``min_cell`` in any of its group sizes (a stricter minimum than the published one)."""
    if name not in VALUE_COLUMNS:
        return frame
    hidden = frame["suppressed"].astype(bool) if "suppressed" in frame.columns else False
    if name == "comparisons":
        hidden = hidden | frame["change"].eq("too_few")
    for size in SIZE_COLUMNS[name]:
        if size in frame.columns:
            hidden = hidden | frame[size].between(0, min_cell, inclusive="neither")
    columns = [c for c in VALUE_COLUMNS[name] if c in frame.columns]
    out = frame.assign(**{c: frame[c].astype(float).mask(hidden) for c in columns})
    out = out.assign(suppressed=hidden) if "suppressed" in frame.columns else out
    return (
        out.assign(change=out["change"].mask(hidden, "too_few")) if name == "comparisons" else out
    )


def _normalise_measures(measures: pd.DataFrame, path: Path) -> pd.DataFrame:
    """One row per measure with ``label_sv``, ``label_en`` (wide), ``group`` and ``order``."""
    if "lang" in measures.columns:
        wide = measures.pivot_table(
            index="measure", columns="lang", values="label", aggfunc="first"
        ).add_prefix("label_")
        measures = (
            measures.drop_duplicates("measure")
            .drop(columns=["lang", "label"])
            .join(wide, on="measure")
        )
    missing = [c for c in ("label_sv", "label_en") if c not in measures.columns]
    if missing:
        raise InputFileError(
            f"{path / PUBLISHED_FILES['measures']} has no labels {', '.join(missing)} (columns"
            f" found: {', '.join(measures.columns)})."
        )
    order = measures["order"] if "order" in measures.columns else range(len(measures))
    group = measures["group"] if "group" in measures.columns else measures["domain"]
    return measures.assign(order=order, group=group.fillna("").astype(str)).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Parameters and labels


def check_area(published: Published, area: str, lang: str | None = None) -> str:
    """Return the area's display name after checking that the area is published.

    ``"all"`` is the whole municipality (its name is the text ``city``).

    Raises
    ------
    ValueError
        If the area is not in the run's area list; the message lists the known ids.
    """
    if area == CITY:
        return t("city", lang)
    known = published.areas
    if area not in set(known["area_id"]):
        raise ValueError(
            f"The area {area!r} is not in the published data. Known areas: "
            f"{', '.join(known['area_id'])}, or 'all' for the whole municipality."
        )
    return str(known.set_index("area_id").loc[area, "name"])


def check_wave(published: Published, wave: int) -> int | None:
    """Check that ``wave`` is published and return the previous wave (``None`` if none).

    Raises
    ------
    ValueError
        If the wave is not in the aggregate table; the message lists the published waves.
    """
    if (
        isinstance(wave, bool)
        or not isinstance(wave, int | np.integer)
        or wave not in published.waves
    ):
        raise ValueError(
            f"The survey year {wave!r} is not in the published data; published years:"
            f" {', '.join(map(str, published.waves))}."
        )
    return previous_wave_of(published.aggregates, wave)


def previous_wave_of(aggregates: pd.DataFrame, wave: int) -> int | None:
    """The latest wave before ``wave`` in a tidy table, or ``None``."""
    earlier = [int(w) for w in aggregates["wave"].unique() if int(w) < wave]
    return max(earlier) if earlier else None


def area_name(published: Published, area: str, lang: str | None = None) -> str:
    """Display name of an area id (``"all"`` gives the municipality)."""
    if area == CITY:
        return t("city", lang)
    names = published.areas.set_index("area_id")["name"]
    return str(names.get(area, area))


def measure_labels(measures: pd.DataFrame, lang: str | None = None) -> dict[str, str]:
    """Map measure id -> label in ``lang`` from the (normalised) published measures."""
    column = f"label_{check_language(lang)}"
    return dict(zip(measures["measure"], measures[column], strict=True))


def grade_labels(lang: str | None = None) -> dict[str, str]:
    """Map grade code -> label (``data_schema/respondents.yaml``), ``all`` -> all grades."""
    from ctc_helpers.config.instrument import load_respondent_schema

    return {**load_respondent_schema().grade_labels(lang), TOTAL: t("all_grades", lang)}


def sex_labels(lang: str | None = None) -> dict[str, str]:
    """Map sex code -> label (``data_schema/respondents.yaml``), ``all`` -> everyone."""
    from ctc_helpers.config.instrument import load_respondent_schema

    return {**load_respondent_schema().sex_labels(lang), TOTAL: t("all_sexes", lang)}


# --------------------------------------------------------------------------------------------
# Views of the published tables (tidy, unrounded; used by tables and charts)


def select_rows(
    frame: pd.DataFrame,
    *,
    wave: int,
    area: str,
    grade: str | None = TOTAL,
    sex: str | None = TOTAL,
    kinds: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Rows of one wave and area; ``grade``/``sex`` ``None`` keeps every code (margins included).

    The rows keep their order and index. The conditions narrow the row positions one after the
    other (the wave, then the area, ...), so each text comparison runs only over the rows still
    kept: a report selects from the whole city's table many times.
    """
    rows = np.flatnonzero(frame["wave"].to_numpy() == wave)
    for column, value in (("area", area), ("grade", grade), ("sex", sex)):
        if value is not None:
            rows = rows[frame[column].to_numpy()[rows] == value]
    if kinds is not None:
        rows = rows[pd.Series(frame["measure_kind"].to_numpy()[rows]).isin(kinds).to_numpy()]
    return frame.iloc[rows]


def profile_frame(
    aggregates: pd.DataFrame,
    comparisons: pd.DataFrame | None = None,
    *,
    kind: str,
    area: str,
    wave: int,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """One row per measure of ``kind`` (all grades, both sexes) with its comparison series.

    For ``kind`` ``"risk"`` or ``"protective"`` the composite of that kind (``group`` in
    ``measures``) is appended, as in CTC profile charts. The previous wave is shown only where
    it used the same cut-point version (otherwise ``pct_previous`` is NaN).

    Returns
    -------
    pandas.DataFrame
        Columns ``measure, label, measure_kind, domain, domain_label, pct, ci_low, ci_high, n,
        suppressed, pct_city, city_suppressed, diff_city, change_city, pct_previous,
        previous_suppressed, diff_previous, change_previous, previous_wave``; ``pct_city`` and
        ``diff_city`` are NaN for the city itself. Proportions 0..1, unrounded.
    """
    kinds = _kinds_for(kind, measures)
    previous = previous_wave_of(aggregates, wave)
    own = select_rows(aggregates, wave=wave, area=area, kinds=kinds)
    city = _series(select_rows(aggregates, wave=wave, area=CITY, kinds=kinds), "city")
    before = _previous_series(aggregates, own, area=area, previous=previous, kinds=kinds)
    frame = (
        own.loc[
            :, ["measure", "measure_kind", "domain", "pct", "ci_low", "ci_high", "n", "suppressed"]
        ]
        .merge(city, on="measure", how="left")
        .merge(before, on="measure", how="left")
        .merge(_comparison_columns(comparisons, area=area, wave=wave), on="measure", how="left")
        .assign(previous_wave=previous)
    )
    if kinds != (kind,):  # only the composite of the profile's own kind
        composites = set(measures.loc[measures["group"].eq(kind), "measure"])
        frame = frame.loc[frame["measure_kind"].ne("composite") | frame["measure"].isin(composites)]
    if area == CITY:
        frame = frame.assign(pct_city=np.nan, diff_city=np.nan, change_city="")
    frame = frame.assign(
        suppressed=frame["suppressed"].astype(bool) | frame["pct"].isna(),
        change_city=frame["change_city"].fillna(""),
        change_previous=frame["change_previous"].fillna(""),
    )
    return _with_labels(frame, measures, lang).reset_index(drop=True)


def _kinds_for(kind: str, measures: pd.DataFrame | None) -> tuple[str, ...]:
    allowed = ("risk", "protective", "behaviour", "composite")
    if kind not in allowed:
        raise ValueError(f"kind is {kind!r}; choose one of: {', '.join(allowed)}.")
    return (
        (kind, "composite") if kind in ("risk", "protective") and measures is not None else (kind,)
    )


def _series(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    return rows.loc[:, ["measure", "pct", "suppressed"]].rename(
        columns={"pct": f"pct_{name}", "suppressed": f"{name}_suppressed"}
    )


def _previous_series(
    aggregates: pd.DataFrame, own: pd.DataFrame, *, area: str, previous: int | None, kinds
) -> pd.DataFrame:
    columns = ["measure", "pct_previous", "previous_suppressed"]
    if previous is None:
        return pd.DataFrame(columns=columns).astype({"pct_previous": float})
    rows = select_rows(aggregates, wave=previous, area=area, kinds=kinds)
    if "cutpoint_version" in rows.columns and "cutpoint_version" in own.columns:
        same = rows.merge(own[["measure", "cutpoint_version"]], on=["measure", "cutpoint_version"])
        rows = rows.loc[rows["measure"].isin(same["measure"])]
    return _series(rows, "previous").loc[:, columns]


def _comparison_columns(comparisons: pd.DataFrame | None, *, area: str, wave: int) -> pd.DataFrame:
    columns = ["measure", "diff_city", "change_city", "diff_previous", "change_previous"]
    if comparisons is None or comparisons.empty:
        return pd.DataFrame(columns=columns).astype({"diff_city": float, "diff_previous": float})
    rows = select_rows(comparisons, wave=wave, area=area)
    parts = [
        rows.loc[rows["comparison"].eq(name), ["measure", "diff", "change"]].rename(
            columns={"diff": f"diff_{suffix}", "change": f"change_{suffix}"}
        )
        for name, suffix in (("city", "city"), ("previous_wave", "previous"))
    ]
    return parts[0].merge(parts[1], on="measure", how="outer").loc[:, columns]


def _with_labels(
    frame: pd.DataFrame, measures: pd.DataFrame | None, lang: str | None
) -> pd.DataFrame:
    if measures is None:
        labels, order = {}, {}
    else:
        labels = measure_labels(measures, lang)
        order = dict(zip(measures["measure"], measures["order"], strict=True))
    domains = frame["domain"].map(
        lambda d: t(f"domain_{d}", lang) if has_text(f"domain_{d}") else d
    )
    return (
        frame.assign(
            label=frame["measure"].map(lambda m: labels.get(m, m)),
            domain_label=domains,
            _order=frame["measure"].map(lambda m: order.get(m, len(order))),
            _domain_order=frame["domain"].map(_domain_rank),
        )
        .sort_values(["_domain_order", "_order"], kind="stable")
        .drop(columns=["_order", "_domain_order"])
    )


DOMAIN_ORDER = ("community", "family", "school", "individual", "composite", "behaviour")


def _domain_rank(domain: str) -> int:
    return DOMAIN_ORDER.index(domain) if domain in DOMAIN_ORDER else len(DOMAIN_ORDER)


def has_text(key: str) -> bool:
    """Whether ``data_schema/i18n.yaml`` has a text with this key (placeholders not needed)."""
    return key in _text_keys()


def _text_keys() -> frozenset[str]:
    from ctc_helpers.i18n import message_keys

    return message_keys()


def breakdown_frame(
    aggregates: pd.DataFrame,
    *,
    kind: str,
    area: str,
    wave: int,
    by: str = "grade",
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """Measures of ``kind`` by grade (both sexes) or by sex (all grades), margins excluded.

    Returns
    -------
    pandas.DataFrame
        Columns ``measure, label, domain, domain_label, group, group_label, pct, ci_low, ci_high,
        n, suppressed``; ``group`` is the grade or sex code, in the schema's order.
    """
    if by not in ("grade", "sex"):
        raise ValueError(f"by is {by!r}; choose 'grade' or 'sex'.")
    other = "sex" if by == "grade" else "grade"
    rows = select_rows(aggregates, wave=wave, area=area, kinds=(kind,), **{by: None, other: TOTAL})
    labels = grade_labels(lang) if by == "grade" else sex_labels(lang)
    order = list(labels)
    rows = rows.loc[rows[by].ne(TOTAL) & rows[by].isin(order)]
    frame = rows.assign(
        group=rows[by],
        group_label=rows[by].map(labels),
        suppressed=rows["suppressed"].astype(bool) | rows["pct"].isna(),
        _group_order=rows[by].map(order.index),
    )
    frame = (
        _with_labels(frame, measures, lang)
        .sort_values(["_group_order"], kind="stable")
        .drop(columns="_group_order")
    )
    columns = ["measure", "label", "domain", "domain_label", "group", "group_label", "pct",
               "ci_low", "ci_high", "n", "suppressed"]  # fmt: skip
    return frame.loc[:, columns].reset_index(drop=True)


def areas_frame(
    aggregates: pd.DataFrame,
    *,
    kind: str,
    wave: int,
    areas: pd.DataFrame | None = None,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """Every area's value of each measure of ``kind`` (all grades, both sexes), the city last.

    Returns
    -------
    pandas.DataFrame
        Columns ``measure, label, domain, domain_label, area, area_label, pct, suppressed``.
    """
    keep = (
        aggregates["wave"].eq(wave)
        & aggregates["grade"].eq(TOTAL)
        & aggregates["sex"].eq(TOTAL)
        & aggregates["measure_kind"].eq(kind)
    )
    rows = aggregates.loc[keep]
    names = {} if areas is None else dict(zip(areas["area_id"], areas["name"], strict=True))
    order = [*names, CITY] if names else [*sorted(set(rows["area"]) - {CITY}), CITY]
    rows = rows.loc[rows["area"].isin(order)]
    frame = rows.assign(
        area_label=rows["area"].map(lambda a: t("city", lang) if a == CITY else names.get(a, a)),
        suppressed=rows["suppressed"].astype(bool) | rows["pct"].isna(),
        _area_order=rows["area"].map(order.index),
    )
    frame = _with_labels(frame.sort_values("_area_order", kind="stable"), measures, lang)
    columns = [
        "measure",
        "label",
        "domain",
        "domain_label",
        "area",
        "area_label",
        "pct",
        "suppressed",
    ]
    return frame.loc[:, columns].reset_index(drop=True)


def rule_labels(published: Published, lang: str | None = None) -> dict[str, str]:
    """Map validity rule id -> label: ``run_info["validity_rules"]``, else the default instrument.

    The default instrument's labels are used only for rule ids it defines; ``any_excluded`` is
    the total of excluded questionnaires.
    """
    lang = check_language(lang)
    labels = {"any_excluded": t("report_rule_any_excluded", lang)}
    rules = published.run_info.get("validity_rules")
    if rules:
        return {**labels, **{r["id"]: _text_of(r.get("label"), lang) or r["id"] for r in rules}}
    known = _instrument_rule_labels(lang)
    present = [r for r in dict.fromkeys(published.screening_log["rule"]) if r != "any_excluded"]
    return {**labels, **{r: known.get(r, r) for r in present}}


def _instrument_rule_labels(lang: str) -> dict[str, str]:
    """Rule labels of the default instrument (its ``validity`` section)."""
    from ctc_helpers.config.instrument import load_instrument

    return {rule.id: text_of(rule.label, lang) for rule in load_instrument().validity}


def _text_of(mapping: dict[str, str] | str | None, lang: str | None) -> str:
    return "" if mapping is None else text_of(mapping, lang)
