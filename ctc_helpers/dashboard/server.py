"""``ctc dashboard``: serve the dashboards with Voilà until stopped.

The dashboard notebooks (``notebooks/dashboards/``) are served by a Voilà process whose kernels
read only the published folder (:mod:`ctc_helpers.dashboard.data`). This module starts and stops
that process and prints the addresses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from ctc_helpers.dashboard.data import published_folders
from ctc_helpers.dashboard.settings import (
    CELL_TIMEOUT,
    DASHBOARD_DIR,
    ENV_DATA,
    ENV_LANG,
    ENV_REPORTS,
    POOL_SIZE,
    VIEWS,
)
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.paths import REPO_ROOT, REPORTS_DIR, resolve_path

__all__ = [
    "voila_command",
    "dashboard_env",
    "dashboard_urls",
    "start_voila",
    "stop_voila",
    "wait_for_http",
    "command_dashboard",
]

CULL_IDLE_TIMEOUT = 3600
CULL_INTERVAL = 120


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
