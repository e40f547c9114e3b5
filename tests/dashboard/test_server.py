"""The dashboard server without starting it: its command line, environment, token, the order of
start-up, the busy page and the kernels' rules (cap, orphans, idle pages)."""

from __future__ import annotations

import asyncio
from argparse import Namespace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

from ctc_helpers.cli import build_parser
from ctc_helpers.dashboard import server as dashboard
from ctc_helpers.dashboard import settings
from ctc_helpers.dashboard.kernels import ADMISSION, DashboardKernelManager
from ctc_helpers.dashboard.voila_app import busy_page, reload_texts
from ctc_helpers.errors import ConfigError, InputFileError
from tests.fake_published import write_fake_published

TOKEN = "k3Xq9-long-enough-secret"


@pytest.fixture
def reports(tmp_path):
    write_fake_published(tmp_path / "reports" / "2025" / "data")
    return tmp_path / "reports"


def test_the_command_line_carries_the_settings_but_never_a_token():
    command = dashboard.voila_command(port=8899, max_kernels=7, idle_timeout=300, lang="en")
    assert command[1:4] == ["-m", "ctc_helpers.dashboard.voila_app", str(settings.DASHBOARD_DIR)]
    for option in (
        "--port=8899", "--ip=127.0.0.1", "--lang=en", "--pool-size=1", "--max-kernels=7",
        "--idle-timeout=300.0", f"--orphan-timeout={float(settings.ORPHAN_TIMEOUT)}",
        f"--cull-interval={settings.CULL_INTERVAL}", f"--cell-timeout={settings.CELL_TIMEOUT}",
    ):  # fmt: skip
        assert option in command
    assert not any("token" in part for part in command)
    assert "--pool-size=0" in dashboard.voila_command(port=1, preheat=False)


def test_the_token_travels_in_the_environment_only_when_given(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.ENV_TOKEN, "inherited-from-the-shell")
    env = dashboard.dashboard_env(reports_dir=tmp_path, lang="en", data_dir=tmp_path / "team")
    assert settings.ENV_TOKEN not in env  # only an explicit token reaches the server
    assert env["CTC_REPORTS_DIR"] == str(tmp_path.resolve()) and env["CTC_LANG"] == "en"
    assert env["CTC_DATA_DIR"] == str((tmp_path / "team").resolve())
    env = dashboard.dashboard_env(reports_dir=tmp_path, ip="0.0.0.0", token=TOKEN)
    assert env[settings.ENV_TOKEN] == TOKEN and env["VOILA_APP_IP"] == "127.0.0.1"


def test_the_token_comes_from_a_file_or_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(settings.ENV_TOKEN, raising=False)
    assert dashboard.read_token(None) is None  # no token: none required
    monkeypatch.setenv(settings.ENV_TOKEN, f"  {TOKEN}\n")
    assert dashboard.read_token(None) == TOKEN
    path = tmp_path / "token.txt"
    path.write_text(f"{TOKEN}-from-file\nsecond line ignored\n", encoding="utf-8")
    path.chmod(0o600)
    assert dashboard.read_token(path) == f"{TOKEN}-from-file"  # the file wins
    assert capsys.readouterr().err == ""
    path.chmod(0o644)
    dashboard.read_token(path, "en")
    assert f"other users of the computer can read the token file {path}" in capsys.readouterr().err


def test_a_short_or_unreadable_token_is_refused_with_its_source(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.ENV_TOKEN, "abc")
    with pytest.raises(ConfigError, match=r"CTC_DASHBOARD_TOKEN är för kort \(3 tecken\)"):
        dashboard.read_token(None, "sv")
    missing = tmp_path / "nowhere.txt"
    with pytest.raises(ConfigError, match=f"token file {missing} cannot be read"):
        dashboard.read_token(missing, "en")


def test_a_token_on_the_command_line_is_refused(reports):
    args = build_parser().parse_args(["dashboard", "--token", TOKEN, "--reports", str(reports)])
    with pytest.raises(ConfigError, match="CTC_DASHBOARD_TOKEN") as caught:
        dashboard.command_dashboard(args)
    assert "--token-file" in str(caught.value) and "(ps)" in str(caught.value)


