"""Reports: execute a phase notebook with papermill, export it as self-contained HTML, and
record what a run built.

The batch (:mod:`ctc_helpers.batch.run`) runs :func:`build_report` in a child process of its own for
every area, wave and phase (:func:`run_report_process`), then writes ``manifest.json``
(:func:`write_manifest`) and the overview page ``index.html`` (:func:`write_run_index`,
:func:`write_index`) from the build stamps kept beside the reports.

Reports are read on municipal networks that may be offline, so the HTML loads nothing from the
network: no ``<script src>``, no ``<link href>``, no web font; the CSS is inlined and figures are
``data:`` images. :func:`external_references` lists anything that would be fetched, and
:func:`export_html` refuses to write a page that has any.
"""

from __future__ import annotations

import contextlib
import copy
import html
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctc_helpers.errors import CTCError
from ctc_helpers.fingerprint import file_sha256
from ctc_helpers.i18n import check_language
from ctc_helpers.paths import REPO_ROOT

if TYPE_CHECKING:
    from ctc_helpers.config.run import Job, RunConfig

__all__ = [
    "RESULT_COLUMNS",
    "STATUSES",
    "file_sha256",
    "read_json",
    "write_manifest",
    "write_run_index",
    "build_report",
    "export_html",
    "external_references",
    "first_heading",
    "phase_title",
    "run_report_process",
    "stop_running_reports",
    "write_index",
]

RESULT_COLUMNS = ("area", "wave", "phase", "status", "seconds", "message")
STATUSES = ("ok", "failed", "skipped", "timeout")
STAMP_GLOB = "*/*/.*.build.json"  # reports/<wave>/<area>/.<phase>.build.json
_PACKAGES = (
    "ctc-helpers", "pandas", "numpy", "scipy", "matplotlib", "seaborn", "statsmodels", "pyarrow",
    "pandera", "papermill", "nbconvert", "nbformat", "nbclient", "ipykernel", "jupyter_client",
    "dask", "distributed", "tqdm", "pyyaml", "psutil", "threadpoolctl",
)  # fmt: skip
REMOVE_CELL_TAG = "remove_cell"  # cells a reader should not see at all (tag in the template)
REMOVE_OUTPUT_TAG = "remove_output"

# Texts shown to readers of the overview page and the run summary (sv default, en).
TEXTS: dict[str, dict[str, str]] = {
    "index_title": {"sv": "Rapporter", "en": "Reports"},
    "index_intro": {
        "sv": "Alla rapporter som har byggts, med status och byggtid. Klicka på en rapport för att"
        " läsa den.",
        "en": "Every report that has been built, with its status and build time. Click a report"
        " to read it.",
    },
    "wave": {"sv": "Undersökning {wave}", "en": "Survey {wave}"},
    "area": {"sv": "Område", "en": "Area"},
    "city": {"sv": "Hela kommunen", "en": "Whole municipality"},
    "status_ok": {"sv": "klar", "en": "done"},
    "status_skipped": {"sv": "oförändrad", "en": "up to date"},
    "status_failed": {"sv": "misslyckades", "en": "failed"},
    "status_timeout": {"sv": "avbröts (tidsgräns)", "en": "stopped (time limit)"},
    "status_missing": {"sv": "saknas", "en": "missing"},
    "built": {"sv": "byggd {when}, {seconds} s", "en": "built {when}, {seconds} s"},
    "notebook": {"sv": "anteckningsbok", "en": "notebook"},
    "generated": {"sv": "Sidan skapades {when}.", "en": "Page generated {when}."},
    "image_alt": {"sv": "Diagram", "en": "Chart"},
    "synthetic": {
        "sv": "Syntetiska data: siffrorna beskriver inga verkliga barn.",
        "en": "Synthetic data: the figures describe no real children.",
    },
}

_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 70rem; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.3rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #d0d0d0;
         vertical-align: top; }
