"""HTML reports are readable offline: no code, nothing fetched from the network, inline figures."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

from ctc_helpers.batch import report
from ctc_helpers.batch.index import write_index
from ctc_helpers.batch.report import (
    build_report,
    export_html,
    external_references,
    first_heading,
    phase_title,
)
from ctc_helpers.errors import CTCError

REPO = Path(__file__).resolve().parents[2]
FIGURE = REPO / "notebooks" / "tests" / "figure.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def figure_report(tmp_path_factory) -> dict:
    """The chart test notebook executed and exported once (as the batch's child process does)."""
    out = tmp_path_factory.mktemp("html")
    spec = {
        "notebook": str(FIGURE),
        "output_ipynb": str(out / "figure.ipynb"),
        "output_html": str(out / "figure.html"),
        "parameters": {"area": "norr", "wave": 2025, "lang": "sv", "data_dir": str(out),
                       "min_cell": 10, "output_dir": str(out)},
        "kernel": "ctc",
        "timeout": 120,
        "lang": "sv",
        "title": "Diagramtest",
    }  # fmt: skip
    result = build_report(spec)
    return {"result": result, "html": (out / "figure.html").read_text(encoding="utf-8"), "out": out}


def _body(page: str) -> str:
    return page[page.index("<body") :]


@pytest.mark.slow
def test_report_is_built(figure_report) -> None:
    assert figure_report["result"]["status"] == "ok", figure_report["result"]["message"]
    assert figure_report["result"]["execute_seconds"] > 0
    assert not list(figure_report["out"].glob("*.partial.ipynb"))


@pytest.mark.slow
def test_no_script_link_or_font_from_the_network(figure_report) -> None:
    page = figure_report["html"]
    assert external_references(page) == []
    # checked independently of external_references, with plain patterns
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.I)
    assert not re.search(r"<link\b[^>]*\bhref\s*=", page, flags=re.I)
    assert not re.search(r"@import|@font-face[^}]*url\(\s*['\"]?https?:", page, flags=re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, flags=re.I)
    assert "cdnjs" not in page and "mathjax" not in page.lower() and "require.js" not in page
    assert "<style" in page  # the CSS is inline


@pytest.mark.slow
def test_no_code_cells_or_prompts(figure_report) -> None:
    body = _body(figure_report["html"])
    for code in ("sns.barplot", "import seaborn", "plt.subplots", "min_cell: int = 10"):
        assert code not in body
    for prompt in ("jp-InputPrompt", "jp-OutputPrompt", "In&nbsp;[", "Out["):
        assert prompt not in body
    assert not re.search(r'class="[^"]*\bjp-CodeMirrorEditor', body)
    assert "a warning for the log only" not in body  # stderr is not shown to readers


@pytest.mark.slow
def test_figures_are_inline_images(figure_report) -> None:
    body = _body(figure_report["html"])
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', body)
    assert len(images) == 1
    assert base64.b64decode(images[0])[:8] == PNG_MAGIC
    assert 'alt="Diagram"' in body and "No description" not in body
    assert "Konflikter i familjen" in body  # the table output is kept
    assert '<html lang="sv">' in figure_report["html"]
    assert "<title>Diagramtest</title>" in figure_report["html"]


@pytest.mark.slow
def test_export_in_english_has_english_alt_text(figure_report, tmp_path: Path) -> None:
    executed = nbformat.read(figure_report["out"] / "figure.ipynb", as_version=4)
    page = export_html(executed, tmp_path / "en.html", lang="en").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and 'alt="Chart"' in page


def test_external_references_finds_every_fetch() -> None:
    page = """
    <html><head>
    <script src="https://cdn.example/require.js"></script>
    <link rel="stylesheet" href="https://fonts.example/css">
    <style>@import url("https://fonts.example/x.css"); body { background: url(http://x/y.png); }
    .ok { background: url(data:image/png;base64,AAAA); }</style>
    </head><body>
    <img src="http://example.org/chart.png"><img src="data:image/png;base64,AAAA">
    <picture><source media="(max-width: 600px)" srcset="data:image/png;base64,AAAA">
    <source srcset="https://example.org/narrow.png 1x, data:image/png;base64,AA 2x"></picture>
    <iframe src="https://example.org"></iframe>
    <div style="background-image: url('https://example.org/bg.png')"></div>
    <a href="https://example.org/more">a link is only followed on a click</a>
    </body></html>
    """
    found = external_references(page)
    assert found == [
        "<script src='https://cdn.example/require.js'>",
        "<link href='https://fonts.example/css'>",
        "url(https://fonts.example/x.css)",
        "url(http://x/y.png)",
        '@import @import url("https://fonts.example/x.css"); body { background: url(http://x/y.pn',
        "<img src='http://example.org/chart.png'>",
        "<source srcset='https://example.org/narrow.png'>",
        "<iframe src='https://example.org'>",
        "url(https://example.org/bg.png)",
    ]
    assert external_references("<p>plain</p><script>var x = 1;</script>") == []


