"""The running dashboard server over HTTP: pages, the cap, returned kernels, the token, its death.

Each server is started as ``ctc dashboard`` starts it (pre-heated kernels, sources stripped,
tracebacks hidden) on a free port over a small fake published folder, and is always stopped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar

import nbformat
import psutil
import pytest
from tornado.websocket import websocket_connect

from ctc_helpers.dashboard import settings
from ctc_helpers.dashboard.websocket import V1_PROTOCOL
from ctc_helpers.paths import REPO_ROOT
from tests.dashboard.serving import (
    PAGE_TIMEOUT,
    base_url,
    fetch,
    free_port,
    is_kernel,
    kernel_processes,
    serve,
    site,
)

pytestmark = pytest.mark.slow

CELL_ERRORS = (
    "There was an error when executing cell",
    "ExecutionError",
    "Traceback",
    "Cell execution timed out",
    "application/vnd.jupyter.stderr",
    "An exception occurred at the server",
)
SOURCE_CODE = ("import ctc_helpers", "from ctc_helpers", 'app("')
TOKEN = "t0ken-for-the-http-tests-7f3a"
PREHEATED = len(settings.VIEWS)  # one pre-heated kernel per dashboard


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("dash_http")) as running:
        yield running


def _title(name: str) -> str:
    """The notebook's Markdown title ("Områdesprofil · Area profile")."""
    notebook = nbformat.read(settings.DASHBOARD_DIR / f"{name}.ipynb", as_version=4)
    return notebook.cells[0].source.removeprefix("# ").strip()


@pytest.mark.parametrize("name", list(settings.VIEWS.values()))
def test_dashboard_page_renders_without_errors_or_source(server, name):
    status, page, headers = fetch(f"{base_url(server)}/voila/render/{name}.ipynb")
    assert status == 200
    assert _title(name) in page
    assert "application/vnd.jupyter.widget-view+json" in page  # the app's widget
    for text in CELL_ERRORS:
        assert text not in page, text
    for text in SOURCE_CODE:
        assert text not in page, text
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_a_page_loads_nothing_from_another_server(server):
    _, page, _ = fetch(f"{base_url(server)}/voila/render/gap.ipynb")
    addresses = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page)
    assert addresses, "no address found in the page"
    assert [a for a in addresses if re.match(r"(https?:)?//", a)] == []
    for cdn in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "unpkg.com", "fonts.googleapis"):
        assert cdn not in page, cdn


def test_a_deep_link_value_is_never_echoed_into_the_page(server):
    payload = "<script>alert('x')</script>"
    query = urllib.parse.urlencode({"area": payload})
    status, page, _ = fetch(f"{base_url(server)}/voila/render/omradesprofil.ipynb?{query}")
    assert status == 200
    assert payload not in page and "alert('x')" not in page
    for text in CELL_ERRORS:
        assert text not in page, text


def test_the_start_page_lists_the_dashboards(server):
    status, page, _ = fetch(f"{base_url(server)}/")
    assert status == 200
    assert "Voil" in page


def test_the_server_binds_to_localhost_only(server):
    others = {
        info[4][0]
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        if not info[4][0].startswith("127.")
    }
    if not others:
        pytest.skip("this machine has no address besides loopback to probe")
    for address in others:
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex((address, server.port)) != 0, address


# --------------------------------------------------------------------------------------------
# Kernel connections: a malformed frame or the older framing never stalls the server


def _shell(msg_type: str, content: dict, metadata: dict | None = None) -> dict:
    header = {"msg_id": uuid.uuid4().hex, "username": "test", "session": uuid.uuid4().hex,
              "msg_type": msg_type, "version": "5.3", "date": ""}  # fmt: skip
    return {"header": header, "parent_header": {}, "metadata": metadata or {},
            "content": content, "channel": "shell", "buffers": []}  # fmt: skip


