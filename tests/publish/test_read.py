"""Tests of ctc_helpers.publish.read: reading the published folder and its tidy views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctc_helpers.errors import InputFileError
from ctc_helpers.publish import read as published
from tests.fake_published import SENTINEL_PCT, write_fake_published


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A leaky published folder: hidden rows still carry sentinel numbers."""
    return write_fake_published(tmp_path_factory.mktemp("published"), leaky=True)


@pytest.fixture(scope="module")
def pub(fake):
    return published.load_published(fake.path)


def test_load_hides_every_suppressed_value(pub):
    hidden = pub.aggregates.loc[pub.aggregates["suppressed"]]
    assert len(hidden) > 0
    assert hidden[["n", "n_flagged", "pct", "ci_low", "ci_high"]].isna().all().all()
    assert not np.isclose(pub.aggregates["pct"], SENTINEL_PCT).any()
    log = pub.screening_log.loc[pub.screening_log["suppressed"]]
    assert log[["n_respondents", "n_flagged"]].isna().all().all()
    assert pub.comparisons.loc[pub.comparisons["change"].eq("too_few"), "diff"].isna().all()


def test_load_reads_frames_and_run_info(pub, fake):
    assert pub.waves == (2023, 2025)
    assert pub.min_cell == 10 and pub.synthetic
    assert list(pub.areas["area_id"]) == ["norra-hamnen", "soderdalen", "lillby"]
    assert {"label_sv", "label_en", "order", "group"} <= set(pub.measures.columns)
    assert pub.path == fake.path


def test_stricter_min_cell_hides_more(fake):
    strict = published.load_published(fake.path, min_cell=12)
    # soderdalen ak9 (both sexes) has 11 respondents: shown at 10, hidden at 12
    row = strict.aggregates.query(
        "wave == 2025 and area == 'soderdalen' and grade == 'ak9' and sex == 'all'"
    )
    assert row["suppressed"].all() and row["pct"].isna().all()
    assert strict.min_cell == 12


def test_min_cell_below_the_published_minimum_is_refused(fake):
    with pytest.raises(ValueError, match="min_cell is 5, but the published folder was suppressed"):
        published.load_published(fake.path, min_cell=5)
    with pytest.raises(ValueError, match="min_cell must be a whole number; got '10'"):
        published.load_published(fake.path, min_cell="10")


