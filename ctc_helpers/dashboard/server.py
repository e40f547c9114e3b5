"""Voilà dashboards for area teams: the data a kernel loads, deep links, the page and the server.

Area teams open a web page, choose their area and see their profile, the prioritisation
worksheet, their gaps and their goal chain, in Swedish (English a click away). The views are
functions in :mod:`ctc_helpers.dashboard.views` that return widgets; each dashboard notebook in
``notebooks/dashboards/`` is a title, imports and one call to :func:`app`.

What a dashboard kernel reads
-----------------------------
ONLY the published, suppressed folder of a wave (``reports/<wave>/data/``, read once per kernel
by :func:`load_dashboard_data`) and the teams' own declarative files in the data folder
(``priorities/<area>.yaml``, ``goal_chains/<area>.yaml``, ``programme_inventory.csv``). Never
row-level survey data, never ``.ctc/``.

Where from
----------
``CTC_REPORTS_DIR`` (set by ``ctc dashboard --reports``) else ``reports/``; ``CTC_DATA_DIR`` else
``data/sample``; ``CTC_LANG`` gives the starting language (``sv`` by default).

Deep links
----------
``.../omradesprofil.ipynb?area=norra-hamnen`` (an area id or its name) opens that area.
Voilà puts the query string in the kernel's ``QUERY_STRING``; a pre-heated kernel (which ran the
notebook before anyone asked for it) learns it from ``voila.utils.wait_for_request`` in a
background thread, so no cell blocks and the execution time limit still holds. Only the areas of
the published ``run_info.json`` are accepted (an allow-list); anything else shows the default
area with a message.

Speed
-----
Aggregates are loaded once per kernel, chart PNGs are cached per selection in the kernel, and a
pre-heated kernel renders the charts of every area for the first view before its visitor
arrives, so choosing another area is a cache look-up.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pandas as pd

from ctc_helpers.errors import CTCError, InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.paths import NOTEBOOKS_DIR, REPO_ROOT, REPORTS_DIR, SAMPLE_DIR
from ctc_helpers.views.tables import DisplayTable, Published, load_published, resolve_path

__all__ = [
    "VIEWS",
    "DASHBOARD_DIR",
    "DashboardData",
    "published_folders",
    "load_dashboard_data",
    "area_from_query",
    "render_png",
    "cached_png",
    "clear_caches",
    "table_html",
    "download_links",
    "notice_html",
    "log_error",
    "guarded",
    "app",
    "voila_command",
    "dashboard_env",
    "dashboard_urls",
    "start_voila",
    "stop_voila",
    "wait_for_http",
    "command_dashboard",
]

# view name -> notebook in notebooks/dashboards/ (the URL an area team opens)
VIEWS = {
    "profile": "omradesprofil",
    "priorities": "prioritering",
    "gap": "gap",
    "followup": "uppfoljning",
}
DASHBOARD_DIR = NOTEBOOKS_DIR / "dashboards"
ENV_REPORTS = "CTC_REPORTS_DIR"
ENV_DATA = "CTC_DATA_DIR"
ENV_LANG = "CTC_LANG"
LOG_FILE = REPO_ROOT / ".ctc" / "logs" / "dashboard.log"

# Server settings of `ctc dashboard` (seconds): a kernel idle this long is shut down, checked
# every CULL_INTERVAL; a cell may run at most CELL_TIMEOUT; POOL_SIZE pre-heated kernels wait
# per dashboard.
CULL_IDLE_TIMEOUT = 3600
CULL_INTERVAL = 120
CELL_TIMEOUT = 120
POOL_SIZE = 1

PNG_DPI = 90
_PNG_CACHE_SIZE = 400
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# The published data of a kernel (loaded once)


@dataclass(frozen=True)
class DashboardData:
    """What every view of a kernel reads: the published folder of a wave and the team files.

    ``published`` is the folder of ``wave``; ``folders`` maps every published wave to its folder
    (an earlier wave without a folder of its own is read from ``published``, which holds every
    wave up to ``wave``); ``data_dir`` holds the teams' files (priorities, goal chains,
    programme inventory).
    """

    published: Published
    wave: int
    folders: Mapping[int, Path]
    data_dir: Path
    reports_dir: Path = field(compare=False)

    @property
    def areas(self) -> pd.DataFrame:
        """The published area list: columns ``area_id, name``."""
        return self.published.areas

    @property
    def waves(self) -> tuple[int, ...]:
        """Survey years shown (every wave of ``published``), newest first."""
        return tuple(sorted(self.published.waves, reverse=True))

    def for_wave(self, wave: int) -> Published:
        """The published folder to read ``wave`` from (its own folder when there is one)."""
        folder = self.folders.get(int(wave))
        if folder is None or folder == self.published.path:
            return self.published
        return _load_folder(str(folder))


def published_folders(reports_dir: str | Path) -> dict[int, Path]:
    """The published folders of a reports folder: ``{wave: reports/<wave>/data}``, oldest first.

    Only folders holding a ``run_info.json`` count (the batch writes it last).

    >>> published_folders("/nonexistent")
    {}
    """
    root = resolve_path(reports_dir)
    found = {
        int(folder.parent.name): folder
        for folder in root.glob("*/data")
        if folder.parent.name.isdigit() and (folder / "run_info.json").is_file()
    }
    return dict(sorted(found.items()))


def load_dashboard_data(
    reports_dir: str | Path | None = None,
    *,
    wave: int | None = None,
    data_dir: str | Path | None = None,
    lang: str | None = None,
) -> DashboardData:
    """Read the published folder once per kernel (later calls with the same folder reuse it).

    Parameters
    ----------
    reports_dir : str or Path, optional
        Reports folder of a run; default ``CTC_REPORTS_DIR``, else ``reports/``.
    wave : int, optional
        Survey year; default the latest published one.
    data_dir : str or Path, optional
        Folder of the teams' files; default ``CTC_DATA_DIR``, else ``data/sample``.
    lang : {"sv", "en"}, optional
        Language of the error message.

    Returns
    -------
    DashboardData

    Raises
    ------
    InputFileError
        When the reports folder holds no published folder ("kör först make run").
    ValueError
        When ``wave`` has no published folder; the message lists the published years.
    """
    reports = resolve_path(reports_dir or os.environ.get(ENV_REPORTS) or REPORTS_DIR)
    team = resolve_path(data_dir or os.environ.get(ENV_DATA) or SAMPLE_DIR)
    return _load_data(str(reports.resolve()), wave, str(team.resolve()), check_language(lang))


@functools.cache
def _load_data(reports: str, wave: int | None, data_dir: str, lang: str) -> DashboardData:
    folders = published_folders(reports)
    if not folders:
        raise InputFileError(t("dash_no_published", lang, path=reports))
    chosen = max(folders) if wave is None else int(wave)
    if chosen not in folders:
        raise ValueError(
            f"The survey year {wave!r} has no published folder in {reports}; published years:"
            f" {', '.join(map(str, folders))}."
        )
    return DashboardData(
        published=_load_folder(str(folders[chosen])),
        wave=chosen,
        folders=folders,
        data_dir=Path(data_dir),
        reports_dir=Path(reports),
    )


@functools.cache
def _load_folder(folder: str) -> Published:
    return load_published(folder)


# --------------------------------------------------------------------------------------------
# Deep links


def area_from_query(query: str | None, areas: pd.DataFrame) -> tuple[str | None, str | None]:
    """The area a link asks for, checked against the published area list (an allow-list).

    Parameters
    ----------
    query : str
        The query string (``area=norra-hamnen&...``); other keys are ignored.
    areas : pandas.DataFrame
        The published area list (``area_id, name``); ids and names match without regard to
        case and surrounding spaces.

    Returns
    -------
    tuple
        ``(area_id, None)`` for a known area, ``(None, refused_value)`` for anything else (the
        value as given, at most 60 characters, not escaped), ``(None, None)`` without ``area``.

    Examples
    --------
    >>> areas = pd.DataFrame({"area_id": ["norra-hamnen"], "name": ["Norra Hamnen"]})
    >>> area_from_query("area=Norra%20Hamnen", areas)
    ('norra-hamnen', None)
    >>> area_from_query("area=../etc", areas)
    (None, '../etc')
    >>> area_from_query("token=abc", areas)
    (None, None)
    """
    values = parse_qs(query or "", keep_blank_values=True).get("area")
    if not values:
        return None, None
    wanted = values[0].strip()
    known = {
        **{str(n).strip().casefold(): str(a) for a, n in zip(areas["area_id"], areas["name"], strict=True)},
        **{str(a).casefold(): str(a) for a in areas["area_id"]},
    }  # fmt: skip
    area = known.get(wanted.casefold())
    return (area, None) if area is not None else (None, wanted[:60])


def _preheating() -> bool:
    """True in a Voilà kernel started before its visitor asked for the page."""
    return os.environ.get("VOILA_PREHEAT", "False") == "True"


def _wait_for_query() -> str:
    """Block until Voilà hands this pre-heated kernel its visitor's request; the query string."""
    from voila.utils import wait_for_request  # imports jupyter_server: seconds, so in a thread

    wait_for_request()
    return os.environ.get("QUERY_STRING", "")


