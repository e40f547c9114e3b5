"""Load on the dashboard server: many viewers open a dashboard within a minute, read, and leave.

Starts the dashboards as ``ctc dashboard`` does (pre-heated kernels, the kernel cap, orphan and
idle rules) on 127.0.0.1, waits until the pre-heated kernels have run, and measures the memory of
the server's process tree at rest (the baseline). Then a bounded number of simulated viewers
arrive, evenly spread over ``--arrival`` seconds, each on one of the four dashboards (in turn)
with a deep link to an area (in turn). A viewer does what the browser does:

1. asks for the page (``GET /voila/render/<dashboard>.ipynb?area=...``); a "busy, try again"
   answer (HTTP 503) is counted as such;
2. opens the page's kernel connection (websocket) and asks for the state of every widget, as
   the page's widget manager does; **first render** is the time from the request until that
   state (chart PNG, tables) has arrived: the page could draw now (the browser's own drawing,
   about 1 s, is not included);
3. chooses another area once (``--interact``) and times until the new chart arrives (redraw);
4. stays ``--dwell`` seconds with the connection open, then closes it and leaves.

Memory is sampled every 2 s over the whole process tree (the Voilà server and its kernels) with
psutil: PSS (proportional set size: a page shared by several processes, such as the Python
libraries, is divided among them; the sum is what the tree costs the machine) and RSS (each
process's resident memory counted in full, so shared pages count once per process: an upper
bound). After the last viewer has left, the benchmark waits up to ``--recovery`` seconds for the
tree to come back to its pre-heated kernels and baseline memory (PSS within 10 %).

Goals (issue 15, on the 2-core machine): 50 viewers within a minute stay under 8 GB with p95
first render <= 6 s, and memory is back to the pre-heated baseline within 2 minutes after they
leave. Everything runs on loopback and stops by itself (a hard deadline ends the run).

Usage::

    .venv/bin/python benchmarks/dashboard_load.py [--viewers 50] [--arrival 60] [--dwell 60]
        [--recovery 120] [--max-kernels N] [--reports reports]

Without a published folder in ``reports/`` (or ``--reports``), the demo city's is built in a
temporary folder first (publish.build; about half a minute with the cache). Not run as a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ctc_helpers.dashboard import server as dashboard  # noqa: E402
from ctc_helpers.dashboard.data import load_dashboard_data, published_folders  # noqa: E402
from ctc_helpers.dashboard.settings import KERNEL_PROCESS_NAME, VIEWS  # noqa: E402
from ctc_helpers.dashboard.websocket import V1_PROTOCOL  # noqa: E402

GOAL_MEMORY_GB, GOAL_P95, GOAL_RECOVERY = 8.0, 6.0, 120.0
SAMPLE_SECONDS = 2.0
CONTROL_PROTOCOL = "1.0.0"  # ipywidgets' widget control protocol (request_states)
PAGE_TIMEOUT = 180.0
_KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


@dataclass
class Viewer:
    """What one simulated viewer saw."""

    number: int
    dashboard: str
    outcome: str = "pending"  # rendered, busy, failed
    stage: str = "page"  # page, connection, widgets, redraw, reading
    preheated: bool = False  # the page came from a pre-heated kernel (it was already drawn)
    page_seconds: float | None = None
    first_render: float | None = None
    redraw: float | None = None
    problem: str = ""


@dataclass
class Memory:
    """Samples of the server's process tree: (seconds, PSS bytes, RSS bytes, kernels)."""

    samples: list[tuple[float, int, int, int]] = field(default_factory=list)

    def peak(self, index: int) -> int:
        return max(s[index] for s in self.samples)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _reports(chosen: Path | None, scratch: Path) -> Path:
    candidate = chosen or REPO / "reports"
    if published_folders(candidate):
        return candidate
    from ctc_helpers.config.run import load_run_config
    from ctc_helpers.publish.build import prepare_waves

    print(f"No published folder in {candidate}: building the demo city's in {scratch} ...")
    config = replace(load_run_config(), output_dir=scratch / "reports")
    prepare_waves(config, waves=[2023, 2025])
    return scratch / "reports"


