"""Tests of ctc_helpers.survey.proportions: weighted proportions per group.

Expected values are computed with plain pandas group-bys and statsmodels' Wilson interval
(``proportion_confint(method="wilson")``), independently of ctc_helpers.stats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from ctc_helpers.survey.proportions import effective_n_by_group, proportions_by_group


def test_effective_n_by_group_matches_plain_pandas():
    frame = pd.DataFrame(
        {
            "area": ["a", "a", "a", "b", "b", "c"],
            "sex": ["F", "M", "F", "F", "F", "M"],
            "w": [1.0, 2.0, 3.0, 0.5, np.nan, 4.0],
        }
    )
    result = effective_n_by_group(frame, by=["area", "sex"], weight="w")
    expected = frame.groupby(["area", "sex"])["w"].apply(lambda w: w.sum() ** 2 / (w**2).sum())
    pd.testing.assert_series_equal(result, expected.rename("n_eff"), rtol=1e-12)
    single = effective_n_by_group(frame, by="area", weight="w")
    assert single["a"] == pytest.approx(36 / 14)


def test_effective_n_by_group_names_missing_column():
    frame = pd.DataFrame({"area": ["a"], "w": [1.0]})
    with pytest.raises(KeyError, match="Weight column 'weight' not found.*'area', 'w'"):
        effective_n_by_group(frame, by="area", weight="weight")
    with pytest.raises(KeyError, match="Grouping column 'school' not found"):
        effective_n_by_group(frame, by=["area", "school"], weight="w")


def test_proportions_by_group_matches_plain_pandas(rng):
    frame = pd.DataFrame(
        {
            "area": rng.choice(["north", "south"], size=300),
            "grade": rng.choice(["ak8", "ak9"], size=300),
            "flag": rng.choice([0.0, 1.0, np.nan], size=300, p=[0.6, 0.3, 0.1]),
            "weight": rng.uniform(0.5, 2.0, size=300),
        }
    )
    original = frame.copy()
    result = proportions_by_group(frame, by=["area", "grade"], flag="flag", weight="weight")
    pd.testing.assert_frame_equal(frame, original)
    assert list(result.columns) == [
        "area", "grade", "n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff",
    ]  # fmt: skip
    known = frame.dropna(subset=["flag"]).assign(wy=lambda d: d.weight * d.flag)
    sums = known.groupby(["area", "grade"]).agg(
        n=("flag", "size"), sw=("weight", "sum"), swy=("wy", "sum"),
        sw2=("weight", lambda w: (w**2).sum()),
    )  # fmt: skip
    pct = sums.swy / sums.sw
    n_eff = sums.sw**2 / sums.sw2
    low, high = proportion_confint(pct * n_eff, n_eff, method="wilson")
    np.testing.assert_array_equal(result["n"], sums.n.to_numpy())
    np.testing.assert_allclose(result["n_flagged"], sums.swy, rtol=1e-12)
    np.testing.assert_allclose(result["pct"], pct, rtol=1e-12)
    np.testing.assert_allclose(result["n_eff"], n_eff, rtol=1e-12)
    np.testing.assert_allclose(result["ci_low"], low, rtol=1e-10)
    np.testing.assert_allclose(result["ci_high"], high, rtol=1e-10)


def test_proportions_by_group_unweighted_and_empty_group():
    frame = pd.DataFrame({"g": ["a", "a", "a", "b"], "f": [1.0, 1.0, 0.0, np.nan]})
    result = proportions_by_group(frame, by="g", flag="f").set_index("g")
    low, high = proportion_confint(2, 3, method="wilson")
    assert result.loc["a", "n"] == 3 and result.loc["a", "n_eff"] == pytest.approx(3)
    assert result.loc["a", "ci_low"] == pytest.approx(low, rel=1e-12)
    assert result.loc["a", "ci_high"] == pytest.approx(high, rel=1e-12)
    assert result.loc["b", "n"] == 0
    assert result.loc["b", ["pct", "ci_low", "ci_high", "n_eff"]].isna().all()


def test_group_helpers_ignore_the_index_of_the_frame():
    # Duplicate index labels (e.g. after concatenating two waves) must not duplicate rows.
    frame = pd.DataFrame(
        {"g": ["a", "a", "b"], "f": [1.0, 0.0, 1.0], "w": [1.0, 3.0, 2.0]}, index=[0, 0, 1]
    )
    result = proportions_by_group(frame, by="g", flag="f", weight="w").set_index("g")
    assert result.loc["a", "n"] == 2 and result.loc["a", "pct"] == pytest.approx(0.25)
    assert result.loc["a", "n_eff"] == pytest.approx(16 / 10)
    n_eff = effective_n_by_group(frame, by="g", weight="w")
    assert n_eff.to_dict() == pytest.approx({"a": 1.6, "b": 1.0})


def test_proportions_by_group_names_missing_flag_column():
    frame = pd.DataFrame({"g": ["a"], "f": [1.0]})
    with pytest.raises(KeyError, match="Flag column 'flag__x' not found"):
        proportions_by_group(frame, by="g", flag="flag__x")
