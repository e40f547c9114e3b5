"""Prioritisation worksheet: rank the factors of an area by transparent criteria, suggest a few.

A worksheet, not a verdict: CTC area teams choose 2-5 factors by consensus (SDRG; Socialstyrelsen
asks for the factors that affect the most children). This module lays the criteria side by side,
suggests a starting point and records the team's own choice (``<data dir>/priorities/<area>.yaml``,
schema ``data_schema/priorities.yaml``) next to the suggestion.

Criteria (one row per factor, all grades and both sexes of the area, from the published tables)
------------------------------------------------------------------------------------------------
- ``pct``: share of the area's respondents at risk (risk factor) or with protection (protective).
- ``diff`` = area - rest of the city (``compare.compare_to_city``: the area's pupils are left
  out of the reference so that the samples are independent) in proportion units with its
  interval, next to ``pct_city`` (the whole city, the figure readers know); ``clear`` is True when the
  comparison (``comparisons.parquet``, Holm-adjusted across the factors) is a statistically clear
  *excess* for a risk factor or a clear *deficit* for a protective factor.
- ``trend_diff``, ``trend_change``: change since the previous wave and its verdict.
- ``grades_elevated`` of ``grades_with_data``: grades where the area is worse than the city
  (higher risk, lower protection), counting only grades where both values are published.
- ``youth_affected``: respondents concerned, ``pct x n`` for a risk factor and ``(1 - pct) x n``
  (respondents *without* the protection) for a protective factor, rounded. It counts respondents,
  not the area's whole youth population.

Score (integer points, shown in the table)
------------------------------------------
``score = 3 x clear + excess points + consistency + trend + reach`` where

- excess points: one point per full 5 percentage points by which the area is worse than the
  city, at most 3 (0 when it is not worse);
- consistency: 1 when the area is worse than the city in at least half of the grades with data
  (and at least 2 grades have data);
- trend: 1 when the factor became clearly worse since the previous wave;
- reach: 1 when the share concerned is at least the median share concerned of the area's
  factors of the same kind.

Problem behaviours first (when ``behaviours`` are given): ``+ link_points``, 1 when research
links the factor to a priority behaviour (``data_schema/factor_links.yaml``) and 1 when the local
link is clear here (the grade- and sex-adjusted difference in the behaviour between pupils
exposed and not has an interval above 0; :mod:`ctc_helpers.phases.links`). The columns of
``links.LINK_RANK_COLUMNS`` are added so that each reason names both.

For the city report (``area == "all"``) there is no city to compare with: the score is
``trend + reach``. Factors are ranked within each kind by score, then by how much worse than the
city, then by the share concerned; factors with too few answers are not ranked.

Suggestion
----------
Risk factors (2 to 5): every factor with a clear excess of at least 5 percentage points
(``MIN_SUGGESTED_EXCESS``), best ranked first, at most 5; if fewer than 2, the next factors that
are worse than the city (clearly but by less than 5 points, or not clearly), then the next by rank,
until 2. With large samples a difference of a point or two can be statistically clear without
mattering in practice; such factors keep their points and rank but are not suggested on that
alone. Protective factors (1 to 3): the same with clear deficits, at least 1. For the city: the 2 risk
factors and the 1 protective factor ranked first, plus (up to 5 and 3) those that became clearly
worse since the previous wave. When an area has too few answers, nothing is suggested and the
reason is "för få svar för att bedöma".

Examples
--------
>>> SUGGESTION_LIMITS["risk"], SUGGESTION_LIMITS["protective"]
((2, 5), (1, 3))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.priorities import TeamChoices
from ctc_helpers.phases.links import LINK_RANK_COLUMNS, link_evidence
from ctc_helpers.publish.read import previous_wave_of
from ctc_helpers.vocab import CITY, FACTOR_KINDS, TOTAL

__all__ = [
    "RANK_COLUMNS",
    "SUGGESTION_LIMITS",
    "rank_factors",
    "compare_choices",
    "priority_summary",
]

KINDS = FACTOR_KINDS
SUGGESTION_LIMITS = {"risk": (2, 5), "protective": (1, 3)}
POINTS_PER_EXCESS = 0.05  # one excess point per 5 percentage points worse than the city
MIN_SUGGESTED_EXCESS = 0.05  # a clear difference suggests a factor by itself from 5 points on
MAX_EXCESS_POINTS = 3
CLEAR_POINTS = 3
WORSE_CHANGE = {"risk": "increase", "protective": "decrease"}
RANK_COLUMNS = (
    "factor", "kind", "domain", "status", "n", "pct", "pct_city", "diff", "diff_low", "diff_high",
    "clear", "worse", "trend_diff", "trend_change", "trend_worse", "previous_wave",
    "grades_elevated", "grades_with_data", "share_concerned", "youth_affected", "score", "rank",
    "suggested", "suggest_rule", "reason",
)  # fmt: skip


def rank_factors(
    aggregates: pd.DataFrame,
    comparisons: pd.DataFrame,
    *,
    area: str,
    wave: int,
    previous_wave: int | None = None,
    behaviours: Sequence[str] = (),
    research: pd.DataFrame | None = None,
    links: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank the risk and protective factors of an area and suggest a few (see the module doc).

    Parameters
    ----------
    aggregates : pandas.DataFrame
        The published (suppressed) tidy aggregate table (``docs/ARCHITECTURE.md``).
    comparisons : pandas.DataFrame
        The published comparisons: columns ``wave, area, grade, sex, measure, comparison``
        (``"city"`` / ``"previous_wave"``), ``diff, diff_low, diff_high, change``; optional
        ``reference_wave``.
    area : str
        Area id, or ``"all"`` for the city.
    wave : int
        Survey year.
    previous_wave : int, optional
        Earlier wave for the trend; default the latest wave before ``wave`` in ``aggregates``.
        When ``comparisons`` has ``reference_wave``, only rows against this wave are used.
    behaviours : list of str, optional
        The priority problem behaviours; with them the research and local links count.
    research : pandas.DataFrame, optional
        The research links (``load_factor_links().table``); needed with ``behaviours``.
    links : pandas.DataFrame, optional
        The published local link table (``phases.links.read_links``).

    Returns
    -------
    pandas.DataFrame
        One row per factor, risk factors first, each kind by rank. Columns: ``factor, kind,
        domain``, ``status`` (``"ok"`` / ``"too_few"``), ``n``, ``pct``, ``pct_city``, ``diff,
        diff_low, diff_high`` (area - city, 0..1 units), ``clear`` (bool), ``worse`` (bool: worse
        than the city), ``trend_diff``, ``trend_change`` (``increase / decrease /
        no_clear_change / too_few / ""``), ``trend_worse`` (bool), ``previous_wave``,
        ``grades_elevated``, ``grades_with_data``, ``share_concerned``, ``youth_affected``
        (respondents, rounded), ``score`` (int), ``rank`` (1.. within kind, NaN when too few),
        ``suggested`` (bool), ``suggest_rule`` (``clear / worse / rank / trend / ""``),
        ``reason`` (an i18n key, rendered by
        :func:`ctc_helpers.views.prioritization.explain_reasons`). With ``behaviours``, also
        the columns of ``phases.links.LINK_RANK_COLUMNS``.

    Raises
    ------
    ValueError
        If a needed column is missing (named), or the area or wave has no rows.
    """
    _check_columns(aggregates, ("wave", "area", "grade", "sex", "measure", "measure_kind",
                                "domain", "n", "pct", "suppressed"), "aggregates")  # fmt: skip
    _check_columns(comparisons, ("wave", "area", "grade", "sex", "measure", "comparison", "diff",
                                 "diff_low", "diff_high", "change"), "comparisons")  # fmt: skip
    factors = _factor_rows(aggregates, area=area, wave=wave)
    previous = previous_wave if previous_wave is not None else previous_wave_of(aggregates, wave)
    table = (
        factors.merge(_city_rows(aggregates, wave=wave), on="factor", how="left")
        .merge(_versus_city(comparisons, area=area, wave=wave), on="factor", how="left")
        .merge(
            _trend(comparisons, area=area, wave=wave, previous=previous), on="factor", how="left"
        )
        .merge(_grade_consistency(aggregates, area=area, wave=wave), on="factor", how="left")
        .assign(previous_wave=previous)
    )
    table = _criteria(table, is_city=area == CITY)
    columns = list(RANK_COLUMNS)
    if behaviours:
        if research is None:
            raise ValueError("behaviours need the research links: pass research=... as well.")
        evidence = link_evidence(research, links, area=area, wave=wave, behaviours=behaviours)
        table = table.merge(evidence, on="factor", how="left")
        table = table.fillna(
            {"research_behaviours": "", "research_source": "", "local_status": "missing"}
        ).assign(link_points=table["link_points"].fillna(0).astype(int))
        columns += list(LINK_RANK_COLUMNS)
    table = _score_and_rank(table, is_city=area == CITY)
    table = _suggest(table, is_city=area == CITY)
    return table.assign(reason=_reasons(table, is_city=area == CITY)).loc[:, columns]