def test_export_refuses_a_page_that_would_fetch(monkeypatch, tmp_path: Path) -> None:
    leaky = report._REPORT_TEMPLATE.replace(
        "{%- block html_head_js -%}{%- endblock html_head_js -%}", ""
    )
    monkeypatch.setattr(report, "_REPORT_TEMPLATE", leaky)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Rubrik")])
    with pytest.raises(CTCError, match=r"leaky.html would load from the network: <script src="):
        export_html(nb, tmp_path / "leaky.html")
    assert not (tmp_path / "leaky.html").exists()


def test_first_heading_and_phase_title(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("<!-- no heading here -->"),
            nbformat.v4.new_code_cell(
                "x",
                outputs=[
                    nbformat.v4.new_output(
                        "display_data", data={"text/markdown": "# Områdesprofil: Norr 2025\n\nText"}
                    )
                ],
            ),
        ]
    )
    assert first_heading(nb) == "Områdesprofil: Norr 2025"
    nb.cells[1].outputs = []  # a template has no outputs
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert phase_title(path) == "01_x"  # no heading in the template itself
    nb.metadata["ctc"] = {"title": {"sv": "Områdesprofil", "en": "Area profile"}}
    nbformat.write(nb, path)
    assert phase_title(path, lang="en") == "Area profile"
    assert phase_title(FIGURE) == "Diagramtest"


def test_index_page(tmp_path: Path) -> None:
    reports = [
        {"area": "all", "wave": 2025, "phase": "p1", "status": "ok", "seconds": 4.25,
         "finished": "2025-05-01T10:00:00", "html": "2025/all/p1.html", "ipynb": "2025/all/p1.ipynb"},
        {"area": "norr", "wave": 2025, "phase": "p1", "status": "failed", "seconds": 2.0,
         "finished": "2025-05-01T10:01:00", "message": "cell 3: ValueError: <oops>",
         "html": "2025/norr/p1.html", "ipynb": "2025/norr/p1.ipynb"},
        {"area": "norr", "wave": 2023, "phase": "p1", "status": "timeout", "seconds": 600.0,
         "finished": "2024-05-01T10:01:00", "html": "2023/norr/p1.html",
         "ipynb": "2023/norr/p1.ipynb"},
    ]  # fmt: skip
    path = write_index(
        reports, tmp_path / "index.html", phases={"p1": "Områdesprofil"},
        area_names={"norr": "Norra & Övre"}, lang="sv", synthetic=True,
    )  # fmt: skip
    page = path.read_text(encoding="utf-8")
    assert external_references(page) == [] and "<script" not in page
    assert page.index("Undersökning 2025") < page.index("Undersökning 2023")
    assert page.index("Hela kommunen") < page.index("Norra &amp; Övre")
    assert '<a href="2025/all/p1.html">Områdesprofil</a>' in page
    assert "2025/norr/p1.html" not in page  # no link to a report that failed
    assert '<a class="meta" href="2025/norr/p1.ipynb">anteckningsbok</a>' in page
    assert "cell 3: ValueError: &lt;oops&gt;" in page
    assert "byggd 2025-05-01 10:00, 4.2 s" in page or "byggd 2025-05-01 10:00, 4.3 s" in page
    assert "avbröts (tidsgräns)" in page and "Syntetiska data" in page
    english = write_index(
        reports, tmp_path / "en.html", phases={"p1": "Area profile"}, area_names={}, lang="en"
    ).read_text(encoding="utf-8")
    assert "Whole municipality" in english and "failed" in english and "Survey 2025" in english
    assert "Synthetic" not in english


def _kernel_dies_on_start(times: int):
    """A stand-in for papermill.execute_notebook whose kernel dies on start ``times`` times."""
    import papermill

    real, calls = papermill.execute_notebook, []

    def execute(*args, **kwargs):
        calls.append(args)
        if len(calls) <= times:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(*args, **kwargs)

    return execute, calls


def _empty_spec(out: Path) -> dict:
    return {
        "notebook": str(REPO / "notebooks" / "tests" / "empty.ipynb"),
        "output_ipynb": str(out / "empty.ipynb"),
        "output_html": str(out / "empty.html"),
        "parameters": {"area": "norr", "output_dir": str(out)},
        "kernel": "ctc",
        "timeout": 120,
        "lang": "sv",
    }


@pytest.mark.slow
def test_a_kernel_that_dies_on_start_is_started_again(tmp_path, monkeypatch) -> None:
    import papermill

    execute, calls = _kernel_dies_on_start(times=1)
    monkeypatch.setattr(papermill, "execute_notebook", execute)
    result = build_report(_empty_spec(tmp_path))
    assert result["status"] == "ok", result["message"]
    assert len(calls) == 2 and (tmp_path / "empty.html").is_file()


def test_a_kernel_that_keeps_dying_fails_the_report(tmp_path, monkeypatch) -> None:
    import papermill

    execute, calls = _kernel_dies_on_start(times=report.KERNEL_STARTS)
    monkeypatch.setattr(papermill, "execute_notebook", execute)
    result = build_report(_empty_spec(tmp_path))
    assert result["status"] == "failed" and len(calls) == report.KERNEL_STARTS
    assert result["message"] == "RuntimeError: Kernel died before replying to kernel_info"
    assert not (tmp_path / "empty.html").exists()
