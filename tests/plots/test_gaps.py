"""Tests of ctc_helpers.plots.gaps: the city view and the reach chart on the demo city's gaps."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ctc_helpers.phases.gaps.matrix import city_view, gap_matrix
from ctc_helpers.plots.gaps import city_view_figsize, plot_city_view, plot_reach
from tests import gap_samples as samples


def test_city_view_plot():
    view = city_view(
        samples.current(), samples.planted_priorities(), areas=["lindhojden", "solvik"]
    )
    fig, ax = plt.subplots(figsize=city_view_figsize(view))
    assert plot_city_view(view, ax=ax, lang="en") is ax
    assert len(ax.patches) == len(view)  # one cell per area and factor
    assert [t.get_text() for t in ax.get_xticklabels()] == ["lindhojden", "solvik"]
    flagged = view.loc[view["n_flagged"].gt(0)]
    texts = [t.get_text() for t in ax.texts]
    assert sum(text.endswith("!") for text in texts) == len(flagged)


def test_reach_plot():
    matrix = gap_matrix(samples.current(), samples.planted_priorities(), area="solvik")
    fig, ax = plt.subplots()
    assert plot_reach(matrix, ax=ax, lang="en") is ax
    rows = matrix.loc[matrix["prioritised"] & ~matrix["flagged"]]
    assert len(ax.patches) == len(rows)
    widths = sorted(p.get_width() for p in ax.patches)
    expected = sorted(100 * rows["reach"].fillna(0).astype(float))
    assert widths == expected
    city = gap_matrix(samples.current(), samples.planted_priorities())
    fig, ax = plt.subplots()
    plot_reach(city, ax=ax, lang="en")
    assert not ax.axison  # several areas: a notice instead of bars