def _check_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The {name} table has no column {', '.join(repr(c) for c in missing)}; columns"
            f" found: {', '.join(map(str, frame.columns))}."
        )


def _totals(frame: pd.DataFrame, *, area: str, wave: int) -> pd.DataFrame:
    keep = (
        frame["wave"].eq(wave)
        & frame["area"].eq(area)
        & frame["grade"].eq(TOTAL)
        & frame["sex"].eq(TOTAL)
    )
    return frame.loc[keep]


def _factor_rows(aggregates: pd.DataFrame, *, area: str, wave: int) -> pd.DataFrame:
    rows = _totals(aggregates, area=area, wave=wave)
    rows = rows.loc[rows["measure_kind"].isin(KINDS)]
    # an instrument without factor scales (published run_info, issue 16): nothing to rank
    without = (aggregates.attrs.get("run_info") or {}).get("has_factors") is False
    if rows.empty and not without:
        raise ValueError(
            f"The aggregate table has no risk or protective factor for area {area!r} in wave"
            f" {wave}; areas present: {', '.join(sorted(map(str, aggregates['area'].unique())))};"
            f" waves: {', '.join(map(str, sorted(aggregates['wave'].unique())))}."
        )
    hidden = rows["suppressed"].astype(bool) | rows["pct"].isna() | rows["n"].isna()
    return pd.DataFrame(
        {
            "factor": rows["measure"].to_numpy(),
            "kind": rows["measure_kind"].to_numpy(),
            "domain": rows["domain"].to_numpy(),
            "status": np.where(hidden, "too_few", "ok"),
            "n": rows["n"].where(~hidden).to_numpy(dtype=float),
            "pct": rows["pct"].where(~hidden).to_numpy(dtype=float),
        }
    )


