"""The phase status chart: one cell per phase and row with the milestones met, the steering
group's column coloured by its status."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Rectangle
from PIL import Image as PILImage

from ctc_helpers.paths import SAMPLE_DIR
from ctc_helpers.phases.process import load_process
from ctc_helpers.plots.cache import NARROW_WIDTH
from ctc_helpers.plots.process import (
    STEERING_COLOURS,
    phase_status_figsize,
    plot_phase_status,
    process_chart,
)

PROCESS = SAMPLE_DIR / "process"


def test_every_cell_shows_the_milestones_met():
    frames = load_process(PROCESS, "stenkulla", wave=2025)
    _, ax = plt.subplots(figsize=phase_status_figsize(frames.phases))
    returned = plot_phase_status(frames.phases, frames.steering, lang="en", ax=ax)
    assert returned is ax
    cells = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(cells) == len(frames.phases) + len(frames.steering)  # 5 x 5 + 5
    texts = sorted(text.get_text() for text in ax.texts)
    expected = [f"{m}/{n}" for m, n in zip(frames.phases["met"], frames.phases["milestones"],
                                           strict=True)]  # fmt: skip
    expected += [f"{m}/{d}" for m, d in zip(frames.steering["met"], frames.steering["due"],
                                            strict=True)]  # fmt: skip
    assert texts == sorted(expected)
    unmet = [p for p in cells if p.get_facecolor()[:3] == _rgb(STEERING_COLOURS["unmet"])]
    assert len(unmet) == 5  # Stenkulla's steering group is unmet every year
    years = [label.get_text() for label in ax.get_yticklabels()]
    assert years == [str(y) for y in range(2021, 2026)]


def _rgb(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


def test_the_city_chart_has_a_row_per_area():
    frames = load_process(PROCESS, "all", wave=2025, known_areas=["solvik", "stenkulla"])
    names = {"solvik": "Solvik", "stenkulla": "Stenkulla"}
    latest = frames.latest_phases
    ax = plot_phase_status(latest, frames.steering.groupby("area").tail(1), by="area",
                           row_labels=names)  # fmt: skip
    assert [label.get_text() for label in ax.get_yticklabels()] == ["Solvik", "Stenkulla"]
    image = process_chart(frames, lang="sv", names=names)
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.narrow[:8] == b"\x89PNG\r\n\x1a\n"  # the phone's chart (fit_narrow)
    with PILImage.open(io.BytesIO(image.narrow)) as narrow:
        assert narrow.width <= (NARROW_WIDTH + 0.3) * 100  # 100 dpi
    assert "<picture>" in image._repr_html_()
    assert process_chart(load_process(PROCESS, "nowhere", wave=2025)) is None
    assert phase_status_figsize(pd.DataFrame({"area": ["a", "b"]}), by="area") == (9.0, 2.8)