def tree_memory(pid: int) -> tuple[int, int, int]:
    """(PSS, RSS, kernels) of the process ``pid`` and its descendants."""
    pss = rss = kernels = 0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = process.memory_full_info()
            pss, rss = pss + info.pss, rss + info.rss
            kernels += process.name() == KERNEL_PROCESS_NAME or "ipykernel" in " ".join(
                process.cmdline()
            )
    return pss, rss, kernels


async def sample(pid: int, memory: Memory, start: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        pss, rss, kernels = await asyncio.to_thread(tree_memory, pid)
        memory.samples.append((time.monotonic() - start, pss, rss, kernels))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)


# --------------------------------------------------------------------------------------------
# One viewer: the page, its kernel connection, the widgets' state


def _message(msg_type: str, content: dict, session: str, metadata: dict | None = None) -> bytes:
    """A shell message in Jupyter's v1 websocket framing (what browsers use)."""
    header = {"msg_id": uuid.uuid4().hex, "username": "viewer", "session": session,
              "msg_type": msg_type, "version": "5.3", "date": ""}  # fmt: skip
    parts = [header, {}, metadata or {}, content]
    return serialize_msg_to_ws_v1([json.dumps(p).encode() for p in parts], "shell")


def _msg_id(frame: bytes) -> str:
    return _decode(frame)["header"]["msg_id"]


def _decode(frame: bytes) -> dict:
    """A kernel message from a v1 websocket frame (its buffers are not needed here)."""
    channel, parts = deserialize_msg_from_ws_v1(frame)
    header, parent, metadata, content = (json.loads(p) for p in parts[:4])
    return {"channel": channel, "header": header, "parent_header": parent,
            "metadata": metadata, "content": content}  # fmt: skip