th { background: #f2f2f2; }
.status { display: inline-block; font-size: .85rem; padding: 0 .4rem; border-radius: .3rem; }
.status-ok, .status-skipped { background: #e3f1e6; color: #11521f; }
.status-failed, .status-timeout { background: #fbe4e4; color: #7c1111; }
.status-missing { background: #eeeeee; color: #444444; }
.meta { color: #555555; font-size: .85rem; }
.notice { background: #fff6d6; padding: .5rem .8rem; border-left: 4px solid #c79a00; }
"""

# The lab template without anything fetched from the network (require.js, MathJax, mermaid,
# widget managers), plus a readable page width for reports.
_REPORT_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
main { max-width: 62rem; margin: 0 auto; padding: 1rem; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
@media print { main { max-width: none; } }
</style>
{%- endblock extra_css -%}
"""
_TEMPLATE_NAME = "ctc_report.html.j2"
_NBCONVERT_ALT = "No description has been provided for this image"


def _text(key: str, lang: str, **values: Any) -> str:
    return TEXTS[key][check_language(lang)].format(**values)


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
        if values.get("style"):
            self.found += _css_urls(values["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += _css_urls(data)


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
        Where to write the page.
    lang : {"sv", "en"}
        Language code of the page (``<html lang>``).
    title : str, optional
        The page title (default: the notebook's ``metadata.title`` or its file name).

    Returns
    -------
    pathlib.Path
        ``html_path``.

    Raises
    ------
    CTCError
        If the page would still load something from the network (a template change).
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4) if isinstance(notebook, str | Path) else notebook
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
    if title is None:
        title = Path(notebook).stem if isinstance(notebook, str | Path) else "report"
    body, _ = exporter.from_notebook_node(_reader_copy(nb), resources={"metadata": {"name": title}})
    # nbconvert gives images without alt text an English placeholder
    body = body.replace(f'alt="{_NBCONVERT_ALT}"', f'alt="{_text("image_alt", lang)}"')
    fetched = external_references(body)
    if fetched:
        raise CTCError(
            f"The HTML report {html_path} would load from the network: {', '.join(fetched[:3])}."
        )
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def _tag_remover() -> Any:
    from nbconvert.preprocessors import TagRemovePreprocessor

    return TagRemovePreprocessor(
        remove_cell_tags={REMOVE_CELL_TAG}, remove_all_outputs_tags={REMOVE_OUTPUT_TAG}
    )


# --------------------------------------------------------------------------------------------
# One report = papermill + HTML, run inside a child process


def build_report(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one phase notebook and export its HTML report (runs inside the child process).

    Parameters
    ----------
    spec : mapping
        ``notebook`` (template path), ``output_ipynb``, ``output_html``, ``parameters`` (dict),
        ``kernel``, ``timeout`` (seconds per cell), ``lang``, ``title``.

    Returns
    -------
    dict
        ``status`` (``ok`` or ``failed``), ``message`` ("" when ok), ``title`` (the report's
        first heading), ``execute_seconds``, ``html_seconds``.
    """
    import papermill

    output_ipynb, output_html = Path(spec["output_ipynb"]), Path(spec["output_html"])
    output_ipynb.parent.mkdir(parents=True, exist_ok=True)
    output_html.unlink(missing_ok=True)  # never leave a report of an earlier build beside
    partial = output_ipynb.with_name(output_ipynb.stem + ".partial.ipynb")
    start = time.perf_counter()
    try:
        nb = _execute_notebook(spec, partial, cwd=output_ipynb.parent)
    except papermill.PapermillExecutionError as exc:
        os.replace(partial, output_ipynb)
        return _failed(f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}", start)
    except Exception as exc:  # noqa: BLE001 - any failure of one notebook is reported, not raised
        if partial.exists():
            os.replace(partial, output_ipynb)
        return _failed(f"{type(exc).__name__}: {exc}", start)
    os.replace(partial, output_ipynb)
    executed = time.perf_counter()
    title = first_heading(nb) or spec.get("title")
    export_html(nb, output_html, lang=spec["lang"], title=title)
    return {
        "status": "ok",
        "message": "",
        "title": title,
        "execute_seconds": round(executed - start, 3),
        "html_seconds": round(time.perf_counter() - executed, 3),
    }


# A kernel can die while it starts, before it has run anything: jupyter_client picks free ports
# and releases them before the kernel binds them, so a kernel started at the same moment can
# take one (nteract/papermill#511). Nothing has run then, so the notebook is started again.
KERNEL_STARTS = 2
_KERNEL_START_FAILED = "Kernel died before replying to kernel_info"


def _execute_notebook(spec: Mapping[str, Any], partial: Path, *, cwd: Path) -> Any:
    """papermill on the template, starting the kernel up to ``KERNEL_STARTS`` times."""
    import papermill

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


_PACKAGE = str(Path(__file__).resolve().parents[1])
_RUNNING: set[subprocess.Popen] = set()  # report processes started by this process
_RUNNING_LOCK = threading.Lock()

# The child process needs papermill, nbconvert and this module only. Two imports are avoided:
# - jsonschema (through nbformat) imports rfc3987_syntax, which builds ~35 parsers at import
#   time (about 3 s here; python-jsonschema/jsonschema#1428); the "iri" formats it checks are
#   not used by the notebook schema, so that import is blocked;
# - the package's __init__ (pandas and the public API): a bare package object stands in for it,
#   so that only this module and the small modules it imports are loaded.
# Together they save 2-3 s per report (measured 4.5 s -> 1.7 s for the imports).
_CHILD_CODE = (
    "import sys, types; sys.modules.setdefault('rfc3987_syntax', None); "
    "package = types.ModuleType('ctc_helpers'); package.__path__ = [sys.argv[3]]; "
    "sys.modules['ctc_helpers'] = package; "
    "from ctc_helpers.batch.execute import _child_main; sys.exit(_child_main(sys.argv[1], sys.argv[2]))"
)


def _child_main(spec_path: str, result_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    try:
        result = build_report(spec)
    except Exception as exc:  # noqa: BLE001 - the parent needs a result for every report
        result = _failed(f"{type(exc).__name__}: {exc}", time.perf_counter())
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


def run_report_process(spec: Mapping[str, Any], *, wall_timeout: float) -> dict[str, Any]:
    """Build one report in a fresh child process, killed (with its kernel) at ``wall_timeout``.

    This function is what a worker (a local thread or a Dask worker) runs for every job.

    Returns
    -------
    dict
        The spec's ``area``, ``wave``, ``phase`` and ``key`` plus ``status`` (``ok``,
        ``failed`` or ``timeout``), ``message``, ``seconds`` (wall time), ``cpu_seconds`` (CPU
        time of the process and its kernel; 0 after a timeout), ``execute_seconds``,
        ``html_seconds``, ``finished`` (ISO time).
    """
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ctc-job-") as tmp:
        spec_path, result_path = Path(tmp, "spec.json"), Path(tmp, "result.json")
        spec_path.write_text(json.dumps(dict(spec)), encoding="utf-8")
        with open(Path(tmp, "stderr.log"), "w+b") as errors:
            proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD_CODE, str(spec_path), str(result_path), _PACKAGE],
                env=_child_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
            )
            with _RUNNING_LOCK:
                _RUNNING.add(proc)
            try:
                result = _wait(proc, wall_timeout, result_path, errors)
            finally:
                with _RUNNING_LOCK:
                    _RUNNING.discard(proc)
    if result["status"] == "timeout":  # the child could not clean up after itself
        _remove_outputs(spec)
    return {
        **{k: spec[k] for k in ("area", "wave", "phase", "key") if k in spec},
        "execute_seconds": 0.0,
        "html_seconds": 0.0,
        "cpu_seconds": 0.0,
        **result,
        "seconds": round(time.perf_counter() - start, 3),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def stop_running_reports() -> int:
    """Kill every report process of this process (and their kernels), e.g. on Ctrl-C.

    Returns the number of processes stopped.
    """
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for proc in running:
        _kill_tree(proc)
    return len(running)


def _child_environment() -> dict[str, str]:
    """The environment of a report's process and kernel: one math-library thread each, since the
    batch already runs one report per core (unless the user chose otherwise)."""
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def _remove_outputs(spec: Mapping[str, Any]) -> None:
    output_ipynb = Path(spec["output_ipynb"])
    output_ipynb.with_name(output_ipynb.stem + ".partial.ipynb").unlink(missing_ok=True)
    Path(spec["output_html"]).unlink(missing_ok=True)


def _wait(proc: subprocess.Popen, wall_timeout: float, result_path: Path, errors: Any) -> dict:
    reaped = _reap(proc, wall_timeout)
    if reaped is None:
        _kill_tree(proc)
        return {"status": "timeout", "message": f"stopped after {wall_timeout:g} s"}
    code, cpu = reaped
    if result_path.exists():
        return {**json.loads(result_path.read_text(encoding="utf-8")), "cpu_seconds": cpu}
    errors.seek(0)
    tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
    message = f"exit code {code}: {' '.join(tail)}"[:500]
    return {"status": "failed", "message": message, "cpu_seconds": cpu}


def _reap(proc: subprocess.Popen, wall_timeout: float) -> tuple[int, float] | None:
    """Wait for the child until the time limit; its exit code and CPU seconds (user + system,
    its kernel included), or None when it is still running at the limit.

    ``os.wait4`` gives the resources of this one child, which ``Popen.wait`` does not.
    """
    deadline = time.monotonic() + wall_timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, round(usage.ru_utime + usage.ru_stime, 3)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the child, its kernel and anything they started (the kernel has its own session)."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for member in [*family, proc]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member.pid, signal.SIGKILL)
    proc.wait()
    psutil.wait_procs(family, timeout=5)


# --------------------------------------------------------------------------------------------
# Results record written by a notebook, titles, index page


def first_heading(nb: Any) -> str | None:
    """The first level-1 heading a reader sees: in a markdown cell or a markdown output."""
    for cell in nb.get("cells", []):
        texts = [cell.get("source", "")] if cell.get("cell_type") == "markdown" else []
        texts += [o.get("data", {}).get("text/markdown", "") for o in cell.get("outputs", [])]
        for text in texts:
            text = "".join(text) if isinstance(text, list) else text
            for line in text.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
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


def write_index(
    reports: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    phases: Mapping[str, str],
    area_names: Mapping[str, str],
    lang: str = "sv",
    synthetic: bool = False,
) -> Path:
    """Write the overview page: one table per wave, one row per area, one column per phase.

    Parameters
    ----------
    reports : sequence of mappings
        One per report: ``area``, ``wave``, ``phase``, ``status``, ``seconds``, ``finished``,
        ``html`` and ``ipynb`` (paths relative to the page's folder).
    path : path
        The page to write (``reports/index.html``).
    phases : mapping
        Phase id -> display title, in display order.
    area_names : mapping
        Area id -> name; the city (``all``) is listed first as the whole municipality.
    lang : {"sv", "en"}
    synthetic : bool
        Show the synthetic-data notice.
    """
    lang = check_language(lang)
    by_wave: dict[int, dict[tuple[str, str], Mapping[str, Any]]] = {}
    for report in reports:
        titled = {"title": phases.get(report["phase"], report["phase"]), **report}
        by_wave.setdefault(int(report["wave"]), {})[(report["area"], report["phase"])] = titled
    sections = [
        _wave_section(wave, by_wave[wave], phases, area_names, lang)
        for wave in sorted(by_wave, reverse=True)
    ]
    notice = f'<p class="notice">{_text("synthetic", lang)}</p>' if synthetic else ""
    page = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_text('index_title', lang)}</title>\n<style>{_INDEX_CSS}</style>\n</head>\n"
        f"<body>\n<h1>{_text('index_title', lang)}</h1>\n{notice}"
        f"<p>{_text('index_intro', lang)}</p>\n{''.join(sections)}"
        f'<p class="meta">{_text("generated", lang, when=time.strftime("%Y-%m-%d %H:%M"))}</p>\n'
        "</body>\n</html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _wave_section(
    wave: int,
    reports: Mapping[tuple[str, str], Mapping[str, Any]],
    phases: Mapping[str, str],
    area_names: Mapping[str, str],
    lang: str,
) -> str:
    shown_phases = [p for p in phases if any(phase == p for _, phase in reports)]
    shown_phases += sorted({p for _, p in reports} - set(shown_phases))
    areas = sorted({a for a, _ in reports}, key=lambda a: (a != "all", area_names.get(a, a)))
    head = "".join(f"<th>{html.escape(phases.get(p, p))}</th>" for p in shown_phases)
    rows = []
    for area in areas:
        name = _text("city", lang) if area == "all" else area_names.get(area, area)
        cells = "".join(_report_cell(reports.get((area, p)), lang) for p in shown_phases)
        rows.append(f'<tr><th scope="row">{html.escape(name)}</th>{cells}</tr>\n')
    return (
        f"<h2>{_text('wave', lang, wave=wave)}</h2>\n<table>\n<thead><tr>"
        f"<th>{_text('area', lang)}</th>{head}</tr></thead>\n<tbody>\n{''.join(rows)}"
        "</tbody>\n</table>\n"
    )


def _report_cell(report: Mapping[str, Any] | None, lang: str) -> str:
    if report is None:
        return (
            f'<td><span class="status status-missing">{_text("status_missing", lang)}</span></td>'
        )
    status = report["status"]
    label = _text(f"status_{status}", lang)
    when = str(report.get("finished", "")).replace("T", " ")[:16]
    seconds = f"{float(report.get('seconds') or 0):.1f}"
    parts = []
    if status in ("ok", "skipped") and report.get("html"):
        title = html.escape(str(report.get("title", report["phase"])))
        parts.append(f'<a href="{html.escape(str(report["html"]))}">{title}</a><br>')
    parts.append(f'<span class="status status-{status}">{label}</span> ')
    parts.append(f'<span class="meta">{_text("built", lang, when=when, seconds=seconds)}</span>')
    if status in ("failed", "timeout"):
        if report.get("message"):
            parts.append(f'<br><span class="meta">{html.escape(str(report["message"]))}</span>')
        if report.get("ipynb"):
            href = html.escape(str(report["ipynb"]))
            parts.append(f'<br><a class="meta" href="{href}">{_text("notebook", lang)}</a>')
    return f"<td>{''.join(parts)}</td>"


# --------------------------------------------------------------------------------------------
# Small file helpers


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file's content, or None when it is missing or not valid JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# What a run leaves behind: the manifest and the index of every report


def _git_commit() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _input_checksums(config: RunConfig) -> dict[str, Any]:
    def entry(path: Path | None) -> dict[str, str] | None:
        return None if path is None else {"path": str(path), "sha256": file_sha256(path)}

    return {
        "survey": [entry(p) for p in config.survey_files],
        "areas": entry(config.areas_file),
        "enrolment": entry(config.enrolment_file),
        "instrument": entry(config.instrument_file),
        "cutpoints": entry(config.cutpoints_file),
        "run_file": entry(config.path),
    }


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _job_entry(record: Mapping[str, Any], root: Path) -> dict[str, Any]:
    job: Job = record["job"]
    detail = record["detail"]
    return {
        **{k: record[k] for k in RESULT_COLUMNS},
        "cpu_seconds": detail.get("cpu_seconds"),
        "execute_seconds": detail.get("execute_seconds"),
        "html_seconds": detail.get("html_seconds"),
        "finished": detail.get("finished") or (detail.get("built") or {}).get("finished"),
        "notebook": _relative(job.notebook, REPO_ROOT),
        "notebook_sha256": file_sha256(job.notebook),
        "parameters": job.parameters,
        "timeout": job.timeout,
        "key": record["key"],
        "ipynb": _relative(job.ipynb, root),
        "html": _relative(job.html, root),
    }


def write_manifest(
    config: RunConfig,
    records: Sequence[Mapping[str, Any]],
    *,
    published: Mapping[int, Path],
    checksums: Mapping[int, str],
    settings: Mapping[str, Any],
    summary: Mapping[str, Any],
    timings: Mapping[str, Any],
) -> Path:
    """Write ``<output>/manifest.json``: input checksums, parameters, package versions, git
    commit, timings and one entry per job (``records`` as built by :mod:`ctc_helpers.batch.run`)."""
    root = config.output_dir
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": _git_commit(),
        "packages": _package_versions(),
        "inputs": _input_checksums(config),
        "published": {
            str(wave): {"dir": _relative(Path(folder), root), "sha256": checksums[wave]}
            for wave, folder in published.items()
        },
        "settings": dict(settings),
        "summary": {
            **dict(summary),
            **{s: sum(r["status"] == s for r in records) for s in STATUSES},
        },
        "timings": dict(timings),
        "jobs": [_job_entry(r, root) for r in records],
    }
    path = root / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def write_run_index(
    config: RunConfig, *, lang: str, titles: Mapping[str, str], synthetic: bool
) -> Path:
    """Write ``<output>/index.html`` for every report under the output folder (all waves, their
    last builds, read from the build stamps beside the reports)."""
    root = config.output_dir
    reports = []
    for stamp_path in sorted(root.glob(STAMP_GLOB)):
        stamp = read_json(stamp_path)
        wave, area = stamp_path.parent.parent.name, stamp_path.parent.name
        if stamp is None or not wave.isdigit():
            continue
        phase = stamp_path.name[1 : -len(".build.json")]
        reports.append(
            {
                **stamp,
                "area": area,
                "wave": int(wave),
                "phase": phase,
                "title": stamp.get("title") or titles.get(phase, phase),
                "html": f"{wave}/{area}/{phase}.html",
                "ipynb": f"{wave}/{area}/{phase}.ipynb",
            }
        )
    return write_index(
        reports,
        root / "index.html",
        phases=dict(titles),
        area_names=config.area_names,
        lang=lang,
        synthetic=synthetic,
    )
