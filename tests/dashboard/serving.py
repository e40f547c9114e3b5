"""Helpers of the server tests: a dashboard server on a fake published folder, its kernels."""

from __future__ import annotations

import contextlib
import html
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from ctc_helpers.dashboard import server as dashboard
from ctc_helpers.dashboard.settings import KERNEL_PROCESS_NAME
from tests.fake_published import write_fake_published

START_TIMEOUT = 240  # seconds: a busy 2-core machine pre-heats four kernels
PAGE_TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site(root: Path, inventory: str | None = None) -> tuple[Path, Path]:
    """A reports folder with the fake published folder and a team folder: (reports, team)."""
    if not (root / "reports" / "2025" / "data" / "run_info.json").is_file():
        write_fake_published(root / "reports" / "2025" / "data")
    (root / "team").mkdir(exist_ok=True)
    if inventory is not None:
        (root / "team" / "programme_inventory.csv").write_text(inventory, encoding="utf-8")
    return root / "reports", root / "team"


@contextlib.contextmanager
def serve(root: Path, **options) -> Iterator[dashboard.DashboardServer]:
    """Start the dashboards on a free port over the folders of :func:`site`; wait until the
    pre-heated kernels are ready; always stop the server (and check it stopped)."""
    reports, team = site(root, options.pop("inventory", None))
    log_path = root / f"voila-{len(list(root.glob('voila-*.log')))}.log"
    with log_path.open("w") as log:
        server = dashboard.start_voila(
            port=free_port(), reports_dir=reports, data_dir=team, log=log, **options
        )
        try:
            if not server.wait_ready(START_TIMEOUT):
                pytest.fail(f"the dashboard server did not get ready:\n{server.log_tail()}")
            yield server
        finally:
            dashboard.stop_voila(server)
    assert server.process.poll() is not None


def base_url(server: dashboard.DashboardServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def fetch(url: str, *, timeout: float = PAGE_TIMEOUT) -> tuple[int, str, dict]:
    """Status, page text (HTML entities decoded, so escaped source would be found too) and
    headers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read().decode("utf-8")
            return response.status, html.unescape(body), dict(response.headers)
    except urllib.error.HTTPError as error:
        body = error.read().decode("utf-8", "replace")
        return error.code, html.unescape(body), dict(error.headers)


def is_kernel(process: psutil.Process) -> bool:
    """A kernel: forked by the fork server (named ``ctc-kernel``) or started as ipykernel."""
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        return process.name() == KERNEL_PROCESS_NAME or "ipykernel" in " ".join(process.cmdline())
    return False


def kernel_processes(server: dashboard.DashboardServer) -> list[psutil.Process]:
    """The kernel processes under the server."""
    return [
        child for child in psutil.Process(server.pid).children(recursive=True) if is_kernel(child)
    ]
