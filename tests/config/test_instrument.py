"""Loading and validating instrument, respondent schema and area list files."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from ctc_helpers.config.instrument import load_areas, load_instrument
from ctc_helpers.errors import ConfigError, InputFileError

from ..conftest import DATA_DIR


def _write_variant(tmp_path, change):
    raw = yaml.safe_load((DATA_DIR / "mini_instrument.yaml").read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_mini_instrument_structure(mini_instrument):
    assert mini_instrument.factor_ids == (
        "family_conflict",
        "perceived_availability_drugs",
        "family_attachment",
    )
    assert [f.id for f in mini_instrument.factors_of("protective")] == ["family_attachment"]
    assert mini_instrument.factor("family_conflict").items[2] == ("fa_conf_3", True)
    assert mini_instrument.factor_item_ids == (
        "fa_conf_1",
        "fa_conf_2",
        "fa_conf_3",
        "cn_avail_1",
        "cn_avail_2",
        "fa_att_1",
        "fa_att_2",
    )


def test_score_lookup_reverses_within_the_scored_range(mini_instrument):
    agree = mini_instrument.response_sets["agree4"]
    # codes 1..4 score 1..4; reversed: 5 - score
    np.testing.assert_array_equal(agree.score_lookup()[1:], [1, 2, 3, 4])
    np.testing.assert_array_equal(agree.score_lookup(reverse=True)[1:], [4, 3, 2, 1])
    ease = mini_instrument.response_sets["ease4dk"]
    lookup = ease.score_lookup()
    assert np.isnan(lookup[5])  # "vet inte" is not an answer on the scale
    assert np.isnan(lookup[0])  # code 0 does not exist


def test_measures_table_lists_factors_behaviours_composites(mini_instrument):
    measures = mini_instrument.measures("en")
    assert list(measures.columns) == [
        "measure",
        "measure_kind",
        "domain",
        "group",
        "label",
        "description",
        "order",
    ]
    kinds = measures.set_index("measure")["measure_kind"]
    assert kinds["family_attachment"] == "protective"
    assert kinds["alcohol_lifetime"] == "behaviour"
    assert kinds["high_risk"] == "composite"
    assert measures.set_index("measure").loc["family_conflict", "label"] == "Family conflict"


def test_respondent_schema_aliases(respondent_schema):
    assert respondent_schema.grade_codes == ("ak6", "ak7", "ak8", "ak9", "gy1", "gy2")
    assert respondent_schema.grade_aliases["åk 9"] == "ak9"
    assert respondent_schema.grade_aliases["gy 1"] == "gy1"
    assert respondent_schema.sex_aliases["flicka"] == "F"
    assert respondent_schema.published_sex_codes == ("F", "M")
    assert respondent_schema.grade_years["gy2"] - respondent_schema.grade_years["ak7"] == 4


def test_default_instrument_is_complete(default_instrument):
    kinds = {f.kind for f in default_instrument.factors}
    domains = {f.domain for f in default_instrument.factors}
    assert kinds == {"risk", "protective"}
    assert domains == {"community", "family", "school", "individual"}
    assert len(default_instrument.factors) >= 30
    assert {r.id for r in default_instrument.validity} >= {
        "fictitious_drug",
        "dishonest",
        "inconsistent",
        "exaggeration",
        "too_few_answered",
    }
    for substance in ("alcohol", "cigarettes", "snus", "ecigarettes", "cannabis", "other_drugs"):
        ids = {b.id for b in default_instrument.behaviours}
        assert {f"{substance}_lifetime", f"{substance}_30d"} <= ids, substance
    assert "CTC" in default_instrument.notice["sv"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r["items"][0].update(response_set="nope"), ["fa_conf_1", "nope", "agree4"]),
        (lambda r: r["factors"][0]["items"].append({"id": "ghost"}), ["family_conflict", "ghost"]),
        (lambda r: r["factors"][0].update(domain="space"), ["domain", "space", "community"]),
        (lambda r: r["factors"][0].update(min_items=9), ["min_items", "9", "1..3"]),
        (lambda r: r["factors"][0]["label"].pop("en"), ["family_conflict", "label", "en"]),
        (lambda r: r["response_sets"]["agree4"]["options"][1].update(code=7), ["agree4", "1..4"]),
        (
            lambda r: r["factors"][0]["cutpoint"].pop("version"),
            ["family_conflict", "version"],
        ),
        (lambda r: r["behaviours"][0]["rule"].update(kind="magic"), ["alcohol_lifetime", "magic"]),
        (lambda r: r["validity"][1]["rule"].pop("codes"), ["dishonest", "codes"]),
        (lambda r: r["behaviours"].append(dict(r["behaviours"][0])), ["alcohol_lifetime"]),
    ],
)
def test_invalid_instrument_messages_name_the_entry(tmp_path, change, expected):
    path = _write_variant(tmp_path, change)
    with pytest.raises(ConfigError) as info:
        load_instrument(path)
    message = str(info.value)
    assert "variant.yaml" in message
    for fragment in expected:
        assert fragment in message


def test_unreadable_instrument_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml"):
        load_instrument(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("instrument: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml is not a valid YAML"):
        load_instrument(bad)


def test_load_areas_and_its_errors(tmp_path):
    good = tmp_path / "areas.csv"
    good.write_text(
        "area_id,name,municipality\nnorra-hamnen,Norra Hamnen,X\nsoder,Söder,X\n", encoding="utf-8"
    )
    assert load_areas(good)["name"].tolist() == ["Norra Hamnen", "Söder"]
    dup = tmp_path / "dup.csv"
    dup.write_text("area_id,name,municipality\na,A,X\na,B,X\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="'a' occurs twice in 'area_id'"):
        load_areas(dup)
    bad_id = tmp_path / "bad_id.csv"
    bad_id.write_text("area_id,name,municipality\nNorra Hamnen,N,X\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="row 2: area_id 'Norra Hamnen'"):
        load_areas(bad_id)
    missing = tmp_path / "missing.csv"
    missing.write_text("id,name\na,A\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no column 'area_id'"):
        load_areas(missing)
