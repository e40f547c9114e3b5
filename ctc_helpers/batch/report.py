"""One report: execute a phase notebook with papermill and export it as self-contained HTML.

:func:`build_report` runs inside a report worker process (:mod:`ctc_helpers.batch.worker`), one
per report. It writes the executed notebook and the page in the run's work folder and moves them
into place when they are complete (:func:`ctc_helpers.batch.files.replace_into`), so a reader of
the output folder never sees half a report.

Reports are read on municipal networks that may be offline, so the HTML loads nothing from the
network: no ``<script src>``, no ``<link href>``, no web font; the CSS is inlined and figures are
``data:`` images. :func:`external_references` lists anything that would be fetched, and
:func:`export_html` refuses to write a page that has any.
"""

from __future__ import annotations

import contextlib
import copy
import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ctc_helpers.batch.files import replace_into, write_atomic
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language
from ctc_helpers.views.escape import plain_text
from ctc_helpers.views.style import REPORT_CSS

__all__ = [
    "KERNEL_STARTS",
    "REMOVE_CELL_TAG",
    "REMOVE_OUTPUT_TAG",
    "build_report",
    "export_html",
    "external_references",
    "first_heading",
    "phase_title",
    "render_html",
]

REMOVE_CELL_TAG = "remove_cell"  # cells a reader should not see at all (tag in the template)
REMOVE_OUTPUT_TAG = "remove_output"
_IMAGE_ALT = {"sv": "Diagram", "en": "Chart"}  # alt text of charts without one of their own

# The lab template without anything fetched from the network (require.js, MathJax, mermaid,
# widget managers), plus a readable page width for reports.
_REPORT_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">REPORT_CSS</style>
{%- endblock extra_css -%}
""".replace("REPORT_CSS", REPORT_CSS)
_TEMPLATE_NAME = "ctc_report.html.j2"
_NBCONVERT_ALT = "No description has been provided for this image"


# --------------------------------------------------------------------------------------------
# HTML export


class _ExternalReferences(HTMLParser):
    """Collect every URL a browser would fetch while rendering the page (not plain links)."""

    _FETCHED = {
        "script": "src",
        "img": "src",
        "iframe": "src",
        "embed": "src",
        "source": "src",
        "audio": "src",
        "video": "src",
        "object": "data",
        "link": "href",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        wanted = self._FETCHED.get(tag)
        if wanted and values.get(wanted) and not values[wanted].startswith("data:"):
            self.found.append(f"<{tag} {wanted}={values[wanted]!r}>")
        if tag in ("img", "source") and values.get("srcset"):  # a chart's phone version
            self.found += [f"<{tag} srcset={url!r}>" for url in _srcset_urls(values["srcset"])]
        if values.get("style"):
            self.found += _css_urls(values["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += _css_urls(data)


def _srcset_urls(srcset: str) -> list[str]:
    """The URLs of a ``srcset`` that are not ``data:`` URIs (candidates are separated by commas
    followed by white space; a ``data:`` URI has a comma of its own but none after it)."""
    candidates = [part.strip().split()[0] for part in srcset.split(", ") if part.strip()]
    return [url for url in candidates if not url.startswith("data:")]


def _css_urls(css: str) -> list[str]:
    """``@import`` rules and ``url(...)`` values of a style sheet that are not ``data:`` URIs."""
    found = []
    for part in css.split("url(")[1:]:
        target = part.split(")", 1)[0].strip().strip("'\"")
        if not target.startswith(("data:", "#")):
            found.append(f"url({target})")
    found += [f"@import {line.strip()[:80]}" for line in css.splitlines() if "@import" in line]
    return found


def external_references(page: str) -> list[str]:
    """Everything in an HTML page that a browser would fetch from elsewhere.

    Scripts, style sheets, images, frames and fonts count unless they are inline (``data:``
    URIs, ``<style>`` blocks); ordinary links (``<a href>``) do not, since they are only followed
    on a click.

    >>> external_references('<script src="https://cdn.example/x.js"></script><p>ok</p>')
    ["<script src='https://cdn.example/x.js'>"]
    >>> external_references('<img src="data:image/png;base64,AAAA"><a href="x.html">x</a>')
    []
    """
    parser = _ExternalReferences()
    parser.feed(page)
    parser.close()
    return parser.found


def _reader_copy(nb: Any) -> Any:
    """A copy of the notebook without what a reader should not see (stderr, warnings)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = [
                out
                for out in cell.outputs
                if not (out.get("output_type") == "stream" and out.get("name") == "stderr")
            ]
    return nb


