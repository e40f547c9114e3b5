"""HTTP smoke test of a running Voilà: every dashboard renders, without cell errors or source code.

The server is started exactly as ``ctc dashboard`` starts it (pre-heated kernels, sources
stripped, tracebacks hidden) on a free port, on a small fake published folder, and is always
stopped at the end.
"""

from __future__ import annotations

import html
import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest

from ctc_helpers.dashboard import server as dashboard
from tests.fake_published import write_fake_published

pytestmark = pytest.mark.slow

START_TIMEOUT = 120  # seconds: a busy 2-core machine starts four pre-heated kernels
PAGE_TIMEOUT = 180
TITLES = {
    "omradesprofil": "Områdesprofil · Area profile",
    "prioritering": "Prioritering · Prioritisation",
    "gap": "Gap · Gaps",
    "uppfoljning": "Uppföljning · Follow-up",
}
CELL_ERRORS = (
    "There was an error when executing cell",
    "ExecutionError",
    "Traceback",
    "Cell execution timed out",
    "application/vnd.jupyter.stderr",
    "An exception occurred at the server",
)
SOURCE_CODE = ("import ctc_helpers", "from ctc_helpers", 'app("')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("dash_http")
    write_fake_published(root / "reports" / "2025" / "data")
    (root / "team").mkdir()
    port = free_port()
    with (root / "voila.log").open("w") as log:
        process = dashboard.start_voila(
            port=port, reports_dir=root / "reports", data_dir=root / "team", log=log
        )
        try:
            base = f"http://127.0.0.1:{port}"
            if not dashboard.wait_for_http(f"{base}/", timeout=START_TIMEOUT, process=process):
                pytest.fail(f"Voilà did not start:\n{(root / 'voila.log').read_text()[-3000:]}")
            yield {"base": base, "log": root / "voila.log"}
        finally:
            dashboard.stop_voila(process)
    assert process.poll() is not None


def fetch(url: str) -> tuple[int, str]:
    """Status and page text (HTML entities decoded, so escaped source would be found too)."""
    try:
        with urllib.request.urlopen(url, timeout=PAGE_TIMEOUT) as response:
            return response.status, html.unescape(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        return error.code, html.unescape(error.read().decode("utf-8", "replace"))


@pytest.mark.parametrize("name", list(dashboard.VIEWS.values()))
def test_dashboard_page_renders_without_errors_or_source(server, name):
    status, page = fetch(f"{server['base']}/voila/render/{name}.ipynb")
    assert status == 200
    assert TITLES[name] in page  # the notebook's Markdown title
    assert "application/vnd.jupyter.widget-view+json" in page  # the app's widget
    for text in CELL_ERRORS:
        assert text not in page, text
    for text in SOURCE_CODE:
        assert text not in page, text


def test_a_deep_link_value_is_never_echoed_into_the_page(server):
    payload = "<script>alert('x')</script>"
    query = urllib.parse.urlencode({"area": payload})
    status, page = fetch(f"{server['base']}/voila/render/omradesprofil.ipynb?{query}")
    assert status == 200
    assert payload not in page and "alert('x')" not in page
    for text in CELL_ERRORS:
        assert text not in page, text


def test_the_start_page_lists_the_dashboards(server):
    status, page = fetch(f"{server['base']}/")
    assert status == 200
    assert "Voil" in page


def test_the_server_binds_to_localhost_only(server):
    port = int(server["base"].rsplit(":", 1)[1])
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
            assert probe.connect_ex((address, port)) != 0, address


@pytest.fixture(scope="module")
def server_with_token(tmp_path_factory):
    root = tmp_path_factory.mktemp("dash_token")
    write_fake_published(root / "reports" / "2025" / "data")
    port = free_port()
    with (root / "voila.log").open("w") as log:
        process = dashboard.start_voila(
            port=port, reports_dir=root / "reports", token="s3cret-token", preheat=False, log=log
        )
        try:
            base = f"http://127.0.0.1:{port}"
            ready = f"{base}/?token=s3cret-token"
            if not dashboard.wait_for_http(ready, timeout=START_TIMEOUT, process=process):
                pytest.fail(f"Voilà did not start:\n{(root / 'voila.log').read_text()[-3000:]}")
            yield base
        finally:
            dashboard.stop_voila(process)


def test_a_token_is_required_when_given(server_with_token):
    page_url = f"{server_with_token}/voila/render/gap.ipynb"
    with urllib.request.urlopen(page_url, timeout=PAGE_TIMEOUT) as response:
        assert "/login" in response.geturl()  # sent to the login form
        assert "application/vnd.jupyter.widget-view+json" not in response.read().decode()
    status, page = fetch(f"{page_url}?token=s3cret-token")
    assert status == 200 and "application/vnd.jupyter.widget-view+json" in page
