"""The evaluator's API (ctc_helpers.explore, plots.explore) on the fake published folder.

Expected values are computed independently: statsmodels' two-proportion z-test and multipletests
(Holm), and the Newcombe hybrid score interval written out from Newcombe (1998), method 10.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

import ctc_helpers as ctc
from ctc_helpers import explore
from ctc_helpers.publish.build import Prepared
from ctc_helpers.publish.read import load_published
from tests.fake_published import write_fake_published

MEASURES = ["family_conflict", "family_attachment", "friends_drug_use"]


@pytest.fixture(scope="module")
def pub(tmp_path_factory):
    folder = tmp_path_factory.mktemp("published") / "data"
    write_fake_published(folder)
    return load_published(folder)


def _row(pub, area, measure, wave=2025, grade="all", sex="all"):
    a = pub.aggregates
    pick = a[(a.area == area) & (a.measure == measure) & (a.wave == wave)]
    return pick[(pick.grade == grade) & (pick.sex == sex)].iloc[0]


def _newcombe(x1, n1, x2, n2):
    l1, u1 = proportion_confint(x1, n1, method="wilson")
    l2, u2 = proportion_confint(x2, n2, method="wilson")
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def test_compare_areas_equals_statsmodels_with_holm_over_the_measures_asked(pub):
    result = ctc.compare_areas(pub, "norra-hamnen", "soderdalen", measures=MEASURES, wave=2025)
    assert list(result["measure"]) == MEASURES
    p_values = []
    for measure, got in zip(MEASURES, result.itertuples(), strict=True):
        a, b = _row(pub, "norra-hamnen", measure), _row(pub, "soderdalen", measure)
        x1, n1, x2, n2 = a.pct * a.n, a.n, b.pct * b.n, b.n
        z, p = proportions_ztest([x1, x2], [n1, n2])
        low, high = _newcombe(x1, n1, x2, n2)
        assert got.diff == pytest.approx(a.pct - b.pct)
        assert got.z == pytest.approx(z) and got.p_value == pytest.approx(p)
        assert (got.diff_low, got.diff_high) == pytest.approx((low, high))
        p_values.append(p)
    holm = multipletests(p_values, method="holm")[1]
    np.testing.assert_allclose(result["p_holm"], holm)
    assert result.attrs["holm_family"] == MEASURES
    assert set(result["holm_family"]) == {", ".join(MEASURES)}


def test_one_measure_is_its_own_family(pub):
    one = ctc.compare_areas(
        pub, "norra-hamnen", "soderdalen", measures="family_conflict", wave=2025
    )
    assert one["p_holm"].iloc[0] == pytest.approx(one["p_value"].iloc[0])
    assert one.attrs["holm_family"] == ["family_conflict"]


def test_hidden_area_is_too_few_and_outside_the_family(pub):
    result = ctc.compare_areas(pub, "norra-hamnen", "lillby", measures=MEASURES, wave=2025)
    assert set(result["change"]) == {"too_few"}
    assert result[["diff", "p_holm", "pct_b"]].isna().all().all()
    assert result.attrs["holm_family"] == []


def test_compare_waves_holm_family_is_the_measures_asked(pub):
    asked = ["friends_drug_use", "family_conflict"]
    result = ctc.compare_waves(
        pub, area="norra-hamnen", wave=2025, previous_wave=2023, measures=asked
    )
    assert sorted(result["measure"]) == sorted(asked)
    every = ctc.compare_waves(pub, area="norra-hamnen", wave=2025, previous_wave=2023)
    assert len(every) > len(result)
    ours = result.set_index("measure")
    np.testing.assert_allclose(
        ours.loc[asked, "p_holm"], multipletests(ours.loc[asked, "p_value"], method="holm")[1]
    )
    assert sorted(result.attrs["holm_family"]) == sorted(asked)
    assert ours.loc["friends_drug_use", "change"] == "increase"


def test_compare_waves_still_takes_an_aggregate_table(pub):
    from_table = ctc.compare_waves(pub.aggregates, wave=2025, previous_wave=2023)
    from_folder = ctc.compare_waves(pub, wave=2025, previous_wave=2023)
    pd.testing.assert_frame_equal(from_table, from_folder)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"measures": ["alcohol_use"]}, "alcohol_use"),
        ({"measures": MEASURES, "grade": "ak5"}, "ak5"),
        ({"measures": []}, "measures is empty"),
    ],
)
def test_compare_areas_errors_name_the_value(pub, kwargs, named):
    with pytest.raises(ValueError, match=named):
        ctc.compare_areas(pub, "norra-hamnen", "soderdalen", wave=2025, **kwargs)


def test_same_area_twice_is_refused(pub):
    with pytest.raises(ValueError, match="norra-hamnen"):
        ctc.compare_areas(pub, "norra-hamnen", "norra-hamnen", measures=MEASURES, wave=2025)


def test_plots_take_the_published_folder_or_the_comparison(pub):
    result = ctc.compare_areas(pub, "norra-hamnen", "soderdalen", measures=MEASURES, wave=2025)
    ax = ctc.plot_comparison(result, measures=pub.measures, lang="en")
    assert len(ax.get_yticklabels()) == len(MEASURES)
    ax = ctc.plot_over_time(pub, area="norra-hamnen", measures=MEASURES[:2], lang="sv")
    assert len(ax.get_legend().get_texts()) == 2
    with pytest.raises(ValueError, match="ak5"):
        ctc.plot_over_time(pub, area="norra-hamnen", measures=MEASURES, grade="ak5")


def test_load_scored_warns_in_the_chosen_language(tmp_path, monkeypatch):
    rows = pd.DataFrame({"area": ["a", "b"], "family_conflict": [1.0, 0.0]})
    rows.to_parquet(tmp_path / "scored.parquet", index=False)
    prepared = Prepared(folders={}, summary={}, seconds=0.0, private={"cache": str(tmp_path)})
    monkeypatch.setattr(explore, "prepare_waves", lambda config: prepared)
    monkeypatch.setattr(explore, "load_run_config", lambda path: object())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = ctc.load_scored(Path("run.yaml"), lang="en")
    pd.testing.assert_frame_equal(got, rows)
    assert caught[0].category is ctc.PrivateDataWarning
    assert "Not for publication" in str(caught[0].message)
    with pytest.warns(ctc.PrivateDataWarning, match="Får inte publiceras"):
        ctc.load_scored(Path("run.yaml"), lang="sv")


def test_load_scored_reads_a_cached_scored_file_and_warns(tmp_path):
    rows = pd.DataFrame({"area": ["a"], "flag__truancy": [1.0]})
    rows.to_parquet(tmp_path / "scored.parquet", index=False)
    with pytest.warns(ctc.PrivateDataWarning):
        got = ctc.load_scored(str(tmp_path / "scored.parquet"))
    pd.testing.assert_frame_equal(got, rows)
