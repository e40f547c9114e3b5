"""Tests of ctc_helpers.plots.followup: the trend chart, on the three waves of the follow-up tests."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ctc_helpers.phases.followup.trends import trend_table
from ctc_helpers.plots.followup import plot_trends
from ctc_helpers.plots.profile import COLORBLIND


def test_plot_trends(three_waves):
    trend = trend_table(three_waves, area="norr", include=["alcohol_30d", "family_conflict"])
    hidden = trend.assign(suppressed=trend["suppressed"] | trend["wave"].eq(2023))
    fig, ax = plt.subplots()
    assert plot_trends(hidden, lang="en", ax=ax) is ax
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["alcohol_30d", "family_conflict"]
    first = ax.get_lines()[0].get_ydata()
    assert np.isnan(first[1]) and first[0] == pytest.approx(0.3)
    assert ax.get_ylabel() == "Share"
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["2021", "2023", "2025"]
    colours = list(dict.fromkeys(line.get_color() for line in ax.get_lines()))
    assert colours == list(COLORBLIND[:2])  # seaborn's colour-blind palette, without seaborn
    caps = ("_", "", "None")  # the caps of the intervals are lines too
    markers = [line.get_marker() for line in ax.get_lines() if line.get_marker() not in caps]
    assert markers == ["o", "s"]  # one marker per measure: the lines read without colour