async def _until(connection, predicate, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        frame = await asyncio.wait_for(connection.read_message(), left)
        if frame is None:
            raise ConnectionError("the kernel connection closed")
        message = _decode(frame)
        if predicate(message):
            return message
    raise TimeoutError("no answer in time")


def _is_done(message: dict, msg_id: str) -> bool:
    """The kernel has handled the message ``msg_id`` (its status went back to idle)."""
    return (
        message.get("channel") == "iopub"
        and message["header"]["msg_type"] == "status"
        and message["content"].get("execution_state") == "idle"
        and message.get("parent_header", {}).get("msg_id") == msg_id
    )


def _comm_data(message: dict) -> dict:
    if message["header"]["msg_type"] != "comm_msg":
        return {}
    return message["content"].get("data", {})


def _widget(states: dict, css_class: str) -> str | None:
    for model_id, entry in states.items():
        if css_class in entry.get("state", {}).get("_dom_classes", ()):
            return model_id
    return None


async def visit(viewer: Viewer, base: str, path: str, link: int, args: argparse.Namespace) -> None:
    session = uuid.uuid4().hex
    start = time.monotonic()
    try:
        response = await AsyncHTTPClient().fetch(
            HTTPRequest(f"{base}{path}", request_timeout=PAGE_TIMEOUT)
        )
    except HTTPClientError as error:
        viewer.outcome = "busy" if error.code == 503 else "failed"
        viewer.problem = f"HTTP {error.code}"
        return
    viewer.page_seconds, viewer.stage = time.monotonic() - start, "connection"
    viewer.preheated = response.request_time is not None and response.request_time < 0.2
    found = _KERNEL_ID.search(response.body.decode("utf-8"))
    if found is None:
        viewer.outcome, viewer.problem = "failed", "no kernel id in the page"
        return
    url = f"{base.replace('http', 'ws', 1)}/api/kernels/{found.group(1)}/channels?session_id={session}"
    connection = await websocket_connect(
        url, max_message_size=64 * 2**20, subprotocols=[V1_PROTOCOL]
    )
    viewer.stage = "widgets"
    try:
        control = uuid.uuid4().hex
        opening = _message(
            "comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
            session, metadata={"version": CONTROL_PROTOCOL})  # fmt: skip
        connection.write_message(opening, binary=True)
        opened = _msg_id(opening)
        await _until(connection, lambda m: _is_done(m, opened), PAGE_TIMEOUT)
        connection.write_message(_message(
            "comm_msg", {"comm_id": control, "data": {"method": "request_states"}}, session),
            binary=True)  # fmt: skip
        reply = await _until(
            connection, lambda m: _comm_data(m).get("method") == "update_states", PAGE_TIMEOUT
        )
        viewer.first_render, viewer.outcome = time.monotonic() - start, "rendered"
        if args.interact:
            viewer.stage = "redraw"
            viewer.redraw = await _choose_another_area(connection, reply, session, link)
        viewer.stage = "reading"
        await asyncio.sleep(max(0.0, args.dwell - (time.monotonic() - start)))
    finally:
        connection.close()


async def _choose_another_area(connection, reply: dict, session: str, link: int) -> float | None:
    """Choose an area that is neither the one shown nor the link's (a pre-heated kernel may
    still be switching to the link's area); seconds until the new chart arrives."""
    states = _comm_data(reply)["states"]
    area, chart = _widget(states, "ctc-area"), _widget(states, "ctc-chart")
    if area is None or chart is None:
        return None
    choices = len(states[area]["state"].get("_options_labels", ())) or 3
    shown = {states[area]["state"].get("index") or 0, link % choices}
    index = next(i for i in range(choices) if i not in shown)
    start = time.monotonic()
    connection.write_message(_message("comm_msg", {"comm_id": area, "data": {
        "method": "update", "state": {"index": index}, "buffer_paths": []}},
        session), binary=True)  # fmt: skip
    await _until(
        connection,
        lambda m: m["content"].get("comm_id") == chart and _comm_data(m).get("method") == "update",
        PAGE_TIMEOUT,
    )
    return time.monotonic() - start


async def crowd(base: str, areas: list[str], args: argparse.Namespace) -> list[Viewer]:
    """The viewers, arriving evenly over ``args.arrival`` seconds."""
    names = list(VIEWS.values())
    viewers = [Viewer(i, names[i % len(names)]) for i in range(args.viewers)]

    async def one(viewer: Viewer) -> None:
        await asyncio.sleep(viewer.number * args.arrival / max(1, args.viewers))
        link = viewer.number % len(areas)
        path = f"/voila/render/{viewer.dashboard}.ipynb?area={areas[link]}"
        try:
            await visit(viewer, base, path, link, args)
        except Exception as error:  # noqa: BLE001 - every failure is counted and named
            if viewer.outcome == "pending":
                viewer.outcome = "failed"
            viewer.problem = viewer.problem or f"{type(error).__name__} ({viewer.stage}) {error}"

    await asyncio.gather(*(one(v) for v in viewers))
    return viewers


# --------------------------------------------------------------------------------------------
# The run


async def run(server: dashboard.DashboardServer, base: str, areas: list[str], args) -> int:
    memory, start, stop = Memory(), time.monotonic(), asyncio.Event()
    AsyncHTTPClient.configure(None, max_clients=args.viewers + 5)
    await asyncio.sleep(args.settle)  # the pre-heated kernels come to rest
    baseline = await asyncio.to_thread(tree_memory, server.pid)
    print(
        f"baseline: {baseline[2]} pre-heated kernels, PSS {_gb(baseline[0])}, RSS {_gb(baseline[1])}"
    )
    sampler = asyncio.create_task(sample(server.pid, memory, start, stop))
    print(
        f"{args.viewers} viewers arrive over {args.arrival:.0f} s and stay {args.dwell:.0f} s ..."
    )
    viewers = await crowd(base, areas, args)
    left = time.monotonic() - start
    recovered = None
    while time.monotonic() - start - left < args.recovery:
        pss, _, kernels = await asyncio.to_thread(tree_memory, server.pid)
        if kernels <= baseline[2] and pss <= 1.10 * baseline[0]:
            recovered = time.monotonic() - start - left
            break
        await asyncio.sleep(SAMPLE_SECONDS)
    stop.set()
    await sampler
    return report(viewers, memory, baseline, recovered, args)


def _gb(value: float) -> str:
    return f"{value / 1e9:.2f} GB"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(viewers: list[Viewer], memory: Memory, baseline, recovered, args) -> int:
    rendered = [v for v in viewers if v.outcome == "rendered"]
    busy = [v for v in viewers if v.outcome == "busy"]
    failed = [v for v in viewers if v.outcome not in ("rendered", "busy")]
    times = [v.first_render for v in rendered]
    redraws = [v.redraw for v in rendered if v.redraw is not None]
    print()
    print(f"viewers: {len(viewers)}; dashboard shown {len(rendered)}, busy page {len(busy)},"
          f" failed {len(failed)}")  # fmt: skip
    for viewer in failed[:5]:
        print(f"  failed: viewer {viewer.number} ({viewer.dashboard}): {viewer.problem}")
    p95 = _quantile(times, 0.95) if times else float("nan")
    if times:
        print(f"first render: p50 {statistics.median(times):.2f} s, p95 {p95:.2f} s,"
              f" max {max(times):.2f} s (n={len(times)})")  # fmt: skip
    slowest = sorted(rendered, key=lambda v: v.first_render, reverse=True)[:5]
    print("slowest: " + "; ".join(
        f"{v.dashboard} #{v.number} {v.first_render:.1f} s (page {v.page_seconds:.1f} s,"
        f" {'pre-heated' if v.preheated else 'new kernel'})" for v in slowest))  # fmt: skip
    if redraws:
        print(f"another area: p50 {statistics.median(redraws):.2f} s,"
              f" p95 {_quantile(redraws, 0.95):.2f} s (n={len(redraws)})")  # fmt: skip
    peak_pss, peak_rss, peak_kernels = memory.peak(1), memory.peak(2), memory.peak(3)
    print(f"memory of the server's process tree: peak PSS {_gb(peak_pss)}, peak RSS"
          f" {_gb(peak_rss)}, at most {peak_kernels} kernels; baseline PSS {_gb(baseline[0])}")  # fmt: skip
    back = f"{recovered:.0f} s" if recovered is not None else f"not within {args.recovery:.0f} s"
    print(
        f"back to {baseline[2]} pre-heated kernels and baseline memory after the last viewer left: {back}"
    )
    goals = {
        f"memory under {GOAL_MEMORY_GB:.0f} GB (PSS)": peak_pss < GOAL_MEMORY_GB * 1e9,
        f"memory under {GOAL_MEMORY_GB:.0f} GB (RSS, shared pages counted per process)":
            peak_rss < GOAL_MEMORY_GB * 1e9,
        f"p95 first render <= {GOAL_P95:.0f} s": bool(times) and p95 <= GOAL_P95,
        "every viewer got the dashboard (no busy page, no failure)": len(rendered) == len(viewers),
        f"back to baseline within {GOAL_RECOVERY:.0f} s": recovered is not None
            and recovered <= GOAL_RECOVERY,
    }  # fmt: skip
    for goal, holds in goals.items():
        print(f"goal {goal}: {'holds' if holds else 'MISSED'}")
    return 0 if not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=None)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--arrival", type=float, default=60.0, help="seconds over which they come")
    parser.add_argument("--dwell", type=float, default=60.0, help="seconds each viewer stays")
    parser.add_argument("--recovery", type=float, default=120.0, help="seconds to wait after")
    parser.add_argument("--settle", type=float, default=10.0, help="rest before the baseline")
    parser.add_argument("--max-kernels", type=int, default=None, help="the server's cap")
    parser.add_argument("--no-interact", dest="interact", action="store_false")
    parser.add_argument("--server-log", type=Path, default=None, help="keep Voilà's log here")
    args = parser.parse_args(argv)
    if not 1 <= args.viewers <= 200:
        parser.error("--viewers must be between 1 and 200")
    deadline = 600 + args.arrival + args.dwell + args.recovery + args.settle
    options = {} if args.max_kernels is None else {"max_kernels": args.max_kernels}
    with tempfile.TemporaryDirectory() as scratch:
        reports = _reports(args.reports, Path(scratch))
        data = load_dashboard_data(reports)
        areas = [str(a) for a in data.areas["area_id"]]
        port = _free_port()
        log_path = args.server_log or Path(scratch) / "voila.log"
        with log_path.open("w") as log:
            server = dashboard.start_voila(port=port, reports_dir=reports, log=log, **options)
            try:
                started = time.monotonic()
                if not server.wait_ready(timeout=300):
                    print(server.log_tail())
                    return 1
                print(f"server ready after {time.monotonic() - started:.0f} s (published data:"
                      f" {reports}, {len(areas)} areas)")  # fmt: skip
                base = f"http://127.0.0.1:{port}"
                return asyncio.run(
                    asyncio.wait_for(run(server, base, areas, args), timeout=deadline)
                )
            finally:
                dashboard.stop_voila(server)


if __name__ == "__main__":
    sys.exit(main())