async def _widget_states(base: str, kernel_id: str) -> dict:
    """Ask a page's kernel for its widgets' state over the older (JSON) framing."""
    url = f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels"
    connection = await websocket_connect(url, max_message_size=2**26)
    try:
        comm = uuid.uuid4().hex
        opening = _shell("comm_open", {"comm_id": comm, "target_name": "jupyter.widget.control",
                                       "data": {}}, {"version": "1.0.0"})  # fmt: skip
        connection.write_message(json.dumps(opening))
        await asyncio.sleep(1)
        request = _shell("comm_msg", {"comm_id": comm, "data": {"method": "request_states"}})
        connection.write_message(json.dumps(request))
        while True:
            frame = await asyncio.wait_for(connection.read_message(), 30)
            if isinstance(frame, bytes):  # widget data: [count][offsets][message][buffers]
                (count,) = struct.unpack("!I", frame[:4])
                first, second = struct.unpack("!2I", frame[4:12]) if count > 1 else (8, None)
                message = json.loads(frame[first:second])
                if message["content"]["data"].get("method") == "update_states":
                    return message["content"]["data"]["states"]
    finally:
        connection.close()


def test_a_client_on_the_older_framing_gets_the_widgets_and_the_server_stays_responsive(server):
    _, page, _ = fetch(f"{base_url(server)}/voila/render/omradesprofil.ipynb")
    kernel_id = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page).group(1)
    states = asyncio.run(_widget_states(base_url(server), kernel_id))
    assert any("ctc-chart" in s["state"].get("_dom_classes", ()) for s in states.values())
    start = time.monotonic()
    assert fetch(f"{base_url(server)}/", timeout=10)[0] == 200  # not stalled
    assert time.monotonic() - start < 5


def test_a_malformed_frame_closes_only_its_own_connection(server):
    _, page, _ = fetch(f"{base_url(server)}/voila/render/gap.ipynb")
    kernel_id = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page).group(1)

    async def send_bad_frame() -> int:
        """Messages received before the connection closed (None from read_message)."""
        url = f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels"
        connection = await websocket_connect(url, subprotocols=[V1_PROTOCOL])
        connection.write_message((2**60).to_bytes(8, "little") + b"x" * 8, binary=True)
        before = 0  # the kernel's status messages may already be on their way
        while await asyncio.wait_for(connection.read_message(), 20) is not None:
            before += 1
            assert before < 50, "the connection stayed open after a malformed frame"
        return before

    assert asyncio.run(send_bad_frame()) < 50  # closed
    assert psutil.Process(server.pid).memory_info().rss < 2**30
    assert fetch(f"{base_url(server)}/", timeout=10)[0] == 200


# --------------------------------------------------------------------------------------------
# The cap: a friendly "busy" page instead of one kernel more


def test_beyond_the_cap_a_visitor_gets_a_busy_page(tmp_path):
    with serve(tmp_path, preheat=False, max_kernels=1) as running:
        page = f"{base_url(running)}/voila/render/gap.ipynb"
        status, first, _ = fetch(page)
        assert status == 200 and "application/vnd.jupyter.widget-view+json" in first
        status, busy, headers = fetch(page)  # the first page's kernel still serves it
        assert status == 503 and headers["Retry-After"] == "20"
        assert "upptagna just nu" in busy and "busy right now" in busy
        assert "Försök igen" in busy and "<script" not in busy
        assert len(kernel_processes(running)) == 1


# --------------------------------------------------------------------------------------------
# Kernels are returned: issue 15's acceptance test


def _kernel_count(server) -> int:
    return len(kernel_processes(server))


def test_after_20_pages_without_a_connection_the_server_is_back_to_its_preheated_kernels(
    tmp_path,
):
    """20 page requests at once that never open the page's websocket (a script, a link preview,
    a closed tab): within 90 s of the last one the server holds its pre-heated kernels only."""
    with serve(tmp_path) as running:
        assert _kernel_count(running) == PREHEATED
        names = list(settings.VIEWS.values())
        pages = [
            f"{base_url(running)}/voila/render/{names[i % len(names)]}.ipynb" for i in range(20)
        ]
        peak, sampling = [PREHEATED], threading.Event()

        def watch() -> None:
            while not sampling.wait(0.5):
                peak.append(_kernel_count(running))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        with concurrent.futures.ThreadPoolExecutor(len(pages)) as pool:
            statuses = [status for status, _, _ in pool.map(fetch, pages)]
        done = time.monotonic()
        sampling.set()
        watcher.join()
        assert statuses == [200] * 20
        assert max(peak) >= PREHEATED + 10  # the pages did start kernels of their own
        while _kernel_count(running) > PREHEATED and time.monotonic() - done < 90:
            time.sleep(2)
        elapsed = time.monotonic() - done
        assert _kernel_count(running) == PREHEATED, f"{_kernel_count(running)} kernels after 90 s"
        print(f"peak {max(peak)} kernels, back to {PREHEATED} after {elapsed:.0f} s")


