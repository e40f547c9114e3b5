"""Tests of ctc_helpers.views.frames on the leaky fake published folder (tests/fake_published.py)."""

from __future__ import annotations

import numpy as np
import pytest

from ctc_helpers.publish.read import load_published
from ctc_helpers.views import frames
from tests.fake_published import SENTINEL_PCT, write_fake_published


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A leaky published folder: hidden rows still carry sentinel numbers."""
    return write_fake_published(tmp_path_factory.mktemp("published"), leaky=True)


@pytest.fixture(scope="module")
def pub(fake):
    return load_published(fake.path)


def test_profile_frame_series(pub, fake):
    frame = frames.profile_frame(
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
    frame = frames.profile_frame(changed, kind="risk", area="all", wave=2025)
    assert frame["pct_previous"].isna().all()
    assert frame["pct"].notna().all()


def test_profile_frame_of_a_hidden_area(pub):
    frame = frames.profile_frame(pub.aggregates, kind="protective", area="lillby", wave=2025)
    assert frame["suppressed"].all() and frame["pct"].isna().all()
    assert not np.isclose(frame["pct_previous"], SENTINEL_PCT).any()
    with pytest.raises(ValueError, match="kind is 'factor'; choose one of: risk, protective"):
        frames.profile_frame(pub.aggregates, kind="factor", area="all", wave=2025)


def test_breakdown_and_areas_frames(pub, fake):
    by_grade = frames.breakdown_frame(
        pub.aggregates, kind="behaviour", area="soderdalen", wave=2025, by="grade", lang="sv"
    )
    assert list(dict.fromkeys(by_grade["group_label"])) == ["åk 7", "åk 9"]
    ak9 = by_grade.loc[by_grade["group"].eq("ak9")]
    assert not ak9["suppressed"].any()  # 11 pupils in åk 9 of Söderdalen: shown
    areas = frames.areas_frame(pub.aggregates, kind="risk", wave=2025, areas=pub.areas)
    assert list(dict.fromkeys(areas["area"])) == ["norra-hamnen", "soderdalen", "lillby", "all"]
    assert areas.loc[areas["area"].eq("lillby"), "suppressed"].all()
    with pytest.raises(ValueError, match="by is 'school'; choose 'grade' or 'sex'"):
        frames.breakdown_frame(pub.aggregates, kind="risk", area="all", wave=2025, by="school")
