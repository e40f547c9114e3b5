"""Hostile text in reports: every name, note and label a user writes is shown as text.

The views are rendered the way a report is (nbconvert's Markdown renderer, the HTML of a display
table) and the result must hold the text literally, as entities, with no element, emphasis or
link made from it.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from ctc_helpers.config.priorities import TeamChoices
from ctc_helpers.publish.read import load_published
from ctc_helpers.views import escape, gaps, prioritization, report, tables
from tests.fake_published import write_fake_published

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"
BOLD = "**bold**"
LINK = "[link](http://x)"
HOSTILE = (SCRIPT, IMAGE, BOLD, LINK)
# what a browser shows for each, written by hand from the HTML entities
SHOWN = {
    SCRIPT: "&lt;script&gt;alert(1)&lt;/script&gt;",
    IMAGE: "&lt;img src=x onerror=alert(1)&gt;",
    BOLD: "**bold**",
    LINK: "[link](http://x)",
}


def _html(markdown: str) -> str:
    return markdown2html_mistune(markdown)


def _assert_literal(page: str, text: str) -> None:
    assert SHOWN[text] in page
    for made in ("<script", "<img", "<strong>", "<em>", 'href="http'):  # headings get anchors
        assert made not in page, (text, page)


@pytest.mark.parametrize("text", HOSTILE)
def test_escape_markdown_shows_the_text(text):
    _assert_literal(_html(f"Före {escape.escape_markdown(text)} efter"), text)
    assert escape.plain_text(escape.escape_markdown(text)) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_escapes_values_not_the_text(text):
    filled = escape.markdown_text("report_areas_text", "en", name=text)
    _assert_literal(_html(filled), text)
    assert escape.markdown_text("report_prio_some_too_few", "en", k=3).startswith("3 ")


def test_a_line_break_in_a_name_starts_no_heading():
    name = escape.escape_markdown("x\n# Rubrik")
    assert "<h1" not in _html(f"Namn {name}")


@pytest.fixture(scope="module")
def hostile_pub(tmp_path_factory):
    folder = tmp_path_factory.mktemp("published")
    write_fake_published(folder, synthetic=False)  # the notice is bold on purpose
    info = json.loads((folder / "run_info.json").read_text(encoding="utf-8"))
    info["areas"] = [
        {"area_id": "norra-hamnen", "name": f"Norra {SCRIPT}"},
        {"area_id": "soderdalen", "name": f"Söder {IMAGE}"},
        {"area_id": "lillby", "name": f"{BOLD} {LINK}"},
    ]
    (folder / "run_info.json").write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
    return load_published(folder)


@pytest.mark.parametrize(
    ("area", "texts"),
    [("norra-hamnen", (SCRIPT,)), ("soderdalen", (IMAGE,)), ("lillby", (BOLD, LINK))],
)
def test_report_header_and_sections_show_area_names_as_text(hostile_pub, area, texts):
    header = report.report_header(hostile_pub, phase="profile", area=area, wave=2025, lang="sv")
    section = report.section("risk_profile", "sv", area=area, name=texts[0])
    for text in texts:
        _assert_literal(_html(header.data), text)
    _assert_literal(_html(section.data), texts[0])
    _assert_literal(_html(report.narrative("areas", "en", name=texts[0]).data), texts[0])


@pytest.mark.parametrize("text", HOSTILE)
def test_html_table_escapes_cells_and_headings(text):
    frame = pd.DataFrame({f"Kolumn {text}": [f"Värde {text}", None]})
    page = tables.html_table(frame)
    _assert_literal(page, text)
    notes = tables.DisplayTable(frame, footnotes=(text,))._repr_html_()
    _assert_literal(notes, text)


@pytest.mark.parametrize("text", HOSTILE)
def test_priorities_note_of_the_team_is_shown_as_text(text):
    choices = TeamChoices(area="norra-hamnen", wave=2025, decided=dt.date(2025, 11, 18),
                          risk_factors=("family_conflict",), note=f"Vi valde {text}")  # fmt: skip
    note = prioritization.choice_note(
        choices, priorities_dir="priorities", area="norra-hamnen", wave=2025, lang="sv"
    )
    _assert_literal(_html(note.data), text)


@pytest.mark.parametrize("text", HOSTILE)
def test_gap_priorities_note_shows_names_and_labels_as_text(text):
    priorities = pd.DataFrame({"area": ["a1"], "factor": ["f1"], "source": ["team"],
                               "decided": ["2025-11-18"], "choice_wave": [2025]})  # fmt: skip
    note = gaps.priorities_note(priorities, area="all", labels={"f1": f"Faktor {text}"},
                                area_names={"a1": f"Område {text}"}, lang="sv")  # fmt: skip
    _assert_literal(_html(note.data), text)
