"""Charts drawn narrow for phones (ctc_helpers.plots.cache.fit_narrow, ChartPicture).

A report chart is drawn twice: at its own size, and :data:`NARROW_WIDTH` inches wide with the
same font sizes, so that shown at a phone's width its labels are about as high as the page's
text. Checked here without a browser: every narrow chart is at most about that wide (nothing
reaches out of the figure, nothing is cut), its labels do not run into each other, text from
the instrument stays text (wrapped between words, ``$`` kept as written), and the report gets
both pictures in one ``<picture>``.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ctc_helpers.plots import cache as charts
from ctc_helpers.plots import report_charts
from ctc_helpers.publish.read import load_published
from tests.fake_charts import AREA, inputs_of
from tests.fake_published import write_fake_published

SLACK = 0.3  # inches: markers drawn past the axes' edge (clip_on=False) may reach a little further


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("narrow")
    write_fake_published(root / "data")
    return root / "data"


def _size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as picture:
        return picture.size


@pytest.mark.parametrize("name", list(charts.CHARTS))
def test_the_narrow_chart_is_a_phone_wide_and_the_wide_one_is_unchanged(folder, name):
    pub = load_published(folder)
    inputs = inputs_of(name, folder)
    wide = charts.draw_png(pub, name, area=AREA, wave=2025, lang="sv", **inputs)
    narrow = charts.draw_png(pub, name, area=AREA, wave=2025, lang="sv", narrow=True, **inputs)
    assert _size(narrow)[0] <= (charts.NARROW_WIDTH + SLACK) * charts.DPI, _size(narrow)
    assert _size(wide)[0] > _size(narrow)[0]
    if name not in ("gap_city_view", "goal_chain"):  # sized by their content
        assert _size(wide)[0] >= charts.CHARTS[name].figsize[0] * charts.DPI * 0.9


def _drawn_narrow(folder: Path, name: str) -> Figure:
    """The narrow figure of chart ``name``, laid out as it is saved."""
    spec = charts.CHARTS[name]
    pub = load_published(folder)
    figure = Figure(figsize=(charts.NARROW_WIDTH, spec.figsize[1]), dpi=charts.DPI,
                    layout="constrained")  # fmt: skip
    draw = getattr(report_charts, spec.draw)
    draw(pub, figure.add_subplot(), area=AREA, wave=2025, lang="sv", **inputs_of(name, folder),
         **dict(spec.narrow))  # fmt: skip
    charts.fit_narrow(figure)
    FigureCanvasAgg(figure).draw()
    return figure


@pytest.mark.parametrize("name", ["risk_profile", "priorities", "gap_city_view", "goal_chain"])
def test_narrow_labels_stay_inside_the_figure_and_apart(folder, name):
    figure = _drawn_narrow(folder, name)
    renderer = figure.canvas.get_renderer()
    drawn = figure.get_tightbbox(renderer)  # inches: everything drawn, as the saved crop
    assert drawn.x0 >= -0.05 and drawn.x1 <= charts.NARROW_WIDTH + SLACK, (name, drawn)
    for ax in figure.axes:
        if not ax.axison:
            continue
        low, high = sorted(ax.get_ylim())
        boxes = sorted(
            (tick.label1.get_window_extent(renderer) for tick in ax.yaxis.get_major_ticks()
             if low <= tick.get_loc() <= high and tick.label1.get_text()),
            key=lambda b: b.y0,
        )  # fmt: skip
        for lower, upper in zip(boxes, boxes[1:], strict=False):
            assert lower.y1 <= upper.y0 + 1, (name, lower, upper)  # rows never overlap


def test_long_labels_wrap_between_words_and_keep_dollar_signs():
    figure = Figure(figsize=(9, 4), layout="constrained")
    ax = figure.add_subplot()
    long_text = r"Kostnad i \$ per elev i familjer med mycket låg inkomst"
    ax.set_yticks([0, 1, 2], [long_text, "$x^2$ är matematik i en lång etikett här", "Kort"])
    ax.set_xlabel("Andel elever i området som svarat på enkätens alla frågor om familjen")
    charts.fit_narrow(figure)
    figure.draw_without_rendering()
    shown = [label.get_text() for label in ax.get_yticklabels()]
    assert "\n" in shown[0] and shown[0].replace("\n", " ") == long_text
    assert r"\$" in shown[0]  # still escaped: drawn as a dollar sign, not as mathtext
    assert shown[1] == "$x^2$ är matematik i en lång etikett här"  # mathtext is never broken
    assert shown[2] == "Kort"
    assert "\n" in ax.get_xlabel()
    assert figure.get_figwidth() == charts.NARROW_WIDTH


def test_the_picture_offers_the_narrow_chart_to_phones_only(folder):
    pub = load_published(folder)
    picture = charts.chart(pub, "risk_profile", area=AREA, wave=2025, lang="en")
    page = picture._repr_html_()
    source = re.search(r'<source media="([^"]+)" srcset="data:image/png;base64,([^"]+)">', page)
    image = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)">', page)
    assert source and image, page[:200]
    assert source.group(1) == charts.PHONE_MEDIA and "screen" in source.group(1)  # print: wide
    assert base64.b64decode(source.group(2)) == picture.narrow
    assert base64.b64decode(image.group(1)) == picture.data
    assert image.group(2) == "Chart" and repr(picture) == "Chart"
    assert page.index("<source") < page.index("<img")  # a browser takes the first match
