"""Tests for ctc_helpers.survey.cutpoints (percentiles worked out by hand, semantics incl. ties)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.errors import ConfigError
from ctc_helpers.survey.cutpoints import (
    CUTPOINT_COLUMNS,
    apply_cutpoints,
    derive_cutpoints,
    load_cutpoints,
    measure_versions,
    save_cutpoints,
)

from ..conftest import DATA_DIR


def _scored(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (wave, area, valid, conflict, availability, attachment) scores."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "wave",
            "area",
            "valid",
            "score__family_conflict",
            "score__perceived_availability_drugs",
            "score__family_attachment",
        ],
    )
    return frame.astype({"valid": bool})


# Reference wave 2021, valid: availability and attachment scores 1, 2, 3, 4.
# Invalid respondents and other waves must not move the percentiles.
ROWS = [
    (2021, "norr", True, 2.0, 1.0, 1.0),
    (2021, "norr", True, 2.0, 2.0, 2.0),
    (2021, "syd", True, 2.0, 3.0, 3.0),
    (2021, "syd", True, 2.0, 4.0, 4.0),
    (2021, "syd", True, np.nan, np.nan, np.nan),  # no scores: left out
    (2021, "syd", False, 2.0, 100.0, -100.0),  # invalid: left out
    (2023, "norr", True, 2.0, 50.0, 50.0),  # another wave: left out
]


def _variant(tmp_path, mutate):
    raw = yaml.safe_load((DATA_DIR / "mini_instrument.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_instrument(path)


def test_derive_percentile_and_fixed(mini_instrument):
    table = derive_cutpoints(_scored(ROWS), mini_instrument)
    assert list(table.columns) == list(CUTPOINT_COLUMNS)
    assert table["factor"].tolist() == list(mini_instrument.factor_ids)
    rows = table.set_index("factor")
    # fixed: the file's values
    assert rows.loc[
        "family_conflict", ["method", "flag_value", "high_value", "reference"]
    ].tolist() == [
        "fixed",
        2.5,
        3.5,
        "",
    ]
    # scores 1, 2, 3, 4; linear interpolation at (n-1)p: P75 -> 2.25 -> 3.25, P90 -> 2.7 -> 3.7
    avail = rows.loc["perceived_availability_drugs"]
    assert (avail["flag_value"], avail["high_value"]) == pytest.approx((3.25, 3.7), abs=1e-12)
    assert avail["reference"] == "ref-2021"
    # protective P25 -> 0.75 -> 1.75, P10 -> 0.3 -> 1.3
    attach = rows.loc["family_attachment"]
    assert (attach["flag_value"], attach["high_value"]) == pytest.approx((1.75, 1.3), abs=1e-12)


def test_versions_identify_instrument_reference_and_numbers(mini_instrument):
    table = derive_cutpoints(_scored(ROWS), mini_instrument).set_index("factor")["version"]
    assert re.fullmatch(
        r"mini-test-test-1/fixed:test-fixed-1/[0-9a-f]{8}", table["family_conflict"]
    )
    assert re.fullmatch(
        r"mini-test-test-1/ref-2021/P75-P90/[0-9a-f]{8}", table["perceived_availability_drugs"]
    )
    assert re.fullmatch(
        r"mini-test-test-1/ref-2021/P25-P10/[0-9a-f]{8}", table["family_attachment"]
    )
    # same data and reference -> same version; another reference -> another version
    again = derive_cutpoints(_scored(ROWS), mini_instrument).set_index("factor")["version"]
    pd.testing.assert_series_equal(table, again)
    rebased = derive_cutpoints(_scored(ROWS), mini_instrument, reference={"wave": 2023})
    rebased = rebased.set_index("factor")["version"]
    assert rebased["perceived_availability_drugs"].startswith("mini-test-test-1/ref-2023/")
    assert rebased["family_conflict"] == table["family_conflict"]  # fixed: unchanged


def test_reference_with_area_and_several_waves(mini_instrument):
    by_area = derive_cutpoints(
        _scored(ROWS), mini_instrument, reference={"wave": 2021, "area": "norr"}
    )
    avail = by_area.set_index("factor").loc["perceived_availability_drugs"]
    # norr 2021 valid: 1, 2 -> P75 = 1.75, P90 = 1.9
    assert (avail["flag_value"], avail["high_value"]) == pytest.approx((1.75, 1.9))
    assert avail["reference"] == "ref-2021-area=norr"
    both = derive_cutpoints(_scored(ROWS), mini_instrument, reference={"wave": [2021, 2023]})
    avail = both.set_index("factor").loc["perceived_availability_drugs"]
    # 1, 2, 3, 4, 50: P75 at 3.0 -> 4, P90 at 3.6 -> 4 + 0.6 * 46 = 31.6
    assert (avail["flag_value"], avail["high_value"]) == pytest.approx((4.0, 31.6))
    assert avail["reference"] == "ref-2021+2023"


def test_apply_semantics_and_ties(mini_instrument):
    table = pd.DataFrame(
        {
            "factor": list(mini_instrument.factor_ids),
            "kind": ["risk", "risk", "protective"],
            "method": "fixed",
            "flag_value": [2.5, 2.5, 1.75],
            "high_value": [3.5, 3.5, 1.3],
            "reference": "",
            "version": ["v-a", "v-b", "v-c"],
        }
    )
    risk = [2.4, 2.5, 2.6, 3.5, 3.6, np.nan]
    protective = [2.0, 1.75, 1.5, 1.3, 1.0, np.nan]
    scored = pd.DataFrame(
        {
            "score__family_conflict": risk,
            "score__perceived_availability_drugs": risk,
            "score__family_attachment": protective,
        }
    )
    out = apply_cutpoints(scored, mini_instrument, table)
    # risk: at risk if score > 2.5 (2.5 itself is not); level 2 if > 3.5, 1 if > 2.5
    np.testing.assert_array_equal(out["flag__family_conflict"], [0, 0, 1, 1, 1, np.nan])
    assert out["level__family_conflict"].tolist() == [0, 0, 1, 1, 2, pd.NA]
    # protective: with protection if > 1.75; level 2 (low) if <= 1.3, 1 if <= 1.75, else 0
    np.testing.assert_array_equal(out["flag__family_attachment"], [1, 0, 0, 0, 0, np.nan])
    assert out["level__family_attachment"].tolist() == [0, 1, 1, 2, 2, pd.NA]
    assert out["flag__family_conflict"].dtype == np.float64
    assert out["level__family_conflict"].dtype == "Int8"
    assert out.attrs["cutpoint_versions"]["family_conflict"] == "v-a"


def test_ties_at_a_derived_percentile_are_not_flagged(mini_instrument):
    # availability 1, 2, 2, 2, 3: P75 = 2 (position 3.0), P90 = 2.6; only the 3 is above P75
    rows = [(2021, "norr", True, 2.0, s, 1.0) for s in (1.0, 2.0, 2.0, 2.0, 3.0)]
    scored = _scored(rows)
    out = apply_cutpoints(scored, mini_instrument, derive_cutpoints(scored, mini_instrument))
    np.testing.assert_array_equal(out["flag__perceived_availability_drugs"], [0, 0, 0, 0, 1])
    assert out["level__perceived_availability_drugs"].tolist() == [0, 0, 0, 0, 2]


def test_apply_does_not_modify_input(mini_instrument):
    scored = _scored(ROWS)
    before = scored.copy()
    apply_cutpoints(scored, mini_instrument, derive_cutpoints(scored, mini_instrument))
    pd.testing.assert_frame_equal(scored, before)


def test_composite_versions_follow_their_factors(mini_instrument):
    table = derive_cutpoints(_scored(ROWS), mini_instrument)
    versions = measure_versions(table, mini_instrument)
    assert set(versions) == {*mini_instrument.factor_ids, "high_risk", "high_protection"}
    assert versions["high_risk"].startswith("mini-test-test-1/risk-at-least-2/")
    changed = table.assign(version=table["version"].where(table["kind"] != "risk", "other"))
    other = measure_versions(changed, mini_instrument)
    assert other["high_risk"] != versions["high_risk"]
    assert other["high_protection"] == versions["high_protection"]


def test_save_and_load_round_trip(mini_instrument, tmp_path):
    table = derive_cutpoints(_scored(ROWS), mini_instrument)
    path = save_cutpoints(table, tmp_path / "cut.yaml")
    loaded = load_cutpoints(path)
    pd.testing.assert_frame_equal(loaded, table, check_exact=True)
    scored = _scored(ROWS)
    pd.testing.assert_frame_equal(
        apply_cutpoints(scored, mini_instrument, loaded),
        apply_cutpoints(scored, mini_instrument, table),
    )


def test_edited_numbers_are_refused(mini_instrument, tmp_path):
    path = save_cutpoints(derive_cutpoints(_scored(ROWS), mini_instrument), tmp_path / "cut.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["cutpoints"][1]["flag_value"] = 3.0
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_cutpoints(path)
    assert re.search(
        r"entry 2 .*'perceived_availability_drugs'.*do not match", error.value.text("en")
    )
    assert "post 2 (faktor 'perceived_availability_drugs')" in error.value.text("sv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("cutpoints: []\n", "should hold a list of cut points under 'cutpoints:'"),
        ("- a\n", "should hold a list of cut points"),
        ("cutpoints:\n  - {factor: x}\n", "entry 1: the keys kind, method"),
        (
            "cutpoints:\n  - {factor: x, kind: risk, method: fixed, flag_value: high,"
            " high_value: 1, reference: '', version: v}\n",
            "flag_value must be a number, got 'high'",
        ),
        ("cutpoints: [\n", "cut.yaml is not valid YAML (line 2, column 1)"),
        (
            "cutpoints:\n  - {factor: x}\n  - {factor: y}\ncutpoints: []\n",
            "line 4: the key 'cutpoints'",
        ),
    ],
)
def test_bad_cutpoint_files(tmp_path, content, message):
    path = tmp_path / "cut.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_cutpoints(path)
    assert message in error.value.text("en")
    assert "cut.yaml" in error.value.text("sv") and error.value.text("sv") != error.value.text("en")


def test_missing_cutpoint_file(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_cutpoints(tmp_path / "none.yaml")
    assert "gränsvärdesfilen" in error.value.text("sv") and "none.yaml" in error.value.text("sv")
    assert "the cut-point file" in error.value.text("en")


def test_table_errors(mini_instrument):
    table = derive_cutpoints(_scored(ROWS), mini_instrument)
    scored = _scored(ROWS)
    with pytest.raises(ValueError, match="no row for the factors family_attachment"):
        apply_cutpoints(scored, mini_instrument, table.iloc[:2])
    wrong_kind = table.assign(kind=["risk", "protective", "protective"])
    with pytest.raises(
        ValueError, match="'perceived_availability_drugs' is 'protective'.*says 'risk'"
    ):
        apply_cutpoints(scored, mini_instrument, wrong_kind)
    reversed_risk = table.assign(high_value=table["high_value"].where(table.index != 0, 1.0))
    with pytest.raises(
        ValueError, match=r"'family_conflict' the high value \(1\) must be at least"
    ):
        apply_cutpoints(scored, mini_instrument, reversed_risk)
    reversed_protective = table.assign(high_value=table["high_value"].where(table.index != 2, 9.0))
    with pytest.raises(ValueError, match="'family_attachment' the high value .* must be at most"):
        apply_cutpoints(scored, mini_instrument, reversed_protective)
    with pytest.raises(KeyError, match="lacks the columns version"):
        apply_cutpoints(scored, mini_instrument, table.drop(columns=["version"]))
    with pytest.raises(KeyError, match="'score__family_conflict' is missing; run score_scales"):
        apply_cutpoints(scored.drop(columns=["score__family_conflict"]), mini_instrument, table)


def test_reference_errors(mini_instrument, tmp_path):
    scored = _scored(ROWS)
    with pytest.raises(ValueError, match=r"No valid respondent matches .*'wave': 2019"):
        derive_cutpoints(scored, mini_instrument, reference={"wave": 2019})
    with pytest.raises(KeyError, match="names the column 'school'"):
        derive_cutpoints(scored, mini_instrument, reference={"school": "x"})
    with pytest.raises(KeyError, match="no 'valid' column; run screen_respondents"):
        derive_cutpoints(scored.drop(columns=["valid"]), mini_instrument)
    # reference rows exist but nobody has a score on one factor
    unscored = scored.assign(score__family_attachment=np.nan)
    with pytest.raises(
        ValueError, match="'ref-2021' has a score on the factor 'family_attachment'"
    ):
        derive_cutpoints(unscored, mini_instrument)
    no_default = _variant(tmp_path, lambda raw: raw.pop("defaults"))
    with pytest.raises(ConfigError, match="no defaults: cutpoints: reference"):
        derive_cutpoints(scored, no_default)


def test_repeated_factor_rows_are_refused(mini_instrument):
    table = derive_cutpoints(_scored(ROWS), mini_instrument)
    with pytest.raises(ValueError, match="several rows for the factors family_conflict"):
        apply_cutpoints(_scored(ROWS), mini_instrument, pd.concat([table, table.iloc[:1]]))


def test_saved_file_says_not_to_edit(mini_instrument, tmp_path):
    path = save_cutpoints(derive_cutpoints(_scored(ROWS), mini_instrument), tmp_path / "c.yaml")
    assert path.read_text(encoding="utf-8").startswith("# Frozen cut points")