class _DeepLink:
    """The visitor's query string of a pre-heated kernel, applied once the page is built.

    The waiting thread starts before the page is built, so that importing Voilà's helper
    (several seconds) overlaps the pre-heating instead of delaying the deep link.
    """

    def __init__(self) -> None:
        self._page_built = threading.Event()
        self._apply: Callable[[str], None] | None = None
        self.thread = threading.Thread(target=self._run, name="ctc-deep-link", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            query = _wait_for_query()
            self._page_built.wait()
            self._apply(query)
        except Exception:  # noqa: BLE001 - a background thread: log, never crash the kernel
            log_error("deep link")

    def apply_with(self, apply: Callable[[str], None]) -> None:
        """Hand over the function that shows the link's area (called from the thread)."""
        self._apply = apply
        self._page_built.set()


# --------------------------------------------------------------------------------------------
# Charts, tables, downloads, messages (the display edge of the widgets)


def render_png(draw: Callable[[Any], Any], *, width: float, height: float) -> bytes:
    """Draw on a new Axes of a ``width`` x ``height`` inch figure and return PNG bytes.

    The figure is not registered with pyplot (nothing to close, nothing shown twice) and is
    cleared after saving.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=PNG_DPI)
    try:
        draw(figure.add_subplot())
        buffer = io.BytesIO()
        figure.savefig(
            buffer, format="png", bbox_inches="tight", pad_inches=0.15,
            facecolor="white", pil_kwargs={"compress_level": 1},
        )  # fmt: skip
    finally:
        figure.clear()
    return buffer.getvalue()


_PNG_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_PNG_LOCK = threading.Lock()


def cached_png(key: tuple, draw: Callable[[Any], Any], *, width: float, height: float) -> bytes:
    """:func:`render_png` once per ``key`` (a selection) in this kernel; least recently used
    charts are dropped beyond a few hundred."""
    with _PNG_LOCK:
        if key in _PNG_CACHE:
            _PNG_CACHE.move_to_end(key)
            return _PNG_CACHE[key]
    png = render_png(draw, width=width, height=height)
    with _PNG_LOCK:
        _PNG_CACHE[key] = png
        while len(_PNG_CACHE) > _PNG_CACHE_SIZE:
            _PNG_CACHE.popitem(last=False)
    return png


def clear_caches() -> None:
    """Forget the loaded folders, tables and charts of this kernel (e.g. after a new run)."""
    from ctc_helpers.dashboard import views as dashboard_views

    _load_data.cache_clear()
    _load_folder.cache_clear()
    with _PNG_LOCK:
        _PNG_CACHE.clear()
    dashboard_views.clear_view_caches()


def table_html(table: DisplayTable) -> str:
    """The display table (suppressed cells "–" with their footnote) in a scrollable box.

    Short cells (numbers, intervals such as "14–17 %") do not break across lines; longer
    text wraps, so the table fits beside its chart.
    """
    shown = DisplayTable(table.frame.map(_keep_together), table.footnotes)
    return f'<div class="ctc-table-scroll">{shown._repr_html_()}</div>'


def _keep_together(cell: Any) -> Any:
    if not isinstance(cell, str) or len(cell) > 16:
        return cell
    return cell.replace(" ", "\u00a0").replace("–", "\u2060–\u2060")


def download_links(
    tables: Mapping[str, DisplayTable], *, basename: str, lang: str | None = None
) -> str:
    """HTML links that download the shown tables: one CSV per table and one Excel workbook.

    The files hold the display copy (what the reader sees, "–" for suppressed cells) with its
    footnotes under the table. Swedish CSV files use ``;`` (Swedish Excel reads decimal commas).
    """
    lang = check_language(lang)
    name = _SAFE_NAME.sub("_", basename).strip("_") or "tabell"
    csv_links = [
        _data_link(
            _csv_bytes(table, lang),
            "text/csv;charset=utf-8",
            f"{name}_{_SAFE_NAME.sub('_', key)}.csv" if len(tables) > 1 else f"{name}.csv",
            f"CSV ({key})" if len(tables) > 1 else "CSV",
        )
        for key, table in tables.items()
    ]
    excel = _data_link(
        _excel_bytes(tables),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"{name}.xlsx",
        "Excel",
    )
    links = " · ".join([*csv_links, excel])
    return f'<div class="ctc-downloads">{html.escape(t("dash_download", lang))} {links}</div>'


def _data_link(content: bytes, mime: str, filename: str, text: str) -> str:
    encoded = base64.b64encode(content).decode("ascii")
    return (
        f'<a download="{html.escape(filename)}" href="data:{mime};base64,{encoded}"'
        f' class="ctc-download">{html.escape(text)}</a>'
    )


def _with_notes(table: DisplayTable) -> pd.DataFrame:
    if not table.footnotes:
        return table.frame
    first = table.frame.columns[0] if len(table.frame.columns) else "note"
    notes = pd.DataFrame({first: ["", *table.footnotes]})
    return pd.concat([table.frame, notes], ignore_index=True).fillna("")


def _csv_bytes(table: DisplayTable, lang: str) -> bytes:
    text = _with_notes(table).to_csv(index=False, sep=";" if lang == "sv" else ",")
    return text.encode("utf-8-sig")


def _excel_bytes(tables: Mapping[str, DisplayTable]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        used: set[str] = set()
        for key, table in tables.items():
            sheet = re.sub(r"[\[\]:*?/\\]", " ", key)[:31] or "Tabell"
            sheet = sheet if sheet not in used else f"{sheet[:28]} {len(used)}"
            used.add(sheet)
            _with_notes(table).to_excel(writer, sheet_name=sheet, index=False)
    return buffer.getvalue()


def notice_html(text: str, *, kind: str = "info") -> str:
    """A framed message (``kind``: ``info``, ``warning`` or ``error``); ``text`` is escaped."""
    if not text:
        return ""
    return f'<div class="ctc-notice ctc-{html.escape(kind)}">{html.escape(text)}</div>'


def log_error(where: str) -> None:
    """Append the current exception's traceback to ``.ctc/logs/dashboard.log`` (never shown)."""
    try:
        LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
        with LOG_FILE.open("a", encoding="utf-8") as log:
            log.write(f"--- {datetime.now():%Y-%m-%d %H:%M:%S} {where}\n{traceback.format_exc()}\n")
    except OSError:
        _log.error("dashboard error in %s (log file not writable)", where)


def guarded(handler: Callable[..., Any], message: Any, lang: str | None = None) -> Callable:
    """Wrap a widget handler: an exception shows a friendly message in ``message`` (an HTML
    widget) instead of vanishing or showing a traceback; the traceback goes to the log file.
    A call that succeeds clears the message."""
    text = t("dash_error", check_language(lang))

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = handler(*args, **kwargs)
        except Exception:  # noqa: BLE001 - a reader sees a friendly message; the log has the rest
            log_error(getattr(handler, "__name__", "handler"))
            message.value = notice_html(text, kind="error")
            return None
        message.value = ""
        return result

    return run


# --------------------------------------------------------------------------------------------
# The page


def app(
    view: str,
    *,
    reports_dir: str | Path | None = None,
    wave: int | None = None,
    lang: str | None = None,
):
    """Build the dashboard page of ``view`` (the last expression of a dashboard notebook).

    Parameters
    ----------
    view : {"profile", "priorities", "gap", "followup"}
    reports_dir : str or Path, optional
        Reports folder of a run (default ``CTC_REPORTS_DIR``, else ``reports/``).
    wave : int, optional
        Survey year (default the latest published one).
    lang : {"sv", "en"}, optional
        Starting language (default ``CTC_LANG``, else Swedish); the page has a switch.

    Returns
    -------
    ipywidgets.VBox
        The page: header with the language switch, links to the other dashboards, a message
        line (deep link refused, errors) and the view. Without a published folder, a message
        saying to run ``make run`` first.

    Raises
    ------
    ValueError
        If ``view`` is unknown (the message lists the views).
    """
    from ctc_helpers.dashboard import views as dashboard_views

    if view not in VIEWS:
        raise ValueError(f"Unknown dashboard view {view!r}; choose one of: {', '.join(VIEWS)}.")
    lang = check_language(lang)
    try:
        data = load_dashboard_data(reports_dir, wave=wave, lang=lang)
    except CTCError as exc:
        return dashboard_views.message_page(str(exc))
    if _preheating():
        link = _DeepLink()
        dashboard_views.warm_cache(view, data, lang=lang)
        page = dashboard_views.build_page(view, data, lang=lang)
        link.apply_with(functools.partial(dashboard_views.open_link, page, data))
        return page
    area, refused = area_from_query(os.environ.get("QUERY_STRING", ""), data.areas)
    return dashboard_views.build_page(view, data, area=area, refused=refused, lang=lang)


# --------------------------------------------------------------------------------------------
# The server


def voila_command(
    *,
    port: int = 8866,
    ip: str = "127.0.0.1",
    token: str | None = None,
    preheat: bool = True,
    pool_size: int = POOL_SIZE,
    notebooks_dir: str | Path = DASHBOARD_DIR,
) -> list[str]:
    """The Voilà command line of ``ctc dashboard`` (also used by the tests and the benchmark).

    Sources stripped, tracebacks hidden, no browser opened, idle kernels culled, each cell
    limited to ``CELL_TIMEOUT`` seconds; a token only when given (then required). With
    ``preheat``, ``pool_size`` kernels per dashboard run the notebook before a visitor comes.
    """
    command = [
        sys.executable, "-m", "voila", str(notebooks_dir), "--no-browser",
        f"--port={int(port)}", f"--Voila.ip={ip}",
        "--strip_sources=True", "--show_tracebacks=False",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_TIMEOUT}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
        "--MappingKernelManager.cull_connected=True",
        f"--VoilaExecutor.timeout={CELL_TIMEOUT}",
    ]  # fmt: skip
    if preheat and pool_size > 0:
        command += ["--preheat_kernel=True", f"--pool_size={int(pool_size)}"]
    if token:
        command.append(f"--token={token}")
    return command


