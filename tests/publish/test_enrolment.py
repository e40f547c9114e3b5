"""The enrolment file as the prepare step reads it: counts as numbers, every problem named."""

from __future__ import annotations

import pandas as pd
import pytest

from ctc_helpers.errors import ConfigError
from ctc_helpers.paths import SAMPLE_DIR
from ctc_helpers.publish.build import read_enrolment

HEADER = "wave,area,school,grade,enrolled\n"


def test_the_demo_file_is_read_with_numbers():
    frame = read_enrolment(SAMPLE_DIR / "enrolment.csv")
    raw = pd.read_csv(SAMPLE_DIR / "enrolment.csv")  # plain pandas, as written
    assert list(frame.columns) == ["wave", "area", "school", "grade", "enrolled"]
    assert frame["wave"].tolist() == raw["wave"].tolist()
    assert frame["enrolled"].sum() == raw["enrolled"].sum() and frame["enrolled"].dtype == float


@pytest.mark.parametrize(
    ("text", "sv", "en"),
    [
        (HEADER + "2025,norr,Skolan,ak7,ca 40\n", "e.csv, rad 2, kolumn enrolled: 'ca 40' är inte",
         "e.csv, row 2, column enrolled: 'ca 40' is not a whole number of 0 or more"),
        (HEADER + "2025,norr,Skolan,ak7,40\n2025,norr,Skolan,ak8,-3\n", "rad 3, kolumn enrolled: '-3'",
         "row 3, column enrolled: '-3'"),
        (HEADER + "2025,norr,Skolan,ak7,12.5\n", "'12.5' är inte ett heltal", "'12.5' is not"),
        (HEADER + "år 2025,norr,Skolan,ak7,40\n", "rad 2, kolumn wave: 'år 2025'", "column wave"),
        ("wave,area,school,grade\n2025,norr,Skolan,ak7\n", "saknar kolumnen enrolled",
         "has no column enrolled"),
    ],
)  # fmt: skip
def test_every_problem_is_named_in_both_languages(tmp_path, text, sv, en):
    path = tmp_path / "e.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=sv):
        read_enrolment(path, lang="sv")
    with pytest.raises(ConfigError, match=en):
        read_enrolment(path, lang="en")


def test_a_file_that_cannot_be_read_is_named(tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes((HEADER + "2025,asmyra,Åskolan,ak7,40\n").encode("latin-1"))
    with pytest.raises(ConfigError, match="latin1.csv är inte UTF-8-text"):
        read_enrolment(latin1, lang="sv")
    with pytest.raises(ConfigError, match="The file nowhere.csv cannot be read"):
        read_enrolment(tmp_path / "nowhere.csv", lang="en")
