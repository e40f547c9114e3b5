"""Tests of ctc_helpers.views.labels on the leaky fake published folder (tests/fake_published.py)."""

from __future__ import annotations

import pytest

from ctc_helpers.publish.read import Published, load_published
from ctc_helpers.views import labels
from tests.fake_published import write_fake_published


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A leaky published folder: hidden rows still carry sentinel numbers."""
    return write_fake_published(tmp_path_factory.mktemp("published"), leaky=True)


@pytest.fixture(scope="module")
def pub(fake):
    return load_published(fake.path)


def test_check_area(pub):
    assert labels.check_area(pub, "soderdalen") == "Söderdalen"
    assert labels.check_area(pub, "all", "en") == "Whole municipality"
    with pytest.raises(ValueError, match="'nowhere' is not in the published data.*norra-hamnen"):
        labels.check_area(pub, "nowhere")


def test_rule_labels_prefer_run_info(pub):
    custom = Published(
        **{**pub.__dict__, "run_info": {**pub.run_info, "validity_rules": [
            {"id": "dishonest", "label": {"sv": "Oärlig", "en": "Dishonest"}}]}}
    )  # fmt: skip
    assert labels.rule_labels(custom, "en")["dishonest"] == "Dishonest"
    assert labels.rule_labels(pub, "en")["any_excluded"] == "Excluded by at least one rule"


def test_grade_sex_and_domain_labels():
    assert labels.grade_labels("sv")["ak7"] == "åk 7"
    assert labels.grade_labels("en")["all"] == "All grades"
    assert (
        labels.sex_labels("en")["F"] == "Girls"
        and labels.sex_labels("en")["all"] == "Girls and boys"
    )
    assert labels.domain_label("school", "sv") == "Skola"
    assert labels.domain_label("unknown_domain", "sv") == "unknown_domain"


def test_area_names(pub):
    assert labels.area_names(pub) == {
        "norra-hamnen": "Norra Hamnen", "soderdalen": "Söderdalen", "lillby": "Lillby",
    }  # fmt: skip
    assert labels.area_name(pub, "lillby") == "Lillby"
    assert labels.area_name(pub, "all", "en") == "Whole municipality"
