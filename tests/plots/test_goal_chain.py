"""Tests of ctc_helpers.plots.goal_chain: the chain drawn from the hand-made goal chain of the
goal-chain tests (tests/data/goal_chains/norr.yaml)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ctc_helpers.phases.followup import goal_progress
from ctc_helpers.plots import goal_chain as chain_chart


def test_plot_goal_chain(evaluated):
    fig, ax = plt.subplots()
    returned = chain_chart.plot_goal_chain(evaluated, lang="sv", ax=ax)
    assert returned is ax
    texts = [text.get_text() for text in ax.texts]
    boxes = [text for text in texts if "\n" in text]
    assert len(boxes) == 11
    assert sum("✓ uppnått" in box for box in boxes) == 3
    assert sum("? kan inte bedömas än" in box for box in boxes) == 1
    assert {"Kortsiktiga mål", "Medellångsiktiga mål", "Långsiktiga mål"} <= set(texts)
    arrows = [child for child in ax.get_children() if type(child).__name__ == "Annotation"]
    assert len(arrows) == sum(len(links) for links in evaluated["contributes_to"])
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["✓ uppnått", "→ på väg", "✗ inte på väg", "? kan inte bedömas än"]
    # boxes stand in the column of their level: short x=0, medium x=1, long x=2
    positions = {text.get_text().split("\n")[0]: text.get_position()[0] for text in ax.texts}
    assert positions["Räckvidd: Steg för steg"] == 0.0
    assert positions["alcohol_30d"] == 2.0


def test_plot_empty_chain():
    fig, ax = plt.subplots()
    chain_chart.plot_goal_chain(goal_progress.evaluate_goals(None, pd.DataFrame({"area": []}), wave=2025), ax=ax,
                       lang="en")  # fmt: skip
    assert [text.get_text() for text in ax.texts] == ["No goal chain to show."]


def test_chain_figsize_fits_the_fullest_column(evaluated):
    fullest = evaluated["level"].value_counts().max()
    assert chain_chart.chain_figsize(evaluated) == (13.0, round(2.0 + 1.2 * fullest, 1))
    assert chain_chart.chain_figsize(evaluated.iloc[:0], width=9.0) == (9.0, 3.2)
