"""Tests for ctc_helpers.survey.profile: the row-level pipeline and the tidy aggregate table.

The aggregate is checked against an independent plain-pandas group-by over the scored rows
(every margin computed from the rows, not from the leaves) and statsmodels' Wilson interval.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from ctc_helpers.paths import SCHEMA_DIR
from ctc_helpers.survey.cutpoints import derive_cutpoints
from ctc_helpers.survey.profile import AGGREGATE_COLUMNS, aggregate, prepare_scored

AREAS = ["norr", "syd", "ost", "tom"]  # nobody answered in "tom"


def _random_respondents(instrument, schema, rng, n, *, valid=False, missing=0.08) -> pd.DataFrame:
    """Random codes per item; with ``valid=True`` the validity rules are kept from firing."""
    codes = {}
    for item_id in instrument.item_ids:
        codes[item_id] = rng.integers(1, instrument.item_max_code(item_id) + 1, n)
    if valid:
        for rule in instrument.validity:
            spec = rule.rule
            if spec["kind"] == "pair_greater":
                for first, second in spec["pairs"]:
                    codes[first] = np.minimum(codes[first], codes[second])
            for item_id in spec.get("items", []) if spec["kind"] == "any_at_least" else []:
                codes[item_id] = np.ones(n, dtype=int)
            if spec["kind"] == "code_in":
                codes[spec["item"]] = np.ones(n, dtype=int)
            if spec["kind"] == "count_at_least":
                for item_id in spec["items"]:
                    codes[item_id] = np.minimum(codes[item_id], spec["min_code"] - 1)
    rule_items = {i for r in instrument.validity for i in r.rule.get("items", [])}
    items = {
        i: pd.array(
            np.where((rng.random(n) < missing) & (i not in rule_items or not valid), None, c),
            dtype="Int8",
        )
        for i, c in codes.items()
    }
    grades = list(schema.grade_codes[1:4])  # a subset: only grades present appear
    sex = rng.choice(["F", "M", "U", None], n, p=[0.45, 0.45, 0.05, 0.05])
    groups = pd.DataFrame(
        {
            "respondent_id": [f"r{i}" for i in range(n)],
            "wave": rng.choice([2021, 2023], n).astype(np.int16),
            "area": pd.Categorical(rng.choice(AREAS[:3], n), categories=AREAS[:3]),
            "grade": pd.Categorical(
                rng.choice(grades, n), categories=schema.grade_codes, ordered=True
            ),
            "sex": pd.Categorical(sex, categories=schema.sex_codes),
            "weight": rng.uniform(0.5, 2.0, n),
        }
    )
    return pd.concat([groups, pd.DataFrame(items)], axis=1)


def _measures(instrument) -> list[str]:
    return [
        *instrument.factor_ids,
        *(b.id for b in instrument.behaviours),
        *(c.id for c in instrument.composites),
    ]


def _expected(scored: pd.DataFrame, instrument, *, weight: str | None) -> pd.DataFrame:
    """Plain pandas: each margin grouped directly from the valid rows."""
    rows = scored[scored["valid"]].copy()
    rows["_w"] = 1.0 if weight is None else rows[weight]
    for column in ("area", "grade", "sex"):
        rows[column] = rows[column].astype(object)
    parts = []
    for total_area, total_grade, total_sex in product([False, True], repeat=3):
        data = rows if total_sex else rows[rows["sex"].isin(["F", "M"])]
        keys = ["wave"] + [
            c
            for c, t in zip(
                ["area", "grade", "sex"], [total_area, total_grade, total_sex], strict=True
            )
            if not t
        ]
        for measure in _measures(instrument):
            y = data[f"flag__{measure}"]
            known = data[y.notna()]
            level2 = (
                known[f"level__{measure}"].astype(float).eq(2)
                if measure in instrument.factor_ids
                else pd.Series(np.nan, index=known.index)
            )
            frame = pd.DataFrame(
                {
                    "n": 1,
                    "sw": known["_w"],
                    "sw2": known["_w"] ** 2,
                    "swy": known["_w"] * known[f"flag__{measure}"],
                    "swl2": known["_w"] * level2,
                }
            )
            sums = frame.groupby([known[k] for k in keys]).sum(min_count=1).reset_index()
            sums = sums.assign(
                measure=measure,
                **{
                    c: "all"
                    for c, t in zip(
                        ["area", "grade", "sex"], [total_area, total_grade, total_sex], strict=True
                    )
                    if t
                },
            )
            parts.append(sums)
    expected = pd.concat(parts, ignore_index=True)
    expected["pct"] = expected["swy"] / expected["sw"]
    expected["n_eff"] = expected["sw"] ** 2 / expected["sw2"]
    expected["pct_level2"] = expected["swl2"] / expected["sw"]
    low, high = proportion_confint(
        expected["pct"] * expected["n_eff"], expected["n_eff"], method="wilson"
    )
    return expected.assign(ci_low=low, ci_high=high)


@pytest.fixture
def scored_mini(mini_instrument, respondent_schema, rng):
    respondents = _random_respondents(mini_instrument, respondent_schema, rng, 3_000)
    return prepare_scored(respondents, mini_instrument)


def test_prepare_scored_columns(mini_instrument, scored_mini):
    scored, cutpoints = scored_mini
    for column in [
        "valid",
        *(f"invalid_{r.id}" for r in mini_instrument.validity),
        *(f"score__{f}" for f in mini_instrument.factor_ids),
        *(f"flag__{m}" for m in _measures(mini_instrument)),
        *(f"level__{f}" for f in mini_instrument.factor_ids),
    ]:
        assert column in scored.columns
    assert cutpoints["factor"].tolist() == list(mini_instrument.factor_ids)
    assert 0 < scored["valid"].mean() < 1  # random codes make some questionnaires invalid


def test_prepare_scored_with_frozen_cutpoints(mini_instrument, respondent_schema, rng):
    respondents = _random_respondents(mini_instrument, respondent_schema, rng, 500)
    scored, cutpoints = prepare_scored(respondents, mini_instrument)
    frozen = cutpoints.assign(flag_value=cutpoints["flag_value"])
    again, used = prepare_scored(respondents, mini_instrument, cutpoints=frozen)
    pd.testing.assert_frame_equal(used, frozen)
    pd.testing.assert_frame_equal(again, scored)
    rebased, other = prepare_scored(respondents, mini_instrument, reference={"wave": 2023})
    assert other["reference"].iloc[1] == "ref-2023"
    with pytest.raises(ValueError, match="either frozen cut points .* not both"):
        prepare_scored(respondents, mini_instrument, cutpoints=frozen, reference={"wave": 2021})


@pytest.mark.parametrize("weight", [None, "weight"])
def test_aggregate_matches_plain_pandas(mini_instrument, respondent_schema, scored_mini, weight):
    scored, cutpoints = scored_mini
    table = aggregate(
        scored, mini_instrument, respondent_schema, weight=weight, areas=AREAS, cutpoints=cutpoints
    )
    assert list(table.columns) == list(AGGREGATE_COLUMNS)
    # full cube: 2 waves x (4 areas + all) x (3 grades present + all) x (F, M, all) x 9 measures
    assert len(table) == 2 * 5 * 4 * 3 * 9
    assert not table.duplicated(["wave", "area", "grade", "sex", "measure"]).any()
    assert set(table["sex"]) == {"F", "M", "all"}
    expected = _expected(scored, mini_instrument, weight=weight)
    merged = expected.merge(
        table, on=["wave", "area", "grade", "sex", "measure"], suffixes=("_x", "")
    )
    assert len(merged) == len(expected)  # every non-empty group is in the table
    assert (merged["n"] == merged["n_x"]).all()
    for column, ref in [
        ("n_flagged", "swy"),
        ("pct", "pct_x"),
        ("ci_low", "ci_low_x"),
        ("ci_high", "ci_high_x"),
        ("n_eff", "n_eff_x"),
        ("pct_level2", "pct_level2_x"),
    ]:
        np.testing.assert_allclose(
            merged[column], merged[ref], rtol=1e-10, atol=1e-12, err_msg=column
        )
    # groups nobody is in: n = 0, proportions missing
    empty = table[table["area"] == "tom"]
    assert len(empty) == 2 * 4 * 3 * 9
    assert (empty["n"] == 0).all() and empty["pct"].isna().all() and empty["ci_low"].isna().all()
    if weight is None:
        pd.testing.assert_series_equal(table["n_eff"], table["n"].astype(float), check_names=False)


def test_aggregate_labels_and_versions(mini_instrument, respondent_schema, scored_mini):
    scored, cutpoints = scored_mini
    table = aggregate(scored, mini_instrument, respondent_schema, cutpoints=cutpoints)
    kinds = table.drop_duplicates("measure").set_index("measure")
    assert kinds.loc["family_conflict", ["measure_kind", "domain"]].tolist() == ["risk", "family"]
    assert kinds.loc["family_attachment", "measure_kind"] == "protective"
    assert kinds.loc["alcohol_lifetime", ["measure_kind", "domain"]].tolist() == [
        "behaviour",
        "behaviour",
    ]
    assert kinds.loc["high_risk", ["measure_kind", "domain"]].tolist() == ["composite", "composite"]
    versions = cutpoints.set_index("factor")["version"]
    assert kinds.loc["family_conflict", "cutpoint_version"] == versions["family_conflict"]
    assert kinds.loc["alcohol_lifetime", "cutpoint_version"] == ""
    assert kinds.loc["high_risk", "cutpoint_version"].startswith("mini-test-test-1/risk-")
    assert kinds.loc["alcohol_lifetime":"high_protection", "pct_level2"].isna().all()
    assert not table["suppressed"].any() and (table["suppression_reason"] == "").all()
    assert table["area"].map(type).eq(str).all() and table["wave"].dtype == np.int64
    # without the table, the versions recorded by apply_cutpoints are used
    pd.testing.assert_frame_equal(aggregate(scored, mini_instrument, respondent_schema), table)


def test_invalid_and_other_sex_counted_only_where_they_belong(
    mini_instrument, respondent_schema, scored_mini
):
    scored, cutpoints = scored_mini
    table = aggregate(scored, mini_instrument, respondent_schema, cutpoints=cutpoints)
    city = table.query("area == 'all' and grade == 'all' and measure == 'alcohol_lifetime'")
    city = city.set_index(["wave", "sex"])["n"]
    valid = scored[scored["valid"] & scored["flag__alcohol_lifetime"].notna()]
    for wave in (2021, 2023):
        in_wave = valid[valid["wave"] == wave]
        assert city[(wave, "all")] == len(in_wave)
        assert city[(wave, "F")] == (in_wave["sex"] == "F").sum()
        assert city[(wave, "F")] + city[(wave, "M")] < city[(wave, "all")]  # U and missing


def test_aggregate_errors(mini_instrument, respondent_schema, scored_mini):
    scored, cutpoints = scored_mini
    with pytest.raises(
        ValueError,
        match="'area' has the value 'norr', which is not one of the expected codes \\(syd, ost\\)",
    ):
        aggregate(
            scored, mini_instrument, respondent_schema, areas=["syd", "ost"], cutpoints=cutpoints
        )
    odd_sex = scored.assign(sex=scored["sex"].astype(object).where(scored.index != 5, "X"))
    with pytest.raises(ValueError, match="'sex' has the value 'X'.*F, M, U"):
        aggregate(odd_sex, mini_instrument, respondent_schema, cutpoints=cutpoints)
    no_grade = scored.assign(grade=scored["grade"].astype(object).where(scored.index != 3, None))
    with pytest.raises(ValueError, match="'grade' has the value missing"):
        aggregate(no_grade, mini_instrument, respondent_schema, cutpoints=cutpoints)
    bad_weight = scored.assign(weight=scored["weight"].where(scored.index != 7, -1.0))
    with pytest.raises(ValueError, match="'weight' has the value -1 in row 7"):
        aggregate(
            bad_weight, mini_instrument, respondent_schema, weight="weight", cutpoints=cutpoints
        )
    with pytest.raises(KeyError, match="weight column 'w'"):
        aggregate(scored, mini_instrument, respondent_schema, weight="w", cutpoints=cutpoints)
    with pytest.raises(KeyError, match="columns are missing: flag__high_risk"):
        aggregate(scored.drop(columns=["flag__high_risk"]), mini_instrument, respondent_schema)
    no_attrs = scored.copy()
    no_attrs.attrs = {}
    with pytest.raises(ValueError, match="cut-point version .* is unknown"):
        aggregate(no_attrs, mini_instrument, respondent_schema)
    no_wave = scored.assign(wave=pd.array([None] + [2021] * (len(scored) - 1), dtype="Int16"))
    with pytest.raises(ValueError, match="'wave' has missing values"):
        aggregate(no_wave, mini_instrument, respondent_schema, cutpoints=cutpoints)


@pytest.mark.skipif(
    not (SCHEMA_DIR / "instrument.yaml").exists(), reason="default instrument not written yet"
)
def test_default_instrument_end_to_end(default_instrument, respondent_schema, rng):
    respondents = _random_respondents(default_instrument, respondent_schema, rng, 4_000, valid=True)
    scored, cutpoints = prepare_scored(respondents, default_instrument)
    assert scored["valid"].all()
    table = aggregate(
        scored, default_instrument, respondent_schema, areas=AREAS, cutpoints=cutpoints
    )
    assert set(table["measure"]) == set(_measures(default_instrument))
    city = table.query("area == 'all' and grade == 'all' and sex == 'all'").set_index(
        ["wave", "measure"]
    )
    for factor in default_instrument.factors:
        scores = scored.loc[scored["wave"] == 2021, f"score__{factor.id}"]
        assert city.loc[(2021, factor.id), "n"] == scores.notna().sum()
        share = city.loc[(2021, factor.id), "pct"]
        # reference wave: "score > P75" flags at most 25 % (ties stay below); protective
        # "score > P25" gives protection to at least ... at most 75 %
        limit = 0.25 if factor.kind == "risk" else 0.75
        assert 0 < share <= limit + 1e-12
    assert table["pct"].dropna().between(0, 1).all()
    assert (table["ci_low"].dropna() <= table["ci_high"].dropna()).all()
    assert cutpoints.equals(derive_cutpoints(scored, default_instrument))