# --------------------------------------------------------------------------------------------
# The token


def test_a_token_is_required_never_on_a_command_line_and_never_in_a_kernel(tmp_path):
    with serve(tmp_path, token=TOKEN, pool_size=1) as running:
        path = "/voila/render/gap.ipynb"
        page = f"{base_url(running)}{path}"
        with urllib.request.urlopen(page, timeout=PAGE_TIMEOUT) as response:
            assert "/login" in response.geturl()  # sent to the login form
            assert "application/vnd.jupyter.widget-view+json" not in response.read().decode()
        # the first visit sets the login cookie (scripts cannot read it) and drops the token
        connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=PAGE_TIMEOUT)
        connection.request("GET", f"{path}?token={TOKEN}&area=lillby")
        answer = connection.getresponse()
        assert answer.status == 302 and answer.getheader("Location") == f"{path}?area=lillby"
        assert "httponly" in answer.getheader("Set-Cookie", "").lower()
        connection.close()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        with browser.open(f"{page}?token={TOKEN}&area=lillby", timeout=PAGE_TIMEOUT) as response:
            body = response.read().decode("utf-8")
            assert response.geturl() == f"{page}?area=lillby"
        assert "application/vnd.jupyter.widget-view+json" in body
        assert TOKEN not in body  # nothing on the page can read it
        tree = [psutil.Process(running.pid), *psutil.Process(running.pid).children(True)]
        assert all(TOKEN not in " ".join(p.cmdline()) for p in tree)
        kernels = kernel_processes(running)
        assert kernels and all(settings.ENV_TOKEN not in k.environ() for k in kernels)
        assert all(TOKEN not in " ".join(k.environ().values()) for k in kernels)


# --------------------------------------------------------------------------------------------
# `ctc dashboard` itself: ready before the addresses, and kill -9 takes Voilà with it


def test_ctc_dashboard_prints_when_ready_and_takes_voila_with_it_when_killed(tmp_path):
    reports, team = site(tmp_path)
    port = free_port()
    env = {**os.environ, settings.ENV_DATA: str(team), "PYTHONUNBUFFERED": "1"}
    env.pop(settings.ENV_TOKEN, None)
    command = [sys.executable, "-m", "ctc_helpers.cli", "dashboard", "--port", str(port),
               "--reports", str(reports)]  # fmt: skip
    ctc = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        lines = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not any("/voila/render/" in x for x in lines):
            line = ctc.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert any("/voila/render/" in x for x in lines), "".join(lines)
        voila = psutil.Process(ctc.pid).children()
        assert len(voila) == 1
        tree = voila[0].children(True)  # the kernels, and the fork server they come from
        assert len([p for p in tree if is_kernel(p)]) == PREHEATED
        start = time.monotonic()
        status, page, _ = fetch(f"http://127.0.0.1:{port}/voila/render/omradesprofil.ipynb")
        assert status == 200 and "application/vnd.jupyter.widget-view+json" in page
        assert time.monotonic() - start < 1.5  # pre-rendered: no kernel had to start
        os.kill(ctc.pid, signal.SIGKILL)
        ctc.wait(timeout=10)
        gone, alive = psutil.wait_procs([voila[0], *tree], timeout=30)
        assert alive == [], [p.pid for p in alive]
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing serves the port
    finally:
        if ctc.poll() is None:
            os.killpg(ctc.pid, signal.SIGKILL)
        ctc.stdout.close()
