"""Tests of validation: rules from data_schema, parsing, the pandera schema, messages
(ctc_helpers.ingest.rules, .parsing, .schema, .values)."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandera.errors import SchemaErrors

from ctc_helpers.config.instrument import DEFAULT_INSTRUMENT, load_instrument
from ctc_helpers.errors import InputFileError
from ctc_helpers.ingest.parsing import apply_value_labels, parse_table, release_markers
from ctc_helpers.ingest.rules import build_rules, check_columns
from ctc_helpers.ingest.schema import (
    build_schema,
    build_schema_from_rules,
    describe_problems,
    find_problems,
)
from ctc_helpers.ingest.values import MISSING_TOKENS

AREAS = pd.DataFrame(
    {
        "area_id": ["norra-hamnen", "angby"],
        "name": ["Norra Hamnen", "Ängby"],
        "municipality": ["Exempelstad", "Exempelstad"],
    }
)


@pytest.fixture(scope="module")
def rules(mini_instrument, respondent_schema):
    return build_rules(mini_instrument, respondent_schema, AREAS, area_source="areas.csv")


def _verdicts(series: pd.Series, codes: tuple[int, ...]) -> list:
    """Each compact item value as the schema sees it: the code, <NA>, or "rejected"."""
    return [pd.NA if pd.isna(v) else int(v) if int(v) in codes else "rejected" for v in series]


def _raw(**columns) -> pd.DataFrame:
    """A raw table (all text, as read from a CSV) indexed by row numbers 2, 3, ..."""
    n = len(next(iter(columns.values())))
    base = {
        "respondent_id": [f"r{i}" for i in range(n)],
        "wave": ["2025"] * n,
        "area": ["angby"] * n,
        "grade": ["ak7"] * n,
        "sex": ["F"] * n,
    }
    base.update(columns)
    return pd.DataFrame(base, index=pd.RangeIndex(2, n + 2), dtype=object)


# --------------------------------------------------------------------------------------------
# Rules and schema


def test_rules_follow_the_data_schema(rules, mini_instrument, respondent_schema):
    assert set(rules.item_ids) == set(mini_instrument.items)
    assert rules.required == respondent_schema.required_columns
    assert rules.columns["fa_conf_1"].categories == (1, 2, 3, 4)
    assert rules.columns["cn_avail_1"].categories == (1, 2, 3, 4, 5)  # "vet inte" is a code too
    assert rules.columns["grade"].categories == respondent_schema.grade_codes
    assert rules.columns["area"].categories == ("norra-hamnen", "angby")
    assert rules.columns["wave"].minimum == 2000 and rules.columns["wave"].maximum == 2100
    assert rules.columns["respondent_id"].kind == "id"


def test_schema_accepts_a_correct_compact_table(mini_instrument, respondent_schema):
    schema = build_schema(mini_instrument, respondent_schema, AREAS)
    grades = pd.CategoricalDtype(respondent_schema.grade_codes, ordered=True)
    table = pd.DataFrame(
        {
            "respondent_id": pd.array(["a", "b"], dtype=pd.StringDtype("pyarrow")),
            "wave": np.array([2023, 2025], dtype=np.int16),
            "area": pd.Categorical(["angby", "norra-hamnen"]),
            "grade": pd.Categorical(["ak7", "gy2"], dtype=grades),
            "sex": pd.Categorical(["F", None]),
            **{item: pd.array([1, None], dtype="Int8") for item in mini_instrument.items},
        }
    )
    validated = schema.validate(table, lazy=True)
    assert validated.shape == table.shape


def test_schema_reports_every_failure_lazily(mini_instrument, respondent_schema):
    schema = build_schema(mini_instrument, respondent_schema, AREAS)
    table = pd.DataFrame(
        {
            "respondent_id": pd.array(["a", "a", "c"], dtype=pd.StringDtype("pyarrow")),
            "wave": np.array([2025, 1999, 2025], dtype=np.int16),
            "area": pd.Categorical(["angby", "angby", "atlantis"]),
            "grade": pd.Categorical(["ak7", "ak7", "ak7"]),
            "sex": pd.Categorical(["F", "X", None]),
            "fa_conf_1": pd.array([1, 9, None], dtype="Int8"),
        }
    )
    with pytest.raises(SchemaErrors) as caught:
        schema.validate(table, lazy=True)
    cases = caught.value.failure_cases
    found = {(c, i) for c, i in zip(cases["column"], cases["index"], strict=True)}
    # by hand: duplicate id rows 0 and 1; wave 1999 row 1; area atlantis row 2; sex X row 1;
    # item code 9 row 1
    expected = {
        ("respondent_id", 0),
        ("respondent_id", 1),
        ("wave", 1),
        ("area", 2),
        ("sex", 1),
        ("fa_conf_1", 1),
    }
    assert expected <= found


@pytest.mark.skipif(not DEFAULT_INSTRUMENT.exists(), reason="default instrument not written yet")
def test_schema_from_the_default_instrument(respondent_schema):
    instrument = load_instrument()
    schema = build_schema(instrument, respondent_schema, AREAS)
    assert set(instrument.items) <= set(schema.columns)
    item = next(iter(instrument.items.values()))
    codes = item.response_set.codes
    table = pd.DataFrame(
        {item.id: pd.array([codes[0], codes[-1], codes[-1] + 1, None], dtype="Int8")}
    )
    with pytest.raises(SchemaErrors) as caught:
        schema.validate(table, lazy=True)
    cases = caught.value.failure_cases
    bad = cases[cases["column"] == item.id]
    assert bad["index"].tolist() == [2]
    assert int(bad["failure_case"].iloc[0]) == codes[-1] + 1


# --------------------------------------------------------------------------------------------
# Parsing


def test_aliases_labels_and_case_are_mapped_to_canonical_codes(rules):
    decomposed = unicodedata.normalize("NFD", "ÄNGBY")  # as typed on a Mac
    raw = _raw(
        grade=["åk 7", "7", " ÅK  7 ", "Year 7", "gy 2", "11"],
        sex=["flicka", "POJKE", "girl", "", "3", "Annat / vill inte svara"],
        area=["Ängby", "angby", decomposed, "norra hamnen", "NORRA-HAMNEN", " Norra Hamnen "],
    )
    compact, _ = parse_table(raw, rules, file="f.csv")
    assert compact["grade"].astype(str).tolist() == ["ak7"] * 4 + ["gy2", "gy2"]
    assert compact["sex"].astype(object).where(compact["sex"].notna(), None).tolist() == [
        "F",
        "M",
        "F",
        None,
        "U",
        "U",
    ]
    assert compact["area"].astype(str).tolist() == ["angby"] * 3 + ["norra-hamnen"] * 3


def test_item_values_codes_labels_numbers_and_missing(rules):
    raw = _raw(
        fa_conf_1=["3", " 3 ", "3.0", "JA!", "nej", "NA", "", "0", "kanske", "4,0"],
        alc_life=["1", "40+", "1-2", "7", "8", "", "0", "6-9", "1", "2"],
    )
    compact, parsed = parse_table(raw, rules, file="f.csv")
    no = "rejected"
    # by hand: agree4 labels JA! = 4, nej = 2; occasions7 labels 40+ = 7, 1-2 = 2, 6-9 = 4
    assert _verdicts(compact["fa_conf_1"], (1, 2, 3, 4)) == [3, 3, 3, 4, 2, pd.NA, pd.NA, no, no, 4]
    assert _verdicts(compact["alc_life"], tuple(range(1, 8))) == [
        1,
        7,
        2,
        7,
        no,
        pd.NA,
        no,
        4,
        1,
        2,
    ]
    assert parsed.missing_tokens == {"fa_conf_1": {"NA": 1}}


def test_numeric_item_columns_from_parquet_or_spss(rules):
    raw = _raw(
        fa_conf_1=pd.array([1, 4, None, 5, 0, 2], dtype=pd.ArrowDtype(pa.int8())),
        fa_conf_2=pd.array([1.0, 4.0, np.nan, 2.5, -1.0, 2.0], dtype="float64"),
        fa_conf_3=pd.array([1, 300, None, -5, 4, 2], dtype=pd.ArrowDtype(pa.int64())),
        fa_att_1=np.array([1, 255, 4, 0, 2, 3], dtype=np.uint8),
        fa_att_2=pd.array([3, -128, 127, None, -1, 4], dtype="Int8"),
    )
    compact, _ = parse_table(raw, rules, file="f.parquet")
    # by hand: agree4 accepts 1..4; everything else is rejected, None/NaN is missing
    codes, no = (1, 2, 3, 4), "rejected"
    assert _verdicts(compact["fa_conf_1"], codes) == [1, 4, pd.NA, no, no, 2]
    assert _verdicts(compact["fa_conf_2"], codes) == [1, 4, pd.NA, no, no, 2]
    assert _verdicts(compact["fa_conf_3"], codes) == [1, no, pd.NA, no, 4, 2]
    assert _verdicts(compact["fa_att_1"], codes) == [1, no, 4, no, 2, 3]
    assert _verdicts(compact["fa_att_2"], codes) == [3, no, no, pd.NA, no, 4]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["", "1", "2", "4", "5", "7", "9", "0", "x", "12", " 3"]), min_size=1)
)
def test_fast_digit_path_agrees_with_the_general_path(rules, values):
    assert rules.columns["cn_avail_1"].categories == (1, 2, 3, 4, 5)
    as_text = pd.Series(values, dtype=pd.ArrowDtype(pa.string()), index=range(2, len(values) + 2))
    as_objects = pd.Series(values, dtype=object, index=as_text.index)  # takes the general path
    present = [v.strip() for v in values if v.strip()]
    if present and len(present) >= min(len(values), 5) and set(present) == {"x"}:
        for series in (as_text, as_objects):  # only text that is no answer at all: file-level
            with pytest.raises(InputFileError, match="cn_avail_1"):
                parse_table(_raw(cn_avail_1=series), rules, file="f.csv")
        return
    codes = (1, 2, 3, 4, 5)
    fast = parse_table(_raw(cn_avail_1=as_text), rules, file="a")[0]["cn_avail_1"]
    general = parse_table(_raw(cn_avail_1=as_objects), rules, file="b")[0]["cn_avail_1"]
    expected = [
        pd.NA if not v.strip() else int(v) if v.strip() in {"1", "2", "3", "4", "5"} else "rejected"
        for v in values
    ]
    assert _verdicts(fast, codes) == _verdicts(general, codes) == expected


def test_numbers_with_decimal_comma_and_whole_numbers(rules):
    raw = _raw(
        wave=["2025", "2025.0", " 2023 ", "2025,5", "tjugo", ""],
        weight=["1,25", "0.5", "1e0", "-1", "abc", ""],
    )
    compact, _ = parse_table(raw, rules, file="f.csv")
    marker = np.iinfo(np.int16).min
    assert compact["wave"].tolist() == [2025, 2025, 2023, marker, marker, marker]
    weights = compact["weight"].to_numpy()
    np.testing.assert_array_equal(weights[:4], [1.25, 0.5, 1.0, -1.0])
    assert np.isneginf(weights[4]) and np.isnan(weights[5])


def test_a_column_of_the_wrong_kind_stops_the_file(rules):
    dates = [f"2025-03-{d:02d}" for d in range(1, 7)]
    with pytest.raises(InputFileError) as caught:
        parse_table(_raw(fa_att_1=dates), rules, file="enkät.csv", lang="sv")
    message = str(caught.value)
    assert "enkät.csv" in message and "fa_att_1" in message and "2025-03-01" in message
    with pytest.raises(InputFileError, match="area.*areas.csv"):
        parse_table(_raw(area=["Skola A"] * 6), rules, file="e.csv", lang="en")


def test_one_unreadable_value_is_a_row_problem_not_a_file_problem(rules):
    compact, _ = parse_table(_raw(fa_att_1=["", "", "", "x", "", ""]), rules, file="f.csv")
    assert _verdicts(compact["fa_att_1"], (1, 2, 3, 4))[3] == "rejected"


def test_absent_items_and_school_are_added_as_missing(rules, mini_instrument):
    compact, _ = parse_table(_raw(fa_conf_1=["1", "2"]), rules, file="f.csv")
    assert list(compact.columns[:6]) == ["respondent_id", "wave", "area", "school", "grade", "sex"]
    assert list(compact.columns[6:]) == list(mini_instrument.items)
    assert compact["can_30d"].isna().all() and str(compact["can_30d"].dtype) == "Int8"
    assert compact["school"].isna().all()


# --------------------------------------------------------------------------------------------
# Header checks


def test_missing_required_columns_are_named_with_suggestions(rules):
    columns = ["Respondent ID", "wave", "area", "Grade", "kön", "fa_conf_1"]
    with pytest.raises(InputFileError) as caught:
        check_columns(columns, rules, file="enkät.csv", lang="sv")
    message = str(caught.value)
    assert "enkät.csv" in message
    assert "'respondent_id', 'grade', 'sex'" in message  # missing, in schema order
    assert "'Grade' → 'grade'" in message and "'Respondent ID' → 'respondent_id'" in message
    assert "'kön'" in message  # listed among the columns found


def test_header_found_lower_in_the_file(rules):
    head = pd.DataFrame(
        [["respondent_id", "wave", "area", "grade", "sex"], ["r1", "2025", "angby", "ak7", "F"]],
        index=[2, 3],
    )
    with pytest.raises(InputFileError, match="row 2"):
        check_columns(["Titel", "Unnamed: 1"], rules, file="x.xlsx", lang="en", head=head)


def test_no_item_column_at_all(rules):
    with pytest.raises(InputFileError) as caught:
        check_columns(["respondent_id", "wave", "area", "grade", "sex", "q1"], rules, file="f.csv")
    assert "f.csv" in str(caught.value) and "fa_conf_1" in str(caught.value)


def test_absent_items_are_returned(rules, mini_instrument):
    columns = ["respondent_id", "wave", "area", "grade", "sex", "fa_conf_1"]
    absent = check_columns(columns, rules, file="f.csv")
    assert absent == [i for i in mini_instrument.items if i != "fa_conf_1"]


# --------------------------------------------------------------------------------------------
# Problems and messages


def test_problems_are_found_and_described_in_both_languages(rules):
    raw = _raw(
        grade=["ak7", "åk 13", "ak8"],
        fa_conf_1=["1", "9", ""],
        area=["angby", "angby", ""],
    )
    compact, _ = parse_table(raw, rules, file="f.csv")
    problems = find_problems(compact, build_schema_from_rules(rules), rules, file="f.csv")
    assert problems[["row", "column", "rule"]].values.tolist() == [
        [3, "fa_conf_1", "invalid_code"],
        [3, "grade", "unknown_grade"],
        [4, "area", "missing_value"],
    ]
    swedish = describe_problems(problems, raw, rules, lang="sv")
    assert swedish["value"].tolist() == ["9", "åk 13", ""]
    assert swedish["reason"].iloc[0] == (
        "värdet '9' är inget av svarsalternativen (tillåtna: 1 = NEJ!, 2 = nej, 3 = ja, 4 = JA!,"
        " eller tomt)"
    )
    assert "åk 13" in swedish["reason"].iloc[1] and "åk 7 (ak7)" in swedish["reason"].iloc[1]
    assert "area" in swedish["reason"].iloc[2]
    english = describe_problems(problems, raw, rules, lang="en")
    assert english["reason"].iloc[1].startswith("the value 'åk 13' is not a known grade")
    assert "Year 7 (ak7)" in english["reason"].iloc[1]


def test_duplicate_ids_stop_the_file_and_list_the_rows(rules):
    raw = _raw(respondent_id=["a", "b", "a", "c", "b", "a"])
    compact, _ = parse_table(raw, rules, file="f.csv")
    with pytest.raises(InputFileError) as caught:
        find_problems(compact, build_schema_from_rules(rules), rules, file="f.csv", lang="sv")
    message = str(caught.value)
    # by hand: 'a' on rows 2, 4, 7 and 'b' on rows 3, 6 (row numbers start at 2)
    assert "'a' (rad 2, 4 och 7)" in message and "'b' (rad 3 och 6)" in message


def test_release_markers_gives_the_final_categories(rules, respondent_schema):
    compact, _ = parse_table(_raw(grade=["ak7", "gy1"]), rules, file="f.csv")
    released = release_markers(compact, rules)
    assert released["grade"].cat.categories.tolist() == list(respondent_schema.grade_codes)
    assert released["grade"].cat.ordered
    assert released["area"].cat.categories.tolist() == ["norra-hamnen", "angby"]


def test_value_labels_translate_codes_through_the_labels(rules):
    raw = _raw(
        sex=[1.0, 2.0, np.nan],
        fa_conf_1=[0.0, 3.0, 9.0],
    )
    labels = {
        "sex": {1.0: "Pojke", 2.0: "Flicka"},
        "fa_conf_1": {0.0: "NEJ!", 3.0: "JA!", 9.0: "vill inte svara", 8.0: "vet inte alls"},
    }
    translated, changed, unmatched = apply_value_labels(
        raw, labels, rules, missing_codes={"fa_conf_1": [9.0]}
    )
    assert changed == ["fa_conf_1", "sex"]
    assert translated["sex"].tolist()[:2] == ["M", "F"]  # labels win over the bare codes 1/2
    assert translated["fa_conf_1"].tolist() == [1, 4, 9.0]
    assert unmatched == {"fa_conf_1": [(8.0, "vet inte alls")]}  # 9 is user-missing: skipped
    assert raw["sex"].tolist()[:2] == [1.0, 2.0]  # the input is not changed


def test_missing_tokens_are_documented():
    assert "" in MISSING_TOKENS and "na" in MISSING_TOKENS
    assert all(token == token.casefold() for token in MISSING_TOKENS)
