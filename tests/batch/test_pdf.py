"""The A4 PDF of a report (ctc_helpers.batch.pdf), read back with poppler's pdftotext.

A page with the report style sheet and a wide, long table (13 columns, long headings, 80 rows)
is printed: every column heading must be on a page (none cut off at the right edge), the header
carries the title and every page says "sida X av Y".
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from ctc_helpers.batch import pdf
from ctc_helpers.views.style import REPORT_CSS
from ctc_helpers.views.tables import html_table
from tests.browser import require_browser

pytestmark = pytest.mark.browser

HEADINGS = [f"Kolumn{i} rubrik" for i in range(1, 14)]


def pdf_text(path: Path) -> list[str]:
    """The text of each page of a PDF (pdftotext; skips the test when poppler is missing)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils; make browser)")
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          text=True, check=True, timeout=60)  # fmt: skip
    return done.stdout.split("\f")[:-1]


def squeeze(text: str) -> str:
    """Text without white space (a heading wrapped over lines reads the same)."""
    return re.sub(r"\s+", "", text)


def test_pdf_problem_names_what_is_missing(monkeypatch):
    monkeypatch.setattr(pdf, "CHROMIUM", "/nowhere/chromium")
    assert "/nowhere/chromium" in pdf.pdf_problem("sv") and "apt-get" in pdf.pdf_problem("en")


def test_a_wide_long_table_fits_a4(tmp_path):
    require_browser()
    frame = pd.DataFrame(
        {h: [f"{r * 7 % 100} %" if i % 2 else f"Text {r} med flera ord" for r in range(80)]
         for i, h in enumerate(HEADINGS)}
    )  # fmt: skip
    page = tmp_path / "report.html"
    page.write_text(
        f'<html><head><meta charset="utf-8"><style>{REPORT_CSS}</style></head><body>'
        f'<main><div class="jp-RenderedHTMLCommon"><h1>Rapport</h1>{html_table(frame)}</div>'
        "</main></body></html>",
        encoding="utf-8",
    )
    out = pdf.print_pdf(page, tmp_path / "report.pdf", header="Områdesprofil: Norra 2025",
                        lang="sv")  # fmt: skip
    pages = pdf_text(out)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"sida {number} av {len(pages)}" in text
        assert "Områdesprofil: Norra 2025" in text
        for heading in HEADINGS:  # the headings repeat on every page, none cut off
            assert squeeze(heading) in squeeze(text), (number, heading)
    assert squeeze("Text 79 med flera ord") in squeeze(pages[-1])
