"""Tests of ctc_helpers.publish.read: reading the published folder and selecting its rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctc_helpers.errors import InputFileError
from ctc_helpers.paths import resolve_path
from ctc_helpers.publish import read as published
from ctc_helpers.views.labels import measure_labels
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


def test_missing_folder_file_and_column(tmp_path, fake, monkeypatch):
    with pytest.raises(InputFileError, match="nowhere finns inte. Den skrivs av ctc run"):
        published.load_published(tmp_path / "nowhere")  # Swedish unless CTC_LANG says otherwise
    monkeypatch.setenv("CTC_LANG", "en")
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
    with pytest.raises(
        InputFileError, match="comparisons.parquet of the published folder has no change"
    ):
        published.load_published(other.path)
    (other.path / "run_info.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(
        InputFileError, match="run_info.json of the published folder cannot be read"
    ):
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
    assert measure_labels(pub.measures, "en")["family_conflict"] == "Family conflict"


def test_relative_paths_resolve_from_the_repository(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert resolve_path("data_schema").is_dir()
    assert resolve_path(tmp_path) == tmp_path


def test_check_wave(pub):
    assert published.check_wave(pub, 2025) == 2023
    assert published.check_wave(pub, 2023) is None
    with pytest.raises(ValueError, match="survey year 2021 is not in the published data"):
        published.check_wave(pub, 2021)
    with pytest.raises(ValueError, match="published years: 2023, 2025"):
        published.check_wave(pub, "2025")


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
