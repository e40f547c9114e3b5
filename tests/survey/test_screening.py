"""Tests for ctc_helpers.survey.screening (rules of the mini instrument, worked out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.survey.screening import screen_respondents, screening_log

from ..conftest import DATA_DIR

NA = pd.NA
RULES = ["fictitious_drug", "dishonest", "inconsistent", "exaggeration", "too_few_answered"]


def _respondents(instrument, rows: list[dict], *, fill: int = 1) -> pd.DataFrame:
    data = {i: [row.get(i, fill) for row in rows] for i in instrument.item_ids}
    return pd.DataFrame(data, dtype="Int8")


def _flags(screened: pd.DataFrame, rule: str) -> list[bool]:
    return screened[f"invalid_{rule}"].tolist()


def test_fictitious_drug(mini_instrument):
    # any_at_least fict_life >= 2: code 2 and 7 fire; 1 and missing do not
    frame = _respondents(mini_instrument, [{"fict_life": c} for c in (1, 2, 7, NA)])
    assert _flags(screen_respondents(frame, mini_instrument), "fictitious_drug") == [
        False,
        True,
        True,
        False,
    ]


def test_dishonest(mini_instrument):
    # code_in honesty [5]
    frame = _respondents(mini_instrument, [{"honesty": c} for c in (5, 4, 1, NA)])
    assert _flags(screen_respondents(frame, mini_instrument), "dishonest") == [
        True,
        False,
        False,
        False,
    ]


def test_inconsistent_pairs(mini_instrument):
    rows = [
        {"alc_30d": 3, "alc_life": 2},  # 30-day above lifetime -> inconsistent
        {"alc_30d": 2, "alc_life": 2},  # equal is consistent
        {"alc_30d": 3, "alc_life": NA},  # a missing answer is never inconsistent
        {"alc_30d": NA, "alc_life": 1},
        {"can_30d": 4, "can_life": 1},  # the second pair
        {"alc_30d": 1, "alc_life": 7},
    ]
    frame = _respondents(mini_instrument, rows)
    assert _flags(screen_respondents(frame, mini_instrument), "inconsistent") == [
        True,
        False,
        False,
        False,
        True,
        False,
    ]


def test_exaggeration(mini_instrument):
    # count_at_least alc_30d, can_30d at code 7, min_count 2 (lifetime raised to stay consistent)
    base = {"alc_life": 7, "can_life": 7}
    rows = [
        {**base, "alc_30d": 7, "can_30d": 7},
        {**base, "alc_30d": 7, "can_30d": 6},
        {**base, "alc_30d": 7, "can_30d": NA},
    ]
    screened = screen_respondents(_respondents(mini_instrument, rows), mini_instrument)
    assert _flags(screened, "exaggeration") == [True, False, False]
    assert not screened["invalid_inconsistent"].any()


def test_too_few_answered(mini_instrument):
    # 7 factor items (fa_conf_1..3, cn_avail_1..2, fa_att_1..2); share 0.5 -> fewer than 3.5
    factor_items = list(mini_instrument.factor_item_ids)
    assert len(factor_items) == 7
    three = dict.fromkeys(factor_items[3:], NA)  # 3 answered -> flagged
    four = dict.fromkeys(factor_items[4:], NA)  # 4 answered -> kept
    # 4 answered, one of them "vet inte": an answer counts here (the scale ignores it)
    dont_know = {**four, "cn_avail_1": 5}
    none = dict.fromkeys(factor_items, NA)
    frame = _respondents(mini_instrument, [three, four, dont_know, none])
    assert _flags(screen_respondents(frame, mini_instrument), "too_few_answered") == [
        True,
        False,
        False,
        True,
    ]


def test_valid_and_rows_kept(mini_instrument):
    rows = [{}, {"fict_life": 3}, {"honesty": 5, "alc_30d": 2}]
    frame = _respondents(mini_instrument, rows).set_axis(["a", "b", "c"])
    before = frame.copy()
    screened = screen_respondents(frame, mini_instrument)
    pd.testing.assert_frame_equal(frame, before)
    assert list(screened.index) == ["a", "b", "c"]
    assert list(screened.columns) == [*frame.columns, *(f"invalid_{r}" for r in RULES), "valid"]
    assert screened["valid"].tolist() == [True, False, False]
    # the third fires two rules (dishonest, and alc_30d 2 > alc_life 1)
    assert screened.loc["c", [f"invalid_{r}" for r in RULES]].astype(int).sum() == 2
    assert all(screened[f"invalid_{r}"].dtype == bool for r in RULES)


def test_rule_without_exclusion_flags_but_keeps(tmp_path, mini_instrument):
    raw = yaml.safe_load((DATA_DIR / "mini_instrument.yaml").read_text(encoding="utf-8"))
    raw["validity"][1]["exclude"] = False  # dishonest
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    inst = load_instrument(path)
    screened = screen_respondents(_respondents(inst, [{"honesty": 5}]), inst)
    assert screened["invalid_dishonest"].tolist() == [True]
    assert screened["valid"].tolist() == [True]


def test_missing_rule_column_names_rule_and_item(mini_instrument):
    frame = _respondents(mini_instrument, [{}]).drop(columns=["honesty"])
    with pytest.raises(KeyError, match="'dishonest' needs the item columns honesty"):
        screen_respondents(frame, mini_instrument)


def test_bad_code_in_rule_item_is_named(mini_instrument):
    frame = _respondents(mini_instrument, [{"honesty": 6}])
    with pytest.raises(ValueError, match="'honesty' has the code 6 in row 0"):
        screen_respondents(frame, mini_instrument)


# --------------------------------------------------------------------------- screening log


def _random_screened(instrument, rng, n=600) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            i: pd.array(rng.integers(1, instrument.item_max_code(i) + 1, n), dtype="Int8")
            for i in instrument.item_ids
        }
    )
    groups = pd.DataFrame(
        {
            "wave": rng.choice([2021, 2023], n).astype(np.int16),
            # "tom" is a category nobody answered in: the log still lists it (with zeros)
            "area": pd.Categorical(
                rng.choice(["norr", "syd"], n), categories=["norr", "syd", "tom"]
            ),
            "grade": pd.Categorical(rng.choice(["ak7", "ak9"], n), categories=["ak7", "ak9"]),
        }
    )
    return screen_respondents(pd.concat([groups, frame], axis=1), instrument)


def _expected_log(screened: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Plain pandas: counts per rule over the rows of each group (keys not listed = all)."""
    flags = screened.filter(like="invalid_").rename(columns=lambda c: c.removeprefix("invalid_"))
    flags["any_excluded"] = ~screened["valid"]
    grouped = flags.assign(n_respondents=1).groupby([screened[k] for k in keys], observed=True)
    sums = grouped.sum().reset_index()
    return sums.melt(id_vars=[*keys, "n_respondents"], var_name="rule", value_name="n_flagged")


