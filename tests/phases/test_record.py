"""Tests of ctc_helpers.phases.record: the results record of the phase notebooks."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ctc_helpers.phases.record import profile_summary, write_results
from ctc_helpers.publish.read import load_published
from tests.fake_published import write_fake_published


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A leaky published folder: hidden rows still carry sentinel numbers."""
    return write_fake_published(tmp_path_factory.mktemp("published"), leaky=True)


@pytest.fixture(scope="module")
def pub(fake):
    return load_published(fake.path)


def test_write_results(tmp_path, pub):
    payload = {
        "n": np.int64(3),
        "share": np.float64(0.5),
        "missing": float("nan"),
        "ids": np.array(["a", "b"]),
        "nested": {"x": pd.NA},
    }
    path = write_results(tmp_path / "out", "lillby", "01_survey_analysis", payload)
    record = json.loads(path.read_text(encoding="utf-8"))
    assert path.name == "01_survey_analysis.json"
    assert record["area"] == "lillby" and record["phase"] == "01_survey_analysis"
    assert record["n"] == 3 and record["share"] == 0.5 and record["missing"] is None
    assert record["ids"] == ["a", "b"] and record["nested"] == {"x": None}
    assert write_results("", "lillby", "01_survey_analysis", payload) is None


def test_profile_summary(pub):
    summary = profile_summary(pub, area="norra-hamnen", wave=2025)
    assert summary["respondents"] == 256
    assert {"family_conflict", "family_attachment"} <= set(summary["clear_vs_city"])
    assert summary["clear_since_previous"] == ["friends_drug_use"]
    hidden = profile_summary(pub, area="lillby", wave=2025)
    assert hidden["cells_suppressed"] == hidden["cells"] and math.isnan(hidden["respondents"])
