"""Tests for ctc_helpers.survey.behaviours (rules of the mini instrument, worked out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.survey.behaviours import classify_behaviours, classify_composites

from ..conftest import DATA_DIR

NA = pd.NA
NAN = np.nan


def _respondents(instrument, rows: list[dict], *, fill: int = 1) -> pd.DataFrame:
    data = {i: [row.get(i, fill) for row in rows] for i in instrument.item_ids}
    return pd.DataFrame(data, dtype="Int8")


def _variant(tmp_path, mutate):
    raw = yaml.safe_load((DATA_DIR / "mini_instrument.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_instrument(path)


def _flag(instrument, rows, behaviour) -> list[float]:
    out = classify_behaviours(_respondents(instrument, rows), instrument)
    return out[f"flag__{behaviour}"].tolist()


def test_any_at_least(mini_instrument):
    # any_drug_30d: alc_30d or can_30d at code >= 2
    rows = [
        {"alc_30d": 1, "can_30d": 1},  # both answered, none -> 0
        {"alc_30d": 2, "can_30d": 1},  # one -> 1
        {"alc_30d": 1, "can_30d": NA},  # not flagged but one missing -> unknown
        {"alc_30d": 3, "can_30d": NA},  # flagged whatever the missing one says -> 1
        {"alc_30d": NA, "can_30d": NA},
    ]
    np.testing.assert_array_equal(_flag(mini_instrument, rows, "any_drug_30d"), [0, 1, NAN, 1, NAN])


def test_count_at_least_needs_every_item(mini_instrument):
    # two_substances_lifetime: alc_life and can_life at code >= 2, at least 2 of them
    rows = [
        {"alc_life": 2, "can_life": 7},
        {"alc_life": 2, "can_life": 1},
        {"alc_life": 2, "can_life": NA},
        {"alc_life": 1, "can_life": NA},
    ]
    np.testing.assert_array_equal(
        _flag(mini_instrument, rows, "two_substances_lifetime"), [1, 0, NAN, NAN]
    )


def test_sum_at_least_uses_scores(mini_instrument):
    # depressive_symptoms: dep_1 + dep_2 scores (code - 1), threshold 4, min_items 2
    rows = [
        {"dep_1": 3, "dep_2": 3},  # 2 + 2 = 4 -> 1
        {"dep_1": 3, "dep_2": 2},  # 2 + 1 = 3 -> 0 (raw codes would sum to 5)
        {"dep_1": 4, "dep_2": NA},  # one item < min_items 2 -> unknown
    ]
    np.testing.assert_array_equal(_flag(mini_instrument, rows, "depressive_symptoms"), [1, 0, NAN])


def test_sum_at_least_prorates_missing_items(tmp_path):
    inst = _variant(tmp_path, lambda raw: raw["behaviours"][3]["rule"].update(min_items=1))
    rows = [
        {"dep_1": 4, "dep_2": NA},  # score 3, prorated 3 * 2 / 1 = 6 >= 4 -> 1
        {"dep_1": 2, "dep_2": NA},  # score 1, prorated 2 -> 0
        {"dep_1": NA, "dep_2": NA},  # nothing -> unknown
    ]
    np.testing.assert_array_equal(_flag(inst, rows, "depressive_symptoms"), [1, 0, NAN])


def test_behaviour_columns_and_input(mini_instrument):
    frame = _respondents(mini_instrument, [{}])
    before = frame.copy()
    out = classify_behaviours(frame, mini_instrument)
    pd.testing.assert_frame_equal(frame, before)
    assert list(out.columns) == [
        *frame.columns,
        *(f"flag__{b.id}" for b in mini_instrument.behaviours),
    ]
    assert all(out[f"flag__{b.id}"].dtype == np.float64 for b in mini_instrument.behaviours)


def test_behaviour_errors(mini_instrument):
    with pytest.raises(KeyError, match="dep_2"):
        classify_behaviours(
            _respondents(mini_instrument, [{}]).drop(columns=["dep_2"]), mini_instrument
        )
    with pytest.raises(ValueError, match="'alc_life' has the code 8"):
        classify_behaviours(_respondents(mini_instrument, [{"alc_life": 8}]), mini_instrument)


def _factor_flags(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=[
            "flag__family_conflict",
            "flag__perceived_availability_drugs",
            "flag__family_attachment",
        ],
        dtype=float,
    )


def test_composites(mini_instrument):
    # high_risk: both risk factors flagged (min_flagged 2), both scored (share 1.0)
    # high_protection: the one protective factor flagged (min_flagged 1, share 1.0)
    flags = _factor_flags([(1, 1, 1), (1, 0, 0), (1, NAN, NAN), (0, 0, 1)])
    out = classify_composites(flags, mini_instrument)
    np.testing.assert_array_equal(out["flag__high_risk"], [1, 0, NAN, 0])
    np.testing.assert_array_equal(out["flag__high_protection"], [1, 0, NAN, 1])


def test_composite_scored_share(tmp_path):
    def mutate(raw):
        raw["composites"][0].update(min_flagged=1, min_scored_share=0.5)

    inst = _variant(tmp_path, mutate)
    # 1 of 2 risk factors scored = share 0.5: enough
    flags = _factor_flags([(1, NAN, 0), (0, NAN, 0), (NAN, NAN, 0)])
    np.testing.assert_array_equal(classify_composites(flags, inst)["flag__high_risk"], [1, 0, NAN])


def test_composite_errors(mini_instrument, tmp_path):
    flags = _factor_flags([(1, 1, 1)]).drop(columns=["flag__family_attachment"])
    with pytest.raises(KeyError, match="'flag__family_attachment' is missing; the composite"):
        classify_composites(flags, mini_instrument)

    def no_protective(raw):
        raw["factors"] = [f for f in raw["factors"] if f["kind"] == "risk"]

    inst = _variant(tmp_path, no_protective)
    with pytest.raises(ValueError, match="'high_protection' counts protective factors, but"):
        classify_composites(_factor_flags([(1, 1, 1)]), inst)
