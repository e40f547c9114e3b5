"""``ctc dashboard``: serve the dashboards with Voilà until stopped.

The dashboard notebooks (``notebooks/dashboards/``) are served by a Voilà process
(:mod:`ctc_helpers.dashboard.voila_app`) whose kernels read only the published folder
(:mod:`ctc_helpers.dashboard.data`). This module starts that process, waits until its
pre-heated kernels have run their notebooks, prints the addresses, and stops it again.

- The process dies with its parent: it watches a pipe whose other end only this process holds,
  so even ``kill -9`` of ``ctc dashboard`` takes Voilà and its kernels with it.
- The token (required when serving beyond this computer) comes from ``CTC_DASHBOARD_TOKEN`` or a
  file (``--token-file``), never from the command line, where every user of the machine can see
  it (``ps``); it reaches Voilà through its environment, and no kernel inherits it.
- Voilà's own log goes to ``.ctc/logs/dashboard-server.log``.
"""

from __future__ import annotations

import os
import select
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ctc_helpers.dashboard import settings
from ctc_helpers.dashboard.data import published_folders
from ctc_helpers.errors import ConfigError, InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.paths import REPO_ROOT, REPORTS_DIR, resolve_path

__all__ = [
    "MIN_TOKEN_LENGTH",
    "DashboardServer",
    "voila_command",
    "dashboard_env",
    "dashboard_urls",
    "read_token",
    "start_voila",
    "stop_voila",
    "wait_for_http",
    "command_dashboard",
]

MIN_TOKEN_LENGTH = 16
READY_TIMEOUT = 240  # seconds to wait for the pre-heated kernels before printing anyway
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class DashboardServer:
    """A running Voilà process of the dashboards (from :func:`start_voila`)."""

    process: subprocess.Popen
    port: int
    ready_fd: int | None = None
    parent_fd: int | None = None  # the pipe end whose closing tells Voilà to stop
    log_path: Path | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> bool:
        """Wait until the server listens and every pre-heated kernel has run its notebook.

        Returns False when ``timeout`` seconds pass or the server exits first.
        """
        if self.ready_fd is None:
            return self.process.poll() is None
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.ready_fd], [], [], min(left, 0.5))
            if readable:
                message = os.read(self.ready_fd, 64)
                os.close(self.ready_fd)
                self.ready_fd = None
                return message.startswith(b"ready")
            if self.process.poll() is not None:
                return False
        return False

    def log_tail(self, characters: int = 3000) -> str:
        """The end of Voilà's log ("" without a log file)."""
        if self.log_path is None or not self.log_path.is_file():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-characters:]


def voila_command(
    *,
    port: int = 8866,
    ip: str = "127.0.0.1",
    lang: str | None = None,
    preheat: bool = True,
    pool_size: int = settings.POOL_SIZE,
    max_kernels: int = settings.MAX_KERNELS,
    idle_timeout: float = settings.IDLE_TIMEOUT,
    orphan_timeout: float = settings.ORPHAN_TIMEOUT,
    cull_interval: int = settings.CULL_INTERVAL,
    notebooks_dir: str | Path = settings.DASHBOARD_DIR,
) -> list[str]:
    """The command line of the dashboard server (no token: it travels in the environment)."""
    return [
        sys.executable, "-m", "ctc_helpers.dashboard.voila_app", str(notebooks_dir),
        f"--port={int(port)}", f"--ip={ip}", f"--lang={check_language(lang)}",
        f"--pool-size={int(pool_size) if preheat else 0}", f"--max-kernels={int(max_kernels)}",
        f"--idle-timeout={float(idle_timeout)}", f"--orphan-timeout={float(orphan_timeout)}",
        f"--cull-interval={int(cull_interval)}", f"--cell-timeout={settings.CELL_TIMEOUT}",
    ]  # fmt: skip


def dashboard_env(
    *,
    reports_dir: str | Path,
    lang: str | None = None,
    data_dir: str | Path | None = None,
    ip: str = "127.0.0.1",
    token: str | None = None,
) -> dict[str, str]:
    """Environment of the Voilà server: the folders and language (inherited by its kernels)
    and the token (taken out again before any kernel starts)."""
    env = {
        **os.environ,
        settings.ENV_REPORTS: str(Path(reports_dir).resolve()),
        settings.ENV_LANG: check_language(lang),
        # where a pre-heated kernel asks Voilà for its visitor's request (deep links)
        "VOILA_APP_IP": "127.0.0.1" if ip in ("", "0.0.0.0", "::") else ip,
    }
    env.pop(settings.ENV_TOKEN, None)
    if token:
        env[settings.ENV_TOKEN] = token
    if data_dir is not None:
        env[settings.ENV_DATA] = str(Path(data_dir).resolve())
    return env


def dashboard_urls(*, port: int, ip: str = "127.0.0.1", token: str | None = None) -> list[str]:
    """The URL of each dashboard (with ``?token=`` when a token is required)."""
    host = "127.0.0.1" if ip in ("", "0.0.0.0", "::") else ip
    suffix = f"?token={token}" if token else ""
    return [
        f"http://{host}:{port}/voila/render/{name}.ipynb{suffix}"
        for name in settings.VIEWS.values()
    ]


