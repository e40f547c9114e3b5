"""Loading and validating instrument, respondent schema and area list files."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from ctc_helpers.config.instrument import load_areas, load_instrument, load_respondent_schema
from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.errors import InputFileError
from ctc_helpers.paths import SCHEMA_DIR

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
        (lambda r: r["items"][0].update(response_set="nope"),
         "items[fa_conf_1].response_set is 'nope'; not defined under response_sets (defined:"
         " agree4, dep4, ease4dk, honesty5, occasions7)."),
        (lambda r: r["factors"][0]["items"].append({"id": "ghost"}),
         "factors[family_conflict].items[ghost].id is 'ghost'; not an item of the instrument"
         " (items are defined under items)."),
        (lambda r: r["factors"][0].update(domain="space"),
         "factors[family_conflict].domain is 'space'; allowed: community, family, school,"
         " individual."),
        (lambda r: r["factors"][0].update(min_items=9),
         "factors[family_conflict].min_items is 9; it must be 1..3 (the factor has 3 items)."),
        (lambda r: [r["factors"][0]["label"].pop(k) for k in ("sv", "en")],
         "factors[family_conflict].label is {}; expected the text in Swedish (sv:), English (en:)"
         " or both."),
        (lambda r: r["response_sets"]["agree4"]["options"][1].update(code=7),
         "response_sets.agree4.options: the codes must be 1..4 in order, got [1, 7, 3, 4]."),
        (lambda r: [o.update(score=None) for o in r["response_sets"]["dep4"]["options"]],
         "response_sets.dep4.options: at least one option needs a score."),
        (lambda r: r["factors"][0]["cutpoint"].pop("version"),
         "factors[family_conflict].cutpoint.version is missing; fixed cut points need a version"
         " naming their source."),
        (lambda r: r["factors"][1]["cutpoint"].update(high=100),
         "factors[perceived_availability_drugs].cutpoint: percentile cut points must lie between"
         " 0 and 100 (flag 75, high 100)."),
        (lambda r: r["behaviours"][0]["rule"].update(kind="magic"),
         "behaviours[alcohol_lifetime].rule.kind is 'magic'; allowed: any_at_least,"
         " count_at_least, sum_at_least, any_code_in, any_at_most, any_between, code_in,"
         " code_at_most, code_between."),
        (lambda r: r["validity"][1]["rule"].pop("codes"),
         "validity[dishonest].rule.codes is missing; a code_in rule needs: item, codes."),
        (lambda r: r["validity"][1]["rule"].update(share=0.5),
         "validity[dishonest].rule.share is not a key of a code_in rule; it needs: item, codes."),
        (lambda r: r["validity"][2]["rule"].update(pairs=[["alc_30d"]]),
         "validity[inconsistent].rule.pairs[1] is ['alc_30d']; expected a pair [thirty_day_item,"
         " lifetime_item]."),
        (lambda r: r["behaviours"].append(dict(r["behaviours"][0])),
         "measure ids (factors, behaviours, composites) must be unique; repeated:"
         " alcohol_lifetime."),
        (lambda r: r["items"].append(dict(r["items"][0], id="family_conflict")),
         "ids used both as an item and as a measure: family_conflict."),
        (lambda r: r["composites"][0].update(min_scored_share=0),
         "composites[high_risk].min_scored_share is 0; expected a share above 0 and at most 1."),
        (lambda r: r["factors"][0].update(colour="red"),
         "factors[family_conflict].colour is not a known key here; allowed keys: id, domain,"
         " kind, label, description, items, min_items, cutpoint."),
    ],
)  # fmt: skip
def test_invalid_instrument_messages_name_the_entry(tmp_path, change, expected):
    path = _write_variant(tmp_path, change)
    with pytest.raises(ConfigFileError) as info:
        load_instrument(path)
    assert info.value.text("en") == f"variant.yaml: {expected}"


def test_every_problem_at_once_and_in_swedish(tmp_path, monkeypatch):
    monkeypatch.delenv("CTC_LANG", raising=False)

    def change(raw):
        raw["items"][0].update(id="fa conf 1", response_set="nope")  # fa_conf_1 is gone
        raw["factors"][2].update(kind="neutral")
        raw["instrument"].pop("notice")

    with pytest.raises(ConfigFileError) as info:
        load_instrument(_write_variant(tmp_path, change))
    assert str(info.value) == (
        "variant.yaml har 4 fel:\n"
        "  - instrument.notice saknas; nyckeln måste finnas.\n"
        "  - items[1].response_set är 'nope'; inte definierad under response_sets (definierade:"
        " agree4, dep4, ease4dk, honesty5, occasions7).\n"
        "  - factors[family_conflict].items[fa_conf_1].id är 'fa_conf_1'; inte en fråga i"
        " instrumentet (frågorna definieras under items).\n"
        "  - factors[family_attachment].kind är 'neutral'; tillåtet: risk, protective."
    )


def test_a_version_written_as_a_number_is_text(tmp_path):
    path = _write_variant(tmp_path, lambda r: r["instrument"].update(version=2026.1))
    assert load_instrument(path).version == "2026.1"


def test_unreadable_instrument_file(tmp_path):
    with pytest.raises(ConfigFileError) as info:
        load_instrument(tmp_path / "missing.yaml")
    assert info.value.text("en") == (
        f"Cannot read the instrument {tmp_path / 'missing.yaml'}: the file does not exist."
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("instrument: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigFileError) as info:
        load_instrument(bad)
    assert info.value.text("en").startswith("bad.yaml is not valid YAML (line 2, column 1): ")


def test_invalid_respondent_schema(tmp_path):
    raw = yaml.safe_load((SCHEMA_DIR / "respondents.yaml").read_text(encoding="utf-8"))
    raw["grades"][1].pop("year")
    raw["sexes"][0]["published"] = "ja"
    path = tmp_path / "respondents.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigFileError) as info:
        load_respondent_schema(path)
    assert info.value.text("en") == (
        "respondents.yaml has 2 problems:\n"
        "  - grades[2].year is missing; the key is required.\n"
        "  - sexes[1].published is 'ja'; expected true or false."
    )


def test_load_areas_and_its_errors(tmp_path):
    good = tmp_path / "areas.csv"
    good.write_text(
        "area_id,name,municipality\nnorra-hamnen,Norra Hamnen,X\nsoder,Söder,X\n", encoding="utf-8"
    )
    assert load_areas(good)["name"].tolist() == ["Norra Hamnen", "Söder"]
    dup = tmp_path / "dup.csv"
    dup.write_text("area_id,name,municipality\na,A,X\na,B,X\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="'a' occurs twice in the column area_id"):
        load_areas(dup, lang="en")
    with pytest.raises(InputFileError, match="'a' står två gånger i kolumnen area_id"):
        load_areas(dup, lang="sv")
    bad_id = tmp_path / "bad_id.csv"
    bad_id.write_text("area_id,name,municipality\nNorra Hamnen,N,X\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="bad_id.csv, row 2: area_id 'Norra Hamnen'"):
        load_areas(bad_id, lang="en")
    with pytest.raises(InputFileError, match="bad_id.csv, rad 2: area_id 'Norra Hamnen' får bara"):
        load_areas(bad_id, lang="sv")
    missing = tmp_path / "missing.csv"
    missing.write_text("id,name\na,A\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no column area_id"):
        load_areas(missing, lang="en")
    empty = tmp_path / "empty.csv"
    empty.write_text("area_id,name,municipality\na,,X\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="empty.csv, rad 2: kolumnen name är tom"):
        load_areas(empty, lang="sv")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("area_id,name,municipality\nasmyra,Åsmyra,X\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="latin1.csv är inte UTF-8-text"):
        load_areas(latin1, lang="sv")
    with pytest.raises(InputFileError, match="The area list nowhere.csv cannot be read"):
        load_areas(tmp_path / "nowhere.csv", lang="en")
