"""Tests of ctc_helpers.views.numbers: percentages, points and counts as text (expected by hand)."""

from __future__ import annotations

import pytest

from ctc_helpers.views.numbers import format_count, format_pct, format_points


@pytest.mark.parametrize(
    ("value", "lang", "decimals", "expected"),
    [
        (0.125, "sv", 0, "13 %"),  # 12.5 rounds half up
        (0.125, "en", 0, "13%"),
        (0.0449, "sv", 1, "4,5 %"),
        (0.0, "sv", 0, "0 %"),
        (float("nan"), "sv", 0, ""),
        (None, "en", 0, ""),
    ],
)
def test_format_pct(value, lang, decimals, expected):
    assert format_pct(value, lang, decimals=decimals) == expected


def test_format_points_and_counts():
    assert format_points(0.155, "sv") == "+16"
    assert format_points(-0.155, "sv") == "−16"
    assert format_points(-0.155, "en") == "-16"
    assert format_points(0.001, "en") == "0"
    assert format_points(float("nan"), "en") == ""
    assert format_count(1234567, "en") == "1,234,567"
    assert format_count(1234.5, "sv") == "1\u202f235"