def read_token(token_file: str | Path | None, lang: str | None = None) -> str | None:
    """The access token: the first line of ``token_file``, else ``CTC_DASHBOARD_TOKEN``, else
    None (no token required).

    Raises
    ------
    ConfigError
        When the file cannot be read or the token is shorter than ``MIN_TOKEN_LENGTH``.
    """
    lang = check_language(lang)
    if token_file is not None:
        path = resolve_path(token_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                t("dash_token_file_unreadable", lang, path=path, problem=exc)
            ) from exc
        token, source = (lines[0].strip() if lines else ""), str(path)
        if path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
            print(t("dash_token_file_open", lang, path=path), file=sys.stderr)
    else:
        token, source = os.environ.get(settings.ENV_TOKEN, "").strip(), settings.ENV_TOKEN
        if not token:
            return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            t("dash_token_short", lang, source=source, n=len(token), min=MIN_TOKEN_LENGTH)
        )
    return token


def start_voila(
    *,
    port: int,
    reports_dir: str | Path,
    lang: str | None = None,
    ip: str = "127.0.0.1",
    token: str | None = None,
    data_dir: str | Path | None = None,
    log: IO | None = None,
    **options: Any,
) -> DashboardServer:
    """Start the dashboard server in its own process group; stop it with :func:`stop_voila`.

    ``log`` (an open file) receives the server's output (default: inherited). ``options`` go to
    :func:`voila_command` (``preheat``, ``pool_size``, ``max_kernels``, ``idle_timeout``,
    ``orphan_timeout``, ``cull_interval``). The server stops when this process dies.
    """
    parent_read, parent_write = os.pipe()
    ready_read, ready_write = os.pipe()
    command = voila_command(port=port, ip=ip, lang=lang, **options) + [
        f"--parent-fd={parent_read}", f"--parent-pid={os.getpid()}", f"--ready-fd={ready_write}",
    ]  # fmt: skip
    env = dashboard_env(reports_dir=reports_dir, lang=lang, data_dir=data_dir, ip=ip, token=token)
    try:
        process = subprocess.Popen(
            command, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT if log else None,
            start_new_session=True, pass_fds=(parent_read, ready_write),
        )  # fmt: skip
    finally:
        os.close(parent_read)
        os.close(ready_write)
    log_path = (
        Path(log.name) if log is not None and isinstance(getattr(log, "name", None), str) else None
    )
    return DashboardServer(process, port, ready_read, parent_write, log_path)


def stop_voila(server: DashboardServer, *, timeout: float = 20) -> int | None:
    """Stop a server started by :func:`start_voila` (its kernels shut down with it)."""
    process = server.process
    for fd in (server.parent_fd, server.ready_fd):
        if fd is not None:
            os.close(fd)
    server.parent_fd = server.ready_fd = None
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


def wait_for_http(url: str, *, timeout: float = 60, process: Any = None) -> bool:
    """Poll ``url`` until it answers HTTP 200 (True) or ``timeout`` seconds pass (False)."""
    process = getattr(process, "process", process)
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

    ``args`` has ``port``, ``reports`` (reports folder or None), ``token_file`` (None: the token
    comes from ``CTC_DASHBOARD_TOKEN``, if set), ``ip``, ``lang``, ``max_kernels`` and
    ``idle_minutes``; a ``token`` given on the command line is refused.

    Raises
    ------
    InputFileError
        When the reports folder holds no published folder: run ``make run`` first.
    ConfigError
        For a token on the command line, an unreadable or short token, or a server that does
        not start (the message holds the end of its log).
    """
    lang = check_language(getattr(args, "lang", None))
    if getattr(args, "token", None):
        raise ConfigError(t("dash_token_on_command_line", lang, variable=settings.ENV_TOKEN))
    reports = resolve_path(args.reports or os.environ.get(settings.ENV_REPORTS) or REPORTS_DIR)
    if not published_folders(reports):
        raise InputFileError(t("dash_no_published", lang, path=reports))
    token = read_token(getattr(args, "token_file", None), lang)
    options = _server_options(args)
    settings.SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    print(t("dash_preheating", lang, log=settings.SERVER_LOG), flush=True)
    with settings.SERVER_LOG.open("a", encoding="utf-8") as log:
        server = start_voila(
            port=args.port, reports_dir=reports, lang=lang, ip=args.ip, token=token, log=log,
            **options,
        )  # fmt: skip
    # Voilà runs in its own process group: stop it (and its kernels) on Ctrl+C or SIGTERM
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _wait_until_ready(server, lang)
        print(_serving_text(args, lang, token), flush=True)
        return server.process.wait()
    finally:
        stop_voila(server)
        signal.signal(signal.SIGTERM, previous)


def _server_options(args: Any) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if getattr(args, "max_kernels", None) is not None:
        options["max_kernels"] = args.max_kernels
    if getattr(args, "idle_minutes", None) is not None:
        options["idle_timeout"] = 60 * float(args.idle_minutes)
    return options


def _wait_until_ready(server: DashboardServer, lang: str) -> None:
    if server.wait_ready():
        return
    if server.process.poll() is not None:
        raise ConfigError(
            t("dash_server_failed", lang, log=settings.SERVER_LOG, tail=server.log_tail(1500))
        )
    print(t("dash_preheat_slow", lang, seconds=READY_TIMEOUT), flush=True)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _serving_text(args: Any, lang: str, token: str | None) -> str:
    urls = dashboard_urls(port=args.port, ip=args.ip, token=token)
    lines = [t("dash_serving", lang), *(f"  {url}" for url in urls)]
    lines.append(t("dash_deep_link_hint", lang, url=urls[0].split("?")[0]))
    if args.ip not in LOCAL_HOSTS and not token:
        lines.append(t("dash_open_without_token", lang, variable=settings.ENV_TOKEN))
    lines.append(t("dash_stop", lang))
    return "\n".join(lines)
