"""Tests for ctc_helpers.stats (intervals, significance, trend, inputs, distributions).

Expected values come from R (binom, prop.test, PropCIs) copied into tests/data/reference/ (see its README), from
Fagerland et al. (2015), from independent implementations (statsmodels, scipy) or by hand.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency
from statsmodels.discrete.discrete_model import Logit
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from ctc_helpers.stats.distributions import chi2_sf, normal_sf, z_value
from ctc_helpers.stats.intervals import (
    kish_effective_n,
    newcombe_diff_ci,
    weighted_proportion,
    wilson_ci,
)
from ctc_helpers.stats.significance import (
    CHANGE_CODES,
    cohens_h,
    compare_proportions,
    holm_adjust,
    k_proportions_test,
    label_change,
    two_proportion_ztest,
)
from ctc_helpers.stats.trend import logistic_trend_test

REFERENCE = Path(__file__).resolve().parent / "data" / "reference"


def _read_reference(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name, dtype=str, keep_default_na=False)


def _printed_tolerance(text: str) -> float:
    """Half a unit in the last printed decimal of a reference value (plus float noise)."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals + 1e-15


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(";")]


WILSON_ROWS = [
    row
    for row in _read_reference("binomial_ci_reference_R_binom.csv").to_dict("records")
    if row["method_R_binom"] == "wilson"
]
K_SAMPLE_ROWS = _read_reference("chisq_k_proportions_reference_R.csv").to_dict("records")
TWO_PROPORTION_ROWS = _read_reference("two_proportion_reference_values.csv").to_dict("records")

# (x1, n1, x2, n2) including 0/n and n/n.
PAIRS = [(7, 34, 1, 34), (0, 30, 0, 25), (30, 30, 0, 25), (0, 40, 12, 40), (50, 50, 49, 50)]
PAIRS += [(5, 83, 12, 99), (190, 200, 4, 200), (1, 3, 2, 2)]


# --------------------------------------------------------------------------- Wilson


def test_reference_has_all_eight_wilson_cases():
    cases = {(row["x"], row["n"]) for row in WILSON_ROWS}
    assert len(cases) == 8
    assert {("0", "30"), ("30", "30")} <= cases


@pytest.mark.parametrize("row", WILSON_ROWS, ids=lambda r: f"{r['x']}/{r['n']}")
def test_wilson_matches_r_binom(row):
    # R binom::binom.confint(method = "wilson"); full-precision rows agree to ~1e-16, the n = 30
    # rows are printed with 7-8 decimals and must agree to that precision.
    low, high = wilson_ci(int(row["x"]), int(row["n"]))
    assert abs(float(low) - float(row["ci_low"])) <= max(_printed_tolerance(row["ci_low"]), 1e-12)
    assert abs(float(high) - float(row["ci_upp"])) <= max(_printed_tolerance(row["ci_upp"]), 1e-12)


def test_wilson_bounds_are_exact_at_zero_and_n():
    # Plain floating-point arithmetic misses 0 and 1 by ~1e-16 for n = 7, 9, 10, 13, 0.55.
    n = np.array([7, 9, 10, 13, 0.55, 30])
    low_zero, high_zero = wilson_ci(np.zeros_like(n), n)
    low_all, high_all = wilson_ci(n, n)
    assert (low_zero == 0.0).all() and (high_all == 1.0).all()
    assert ((high_zero > 0.0) & (high_zero < 1.0)).all()
    assert ((low_all > 0.0) & (low_all < 1.0)).all()


def test_wilson_vectorised_equals_elementwise_and_scalar_gives_scalar():
    x, n = np.array([18, 4, 4, 190]), np.array([20, 20, 200, 200])
    low, high = wilson_ci(x, n)
    assert isinstance(low, np.ndarray) and low.shape == (4,)
    for i in range(4):
        one_low, one_high = wilson_ci(int(x[i]), int(n[i]))
        assert np.ndim(one_low) == 0
        assert float(one_low) == low[i] and float(one_high) == high[i]