def test_command_dashboard_refuses_without_published_folder(tmp_path):
    args = Namespace(port=8866, reports=tmp_path, token_file=None, ip="127.0.0.1", lang="sv")
    with pytest.raises(InputFileError, match="Kör först make run"):
        dashboard.command_dashboard(args)


class _FakeServer:
    """What command_dashboard sees of a server: it records the order of events and whether
    the addresses were already printed (``printed()``) at each."""

    def __init__(self, events: list, printed=lambda: False, ready=True, exited=False):
        self.events, self.printed, self.ready, self.pid = events, printed, ready, 0
        self.process = SimpleNamespace(wait=self._wait, poll=lambda: 1 if exited else None)
        self.parent_fd = self.ready_fd = None

    def wait_ready(self, timeout=None):
        self.events.append(("ready", self.printed()))
        return self.ready

    def _wait(self):
        self.events.append(("served", self.printed()))
        return 0

    def log_tail(self, characters=3000):
        return "OSError: [Errno 98] Address already in use"


def _run(arguments: list[str], monkeypatch, capsys, **environment) -> tuple[list, dict, str]:
    """Run ``ctc dashboard`` over a fake server: (events, start_voila's arguments, output)."""
    events: list = []
    started: dict = {}
    output: list[str] = []

    def printed() -> bool:
        output.append(capsys.readouterr().out)
        return "/voila/render/" in "".join(output)

    def start(**kwargs):
        started.update(kwargs)
        return _FakeServer(events, printed)

    monkeypatch.setattr(dashboard, "start_voila", start)
    monkeypatch.setattr(dashboard, "stop_voila", lambda server: events.append(("stopped", None)))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert dashboard.command_dashboard(build_parser().parse_args(arguments)) == 0
    output.append(capsys.readouterr().out)
    return events, started, "".join(output)


def test_the_addresses_are_printed_after_pre_heating(reports, monkeypatch, capsys):
    events, started, out = _run(
        ["dashboard", "--port", "8877", "--reports", str(reports), "--max-kernels", "5",
         "--idle-minutes", "2", "--ip", "0.0.0.0"],
        monkeypatch, capsys, **{settings.ENV_TOKEN: TOKEN},
    )  # fmt: skip
    assert events == [("ready", False), ("served", True), ("stopped", None)]
    assert started["token"] == TOKEN and started["max_kernels"] == 5
    assert started["idle_timeout"] == 120.0 and started["ip"] == "0.0.0.0"
    assert out.index("förvärmer en kärna per panel") < out.index("/voila/render/")
    assert f"http://127.0.0.1:8877/voila/render/uppfoljning.ipynb?token={TOKEN}" in out
    assert "?area=" in out and "Ctrl+C" in out and "utan token" not in out