def export_html(
    notebook: str | Path | Any, html_path: str | Path, *, lang: str = "sv", title: str | None = None
) -> Path:
    """Write an executed notebook as a self-contained HTML report without code.

    Parameters
    ----------
    notebook : path or nbformat.NotebookNode
        The executed notebook.
    html_path : path
        Where to write the page (atomically: a reader sees no half-written page).
    lang : {"sv", "en"}
        Language code of the page (``<html lang>``).
    title : str, optional
        The page title (default: the notebook's file name).

    Returns
    -------
    pathlib.Path
        ``html_path``.

    Raises
    ------
    CTCError
        If the page would still load something from the network (a template change).
    """
    import nbformat  # ~1.6 s (jsonschema); phase_title and first_heading need none of it

    nb = nbformat.read(notebook, as_version=4) if isinstance(notebook, str | Path) else notebook
    if title is None:
        title = Path(notebook).stem if isinstance(notebook, str | Path) else "report"
    return write_atomic(html_path, render_html(nb, where=html_path, lang=lang, title=title))


def render_html(nb: Any, *, where: str | Path, lang: str = "sv", title: str = "report") -> str:
    """The HTML page of an executed notebook (see :func:`export_html`); ``where`` names the
    page in the error raised when it would load anything from the network."""
    # nbconvert ~2 s, jinja2 ~55 ms: only a report worker exports HTML
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        template_file=_TEMPLATE_NAME,
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _REPORT_TEMPLATE})],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        embed_images=True,
        language_code=check_language(lang),
    )
    exporter.register_preprocessor(_tag_remover(), enabled=True)
    body, _ = exporter.from_notebook_node(_reader_copy(nb), resources={"metadata": {"name": title}})
    # nbconvert gives images without alt text an English placeholder
    body = body.replace(f'alt="{_NBCONVERT_ALT}"', f'alt="{_IMAGE_ALT[check_language(lang)]}"')
    fetched = external_references(body)
    if fetched:
        raise CTCError(
            f"The HTML report {where} would load from the network: {', '.join(fetched[:3])}."
        )
    return body


def _tag_remover() -> Any:
    from nbconvert.preprocessors import TagRemovePreprocessor  # nbconvert ~2 s (see above)

    return TagRemovePreprocessor(
        remove_cell_tags={REMOVE_CELL_TAG}, remove_all_outputs_tags={REMOVE_OUTPUT_TAG}
    )


# --------------------------------------------------------------------------------------------
# One report = papermill + HTML, run inside a report worker process


