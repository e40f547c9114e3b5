"""Tests of ctc_helpers.phases.prioritization on hand-made published tables (expected values by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.phases.prioritization import (
    RANK_COLUMNS,
    compare_choices,
    priority_summary,
    rank_factors,
)
from ctc_helpers.views.prioritization import explain_reasons  # the reasons' codes in words

GRADES = ("g1", "g2")

# One dict per factor of area "a" in 2025: area share, city share, n, comparison with the city
# (diff, low, high, change), change since 2023 (diff, change), shares by grade (area, city).
FACTORS = [
    dict(id="r_a", kind="risk", domain="family", pct=0.40, city=0.25, n=200,
         cmp=(0.15, 0.05, 0.25, "increase"), trend=(0.10, "increase"),
         grades=(0.38, 0.42), city_grades=(0.24, 0.26)),
    dict(id="r_b", kind="risk", domain="school", pct=0.30, city=0.22, n=200,
         cmp=(0.08, 0.01, 0.15, "increase"), trend=(0.02, "no_clear_change"),
         grades=(0.31, 0.20), city_grades=(0.22, 0.22)),
    dict(id="r_c", kind="risk", domain="community", pct=0.26, city=0.22, n=200,
         cmp=(0.04, -0.03, 0.11, "no_clear_change"), trend=(0.05, "increase"),
         grades=(0.25, 0.27), city_grades=(0.22, 0.22)),
    dict(id="r_d", kind="risk", domain="individual", pct=0.10, city=0.15, n=200,
         cmp=(-0.05, -0.10, -0.01, "decrease"), trend=(0.0, "no_clear_change"),
         grades=(0.10, 0.10), city_grades=(0.15, 0.15)),
    dict(id="r_e", kind="risk", domain="individual", pct=None, city=0.20, n=None,
         cmp=None, trend=None, grades=(None, None), city_grades=(0.2, 0.2)),
    dict(id="p_a", kind="protective", domain="family", pct=0.40, city=0.55, n=200,
         cmp=(-0.15, -0.25, -0.05, "decrease"), trend=(-0.05, "no_clear_change"),
         grades=(0.42, 0.38), city_grades=(0.55, 0.55)),
    dict(id="p_b", kind="protective", domain="school", pct=0.60, city=0.58, n=200,
         cmp=(0.02, -0.05, 0.09, "no_clear_change"), trend=(0.0, "no_clear_change"),
         grades=(0.60, 0.60), city_grades=(0.58, 0.58)),
]  # fmt: skip


def _agg_row(area, wave, grade, f, pct, n):
    hidden = pct is None
    return {
        "wave": wave, "area": area, "grade": grade, "sex": "all", "measure": f["id"],
        "measure_kind": f["kind"], "domain": f["domain"], "n": np.nan if hidden else n,
        "pct": np.nan if hidden else pct, "suppressed": hidden,
    }  # fmt: skip


def make_tables(factors=FACTORS, *, with_reference=False):
    """Aggregates and comparisons of area "a" and the city, waves 2023 and 2025."""
    agg, cmp = [], []
    for f in factors:
        agg.append(_agg_row("a", 2025, "all", f, f["pct"], f["n"]))
        agg.append(_agg_row("all", 2025, "all", f, f["city"], 1000))
        agg.append(_agg_row("a", 2023, "all", f, f["pct"], f["n"]))
        agg.append(_agg_row("all", 2023, "all", f, f["city"], 1000))
        for grade, own, city in zip(GRADES, f["grades"], f["city_grades"], strict=True):
            agg.append(_agg_row("a", 2025, grade, f, own, 100))
            agg.append(_agg_row("all", 2025, grade, f, city, 500))
        base = {"wave": 2025, "area": "a", "grade": "all", "sex": "all", "measure": f["id"]}
        city = f["cmp"] or (np.nan, np.nan, np.nan, "too_few")
        trend = f["trend"] or (np.nan, "too_few")
        cmp.append({**base, "comparison": "city", "diff": city[0], "diff_low": city[1],
                    "diff_high": city[2], "change": city[3], "reference_wave": np.nan})  # fmt: skip
        cmp.append({**base, "comparison": "previous_wave", "diff": trend[0], "diff_low": np.nan,
                    "diff_high": np.nan, "change": trend[1], "reference_wave": 2023.0})  # fmt: skip
        if with_reference:  # a second trend row against 2021 that must be ignored by default
            cmp.append({**base, "comparison": "previous_wave", "diff": 0.3, "diff_low": 0.2,
                        "diff_high": 0.4, "change": "increase", "reference_wave": 2021.0})  # fmt: skip
        cmp.append({**base, "area": "all", "comparison": "previous_wave", "diff": trend[0],
                    "diff_low": np.nan, "diff_high": np.nan, "change": trend[1],
                    "reference_wave": 2023.0})  # fmt: skip
    return pd.DataFrame(agg), pd.DataFrame(cmp)


@pytest.fixture
def ranked():
    aggregates, comparisons = make_tables()
    return rank_factors(aggregates, comparisons, area="a", wave=2025).set_index("factor")


def test_columns_and_order(ranked):
    assert list(ranked.reset_index().columns) == list(RANK_COLUMNS)
    # risk factors first, each kind by rank, unranked (too few) last within its kind
    assert list(ranked.index) == ["r_a", "r_b", "r_c", "r_d", "r_e", "p_a", "p_b"]


def test_criteria_by_hand(ranked):
    assert ranked.loc["r_a", "pct_city"] == 0.25
    assert ranked.loc["r_a", "diff"] == 0.15
    assert ranked.loc[["r_a", "r_b", "p_a"], "clear"].all()
    # a risk factor clearly *below* the city and a non-clear one are not clear
    assert not ranked.loc[["r_c", "r_d", "p_b"], "clear"].any()
    assert ranked.loc["r_a", "previous_wave"] == 2023
    assert ranked.loc["r_c", "trend_worse"] and not ranked.loc["r_b", "trend_worse"]
    # grades worse than the city: r_b only in g1 (0.31 > 0.22, 0.20 < 0.22); p_a in both (lower)
    assert (ranked.loc["r_b", "grades_elevated"], ranked.loc["r_b", "grades_with_data"]) == (1, 2)
    assert ranked.loc["p_a", "grades_elevated"] == 2
    assert ranked.loc["r_d", "grades_elevated"] == 0
    # respondents concerned: risk 0.40 x 200; protective (1 - 0.40) x 200 without protection
    assert ranked.loc["r_a", "youth_affected"] == 80
    assert ranked.loc["p_a", "youth_affected"] == 120
    assert ranked.loc["p_a", "share_concerned"] == pytest.approx(0.60)


def test_score_by_hand(ranked):
    # r_a: clear 3 + excess floor(15/5)=3 + consistent 1 + trend 1 + reach 1 (0.40 >= median
    # of 0.40, 0.30, 0.26, 0.10 = 0.28) = 9; r_b: 3 + 1 + 1 + 0 + 1 = 6; r_c: 0+0+1+1+0 = 2;
    # r_d: 0. p_a: 3 + 3 + 1 + 0 + 1 (0.60 >= median 0.50) = 8; p_b: 0.
    expected = {"r_a": 9, "r_b": 6, "r_c": 2, "r_d": 0, "r_e": 0, "p_a": 8, "p_b": 0}
    assert ranked["score"].to_dict() == expected
    assert ranked["rank"].to_dict() == pytest.approx(
        {"r_a": 1, "r_b": 2, "r_c": 3, "r_d": 4, "r_e": np.nan, "p_a": 1, "p_b": 2}, nan_ok=True
    )


def test_suggestion_takes_clear_factors(ranked):
    assert list(ranked.index[ranked["suggested"]]) == ["r_a", "r_b", "p_a"]
    assert set(ranked.loc[ranked["suggested"], "suggest_rule"]) == {"clear"}
    assert ranked.loc["r_a", "reason"] == "prio_reason_clear"
    assert ranked.loc["r_d", "reason"] == "prio_reason_not_worse"
    assert ranked.loc["r_c", "reason"] == "prio_reason_worse"


def test_too_few_is_not_ranked(ranked):
    row = ranked.loc["r_e"]
    assert row["status"] == "too_few"
    assert math.isnan(row["rank"]) and not row["suggested"]
    assert row["reason"] == "prio_reason_too_few"
    assert math.isnan(row["pct"]) and math.isnan(row["youth_affected"])


def test_at_most_five_clear_risk_factors():
    factors = [
        dict(
            FACTORS[0], id=f"r{i}", pct=0.30 + i / 100, cmp=(0.06 + i / 100, 0.01, 0.2, "increase")
        )
        for i in range(6)
    ]
    aggregates, comparisons = make_tables([*factors, FACTORS[5]])
    table = rank_factors(aggregates, comparisons, area="a", wave=2025).set_index("factor")
    suggested = table.index[table["suggested"] & table["kind"].eq("risk")]
    # the largest excess (r5) ranks first; the smallest (r0) is left out
    assert list(suggested) == ["r5", "r4", "r3", "r2", "r1"]


def test_fills_up_to_the_minimum_without_clear_factors():
    factors = [dict(f, cmp=(*f["cmp"][:3], "no_clear_change")) if f["cmp"] else f for f in FACTORS]
    factors[1] = dict(factors[1], cmp=(-0.02, -0.1, 0.05, "no_clear_change"))  # r_b not worse
    factors[6] = dict(factors[6], cmp=(0.02, -0.05, 0.09, "no_clear_change"))
    aggregates, comparisons = make_tables(factors)
    table = rank_factors(aggregates, comparisons, area="a", wave=2025).set_index("factor")
    chosen = table.loc[table["suggested"], "suggest_rule"].to_dict()
    # r_a is worse (not clearly); r_c is worse too and ranks next (trend); p_a is worse
    assert chosen == {"r_a": "worse", "r_c": "worse", "p_a": "worse"}
    texts = explain_reasons(table.loc[["r_c"]], "en")
    assert "Suggested to reach at least 2 factors." in texts.iloc[0]


def test_fills_by_rank_when_nothing_is_worse():
    sign = {"risk": -1, "protective": 1}  # lower risk, higher protection: never worse
    factors = [
        dict(f, cmp=(0.01 * sign[f["kind"]], -0.1, 0.1, "no_clear_change")) if f["cmp"] else f
        for f in FACTORS
    ]
    aggregates, comparisons = make_tables(factors)
    table = rank_factors(aggregates, comparisons, area="a", wave=2025)
    assert not table["worse"].any()
    suggested = table.loc[table["suggested"]]
    assert list(suggested["suggest_rule"]) == ["rank", "rank", "rank"]
    assert list(suggested["kind"]) == ["risk", "risk", "protective"]


def test_whole_area_too_few():
    factors = [dict(f, pct=None, n=None, cmp=None, trend=None) for f in FACTORS]
    aggregates, comparisons = make_tables(factors)
    table = rank_factors(aggregates, comparisons, area="a", wave=2025)
    assert table["status"].eq("too_few").all()
    assert not table["suggested"].any()
    assert table["rank"].isna().all()
    assert set(explain_reasons(table, "sv")) == {"För få svar för att bedöma."}


def test_city_ranks_by_trend_and_reach():
    aggregates, comparisons = make_tables()
    table = rank_factors(aggregates, comparisons, area="all", wave=2025).set_index("factor")
    assert not table["clear"].any()
    assert table["diff"].isna().all()
    # city shares: r_a .25, r_b .22, r_c .22, r_d .15, r_e .20 -> median .22; trend worse: r_a, r_c
    # scores r_a 1+1=2, r_c 1+1=2, r_b 0+1=1, r_e 0, r_d 0; ties broken by share then id
    assert list(table.index[table["kind"].eq("risk")]) == ["r_a", "r_c", "r_b", "r_e", "r_d"]
    assert table.loc[table["suggested"], "suggest_rule"].to_dict() == {
        "r_a": "rank", "r_c": "rank", "p_a": "rank",
    }  # fmt: skip
    assert explain_reasons(table.loc[["r_a"]], "en").iloc[0] == (
        "Concerns 25% of the students. Clearly worse since 2023."
    )


def test_previous_wave_selects_the_reference_rows():
    aggregates, comparisons = make_tables(with_reference=True)
    default = rank_factors(aggregates, comparisons, area="a", wave=2025).set_index("factor")
    assert default.loc["r_b", "trend_change"] == "no_clear_change"
    older = rank_factors(aggregates, comparisons, area="a", wave=2025, previous_wave=2021)
    older = older.set_index("factor")
    assert older.loc["r_b", "trend_change"] == "increase"
    assert older.loc["r_b", "previous_wave"] == 2021


def test_explain_reasons_in_both_languages(ranked):
    sv = explain_reasons(ranked.reset_index(), "sv")
    en = explain_reasons(ranked.reset_index(), "en")
    assert sv.iloc[0] == (
        "Statistiskt säkerställt högre än kommunen: 15 procentenheter (95 % KI +5 till +25)."
        " Sämre än kommunen i 2 av 2 årskurser. Tydligt sämre sedan 2023."
    )
    assert en.iloc[5].startswith(
        "Statistically clearly lower than the municipality: 15 points (95% CI -25 to -5)."
    )


def test_missing_column_is_named():
    aggregates, comparisons = make_tables()
    with pytest.raises(ValueError, match="comparisons table has no column 'change'"):
        rank_factors(aggregates, comparisons.drop(columns="change"), area="a", wave=2025)
    with pytest.raises(ValueError, match="aggregates table has no column 'pct'"):
        rank_factors(aggregates.drop(columns="pct"), comparisons, area="a", wave=2025)


def test_unknown_area_lists_the_known_ones():
    aggregates, comparisons = make_tables()
    with pytest.raises(ValueError, match=r"area 'zz' in wave 2025; areas present: a, all"):
        rank_factors(aggregates, comparisons, area="zz", wave=2025)


# ------------------------------------------------------------------------------- team choices

KNOWN = pd.DataFrame(
    {
        "measure": ["r_a", "r_b", "r_c", "p_a", "p_b", "alcohol"],
        "measure_kind": ["risk", "risk", "risk", "protective", "protective", "behaviour"],
    }
)
VALID = (
    "area: a\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [r_a, r_c]\n"
    "protective_factors: [p_a]\nnote: Beslut i teamet.\n"
)


def write_choice(folder, text, area="a"):
    (folder / f"{area}.yaml").write_text(text, encoding="utf-8")
    return folder


# Reading and validating the team's file: tests/config/test_priorities.py


def test_compare_choices_and_summary(ranked, tmp_path):
    choices = load_team_choices(write_choice(tmp_path, VALID), "a", factors=KNOWN)
    table = compare_choices(ranked.reset_index(), choices).set_index("factor")
    assert table["agreement"].to_dict() == {
        "r_a": "both", "r_b": "suggested_only", "r_c": "chosen_only", "p_a": "both",
    }  # fmt: skip
    summary = priority_summary(ranked.reset_index(), choices)
    assert summary["suggested_risk"] == ["r_a", "r_b"]
    assert summary["chosen_risk"] == ["r_a", "r_c"]
    assert summary["too_few"] == ["r_e"]
    assert summary["choice_decided"] == "2025-11-18"
    empty = compare_choices(ranked.reset_index(), None)
    assert not empty["chosen"].any() and set(empty["agreement"]) == {"suggested_only"}
    assert priority_summary(ranked.reset_index(), None)["chosen_risk"] is None


def test_a_clear_but_small_excess_is_not_suggested_by_itself():
    factors = list(FACTORS)
    factors[2] = dict(factors[2], cmp=(0.04, 0.01, 0.07, "increase"))  # r_c: clear, 4 points
    aggregates, comparisons = make_tables(factors)
    table = rank_factors(aggregates, comparisons, area="a", wave=2025).set_index("factor")
    assert table.loc["r_c", "clear"] and table.loc["r_c", "score"] == 5  # 3 + 0 + 1 + 1 + 0
    assert not table.loc["r_c", "suggested"]
    assert list(table.index[table["suggested"] & table["kind"].eq("risk")]) == ["r_a", "r_b"]
    # with r_b below the city as well, the small clear excess fills the minimum of two
    factors[1] = dict(factors[1], cmp=(-0.02, -0.1, 0.05, "no_clear_change"))
    aggregates, comparisons = make_tables(factors)
    table = rank_factors(aggregates, comparisons, area="a", wave=2025).set_index("factor")
    risk = table.loc[table["suggested"] & table["kind"].eq("risk"), "suggest_rule"].to_dict()
    assert risk == {"r_a": "clear", "r_c": "worse"}
