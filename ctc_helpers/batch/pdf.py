"""An A4 PDF beside every HTML report, printed by Debian's Chromium from the same page.

A report reaches a nämnd's agenda as a PDF. :func:`print_pdf` opens the self-contained HTML page
in headless Chromium (driven by Playwright, with the system browser: never a downloaded one) and
prints it on A4 with the report's title (area and wave) in the header and "sida X av Y" in the
footer. The page's print style sheet (:data:`ctc_helpers.views.style.REPORT_CSS`) keeps charts
and table rows whole and fits tables to the page width.

:func:`pdf_problem` says, once per run, why no PDF can be made (no Chromium, no Playwright); the
batch then skips the PDFs and lists the reason in the run's summary.
"""

from __future__ import annotations

import html
import importlib.util
import os
import shutil
from pathlib import Path

from ctc_helpers.i18n import check_language

__all__ = ["CHROMIUM", "pdf_problem", "print_pdf"]

CHROMIUM = os.environ.get("CTC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
_MARGIN = {"top": "18mm", "bottom": "16mm", "left": "14mm", "right": "14mm"}
_TEXTS = {
    "page": {"sv": "sida {page} av {pages}", "en": "page {page} of {pages}"},
    "no_chromium": {
        "sv": "Inga PDF:er: Chromium finns inte ({path}); installera det med apt-get install"
        " chromium, eller ange ett annat program i CTC_CHROMIUM.",
        "en": "No PDFs: Chromium is not installed ({path}); install it with apt-get install"
        " chromium, or name another program in CTC_CHROMIUM.",
    },
    "no_playwright": {
        "sv": "Inga PDF:er: paketet playwright är inte installerat (pip install playwright).",
        "en": "No PDFs: the package playwright is not installed (pip install playwright).",
    },
}
_BOX = "font-family:sans-serif;font-size:8pt;color:#444;width:100%;margin:0 14mm;"


def pdf_problem(lang: str | None = None) -> str:
    """Why PDFs cannot be printed on this machine, in words; ``""`` when they can."""
    lang = check_language(lang)
    if not Path(CHROMIUM).is_file():
        return _TEXTS["no_chromium"][lang].format(path=CHROMIUM)
    if importlib.util.find_spec("playwright") is None:
        return _TEXTS["no_playwright"][lang]
    return ""


def print_pdf(html_path: str | Path, pdf_path: str | Path, *, header: str, lang: str) -> Path:
    """Print a self-contained HTML report as an A4 PDF.

    Parameters
    ----------
    html_path : path
        The report page (loads nothing from the network).
    pdf_path : path
        Where to write the PDF (the caller moves it into place).
    header : str
        Plain text for the top of every page: the report's title with area and wave.
    lang : {"sv", "en"}
        Language of the page numbers ("sida 2 av 9").

    Returns
    -------
    pathlib.Path
        ``pdf_path``.
    """
    from playwright.sync_api import sync_playwright  # ~0.3 s: only when a PDF is printed

    lang = check_language(lang)
    page_text = _TEXTS["page"][lang].format(
        page='<span class="pageNumber"></span>', pages='<span class="totalPages"></span>'
    )
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        try:
            page = browser.new_page()
            page.goto(Path(html_path).resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.pdf(
                path=str(pdf_path),
                format="A4",
                landscape=True,  # wide tables (one column per area) keep every column
                margin=_MARGIN,
                print_background=True,
                display_header_footer=True,
                header_template=f'<div style="{_BOX}">{html.escape(header)}</div>',
                footer_template=f'<div style="{_BOX}text-align:right">{page_text}</div>',
            )
        finally:
            browser.close()
    return Path(pdf_path)
