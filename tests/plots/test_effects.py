"""Tests of ctc_helpers.plots.effects: the event-study chart draws what the table holds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ctc_helpers.i18n import t
from ctc_helpers.plots.effects import plot_event_study


def _events(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["event", "waves", "estimate", "ci_low", "ci_high", "reference"]
    ).assign(p_value=np.nan, n_pupils=100.0)


def _points(ax) -> dict[float, float]:
    """Marker positions of the point series (x -> y), the estimates in percentage points."""
    found = {}
    for line in ax.get_lines():
        if line.get_marker() == "o":
            found.update(zip(line.get_xdata(), line.get_ydata(), strict=True))
    return found


def test_points_are_the_estimates_in_percentage_points_with_the_reference_hollow():
    events = _events([(-2, "2019", 0.01, -0.01, 0.03, False), (-1, "2021", 0.0, np.nan, np.nan,
                      True), (0, "2023", -0.05, -0.08, -0.02, False)])  # fmt: skip
    ax = plot_event_study(events, title="Alkohol", lang="sv")
    assert _points(ax) == pytest.approx({-2.0: 1.0, -1.0: 0.0, 0.0: -5.0})
    hollow = [line for line in ax.get_lines() if line.get_marker() == "o" and
              line.get_markerfacecolor() == "white"]  # fmt: skip
    assert [tuple(line.get_xdata()) for line in hollow] == [(-1.0,)]
    # the interval of the last survey runs from -8 to -2 points
    segments = [line.get_ydata() for line in ax.get_lines() if list(line.get_xdata()) == [0, 0]]
    assert [list(s) for s in segments] == [pytest.approx([-8.0, -2.0])]
    assert ax.get_title(loc="left") == "Alkohol"
    assert [tick.get_text() for tick in ax.get_xticklabels()] == [
        "2019\n(-2)", "2021\n(-1)", "2023\n(0)",
    ]  # fmt: skip
    texts = [text.get_text() for text in ax.texts]
    assert t("effects_plot_no_pretrend", "sv") not in texts  # two surveys before: checkable


def test_with_one_survey_before_the_start_the_chart_says_pretrends_cannot_be_checked():
    events = _events([(-1, "2021", 0.0, np.nan, np.nan, True),
                      (0, "2023", 0.02, -0.01, 0.05, False)])  # fmt: skip
    fig, ax = plt.subplots()
    assert plot_event_study(events, lang="en", ax=ax) is ax
    assert t("effects_plot_no_pretrend", "en") in [text.get_text() for text in ax.texts]
    assert ax.get_ylabel() == t("effects_plot_ylabel", "en")


def test_an_interval_without_bound_is_drawn_to_the_edge_with_an_open_end():
    events = _events([(-1, "2021", 0.0, np.nan, np.nan, True),
                      (0, "2023", 0.03, -np.inf, np.inf, False)])  # fmt: skip
    ax = plot_event_study(events, lang="sv")
    low, high = ax.get_ylim()
    assert np.isfinite(low) and np.isfinite(high) and low == -high
    arrows = [line.get_marker() for line in ax.get_lines() if line.get_marker() in ("^", "v")]
    assert sorted(arrows) == ["^", "v"]


def test_no_rows_shows_no_data():
    ax = plot_event_study(_events([]), lang="en")
    assert [text.get_text() for text in ax.texts] == [t("plot_no_data", "en")]