def _city_rows(aggregates: pd.DataFrame, *, wave: int) -> pd.DataFrame:
    rows = _totals(aggregates, area=CITY, wave=wave)
    pct = rows["pct"].where(~rows["suppressed"].astype(bool))
    return pd.DataFrame({"factor": rows["measure"].to_numpy(), "pct_city": pct.to_numpy(float)})


def _comparison(comparisons: pd.DataFrame, *, area: str, wave: int, name: str) -> pd.DataFrame:
    rows = _totals(comparisons, area=area, wave=wave)
    return rows.loc[rows["comparison"].eq(name)]


def _versus_city(comparisons: pd.DataFrame, *, area: str, wave: int) -> pd.DataFrame:
    rows = _comparison(comparisons, area=area, wave=wave, name="city")
    return pd.DataFrame(
        {
            "factor": rows["measure"].to_numpy(),
            "diff": rows["diff"].to_numpy(float),
            "diff_low": rows["diff_low"].to_numpy(float),
            "diff_high": rows["diff_high"].to_numpy(float),
            "city_change": rows["change"].astype(str).to_numpy(),
        }
    )


def _trend(
    comparisons: pd.DataFrame, *, area: str, wave: int, previous: int | None
) -> pd.DataFrame:
    rows = _comparison(comparisons, area=area, wave=wave, name="previous_wave")
    if previous is None:
        rows = rows.iloc[0:0]
    elif "reference_wave" in rows.columns:
        rows = rows.loc[rows["reference_wave"].eq(previous)]
    return pd.DataFrame(
        {
            "factor": rows["measure"].to_numpy(),
            "trend_diff": rows["diff"].to_numpy(float),
            "trend_change": rows["change"].astype(str).to_numpy(),
        }
    )


