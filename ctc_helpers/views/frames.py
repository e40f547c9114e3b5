"""The rows a table or chart of the profile report shows, as tidy frames with their labels.

Each frame is read from the published tables (:class:`ctc_helpers.publish.read.Published`),
unrounded (proportions 0..1), with the labels of its measures, domains, groups and areas in
Swedish or English (:mod:`ctc_helpers.views.labels`), sorted as the report shows them: domains
in the order of :data:`DOMAIN_ORDER`, measures in the catalogue's order. The display copies
(rounded, the suppression marker) are made from them in :mod:`ctc_helpers.views.profile`, the
charts in :mod:`ctc_helpers.plots.profile`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctc_helpers.i18n import t
from ctc_helpers.publish.read import previous_wave_of, select_rows
from ctc_helpers.views.labels import (
    domain_labels,
    grade_labels,
    has_text,
    measure_labels,
    sex_labels,
)
from ctc_helpers.vocab import CITY, FACTOR_KINDS, MEASURE_KINDS, TOTAL

__all__ = ["DOMAIN_ORDER", "profile_frame", "breakdown_frame", "areas_frame"]

DOMAIN_ORDER = ("community", "family", "school", "individual", "composite", "behaviour")


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
        suppressed, pct_city, city_suppressed, pct_rest, diff_city, change_city, pct_previous,
        previous_suppressed, diff_previous, change_previous, previous_wave``; ``pct_rest`` is the
        rest of the city (the city without the area), the reference ``diff_city`` is taken
        against (:func:`ctc_helpers.survey.compare.compare_to_city`); ``pct_city``, ``pct_rest``
        and ``diff_city`` are NaN for the city itself. Proportions 0..1, unrounded.
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
        frame = frame.assign(pct_city=np.nan, pct_rest=np.nan, diff_city=np.nan, change_city="")
    frame = frame.assign(
        suppressed=frame["suppressed"].astype(bool) | frame["pct"].isna(),
        change_city=frame["change_city"].fillna(""),
        change_previous=frame["change_previous"].fillna(""),
    )
    return _with_labels(frame, measures, lang, domains=aggregates).reset_index(drop=True)


def _kinds_for(kind: str, measures: pd.DataFrame | None) -> tuple[str, ...]:
    if kind not in MEASURE_KINDS:
        raise ValueError(f"kind is {kind!r}; choose one of: {', '.join(MEASURE_KINDS)}.")
    return (kind, "composite") if kind in FACTOR_KINDS and measures is not None else (kind,)


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
    columns = [
        "measure",
        "pct_rest",
        "diff_city",
        "change_city",
        "diff_previous",
        "change_previous",
    ]
    numbers = {"pct_rest": float, "diff_city": float, "diff_previous": float}
    if comparisons is None or comparisons.empty:
        return pd.DataFrame(columns=columns).astype(numbers)
    rows = select_rows(comparisons, wave=wave, area=area)
    if "pct_rest" not in rows.columns:
        rows = rows.assign(pct_rest=np.nan)
    parts = [
        rows.loc[rows["comparison"].eq(name), ["measure", "pct_rest", "diff", "change"]].rename(
            columns={"diff": f"diff_{suffix}", "change": f"change_{suffix}"}
        )
        for name, suffix in (("city", "city"), ("previous_wave", "previous"))
    ]
    parts[1] = parts[1].drop(columns="pct_rest")
    return parts[0].merge(parts[1], on="measure", how="outer").loc[:, columns]


def _with_labels(
    frame: pd.DataFrame, measures: pd.DataFrame | None, lang: str | None, *, domains: object
) -> pd.DataFrame:
    """Measure and domain labels; ``domains`` is the published aggregate table (or folder) whose
    instrument declares the domains, their names and order (:func:`labels.domain_labels`)."""
    if measures is None:
        labels, order = {}, {}
    else:
        labels = measure_labels(measures, lang)
        order = dict(zip(measures["measure"], measures["order"], strict=True))
    declared = domain_labels(domains, lang)
    ranks = {d: i for i, d in enumerate(dict.fromkeys([*declared, *DOMAIN_ORDER]))}
    named = frame["domain"].map(lambda d: declared.get(d) or _domain_text(d, lang))
    return (
        frame.assign(
            label=frame["measure"].map(lambda m: labels.get(m, m)),
            domain_label=named,
            _order=frame["measure"].map(lambda m: order.get(m, len(order))),
            _domain_order=frame["domain"].map(lambda d: ranks.get(d, len(ranks))),
        )
        .sort_values(["_domain_order", "_order"], kind="stable")
        .drop(columns=["_order", "_domain_order"])
    )


def _domain_text(domain: str, lang: str | None) -> str:
    key = f"domain_{domain}"
    return t(key, lang) if has_text(key) else domain


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
    labels = (grade_labels if by == "grade" else sex_labels)(lang, published=aggregates)
    order = list(labels)
    rows = rows.loc[rows[by].ne(TOTAL) & rows[by].isin(order)]
    frame = rows.assign(
        group=rows[by],
        group_label=rows[by].map(labels),
        suppressed=rows["suppressed"].astype(bool) | rows["pct"].isna(),
        _group_order=rows[by].map(order.index),
    )
    frame = (
        _with_labels(frame, measures, lang, domains=aggregates)
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
    frame = _with_labels(
        frame.sort_values("_area_order", kind="stable"), measures, lang, domains=aggregates
    )
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