def build_report(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one phase notebook and export its HTML report (runs inside a worker process).

    Parameters
    ----------
    spec : mapping
        ``notebook`` (template path), ``output_ipynb``, ``output_html``, ``parameters`` (dict),
        ``kernel``, ``timeout`` (seconds per cell), ``lang``, ``title``; optionally
        ``work_dir``, a folder on the outputs' file system for the files being written
        (default: a temporary folder beside the outputs, removed afterwards).

    Returns
    -------
    dict
        ``status`` (``ok`` or ``failed``), ``message`` ("" when ok), ``title`` (the report's
        first heading), ``execute_seconds``, ``html_seconds``.
    """
    output_ipynb, output_html = Path(spec["output_ipynb"]), Path(spec["output_html"])
    output_ipynb.parent.mkdir(parents=True, exist_ok=True)
    output_html.unlink(missing_ok=True)  # never leave a report of an earlier build beside
    with _work_folder(spec.get("work_dir"), output_ipynb.parent) as work:
        return _build(spec, work, output_ipynb, output_html)


@contextlib.contextmanager
def _work_folder(work_dir: str | None, beside: Path) -> Iterator[Path]:
    if work_dir:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        yield Path(work_dir)
        return
    with tempfile.TemporaryDirectory(dir=beside, prefix=".ctc-report-") as folder:
        yield Path(folder)


def _build(spec: Mapping[str, Any], work: Path, output_ipynb: Path, output_html: Path) -> dict:
    import papermill  # ~2.3 s: only a report worker runs notebooks

    partial = work / output_ipynb.name
    start = time.perf_counter()
    try:
        nb = _execute_notebook(spec, partial, cwd=output_ipynb.parent)
    except papermill.PapermillExecutionError as exc:
        replace_into(partial, output_ipynb)  # the failed notebook shows where it stopped
        return _failed(f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}", start)
    except Exception as exc:  # noqa: BLE001 - any failure of one notebook is reported, not raised
        if partial.exists():
            replace_into(partial, output_ipynb)
        return _failed(f"{type(exc).__name__}: {exc}", start)
    executed = time.perf_counter()
    title = first_heading(nb) or spec.get("title") or output_html.stem
    page = render_html(nb, where=output_html, lang=spec["lang"], title=title)
    write_atomic(work / output_html.name, page)
    pdf, pdf_message = _print_pdf(spec, work / output_html.name, output_html, title)
    replace_into(partial, output_ipynb)
    replace_into(work / output_html.name, output_html)
    if pdf:
        replace_into(pdf, output_html.with_suffix(".pdf"))
    return {
        "status": "ok",
        "message": "",
        "title": title,
        "pdf": bool(pdf),
        "pdf_message": pdf_message,
        "execute_seconds": round(executed - start, 3),
        "html_seconds": round(time.perf_counter() - executed, 3),
    }


def _print_pdf(
    spec: Mapping[str, Any], page: Path, output_html: Path, title: str
) -> tuple[Path | None, str]:
    """The A4 PDF of the page in the work folder when the run prints PDFs (``spec["pdf"]``),
    and why there is none (``""`` when printed or not asked for). A PDF that cannot be printed
    leaves the HTML report standing; the run's summary lists it."""
    output_html.with_suffix(".pdf").unlink(missing_ok=True)  # no PDF of an earlier build
    if not spec.get("pdf"):
        return None, ""
    # playwright.sync_api: 0.1 s at import (-X importtime), paid only when PDFs are printed
    from ctc_helpers.batch.pdf import print_pdf

    try:
        return print_pdf(page, page.with_suffix(".pdf"), header=title, lang=spec["lang"]), ""
    except Exception as exc:  # noqa: BLE001 - the report stands without its PDF
        return None, " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


# A kernel can die while it starts, before it has run anything: jupyter_client picks free ports
# and releases them before the kernel binds them, so a kernel started at the same moment can
# take one (nteract/papermill#511). Nothing has run then, so the notebook is started again.
KERNEL_STARTS = 2
_KERNEL_START_FAILED = "Kernel died before replying to kernel_info"


def _execute_notebook(spec: Mapping[str, Any], partial: Path, *, cwd: Path) -> Any:
    """papermill on the template, starting the kernel up to ``KERNEL_STARTS`` times."""
    import papermill  # ~2.3 s: only a report worker runs notebooks

    def run() -> Any:
        return papermill.execute_notebook(
            str(spec["notebook"]),
            str(partial),
            parameters=dict(spec["parameters"]),
            kernel_name=spec["kernel"],
            execution_timeout=int(spec["timeout"]),
            request_save_on_cell_execute=False,
            progress_bar=False,
            log_output=False,
            cwd=str(cwd),
        )

    for _ in range(KERNEL_STARTS - 1):
        try:
            return run()
        except RuntimeError as exc:
            if str(exc) != _KERNEL_START_FAILED:
                raise
    return run()


def _failed(message: str, start: float) -> dict[str, Any]:
    return {
        "status": "failed",
        "message": " ".join(message.split())[:500],
        "execute_seconds": round(time.perf_counter() - start, 3),
        "html_seconds": 0.0,
    }


def first_heading(nb: Any) -> str | None:
    """The first level-1 heading a reader sees: in a markdown cell or a markdown output."""
    for cell in nb.get("cells", []):
        texts = [cell.get("source", "")] if cell.get("cell_type") == "markdown" else []
        texts += [o.get("data", {}).get("text/markdown", "") for o in cell.get("outputs", [])]
        for text in texts:
            text = "".join(text) if isinstance(text, list) else text
            for line in text.splitlines():
                if line.startswith("# "):
                    return plain_text(line[2:].strip())  # names in headings are escaped
    return None


def phase_title(notebook: str | Path, *, lang: str = "sv") -> str:
    """A phase's display name: ``metadata.ctc.title[lang]`` of its template, else the template's
    first heading, else the notebook's name."""
    path = Path(notebook)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return path.stem
    titles = nb.get("metadata", {}).get("ctc", {}).get("title")
    if isinstance(titles, dict) and titles.get(lang):
        return str(titles[lang])
    return first_heading(nb) or path.stem