def _grade_consistency(aggregates: pd.DataFrame, *, area: str, wave: int) -> pd.DataFrame:
    keep = aggregates["wave"].eq(wave) & aggregates["sex"].eq(TOTAL) & aggregates["grade"].ne(TOTAL)
    rows = aggregates.loc[keep & aggregates["measure_kind"].isin(KINDS)]
    rows = rows.assign(pct=rows["pct"].where(~rows["suppressed"].astype(bool)))
    own = rows.loc[rows["area"].eq(area), ["measure", "measure_kind", "grade", "pct"]]
    city = rows.loc[rows["area"].eq(CITY), ["measure", "grade", "pct"]]
    both = own.merge(city, on=["measure", "grade"], suffixes=("", "_city")).dropna(
        subset=["pct", "pct_city"]
    )
    sign = np.where(both["measure_kind"].eq("risk"), 1.0, -1.0)
    both = both.assign(elevated=(both["pct"] - both["pct_city"]) * sign > 0)
    counts = both.groupby("measure").agg(
        grades_elevated=("elevated", "sum"), grades_with_data=("elevated", "size")
    )
    return counts.rename_axis("factor").reset_index()


def _criteria(table: pd.DataFrame, *, is_city: bool) -> pd.DataFrame:
    risk = table["kind"].eq("risk")
    sign = np.where(risk, 1.0, -1.0)
    ok = table["status"].eq("ok")
    worse_change = table["kind"].map(WORSE_CHANGE)
    oriented = pd.Series(table["diff"].to_numpy(float) * sign, index=table.index).where(ok)
    share = table["pct"].where(risk, 1.0 - table["pct"])
    trend_change = table["trend_change"].fillna("").where(ok, "too_few")
    return table.assign(
        diff=table["diff"].where(ok),
        diff_low=table["diff_low"].where(ok),
        diff_high=table["diff_high"].where(ok),
        clear=ok & (not is_city) & table["city_change"].eq(worse_change),
        worse=ok & oriented.gt(0),
        oriented_diff=oriented,
        trend_diff=table["trend_diff"].where(ok),
        trend_change=trend_change,
        trend_worse=ok & trend_change.eq(worse_change),
        grades_elevated=table["grades_elevated"].fillna(0).astype(int),
        grades_with_data=table["grades_with_data"].fillna(0).astype(int),
        share_concerned=share,
        youth_affected=(share * table["n"]).map(_round_count),
    )


def _round_count(value: float) -> float:
    return float(math.floor(value + 0.5)) if pd.notna(value) else np.nan


def _score_and_rank(table: pd.DataFrame, *, is_city: bool) -> pd.DataFrame:
    ok = table["status"].eq("ok")
    median = table.loc[ok].groupby("kind")["share_concerned"].transform("median")
    reach = (table["share_concerned"] >= median.reindex(table.index)).astype(int)
    excess = (np.floor(table["oriented_diff"].clip(lower=0) / POINTS_PER_EXCESS + 1e-9)).clip(
        upper=MAX_EXCESS_POINTS
    )
    consistent = (table["grades_with_data"] >= 2) & (
        2 * table["grades_elevated"] >= table["grades_with_data"]
    )
    score = table["trend_worse"].astype(int) + reach + table.get("link_points", 0)
    if not is_city:
        score = score + CLEAR_POINTS * table["clear"].astype(int) + excess.fillna(0).astype(int)
        score = score + consistent.astype(int)
    table = table.assign(score=score.where(ok, 0).astype(int))
    ordered = table.loc[ok].sort_values(
        ["kind", "score", "oriented_diff", "share_concerned", "factor"],
        ascending=[True, False, False, False, True],
        na_position="last",
    )
    rank = ordered.groupby("kind").cumcount() + 1
    return table.assign(rank=rank.reindex(table.index).astype(float))