def test_screening_log_counts_and_margins(mini_instrument, rng, respondent_schema):
    screened = _random_screened(mini_instrument, rng)
    log = screening_log(screened, mini_instrument, respondent_schema=respondent_schema)
    assert list(log.columns) == ["wave", "area", "grade", "rule", "n_respondents", "n_flagged"]
    assert set(log["rule"]) == {*RULES, "any_excluded"}
    # full cube: 2 waves x (3 areas + all) x (2 grades + all) x 6 rules
    assert len(log) == 2 * 4 * 3 * 6
    assert not log.duplicated(["wave", "area", "grade", "rule"]).any()
    checks = {
        ("area", "grade"): {},
        ("grade",): {"area": "all"},
        ("area",): {"grade": "all"},
        (): {"area": "all", "grade": "all"},
    }
    for keys, fixed in checks.items():
        expected = _expected_log(screened, ["wave", *keys]).assign(**fixed)
        for column in ("area", "grade"):
            expected[column] = expected[column].astype(str)
        merged = expected.merge(log, on=["wave", "area", "grade", "rule"], suffixes=("", "_log"))
        assert len(merged) == len(expected)
        assert (merged["n_respondents"] == merged["n_respondents_log"]).all()
        assert (merged["n_flagged"] == merged["n_flagged_log"]).all()
    empty = log[log["area"] == "tom"]
    assert len(empty) == 2 * 3 * 6 and (empty[["n_respondents", "n_flagged"]] == 0).all().all()


def test_screening_log_needs_screened_columns(mini_instrument, rng, respondent_schema):
    screened = _random_screened(mini_instrument, rng).drop(columns=["valid"])
    with pytest.raises(KeyError, match="needs the columns valid"):
        screening_log(screened, mini_instrument, respondent_schema=respondent_schema)
