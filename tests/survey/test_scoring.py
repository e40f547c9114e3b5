"""Tests for ctc_helpers.survey.scoring.

Hand cases use the mini instrument (tests/data/mini_instrument.yaml); the expected scores are
worked out in the comments. Random cases are checked against a plain-pandas implementation
written from the rules in data_schema/INSTRUMENT_FORMAT.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.survey.scoring import item_codes, item_scores, score_scales, sum_item_scores

from ..conftest import DATA_DIR

NA = pd.NA


def _respondents(instrument, rows: list[dict], *, fill: int = 1) -> pd.DataFrame:
    """One row per dict; items not named get the code ``fill``."""
    data = {i: [row.get(i, fill) for row in rows] for i in instrument.item_ids}
    return pd.DataFrame(data, dtype="Int8")


def _pandas_scores(frame: pd.DataFrame, instrument) -> pd.DataFrame:
    """Independent implementation: map codes to scores, reverse, mean, min_items."""
    out = {}
    for factor in instrument.factors:
        items = {}
        for item_id, reverse in factor.items:
            rs = instrument.items[item_id].response_set
            mapping = {c: s for c, s in zip(rs.codes, rs.scores, strict=True) if s is not None}
            scores = frame[item_id].astype("float").map(mapping)
            if reverse:
                scores = min(mapping.values()) + max(mapping.values()) - scores
            items[item_id] = scores
        table = pd.DataFrame(items)
        mean = table.sum(axis=1) / table.count(axis=1)
        out[f"score__{factor.id}"] = mean.where(table.count(axis=1) >= factor.min_items)
    return pd.DataFrame(out)


def _variant(tmp_path, mutate) -> object:
    """The mini instrument after ``mutate(raw_yaml_dict)``, written to a temporary file."""
    raw = yaml.safe_load((DATA_DIR / "mini_instrument.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_instrument(path)


def test_hand_made_scores(mini_instrument):
    frame = _respondents(
        mini_instrument,
        [
            # family_conflict: fa_conf_3 reversed on 1..4 (5 - code); min_items 2
            # (4 + 3 + (5-1)) / 3 = 11/3
            # perceived_availability_drugs: both "vet inte" (code 5) -> nothing answered -> NaN
            # family_attachment: (4 + 4) / 2 = 4
            {"fa_conf_1": 4, "fa_conf_2": 3, "fa_conf_3": 1, "cn_avail_1": 5, "cn_avail_2": 5,
             "fa_att_1": 4, "fa_att_2": 4},
            # family_conflict: (2 + (5-4)) / 2 = 1.5 (one missing, two answered = min_items)
            # availability: "vet inte" is not answered, so the mean is the other item: 3
            # attachment: one answered, min_items 1: 1
            {"fa_conf_1": 2, "fa_conf_2": NA, "fa_conf_3": 4, "cn_avail_1": 5, "cn_avail_2": 3,
             "fa_att_1": 1, "fa_att_2": NA},
            # family_conflict: one item answered < min_items 2 -> NaN
            # availability: (4 + 2) / 2 = 3; attachment: nothing answered -> NaN
            {"fa_conf_1": NA, "fa_conf_2": NA, "fa_conf_3": 2, "cn_avail_1": 4, "cn_avail_2": 2,
             "fa_att_1": NA, "fa_att_2": NA},
            # family_conflict: (1 + 1 + (5-4)) / 3 = 1; availability: 1; attachment: 2.5
            {"fa_conf_1": 1, "fa_conf_2": 1, "fa_conf_3": 4, "cn_avail_1": NA, "cn_avail_2": 1,
             "fa_att_1": 2, "fa_att_2": 3},
        ],
    )  # fmt: skip
    scored = score_scales(frame, mini_instrument)
    expected = {
        "score__family_conflict": [11 / 3, 1.5, np.nan, 1.0],
        "score__perceived_availability_drugs": [np.nan, 3.0, 3.0, 1.0],
        "score__family_attachment": [4.0, 1.0, np.nan, 2.5],
    }
    for column, values in expected.items():
        np.testing.assert_allclose(scored[column].to_numpy(), values, rtol=0, atol=1e-12)
        assert scored[column].dtype == np.float64


def test_columns_order_input_kept_and_not_modified(mini_instrument):
    frame = _respondents(mini_instrument, [{"fa_conf_1": 2}, {"fa_conf_1": NA}])
    before = frame.copy()
    scored = score_scales(frame, mini_instrument)
    pd.testing.assert_frame_equal(frame, before)
    assert list(scored.columns) == [
        *frame.columns,
        *(f"score__{f}" for f in mini_instrument.factor_ids),
    ]
    pd.testing.assert_frame_equal(scored[frame.columns], frame)


def test_rescoring_replaces_the_score_columns(mini_instrument):
    frame = _respondents(mini_instrument, [{"fa_conf_1": 4}])
    twice = score_scales(score_scales(frame, mini_instrument), mini_instrument)
    assert list(twice.columns).count("score__family_conflict") == 1


def test_random_codes_match_plain_pandas(mini_instrument, rng):
    n = 2_000
    data = {}
    for item_id in mini_instrument.item_ids:
        codes = rng.integers(1, mini_instrument.item_max_code(item_id) + 1, n)
        data[item_id] = pd.array(np.where(rng.random(n) < 0.2, None, codes), dtype="Int8")
    frame = pd.DataFrame(data)
    expected = _pandas_scores(frame, mini_instrument)
    got = score_scales(frame, mini_instrument)[expected.columns]
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_default_instrument_matches_plain_pandas(default_instrument, rng):
    n = 3_000
    data = {}
    for item_id in default_instrument.factor_item_ids:
        codes = rng.integers(1, default_instrument.item_max_code(item_id) + 1, n)
        data[item_id] = pd.array(np.where(rng.random(n) < 0.1, None, codes), dtype="Int8")
    frame = pd.DataFrame(data)
    expected = _pandas_scores(frame, default_instrument)
    got = score_scales(frame, default_instrument)[expected.columns]
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize(
    "scores",
    [
        [-2, -1, 0, 1],  # negative integers (the packed sum shifts by the lowest score)
        [0.5, 1.25, 2.0, 3.1],  # fractional scores (plain float sums)
        [0, 1, 2, 3_000_000_000],  # huge range (64-bit packed sums)
        [3_000_000_000, 3_000_000_001, 3_000_000_002, 3_000_000_003],  # huge sums
        [2, 2, 2, 2],  # every option scores the same
    ],
)
def test_any_scores_of_a_response_set(tmp_path, rng, scores):
    def mutate(raw):
        for option, score in zip(raw["response_sets"]["agree4"]["options"], scores, strict=True):
            option["score"] = score

    inst = _variant(tmp_path, mutate)
    n = 500
    data = {
        i: pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(1, 5, n)), dtype="Int8")
        for i in ["fa_conf_1", "fa_conf_2", "fa_conf_3", "fa_att_1", "fa_att_2"]
    }
    data |= {i: pd.array(rng.integers(1, 6, n), dtype="Int8") for i in ["cn_avail_1", "cn_avail_2"]}
    frame = pd.DataFrame(data)
    expected = _pandas_scores(frame, inst)
    got = score_scales(frame, inst)[expected.columns]
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-13, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(*[st.one_of(st.none(), st.integers(1, 4)) for _ in range(3)]),
        min_size=1,
        max_size=30,
    )
)
def test_scores_stay_within_the_scale(mini_instrument, rows):
    frame = pd.DataFrame(rows, columns=["fa_conf_1", "fa_conf_2", "fa_conf_3"], dtype="Int8")
    frame = frame.assign(
        **{i: pd.array([1] * len(rows), dtype="Int8") for i in mini_instrument.item_ids[3:]}
    )
    score = score_scales(frame, mini_instrument)["score__family_conflict"]
    answered = frame[["fa_conf_1", "fa_conf_2", "fa_conf_3"]].notna().sum(axis=1)
    assert score.isna().eq(answered < 2).all()
    assert score.dropna().between(1.0, 4.0).all()


def test_float_and_integer_columns_are_accepted(mini_instrument):
    ints = _respondents(mini_instrument, [{"fa_conf_1": 4}, {"fa_conf_1": NA}])
    floats = ints.astype("float64")
    pd.testing.assert_frame_equal(
        score_scales(floats, mini_instrument).filter(like="score__"),
        score_scales(ints, mini_instrument).filter(like="score__"),
    )


def test_item_helpers(mini_instrument):
    frame = _respondents(
        mini_instrument, [{"cn_avail_1": 5}, {"cn_avail_1": 2}, {"cn_avail_1": NA}]
    )
    assert item_codes(frame, mini_instrument, "cn_avail_1").tolist() == [5, 2, 0]
    # code 5 = "vet inte" has no score
    np.testing.assert_array_equal(
        item_scores(frame, mini_instrument, "cn_avail_1"), [np.nan, 2.0, np.nan]
    )
    # reversed on 1..4: 5 - 2 = 3
    np.testing.assert_array_equal(
        item_scores(frame, mini_instrument, "cn_avail_1", reverse=True), [np.nan, 3.0, np.nan]
    )
    total, answered = sum_item_scores(
        frame, mini_instrument, [("cn_avail_1", False), ("cn_avail_2", True)]
    )
    # cn_avail_2 is code 1 everywhere, reversed 4: totals 0+4, 2+4, 0+4
    np.testing.assert_array_equal(total, [4.0, 6.0, 4.0])
    np.testing.assert_array_equal(answered, [1, 2, 1])


def test_missing_item_column_is_named(mini_instrument):
    frame = _respondents(mini_instrument, [{}]).drop(columns=["fa_att_2"])
    with pytest.raises(KeyError, match="fa_att_2"):
        score_scales(frame, mini_instrument)


@pytest.mark.parametrize("bad", [9, 0, -1])
def test_codes_outside_the_response_set_are_named(mini_instrument, bad):
    frame = _respondents(mini_instrument, [{}, {"fa_conf_2": bad}])
    with pytest.raises(ValueError, match=rf"'fa_conf_2' has the code {bad} in row 1.*1\.\.4"):
        score_scales(frame, mini_instrument)


def test_fractional_codes_are_rejected(mini_instrument):
    frame = _respondents(mini_instrument, [{}]).astype("float64")
    frame.loc[0, "fa_att_1"] = 2.5
    with pytest.raises(ValueError, match="'fa_att_1' has the value 2.5 in row 0; answers must"):
        score_scales(frame, mini_instrument)