def _suggest(table: pd.DataFrame, *, is_city: bool) -> pd.DataFrame:
    rules = pd.Series("", index=table.index, dtype=object)
    for kind, (low, high) in SUGGESTION_LIMITS.items():
        ranked = table.loc[table["kind"].eq(kind) & table["rank"].notna()].sort_values("rank")
        picked = _pick(ranked, low=low, high=high, is_city=is_city)
        rules.loc[picked.index] = picked
    order = {kind: i for i, kind in enumerate(KINDS)}
    table = table.assign(suggested=rules.ne(""), suggest_rule=rules)
    return (
        table.assign(_k=table["kind"].map(order), _r=table["rank"].fillna(np.inf))
        .sort_values(["_k", "_r", "factor"])
        .drop(columns=["_k", "_r"])
        .reset_index(drop=True)
    )


def _pick(ranked: pd.DataFrame, *, low: int, high: int, is_city: bool) -> pd.Series:
    """Chosen rows of one kind (index) with the rule that chose each (values)."""
    if is_city:
        first = pd.Series("rank", index=ranked.index[:low])
        extra = ranked.loc[ranked["trend_worse"] & ~ranked.index.isin(first.index)]
        return pd.concat([first, pd.Series("trend", index=extra.index[: high - len(first)])])
    substantial = ranked["clear"] & (ranked["oriented_diff"] >= MIN_SUGGESTED_EXCESS - 1e-9)
    clear = pd.Series("clear", index=ranked.loc[substantial].index[:high])
    rest = ranked.loc[~ranked.index.isin(clear.index)]
    need = max(low - len(clear), 0)
    worse = pd.Series("worse", index=rest.loc[rest["worse"]].index[:need])
    rest = rest.loc[~rest.index.isin(worse.index)]
    by_rank = pd.Series("rank", index=rest.index[: max(need - len(worse), 0)])
    return pd.concat([clear, worse, by_rank])


def _reasons(table: pd.DataFrame, *, is_city: bool) -> pd.Series:
    conditions = [
        table["status"].eq("too_few"),
        pd.Series(is_city, index=table.index),
        table["clear"],
        table["worse"],
        table["diff"].isna(),
    ]
    keys = ["prio_reason_too_few", "prio_reason_city", "prio_reason_clear", "prio_reason_worse",
            "prio_reason_no_comparison"]  # fmt: skip
    return pd.Series(
        np.select(conditions, keys, default="prio_reason_not_worse"), index=table.index
    )


# --------------------------------------------------------------------------------------------
# The team's recorded choice (read and validated by ctc_helpers.config.priorities)


def compare_choices(ranked: pd.DataFrame, choices: TeamChoices | None) -> pd.DataFrame:
    """Suggestion next to the team's choice, one row per factor suggested or chosen.

    Returns
    -------
    pandas.DataFrame
        Columns ``factor, kind, rank, suggested, chosen, agreement`` (``"both"``,
        ``"suggested_only"``, ``"chosen_only"``), suggested/chosen factors of both kinds; with no
        choice recorded, ``chosen`` is False everywhere.
    """
    chosen = set(choices.factors) if choices is not None else set()
    rows = ranked.loc[ranked["suggested"] | ranked["factor"].isin(chosen)]
    rows = rows.assign(chosen=rows["factor"].isin(chosen))
    agreement = np.select(
        [rows["suggested"] & rows["chosen"], rows["suggested"]],
        ["both", "suggested_only"],
        default="chosen_only",
    )
    columns = ["factor", "kind", "rank", "suggested", "chosen", "agreement"]
    return rows.assign(agreement=agreement).loc[:, columns].reset_index(drop=True)


def priority_summary(ranked: pd.DataFrame, choices: TeamChoices | None) -> dict[str, Any]:
    """The results record of notebook 02 (suggested and chosen factor ids, reasons as keys)."""
    suggested = ranked.loc[ranked["suggested"]]
    return {
        "suggested_risk": suggested.loc[suggested["kind"].eq("risk"), "factor"].tolist(),
        "suggested_protective": suggested.loc[
            suggested["kind"].eq("protective"), "factor"
        ].tolist(),
        "too_few": ranked.loc[ranked["status"].eq("too_few"), "factor"].tolist(),
        "chosen_risk": list(choices.risk_factors) if choices else None,
        "chosen_protective": list(choices.protective_factors) if choices else None,
        "choice_wave": choices.wave if choices else None,
        "choice_decided": choices.decided.isoformat() if choices else None,
    }
