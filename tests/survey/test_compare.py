"""Tests for ctc_helpers.survey.compare, on hand-made aggregate tables.

Expected statistics come from statsmodels (independent of ctc_helpers.stats): the Newcombe
interval (``confint_proportions_2indep(method="newcomb")``), the pooled z-test
(``proportions_ztest``) and Holm (``multipletests(method="holm")``); Cohen's h by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from ctc_helpers.errors import ComparisonError
from ctc_helpers.survey.compare import compare_to_city, compare_waves


def _row(wave, area, measure, n, flagged, *, version="v1", kind="risk", suppressed=False):
    return {
        "wave": wave,
        "area": area,
        "grade": "all",
        "sex": "all",
        "measure": measure,
        "measure_kind": kind,
        "domain": "family",
        "n": n,
        "n_flagged": float(flagged),
        "pct": flagged / n if n else np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n_eff": float(n),
        "pct_level2": np.nan,
        "cutpoint_version": version,
        "suppressed": suppressed,
        "suppression_reason": "primary" if suppressed else "",
    }


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame([_row(*r[:5], **(r[5] if len(r) > 5 else {})) for r in rows])


CITY_ROWS = [
    # wave, area, measure, n, flagged
    (2023, "norr", "conflict", 100, 30),
    (2023, "syd", "conflict", 200, 30),
    (2023, "all", "conflict", 300, 60),
    (2023, "norr", "attachment", 100, 40),
    (2023, "syd", "attachment", 200, 100),
    (2023, "all", "attachment", 300, 140),
    (2023, "norr", "small", 5, 2),  # too small
    (2023, "syd", "small", 200, 20),
    (2023, "all", "small", 205, 22),
]


def _newcombe(x1, n1, x2, n2):
    return confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")


def test_area_is_tested_against_the_rest_of_the_city():
    out = compare_to_city(_table(CITY_ROWS), area="norr", wave=2023).set_index("measure")
    row = out.loc["conflict"]
    # area 30/100 against the rest of the city (300 - 100, 60 - 30) = 30/200
    assert row["pct_area"] == 0.3 and row["n_area"] == 100
    assert row["pct_city"] == 0.2 and row["n_city"] == 300  # the whole city, for display
    assert row["pct_rest"] == 0.15 and row["n_rest"] == 200
    assert row["diff"] == pytest.approx(0.15)
    low, high = _newcombe(30, 100, 30, 200)
    assert (row["diff_low"], row["diff_high"]) == pytest.approx((low, high), abs=1e-10)
    z, p = proportions_ztest([30, 30], [100, 200])
    assert (row["z"], row["p_value"]) == pytest.approx((z, p), rel=1e-10)
    h = 2 * math.asin(math.sqrt(0.3)) - 2 * math.asin(math.sqrt(0.15))
    assert row["cohens_h"] == pytest.approx(h)
    assert row["cutpoint_version"] == "v1"


def test_holm_across_the_measures_and_change_codes():
    out = compare_to_city(_table(CITY_ROWS), area="norr", wave=2023).set_index("measure")
    p = [proportions_ztest([30, 30], [100, 200])[1], proportions_ztest([40, 100], [100, 200])[1]]
    holm = multipletests(p, method="holm")[1]
    np.testing.assert_allclose(out.loc[["conflict", "attachment"], "p_holm"], holm, rtol=1e-10)
    # conflict: 0.30 vs 0.15, interval above 0 and p_holm < 0.05 -> increase
    assert out.loc["conflict", "change"] == "increase"
    # attachment: 0.40 vs 0.50 -> p about 0.1: no clear change
    assert out.loc["attachment", "change"] == "no_clear_change"
    # small: 5 pupils in the area -> too few, and no numbers at all
    small = out.loc["small"]
    assert small["change"] == "too_few"
    assert small[["pct_area", "n_area", "pct_city", "diff", "z", "p_value", "p_holm"]].isna().all()


def test_decrease_and_suppressed_groups():
    rows = [
        (2023, "norr", "conflict", 200, 10),
        (2023, "syd", "conflict", 200, 60),
        (2023, "all", "conflict", 400, 70),
        (2023, "norr", "hidden", 100, 10, {"suppressed": True}),
        (2023, "syd", "hidden", 200, 60),
        (2023, "all", "hidden", 300, 70),
    ]
    out = compare_to_city(_table(rows), area="norr", wave=2023).set_index("measure")
    assert out.loc["conflict", "change"] == "decrease"  # 0.05 vs 0.30
    assert out.loc["hidden", "change"] == "too_few"
    assert np.isnan(out.loc["hidden", "diff"])
    # Holm counts only the comparisons made: one, so p_holm == p_value
    assert out.loc["conflict", "p_holm"] == out.loc["conflict", "p_value"]


def test_rest_of_city_too_small():
    rows = [
        (2023, "norr", "conflict", 100, 30),
        (2023, "syd", "conflict", 5, 1),
        (2023, "all", "conflict", 105, 31),
    ]
    out = compare_to_city(_table(rows), area="norr", wave=2023)
    assert out["change"].tolist() == ["too_few"]


def test_city_comparison_errors():
    table = _table(CITY_ROWS)
    with pytest.raises(ValueError, match="no area 'vast'; it has: all, norr, syd"):
        compare_to_city(table, area="vast", wave=2023)
    with pytest.raises(ValueError, match="no wave 2019; it has: 2023"):
        compare_to_city(table, area="norr", wave=2019)
    with pytest.raises(ValueError, match="not the total code 'all'"):
        compare_to_city(table, area="all", wave=2023)


WAVE_ROWS = [
    (2021, "all", "conflict", 400, 80),
    (2023, "all", "conflict", 400, 120),
    (2021, "all", "alcohol", 400, 100, {"version": "", "kind": "behaviour"}),
    (2023, "all", "alcohol", 400, 96, {"version": "", "kind": "behaviour"}),
    (2021, "all", "new_only_2021", 400, 10),
]


def test_compare_waves():
    out = compare_waves(_table(WAVE_ROWS), wave=2023, previous_wave=2021).set_index("measure")
    row = out.loc["conflict"]
    assert (row["pct"], row["n"], row["pct_previous"], row["n_previous"]) == (0.3, 400, 0.2, 400)
    low, high = _newcombe(120, 400, 80, 400)
    assert (row["diff_low"], row["diff_high"]) == pytest.approx((low, high), abs=1e-10)
    z, p = proportions_ztest([120, 80], [400, 400])
    assert (row["z"], row["p_value"]) == pytest.approx((z, p), rel=1e-10)
    holm = multipletests([p, proportions_ztest([96, 100], [400, 400])[1]], method="holm")[1]
    assert row["p_holm"] == pytest.approx(holm[0])
    assert row["change"] == "increase"
    assert out.loc["alcohol", "change"] == "no_clear_change"
    assert out.loc["alcohol", "cutpoint_version"] == ""
    # a measure missing in one wave cannot be compared
    assert out.loc["new_only_2021", "change"] == "too_few"
    assert out.loc["new_only_2021", "measure_kind"] == "risk"
    assert set(out["wave"]) == {2023} and set(out["previous_wave"]) == {2021}


def test_different_cutpoint_versions_are_refused():
    rows = [
        (2021, "all", "conflict", 400, 80, {"version": "ctc/ref-2021/P75-P90/aaaa"}),
        (2023, "all", "conflict", 400, 120, {"version": "ctc/ref-2023/P75-P90/bbbb"}),
    ]
    message = (
        r"'conflict' differ between 2021 \(version 'ctc/ref-2021/P75-P90/aaaa'\) and 2023"
        r" \(version 'ctc/ref-2023/P75-P90/bbbb'\).*save_cutpoints"
    )
    with pytest.raises(ComparisonError, match=message):
        compare_waves(_table(rows), wave=2023, previous_wave=2021)


def test_wave_comparison_errors():
    with pytest.raises(ValueError, match="no wave 2019; it has: 2021, 2023"):
        compare_waves(_table(WAVE_ROWS), wave=2023, previous_wave=2019)
    doubled = pd.concat([_table(WAVE_ROWS), _table(WAVE_ROWS[:1])])
    with pytest.raises(ValueError, match="several rows per measure"):
        compare_waves(doubled, wave=2023, previous_wave=2021)


def test_weighted_tables_use_the_effective_sizes():
    table = _table(CITY_ROWS[:3])
    # weighted: Kish n_eff below n; flagged on the n_eff scale = pct * n_eff
    table["n_eff"] = [80.0, 160.0, 240.0]
    out = compare_to_city(table, area="norr", wave=2023).iloc[0]
    # area 0.3 * 80 = 24 of 80; rest 0.2 * 240 - 24 = 24 of 240 - 80 = 160
    low, high = _newcombe(24, 80, 24, 160)
    assert (out["diff_low"], out["diff_high"]) == pytest.approx((low, high), abs=1e-10)
    assert out["z"] == pytest.approx(proportions_ztest([24, 24], [80, 160])[0], rel=1e-10)
    assert out["n_rest"] == 200  # unweighted pupils, for display