def test_wilson_accepts_series_without_mutating_them():
    x, n = pd.Series([3.0, 0.0], index=[10, 11]), pd.Series([9.0, 4.0], index=[10, 11])
    low, high = wilson_ci(x, n)
    expected_low, expected_high = proportion_confint([3, 0], [9, 4], method="wilson")
    np.testing.assert_allclose(low, expected_low, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(high, expected_high, rtol=1e-12)
    pd.testing.assert_series_equal(x, pd.Series([3.0, 0.0], index=[10, 11]))


@pytest.mark.parametrize("confidence", [0.80, 0.90, 0.99])
def test_wilson_float_counts_and_confidence_match_statsmodels(confidence):
    # Weighted use: x = p * n_eff, n = n_eff (non-integers).
    x, n = np.array([2.4, 10.75, 0.5, 33.3]), np.array([3.6, 40.2, 1.9, 33.3])
    low, high = wilson_ci(x, n, confidence=confidence)
    expected_low, expected_high = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    np.testing.assert_allclose(low, expected_low, rtol=1e-12)
    np.testing.assert_allclose(high, expected_high, rtol=1e-12)


def test_wilson_gives_nan_for_empty_or_missing_groups():
    low, high = wilson_ci([0, np.nan, 3], [0, 10, np.nan])
    assert np.isnan(low).all() and np.isnan(high).all()


def test_wilson_matches_prop_test_one_sample_ci():
    row = next(r for r in K_SAMPLE_ROWS if r["test"].startswith("prop.test 1-sample"))
    expected = [float(v) for v in re.search(r"Wilson CI ([\d.]+)-([\d.]+)", row["test"]).groups()]
    low, high = wilson_ci(int(row["successes"]), int(row["n"]))
    np.testing.assert_allclose([low, high], expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("x", "n", "message"),
    [
        (-1, 10, "x must lie between 0 and inf; got -1"),
        (11, 10, "x cannot exceed n; got x=11 with n=10"),
        ([1, 5], [4, -2], "n must lie between 0 and inf; got -2 at position 1"),
        ("many", 10, "x must be numeric"),
    ],
)
def test_wilson_rejects_impossible_counts(x, n, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        wilson_ci(x, n)


@pytest.mark.parametrize("confidence", [95, 0.0, 1.0, "0.95"])
def test_wilson_rejects_bad_confidence(confidence):
    with pytest.raises(ValueError, match=r"confidence must be a number between 0 and 1.*got"):
        wilson_ci(3, 10, confidence=confidence)


@settings(max_examples=150, deadline=None)
@given(
    n=st.floats(min_value=0.5, max_value=1e6),
    share=st.floats(min_value=0.0, max_value=1.0),
    confidence=st.floats(min_value=0.5, max_value=0.999),
)
def test_wilson_contains_estimate_and_stays_in_unit_interval(n, share, confidence):
    x = share * n
    low, high = wilson_ci(x, n, confidence=confidence)
    p_hat = x / n
    assert 0.0 <= low <= p_hat + 1e-12
    assert p_hat - 1e-12 <= high <= 1.0


# --------------------------------------------------------------------------- Kish / weighting


def test_kish_effective_n_by_hand():
    assert kish_effective_n([1.0, 1.0, 2.0, 4.0]) == pytest.approx(64 / 22, rel=1e-15)
    assert kish_effective_n(np.full(17, 0.3)) == pytest.approx(17.0, rel=1e-12)
    assert kish_effective_n([2.0, np.nan, 2.0]) == pytest.approx(2.0)
    assert math.isnan(kish_effective_n([0.0, 0.0]))
    assert math.isnan(kish_effective_n([]))


def test_kish_effective_n_rejects_negative_weight():
    with pytest.raises(
        ValueError, match=r"weights must lie between 0 and .*got -0.5 at position 2"
    ):
        kish_effective_n([1.0, 2.0, -0.5])


def test_weighted_proportion_unweighted_is_plain_wilson():
    flags = [1, 0, 1, 1, np.nan, 0, 0, 1]
    result = weighted_proportion(flags)
    expected_low, expected_high = proportion_confint(4, 7, method="wilson")
    assert result["n"] == 7 and result["n_flagged"] == 4 and result["n_eff"] == 7
    assert result["pct"] == pytest.approx(4 / 7)
    assert result["ci_low"] == pytest.approx(expected_low, rel=1e-12)
    assert result["ci_high"] == pytest.approx(expected_high, rel=1e-12)


def test_weighted_proportion_uses_kish_n_with_wilson():
    flags = np.array([1, 0, 0, 1, 1, 0, np.nan])
    weights = np.array([2.0, 1.0, 1.0, 2.0, 0.5, 3.0, 9.0])
    known = ~np.isnan(flags)
    w, y = weights[known], flags[known]
    pct = (w * y).sum() / w.sum()
    n_eff = w.sum() ** 2 / (w**2).sum()
    expected_low, expected_high = proportion_confint(pct * n_eff, n_eff, method="wilson")
    result = weighted_proportion(flags, weights=weights)
    assert list(result.index) == ["n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff"]
    assert result["n"] == 6 and result["n_flagged"] == pytest.approx(4.5)
    assert result["pct"] == pytest.approx(pct) and result["n_eff"] == pytest.approx(n_eff)
    assert result["ci_low"] == pytest.approx(expected_low, rel=1e-12)
    assert result["ci_high"] == pytest.approx(expected_high, rel=1e-12)


def test_weighted_proportion_rejects_bad_flags_and_weights():
    with pytest.raises(ValueError, match="flags must be 0, 1 or missing; got 2 at position 1"):
        weighted_proportion([1, 2, 0])
    with pytest.raises(ValueError, match="weights must have one value per flag; got 2 for 3"):
        weighted_proportion([1, 0, 0], weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="weights must lie between 0 and .*got -1"):
        weighted_proportion([1, 0], weights=[1.0, -1.0])


# --------------------------------------------------------------------------- Newcombe


def test_newcombe_matches_fagerland_table():
    row = next(r for r in TWO_PROPORTION_ROWS if r["method"] == "Newcombe hybrid score")
    x1, n1, x2, n2 = (int(v) for v in re.findall(r"\d+", row["data"]))
    low, high = newcombe_diff_ci(x1, n1, x2, n2)
    # Fagerland et al. (2015) print 0.019 and 0.34.
    assert round(float(low), 3) == float(row["ci_low"])
    assert round(float(high), 2) == float(row["ci_high"])


@pytest.mark.parametrize("pair", PAIRS, ids=str)
def test_newcombe_matches_statsmodels(pair):
    x1, n1, x2, n2 = pair
    expected = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    np.testing.assert_allclose(newcombe_diff_ci(x1, n1, x2, n2), expected, rtol=1e-10, atol=1e-13)


def test_newcombe_vectorised_with_confidence_and_empty_group():
    x1, n1, x2, n2 = (np.array(column, dtype=float) for column in zip(*PAIRS, strict=True))
    low, high = newcombe_diff_ci(x1, n1, x2, n2, confidence=0.9)
    for i in range(len(PAIRS)):
        expected = confint_proportions_2indep(
            x1[i], n1[i], x2[i], n2[i], method="newcomb", compare="diff", alpha=0.1
        )
        np.testing.assert_allclose([low[i], high[i]], expected, rtol=1e-10, atol=1e-13)
    empty_low, empty_high = newcombe_diff_ci([3, 0], [10, 0], [0, 2], [0, 8])
    assert np.isnan(empty_low).all() and np.isnan(empty_high).all()


@settings(max_examples=150, deadline=None)
@given(
    n1=st.integers(min_value=1, max_value=5000),
    n2=st.integers(min_value=1, max_value=5000),
    share1=st.floats(min_value=0.0, max_value=1.0),
    share2=st.floats(min_value=0.0, max_value=1.0),
)
def test_newcombe_contains_observed_difference(n1, n2, share1, share2):
    x1, x2 = round(share1 * n1), round(share2 * n2)
    low, high = newcombe_diff_ci(x1, n1, x2, n2)
    diff = x1 / n1 - x2 / n2
    assert -1.0 - 1e-12 <= low <= diff + 1e-12
    assert diff - 1e-12 <= high <= 1.0 + 1e-12


# --------------------------------------------------------------------------- z-test, h, Holm


def test_ztest_matches_statsmodels_reference_row():
    row = next(r for r in K_SAMPLE_ROWS if r["test"].startswith("two-sample z test"))
    (x1, x2), (n1, n2) = _ints(row["successes"]), _ints(row["n"])
    z, p_value = two_proportion_ztest(x1, n1, x2, n2)
    assert float(z) == pytest.approx(float(row["statistic"]), rel=1e-12)
    assert float(p_value) == pytest.approx(float(row["p_value"]), rel=1e-12)


@pytest.mark.parametrize("pair", [p for p in PAIRS if 0 < p[0] + p[2] < p[1] + p[3]], ids=str)
def test_ztest_squared_is_prop_test_chisquare(pair):
    # prop.test(correct = FALSE) on two groups == Pearson chi-square of the 2 x 2 table.
    x1, n1, x2, n2 = pair
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    chi_square, p_expected, _, _ = chi2_contingency(table, correction=False)
    z, p_value = two_proportion_ztest(x1, n1, x2, n2)
    assert float(z) ** 2 == pytest.approx(chi_square, rel=1e-10)
    assert float(p_value) == pytest.approx(p_expected, rel=1e-9)
    assert np.sign(z) == np.sign(x1 / n1 - x2 / n2)
    assert float(z) == pytest.approx(proportions_ztest([x1, x2], [n1, n2])[0], rel=1e-12)


def test_ztest_is_nan_when_undefined():
    z, p_value = two_proportion_ztest([0, 30, 3], [25, 30, 10], [0, 20, 0], [40, 20, 0])
    assert np.isnan(z).all() and np.isnan(p_value).all()


def test_ztest_rejects_impossible_counts():
    with pytest.raises(ValueError, match="x2 cannot exceed n2; got x2=12 with n2=9"):
        two_proportion_ztest(5, 83, 12, 9)


def test_cohens_h_by_hand():
    h = cohens_h([0.5, 1.0, 0.5, 0.25, 0.75, 0.0], [0.5, 0.0, 0.0, 0.0, 0.25, 0.25])
    # 2*asin(sqrt(.5)) = pi/2, 2*asin(sqrt(.25)) = pi/3, 2*asin(sqrt(.75)) = 2*pi/3.
    expected = [0.0, math.pi, math.pi / 2, math.pi / 3, math.pi / 3, -math.pi / 3]
    np.testing.assert_allclose(h, expected, rtol=1e-14, atol=1e-15)
    assert float(cohens_h(0.3, 0.2)) == pytest.approx(-float(cohens_h(0.2, 0.3)))
    assert np.isnan(cohens_h(np.nan, 0.2))


def test_cohens_h_rejects_percentages():
    with pytest.raises(ValueError, match="p1 must lie between 0 and 1; got 35"):
        cohens_h(35, 0.2)


def test_holm_by_hand():
    # sorted: .005*4 = .02, .01*3 = .03, .03*2 = .06, .04*1 = .04 -> monotone .06
    np.testing.assert_allclose(holm_adjust([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm_adjust([0.5, 0.6]), [1.0, 1.0])


def test_holm_matches_statsmodels(rng):
    pvalues = np.concatenate([rng.uniform(0, 0.05, 6), rng.uniform(0, 1, 14), [0.02, 0.02]])
    expected = multipletests(pvalues, method="holm")[1]
    np.testing.assert_allclose(holm_adjust(pvalues), expected, rtol=1e-14)
    np.testing.assert_allclose(holm_adjust(pd.Series(pvalues)), expected, rtol=1e-14)


def test_holm_keeps_nan_out_of_the_family():
    pvalues = np.array([[0.01, np.nan], [0.04, 0.02]])
    result = holm_adjust(pvalues)
    expected = multipletests([0.01, 0.04, 0.02], method="holm")[1]
    assert result.shape == (2, 2) and np.isnan(result[0, 1])
    np.testing.assert_allclose(result[[0, 1, 1], [0, 0, 1]], expected)
    assert np.isnan(holm_adjust([np.nan, np.nan])).all()


def test_holm_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match="pvalues must lie between 0 and 1; got 1.5 at position 1"):
        holm_adjust([0.2, 1.5])


# --------------------------------------------------------------------------- k proportions


def _null_p(test_name: str) -> float | None:
    match = re.search(r"vs p?=?(0\.\d+)", test_name)
    return float(match.group(1)) if match else None


@pytest.mark.parametrize("row", K_SAMPLE_ROWS, ids=lambda r: r["test"][:40])
def test_k_proportions_matches_r_prop_test(row):
    x, n = _ints(row["successes"]), _ints(row["n"])
    result = k_proportions_test(x, n, p=_null_p(row["test"]))
    if row["df"]:
        assert result.df == int(row["df"])
        assert result.statistic == pytest.approx(float(row["statistic"]), rel=1e-12)
    else:  # the two-sample z row: chi-square = z**2 with one degree of freedom
        assert result.df == 1
        assert result.statistic == pytest.approx(float(row["statistic"]) ** 2, rel=1e-12)
    assert result.p_value == pytest.approx(float(row["p_value"]), rel=1e-10)


def test_k_proportions_one_sample_defaults_to_one_half():
    # R prop.test(73, 86, correct = FALSE): (73 - 43)^2 / (86 * 0.25) = 900 / 21.5
    result = k_proportions_test(73, 86)
    assert result.df == 1 and result.statistic == pytest.approx(900 / 21.5, rel=1e-14)


def test_k_proportions_per_group_null_values():
    # By hand: sum over groups of (x - n p)^2 / (n p (1 - p)).
    result = k_proportions_test([10, 30], [50, 60], p=[0.25, 0.5])
    expected = (10 - 12.5) ** 2 / (50 * 0.25 * 0.75) + (30 - 30) ** 2 / (60 * 0.25)
    assert result.df == 2 and result.statistic == pytest.approx(expected, rel=1e-14)


def test_k_proportions_is_nan_when_nobody_is_flagged():
    result = k_proportions_test([0, 0, 0], [10, 20, 30])
    assert math.isnan(result.statistic) and math.isnan(result.p_value) and result.df == 2


@pytest.mark.parametrize(
    ("x", "n", "p", "message"),
    [
        ([1, 2], [5, 6, 7], None, "same, non-zero number of groups; got 2 and 3"),
        ([1, 0], [5, 0], None, "group 1 has x=0, n=0. Leave such groups out"),
        ([1, 2], [5, 6], 1.0, "p must lie strictly between 0 and 1; got 1 at position 0"),
        ([1, 2, 3], [5, 6, 7], [0.5, 0.5], "one value or one per group (3); got 2 values"),
        ([6, 2], [5, 6], None, "x cannot exceed n; got x=6 with n=5 at position 0"),
    ],
)
def test_k_proportions_rejects_bad_input(x, n, p, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        k_proportions_test(x, n, p=p)


# --------------------------------------------------------------------------- trend


def _expanded_logit(successes, totals, waves):
    """Independent fit: ungrouped 0/1 rows, statsmodels Logit on the raw years."""
    outcome = np.concatenate(
        [np.r_[np.ones(s), np.zeros(t - s)] for s, t in zip(successes, totals, strict=True)]
    )
    years = np.repeat(np.asarray(waves, dtype=float), totals)
    return Logit(outcome, np.column_stack([np.ones_like(years), years])).fit(disp=0)


def test_trend_matches_expanded_logit():
    successes, totals, waves = [18, 25, 21, 34], [90, 110, 80, 95], [2017, 2019, 2021, 2023]
    result = logistic_trend_test(successes, totals, waves)
    fit = _expanded_logit(successes, totals, waves)
    low, high = fit.conf_int()[1]
    assert result.slope == pytest.approx(fit.params[1], abs=1e-6)
    assert result.slope_low == pytest.approx(low, abs=1e-6)
    assert result.slope_high == pytest.approx(high, abs=1e-6)
    assert result.p_value == pytest.approx(fit.pvalues[1], abs=1e-6)
    assert result.odds_ratio == pytest.approx(math.exp(2 * fit.params[1]), rel=1e-6)
    assert result.or_low == pytest.approx(math.exp(2 * low), rel=1e-6)
    assert result.n_waves == 4 and result.cycle_years == 2.0


def test_trend_recovers_known_slope(rng):
    # 200 000 respondents per wave: the standard error of the slope is about 0.0006.
    waves = np.arange(2011, 2024, 2)
    true_slope = -0.08
    totals = np.full(waves.size, 200_000)
    successes = rng.binomial(totals, 1 / (1 + np.exp(-(-1.0 + true_slope * (waves - 2011)))))
    result = logistic_trend_test(successes, totals, waves, cycle_years=3.0)
    assert result.slope == pytest.approx(true_slope, abs=0.003)
    assert result.slope_low < true_slope < result.slope_high
    assert result.odds_ratio == pytest.approx(math.exp(3.0 * result.slope))
    assert result.p_value < 1e-12


def test_trend_flat_series_has_large_p_value():
    result = logistic_trend_test([20, 40, 30], [100, 200, 150], [2019, 2021, 2023])
    assert result.slope == pytest.approx(0.0, abs=1e-10)
    assert result.p_value > 0.99 and result.odds_ratio == pytest.approx(1.0)


def test_trend_drops_waves_without_respondents_and_accepts_series():
    frame = pd.DataFrame(
        {
            "x": [18, 25, 0, 21, 34],
            "n": [90, 110, 0, 80, 95],
            "wave": [2017, 2019, 2020, 2021, 2023],
        }
    )
    result = logistic_trend_test(frame.x, frame.n, frame.wave)
    expected = logistic_trend_test([18, 25, 21, 34], [90, 110, 80, 95], [2017, 2019, 2021, 2023])
    assert result == expected


def test_trend_is_nan_when_not_estimable():
    none_flagged = logistic_trend_test([0, 0, 0], [10, 20, 30], [2019, 2021, 2023])
    separated = logistic_trend_test([0, 0, 10], [10, 10, 10], [2019, 2021, 2023])
    quasi_separated = logistic_trend_test([10, 5, 0], [10, 10, 10], [2019, 2021, 2023])
    for result in (none_flagged, separated, quasi_separated):
        assert math.isnan(result.slope) and math.isnan(result.p_value) and result.n_waves == 3


@pytest.mark.parametrize(
    ("successes", "totals", "waves", "message"),
    [
        ([3, 4], [10, 10], [2021, 2023], "at least 3 waves with respondents; got 2 (2021, 2023)"),
        ([3, 4, 0], [10, 10, 0], [2019, 2021, 2023], "got 2 (2019, 2021)"),
        ([3, 4, 5], [10, 10, 10], [2021, 2023, 2023], "got 2 (2021, 2023)"),
        ([3, 4], [10, 10, 10], [2019, 2021, 2023], "same length; got 2, 3 and 3"),
        ([3, 14, 5], [10, 10, 10], [2019, 2021, 2023], "successes cannot exceed totals"),
    ],
)
def test_trend_rejects_bad_input(successes, totals, waves, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        logistic_trend_test(successes, totals, waves)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cycle_years": 0}, "cycle_years must be a positive number of years; got 0"),
        ({"confidence": 1.5}, "confidence must be a number between 0 and 1"),
    ],
)
def test_trend_rejects_bad_options(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        logistic_trend_test([3, 4, 5], [10, 10, 10], [2019, 2021, 2023], **options)


# --------------------------------------------------------------------------- tidy comparison


def test_compare_proportions_columns_and_values():
    x1, n1, x2, n2 = (np.array(column) for column in zip(*PAIRS, strict=True))
    table = compare_proportions(x1, n1, x2, n2)
    assert list(table.columns) == [
        "p1", "p2", "diff", "diff_low", "diff_high", "z", "p_value", "cohens_h",
    ]  # fmt: skip
    assert list(table.index) == list(range(len(PAIRS)))
    np.testing.assert_allclose(table["p1"], x1 / n1)
    np.testing.assert_allclose(table["diff"], x1 / n1 - x2 / n2)
    for i, (a, b, c, d) in enumerate(PAIRS):
        low, high = confint_proportions_2indep(a, b, c, d, method="newcomb", compare="diff")
        assert table.loc[i, "diff_low"] == pytest.approx(low, abs=1e-12)
        assert table.loc[i, "diff_high"] == pytest.approx(high, abs=1e-12)
        expected_h = 2 * math.asin(math.sqrt(a / b)) - 2 * math.asin(math.sqrt(c / d))
        assert table.loc[i, "cohens_h"] == pytest.approx(expected_h, abs=1e-14)
    row = table.loc[PAIRS.index((5, 83, 12, 99))]
    assert row["z"] == pytest.approx(-1.4078304151258787, rel=1e-12)
    assert row["p_value"] == pytest.approx(0.15918129181156992, rel=1e-12)


def test_compare_proportions_keeps_series_index_and_inputs():
    counts = pd.DataFrame(
        {"x1": [30, 0], "n1": [100, 0], "x2": [20, 10], "n2": [100, 50]}, index=["north", "south"]
    )
    original = counts.copy()
    table = compare_proportions(counts.x1, counts.n1, counts.x2, counts.n2)
    pd.testing.assert_frame_equal(counts, original)
    assert list(table.index) == ["north", "south"]
    assert table.loc["south", ["p1", "diff", "diff_low", "z", "p_value", "cohens_h"]].isna().all()
    assert table.loc["south", "p2"] == pytest.approx(0.2)


def test_compare_proportions_scalar_gives_one_row():
    table = compare_proportions(7, 34, 1, 34, confidence=0.9)
    expected = confint_proportions_2indep(7, 34, 1, 34, method="newcomb", alpha=0.1)
    assert table.shape == (1, 8)
    np.testing.assert_allclose(table.loc[0, ["diff_low", "diff_high"]], expected, rtol=1e-10)


def test_label_change_by_hand():
    low = [0.02, -0.30, -0.10, 0.01, 0.00, 0.05, np.nan, 0.03]
    high = [0.20, -0.10, 0.10, 0.30, 0.20, 0.25, 0.10, 0.15]
    p_adj = [0.01, 0.02, 0.01, 0.05, 0.01, 0.20, 0.01, np.nan]
    # 3: interval includes 0; 4: p == alpha is not below it; 5: bound at 0; 6: p too large;
    # 7 and 8: missing values.
    expected = ["increase", "decrease"] + ["no_clear_change"] * 6
    np.testing.assert_array_equal(label_change(low, high, p_adj), expected)
    assert set(np.unique(label_change(low, high, p_adj))) <= set(CHANGE_CODES)
    assert label_change(0.02, 0.2, 0.04, alpha=0.01) == "no_clear_change"


def test_label_change_with_holm_on_a_comparison_table():
    table = compare_proportions([45, 31, 20], [100, 100, 100], [25, 30, 35], [100, 100, 100])
    p_adj = holm_adjust(table["p_value"])
    np.testing.assert_allclose(p_adj, multipletests(table["p_value"], method="holm")[1])
    # Unadjusted p: about .003, .88, .018; Holm: x3, x1, x2 -> all clear ones stay below .05.
    assert p_adj[0] < 0.05 and p_adj[2] < 0.05 and p_adj[1] > 0.5
    labels = label_change(table["diff_low"], table["diff_high"], p_adj)
    np.testing.assert_array_equal(labels, ["increase", "no_clear_change", "decrease"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 5}, "alpha must be a number between 0 and 1 (for example 0.05); got 5"),
        (
            {"diff_low": [0.1, 0.3]},
            "diff_low must not exceed diff_high; got 0.3 > 0.2 at position 1",
        ),
    ],
)
def test_label_change_rejects_bad_input(kwargs, message):
    arguments = {"diff_low": [0.1, 0.1], "diff_high": [0.2, 0.2], "p_adj": [0.01, 0.01]}
    arguments.update(kwargs)
    alpha = arguments.pop("alpha", 0.05)
    with pytest.raises(ValueError, match=re.escape(message)):
        label_change(**arguments, alpha=alpha)


def test_normal_tail_and_quantile_match_scipy():
    # The module avoids importing scipy.stats (slow); its own tails must agree with it.
    from scipy.stats import chi2, norm

    z = np.array([-6.0, -1.959964, 0.0, 0.3, 1.5, 3.0, 8.3, 37.0, np.nan])
    np.testing.assert_allclose(normal_sf(z), norm.sf(z), rtol=1e-12, equal_nan=True)
    for level in (0.5, 0.9, 0.95, 0.99, 0.999):
        assert z_value(level) == pytest.approx(norm.ppf(0.5 + level / 2), rel=1e-12)
    for statistic, df in ((0.0, 1), (3.2, 2), (25.0, 4), (80.0, 3)):
        assert chi2_sf(statistic, df) == pytest.approx(chi2.sf(statistic, df), rel=1e-10)
    assert math.isnan(chi2_sf(float("nan"), 2))