def test_missing_folder_file_and_column(tmp_path, fake):
    with pytest.raises(InputFileError, match="nowhere does not exist.*ctc run"):
        published.load_published(tmp_path / "nowhere")
    broken = write_fake_published(tmp_path / "broken")
    (broken.path / "cutpoints.csv").unlink()
    with pytest.raises(InputFileError, match="lacks cutpoints.csv"):
        published.load_published(broken.path)
    other = write_fake_published(tmp_path / "other")
    pd.read_parquet(other.path / "comparisons.parquet").drop(columns="change").to_parquet(
        other.path / "comparisons.parquet"
    )
    with pytest.raises(InputFileError, match="comparisons.parquet has no column 'change'"):
        published.load_published(other.path)
    (other.path / "run_info.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputFileError, match="must hold a JSON object"):
        published.load_published(other.path)


def test_measures_in_long_form_are_accepted(tmp_path):
    fake = write_fake_published(tmp_path / "long")
    wide = pd.read_csv(fake.path / "measures.csv")
    long = pd.concat(
        [
            wide.drop(columns=["label_en", "description_en"]).rename(columns={"label_sv": "label"}).assign(lang="sv"),
            wide.drop(columns=["label_sv", "description_sv"]).rename(columns={"label_en": "label"}).assign(lang="en"),
        ]
    )  # fmt: skip
    long.to_csv(fake.path / "measures.csv", index=False)
    pub = published.load_published(fake.path)
    labels = published.measure_labels(pub.measures, "en")
    assert labels["family_conflict"] == "Family conflict"


def test_relative_paths_resolve_from_the_repository(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert published.resolve_path("data_schema").is_dir()
    assert published.resolve_path(tmp_path) == tmp_path


def test_check_area_and_wave(pub):
    assert published.check_area(pub, "soderdalen") == "Söderdalen"
    assert published.check_area(pub, "all", "en") == "Whole municipality"
    with pytest.raises(ValueError, match="'nowhere' is not in the published data.*norra-hamnen"):
        published.check_area(pub, "nowhere")
    assert published.check_wave(pub, 2025) == 2023
    assert published.check_wave(pub, 2023) is None
    with pytest.raises(ValueError, match="survey year 2021 is not in the published data"):
        published.check_wave(pub, 2021)
    with pytest.raises(ValueError, match="published years: 2023, 2025"):
        published.check_wave(pub, "2025")


def test_rule_labels_prefer_run_info(pub):
    custom = published.Published(
        **{**pub.__dict__, "run_info": {**pub.run_info, "validity_rules": [
            {"id": "dishonest", "label": {"sv": "Oärlig", "en": "Dishonest"}}]}}
    )  # fmt: skip
    assert published.rule_labels(custom, "en")["dishonest"] == "Dishonest"
    assert published.rule_labels(pub, "en")["any_excluded"] == "Excluded by at least one rule"


def test_profile_frame_series(pub, fake):
    frame = published.profile_frame(
        pub.aggregates, pub.comparisons, kind="risk", area="norra-hamnen", wave=2025,
        measures=pub.measures, lang="en",
    ).set_index("measure")  # fmt: skip
    assert list(frame.index) == [
        "perceived_availability_drugs",
        "family_conflict",
        "low_commitment_school",
        "friends_drug_use",
        "high_risk",
    ]  # fmt: skip  (CTC domain order, then the risk composite)
    rows = fake.aggregates_unsuppressed.query(
        "area in ['norra-hamnen', 'all'] and grade == 'all' and sex == 'all'"
        " and measure == 'family_conflict'"
    ).set_index(["wave", "area"])
    share = rows["n_flagged"] / rows["n"]
    row = frame.loc["family_conflict"]
    assert row["pct"] == pytest.approx(share[(2025, "norra-hamnen")])
    assert row["pct_city"] == pytest.approx(share[(2025, "all")])
    assert row["pct_previous"] == pytest.approx(share[(2023, "norra-hamnen")])
    assert row["change_city"] == "increase" and row["previous_wave"] == 2023
    assert row["label"] == "Family conflict" and row["domain_label"] == "Family"


def test_profile_frame_drops_an_incomparable_previous_wave(pub):
    changed = pub.aggregates.assign(
        cutpoint_version=np.where(pub.aggregates["wave"].eq(2023), "old-cuts", "new-cuts")
    )
    frame = published.profile_frame(changed, kind="risk", area="all", wave=2025)
    assert frame["pct_previous"].isna().all()
    assert frame["pct"].notna().all()


def test_profile_frame_of_a_hidden_area(pub):
    frame = published.profile_frame(pub.aggregates, kind="protective", area="lillby", wave=2025)
    assert frame["suppressed"].all() and frame["pct"].isna().all()
    assert not np.isclose(frame["pct_previous"], SENTINEL_PCT).any()
    with pytest.raises(ValueError, match="kind is 'factor'; choose one of: risk, protective"):
        published.profile_frame(pub.aggregates, kind="factor", area="all", wave=2025)


def test_breakdown_and_areas_frames(pub, fake):
    by_grade = published.breakdown_frame(
        pub.aggregates, kind="behaviour", area="soderdalen", wave=2025, by="grade", lang="sv"
    )
    assert list(dict.fromkeys(by_grade["group_label"])) == ["åk 7", "åk 9"]
    ak9 = by_grade.loc[by_grade["group"].eq("ak9")]
    assert not ak9["suppressed"].any()  # 11 pupils in åk 9 of Söderdalen: shown
    areas = published.areas_frame(pub.aggregates, kind="risk", wave=2025, areas=pub.areas)
    assert list(dict.fromkeys(areas["area"])) == ["norra-hamnen", "soderdalen", "lillby", "all"]
    assert areas.loc[areas["area"].eq("lillby"), "suppressed"].all()
    with pytest.raises(ValueError, match="by is 'school'; choose 'grade' or 'sex'"):
        published.breakdown_frame(pub.aggregates, kind="risk", area="all", wave=2025, by="school")


def test_stricter_min_cell_also_hides_the_comparisons(fake):
    strict = published.load_published(fake.path, min_cell=12)
    rows = strict.comparisons.query(
        "area == 'soderdalen' and grade == 'ak9' and sex == 'all' and wave == 2025"
    )
    assert len(rows) > 0
    assert rows["change"].eq("too_few").all() and rows["diff"].isna().all()
    loose = published.load_published(fake.path)
    shown = loose.comparisons.query(
        "area == 'soderdalen' and grade == 'ak9' and sex == 'all' and comparison == 'city'"
    )
    assert shown["diff"].notna().all()


@pytest.mark.parametrize(
    "where",
    [
        {"wave": 2025, "area": "a"},
        {"wave": 2023, "area": "b", "grade": None},
        {"wave": 2025, "area": "a", "sex": None, "kinds": ("risk", "composite")},
        {"wave": 2025, "area": "a", "grade": "ak7", "sex": "F"},
        {"wave": 2031, "area": "a"},
    ],
)
def test_select_rows_is_a_plain_boolean_filter(where):
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame(
        {
            "wave": rng.choice([2023, 2025], n),
            "area": rng.choice(["a", "b", "all"], n),
            "grade": rng.choice(["ak7", "ak9", "all"], n),
            "sex": rng.choice(["F", "M", "all"], n),
            "measure_kind": rng.choice(["risk", "protective", "composite"], n),
            "pct": rng.random(n),
        },
        index=rng.permutation(n) + 1000,  # not a range: the index is kept
    )
    grade, sex, kinds = where.get("grade", "all"), where.get("sex", "all"), where.get("kinds")
    keep = frame["wave"].eq(where["wave"]) & frame["area"].eq(where["area"])
    keep &= frame["grade"].eq(grade) if grade is not None else True
    keep &= frame["sex"].eq(sex) if sex is not None else True
    keep &= frame["measure_kind"].isin(kinds) if kinds is not None else True
    pd.testing.assert_frame_equal(published.select_rows(frame, **where), frame.loc[keep])
