"""The report runner: warm worker processes, one forked process per report, time limits, and a
worker that dies or cannot start."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from ctc_helpers.batch import execute
from ctc_helpers.batch.execute import ReportWorkers, stop_running_reports

TEST_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks" / "tests"


def _spec(out: Path, area: str, notebook: str = "tiny", **changes) -> dict:
    folder = out / area
    return {
        "area": area, "wave": 2025, "phase": notebook, "key": area,
        "notebook": str(TEST_NOTEBOOKS / f"{notebook}.ipynb"),
        "output_ipynb": str(folder / f"{notebook}.ipynb"),
        "output_html": str(folder / f"{notebook}.html"),
        "parameters": {"area": area, "output_dir": str(folder)},
        "kernel": "ctc", "timeout": 60, "lang": "sv", "title": notebook,
        "work_dir": str(out / ".ctc-partial"),
        **changes,
    }  # fmt: skip


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_reports_share_a_warm_worker_and_each_runs_in_a_fresh_process(tmp_path: Path) -> None:
    with ReportWorkers() as workers:
        first = workers.run(_spec(tmp_path, "norr"), wall_timeout=60)
        server = next(iter(workers._workers)).proc.pid
        second = workers.run(_spec(tmp_path, "syd"), wall_timeout=60)
        assert len(workers._workers) == 1
    assert first["status"] == second["status"] == "ok", (first, second)
    assert first["cpu_seconds"] > 0 and 0 < second["execute_seconds"] < second["seconds"]
    assert first["seconds"] < 30 and not _running(server)  # stopped with the context
    for area in ("norr", "syd"):
        assert (tmp_path / area / "tiny.html").is_file()
    assert list((tmp_path / ".ctc-partial").iterdir()) == []  # job folders removed


@pytest.mark.slow
def test_the_time_limit_counts_from_the_reports_start(tmp_path: Path) -> None:
    with ReportWorkers() as workers:
        result = workers.run(_spec(tmp_path, "hang-x"), wall_timeout=4)
    assert result["status"] == "timeout" and result["message"] == "stopped after 4 s"
    assert 4 <= result["seconds"] < 4 + 3  # the worker's own start is not counted
    kernel = int((tmp_path / "hang-x" / "kernel.pid").read_text())
    assert not _running(kernel)
    assert not (tmp_path / "hang-x" / "tiny.html").exists()


@pytest.mark.slow
def test_a_worker_that_dies_fails_its_report_and_is_replaced(tmp_path: Path) -> None:
    with ReportWorkers() as workers:
        workers.run(_spec(tmp_path, "norr"), wall_timeout=60)  # starts the worker
        server = next(iter(workers._workers)).proc.pid

        def kill_when_the_kernel_runs() -> None:
            pid_file = tmp_path / "hang-y" / "kernel.pid"
            deadline = time.monotonic() + 60
            while not pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            os.kill(server, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_the_kernel_runs)
        killer.start()
        lost = workers.run(_spec(tmp_path, "hang-y"), wall_timeout=60)
        killer.join()
        again = workers.run(_spec(tmp_path, "syd"), wall_timeout=60)
    assert lost["status"] == "failed" and lost["message"].startswith("report worker stopped")
    assert lost["seconds"] < 30
    assert again["status"] == "ok", again
    time.sleep(1)  # the orphaned report process notices its parent is gone (5 checks a second)
    kernel = int((tmp_path / "hang-y" / "kernel.pid").read_text())
    deadline = time.monotonic() + 5
    while _running(kernel) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(kernel)


def test_a_worker_that_cannot_start_fails_the_report(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(execute, "_WORKER_MODULE", "ctc_helpers.batch.no_such_module")
    with ReportWorkers() as workers:
        result = workers.run(_spec(tmp_path, "norr"), wall_timeout=60)
        assert workers._workers == set()  # nothing left running
    assert result["status"] == "failed" and result["area"] == "norr"
    assert result["message"].startswith("report worker did not start:")
    assert "No module named ctc_helpers.batch.no_such_module" in result["message"]


def test_stop_running_reports_stops_every_worker(tmp_path) -> None:
    workers = ReportWorkers()
    worker = workers._worker()  # start one without a report
    pid = worker.proc.pid
    assert _running(pid)
    assert stop_running_reports() >= 1
    assert not _running(pid) and workers._workers == set()