def dashboard_env(
    *,
    reports_dir: str | Path,
    lang: str | None = None,
    data_dir: str | Path | None = None,
    ip: str = "127.0.0.1",
) -> dict[str, str]:
    """Environment of the Voilà server, inherited by its kernels: the folders and language."""
    env = {
        **os.environ,
        ENV_REPORTS: str(Path(reports_dir).resolve()),
        ENV_LANG: check_language(lang),
        # where a pre-heated kernel asks Voilà for its visitor's request (deep links)
        "VOILA_APP_IP": "127.0.0.1" if ip in ("", "0.0.0.0", "::") else ip,
    }
    if data_dir is not None:
        env[ENV_DATA] = str(Path(data_dir).resolve())
    return env


def dashboard_urls(*, port: int, ip: str = "127.0.0.1", token: str | None = None) -> list[str]:
    """The URL of each dashboard (with ``?token=`` when a token is required)."""
    host = "127.0.0.1" if ip in ("", "0.0.0.0", "::") else ip
    suffix = f"?token={token}" if token else ""
    return [f"http://{host}:{port}/voila/render/{name}.ipynb{suffix}" for name in VIEWS.values()]


def start_voila(
    *,
    port: int,
    reports_dir: str | Path,
    lang: str | None = None,
    ip: str = "127.0.0.1",
    token: str | None = None,
    preheat: bool = True,
    pool_size: int = POOL_SIZE,
    data_dir: str | Path | None = None,
    log: Any = None,
) -> subprocess.Popen:
    """Start the dashboard server in its own process group; stop it with :func:`stop_voila`.

    ``log`` (an open file) receives the server's output (default: inherited).
    """
    command = voila_command(port=port, ip=ip, token=token, preheat=preheat, pool_size=pool_size)
    env = dashboard_env(reports_dir=reports_dir, lang=lang, data_dir=data_dir, ip=ip)
    return subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT if log else None,
        start_new_session=True,
    )  # fmt: skip