def test_serving_beyond_this_computer_without_token_is_warned_about(reports, monkeypatch, capsys):
    monkeypatch.delenv(settings.ENV_TOKEN, raising=False)
    _, started, out = _run(
        ["dashboard", "--reports", str(reports), "--ip", "0.0.0.0", "--lang", "en"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert started["token"] is None
    assert "http://127.0.0.1:8866/voila/render/omradesprofil.ipynb\n" in out  # no token
    assert "without a token" in out and "CTC_DASHBOARD_TOKEN" in out


def test_a_server_that_does_not_start_says_why(reports, monkeypatch):
    monkeypatch.setattr(
        dashboard, "start_voila", lambda **kwargs: _FakeServer([], ready=False, exited=True)
    )
    monkeypatch.setattr(dashboard, "stop_voila", lambda server: None)
    args = build_parser().parse_args(["dashboard", "--reports", str(reports), "--lang", "en"])
    with pytest.raises(ConfigError, match="could not be started") as caught:
        dashboard.command_dashboard(args)
    assert "Address already in use" in str(caught.value)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.urls = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href")]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_busy_page_speaks_both_languages_and_runs_nothing(lang):
    page = busy_page(lang)
    first, second = ("Försök igen", "Try again") if lang == "sv" else ("Try again", "Försök igen")
    assert page.index(first) < page.index(second)
    assert "upptagna just nu" in page and "busy right now" in page
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and parser.urls == ["", ""]  # "try again": this page again


def test_the_reload_notice_has_both_languages():
    texts = reload_texts("en")
    assert texts["default"] == "en"
    assert texts["sv"]["button"] == "Ladda om sidan" and texts["en"]["button"] == "Reload the page"


# --------------------------------------------------------------------------------------------
# The kernels' rules, on a manager whose kernels are stand-ins


class _Manager(DashboardKernelManager):
    """The rules of DashboardKernelManager over stand-in kernels and pools."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kernels: dict[str, SimpleNamespace] = {}
        self.connections: dict[str, int] = {}
        self.pool = 0

    def list_kernel_ids(self):
        return list(self.kernels)

    def __contains__(self, kernel_id):
        return kernel_id in self.kernels

    def get_kernel(self, kernel_id):
        return self.kernels[kernel_id]

    def kernel_model(self, kernel_id):
        return {"connections": self.connections.get(kernel_id, 0)}

    def get_pool_size(self, notebook_name):
        return self.pool if notebook_name == "omradesprofil.ipynb" else 0


def _kernel(state="idle", seconds_ago=0.0):
    return SimpleNamespace(
        execution_state=state, last_activity=datetime.now(UTC) - timedelta(seconds=seconds_ago)
    )


def test_the_cap_counts_pages_not_preheated_kernels():
    manager = _Manager(max_kernels=2)
    manager.kernels = {"pool": _kernel(), "a": _kernel()}
    manager.pool = 1  # "pool" waits for a visitor: it does not count
    assert manager.serving() == 1
    first = manager.admit()
    assert first is not None and manager.serving() == 2  # reserved until its kernel starts
    assert manager.admit() is None  # full: the page gets "busy, try again"
    manager.release(first)  # the page took a pre-heated kernel, or failed
    manager.release(first)  # twice is harmless
    assert manager.serving() == 1 and manager.admit() is not None


def test_a_visitors_kernel_takes_its_pages_reservation(monkeypatch):
    manager = _Manager(max_kernels=3)
    started = []

    async def start(self, *, kernel_name=None, **kwargs):
        assert self.serving() == len(started) + 1 + (0 if started else 1)  # starting counts
        started.append(kwargs["env"]["VOILA_PREHEAT"])
        self.kernels[f"k{len(started)}"] = _kernel()
        return f"k{len(started)}"

    monkeypatch.setattr(AsyncMappingKernelManager, "start_kernel", start)
    admission = manager.admit()

    async def page() -> None:
        ADMISSION.set(admission)
        await manager.start_kernel(kernel_name="ctc", env={"VOILA_PREHEAT": "True"})
        assert not admission.taken  # a pre-heated kernel never takes a page's place
        await manager.start_kernel(kernel_name="ctc", env={"VOILA_PREHEAT": "False"})
        assert admission.taken

    asyncio.run(page())
    assert started == ["True", "False"]
    assert manager.serving() == 2  # two kernels, no reservation left


@pytest.mark.parametrize(
    ("state", "connections", "seconds_ago", "reason"),
    [
        ("idle", 0, settings.ORPHAN_TIMEOUT + 1, "orphan"),  # never connected, or tab closed
        ("idle", 0, settings.ORPHAN_TIMEOUT - 5, ""),
        ("busy", 0, settings.ORPHAN_TIMEOUT + 100, ""),  # its page is still being drawn
        ("idle", 1, settings.ORPHAN_TIMEOUT + 100, ""),  # someone is looking at it
        ("idle", 1, settings.IDLE_TIMEOUT + 1, "idle"),  # ... but has not used it for long
        ("dead", 1, 0, "dead"),
    ],
)
def test_kernels_are_returned_by_the_rules(state, connections, seconds_ago, reason):
    manager = _Manager()
    manager.kernels = {"k": _kernel(state, seconds_ago)}
    manager.connections = {"k": connections}
    assert manager.cull_reason("k") == reason


def test_a_delivered_page_starts_its_orphan_time_afresh():
    manager = _Manager()
    manager.kernels = {"k": _kernel("idle", 3600)}  # pre-heated an hour ago
    assert manager.cull_reason("k") == "orphan"
    manager.page_delivered("k")  # just handed to a visitor whose browser is connecting
    assert manager.cull_reason("k") == ""