def stop_voila(process: subprocess.Popen, *, timeout: float = 20) -> int | None:
    """Stop a server started by :func:`start_voila` (its kernels shut down with it)."""
    if process.poll() is not None:
        return process.returncode
    try:
        os.killpg(process.pid, signal.SIGTERM)
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(timeout=timeout)
    except ProcessLookupError:
        return process.poll()


def wait_for_http(
    url: str, *, timeout: float = 60, process: subprocess.Popen | None = None
) -> bool:
    """Poll ``url`` until it answers HTTP 200 (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return True
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    return False


def command_dashboard(args: Any) -> int:
    """``ctc dashboard``: serve the dashboards with Voilà until stopped (Ctrl+C).

    ``args`` has ``port``, ``reports`` (reports folder or None), ``token`` (None: none
    required), ``ip`` and ``lang``.

    Raises
    ------
    InputFileError
        When the reports folder holds no published folder: run ``make run`` first.
    """
    lang = check_language(getattr(args, "lang", None))
    reports = resolve_path(args.reports or os.environ.get(ENV_REPORTS) or REPORTS_DIR)
    if not published_folders(reports):
        raise InputFileError(t("dash_no_published", lang, path=reports))
    print(_serving_text(args, lang), flush=True)
    process = start_voila(
        port=args.port, reports_dir=reports, lang=lang, ip=args.ip, token=args.token
    )
    # the server runs in its own process group: stop it (and its kernels) on Ctrl+C or SIGTERM
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return process.wait()
    finally:
        stop_voila(process)
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _serving_text(args: Any, lang: str) -> str:
    urls = dashboard_urls(port=args.port, ip=args.ip, token=args.token)
    lines = [t("dash_serving", lang), *(f"  {url}" for url in urls)]
    lines.append(t("dash_deep_link_hint", lang, url=urls[0].split("?")[0]))
    if args.ip not in ("127.0.0.1", "localhost", "::1") and not args.token:
        lines.append(t("dash_open_without_token", lang))
    lines.append(t("dash_stop", lang))
    return "\n".join(lines)
