"""A batch that survives faults (issue 15): ``kill -9`` of a running ``ctc run`` and two runs on one
output folder.

Each test starts a real ``ctc run`` in a process of its own (``tests/batch/fake_run.py``: the
command line with a stand-in for the preparation step) on a fake city whose one phase is a
notebook written here: areas named ``sleep-N-x`` sleep N seconds in their kernel, after writing
the kernel's process id beside the report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from ctc_helpers.batch.files import LOCK_FILE, WORK_DIR

FAKE_RUN = Path(__file__).with_name("fake_run.py")
WAVE = 2025

_PARAMETERS = (
    'area: str = "all"  # area id\n'
    "wave: int = 2025  # survey year\n"
    'lang: str = "sv"  # report language\n'
    'data_dir: str = "."  # the published folder\n'
    "min_cell: int = 10  # minimum cell size\n"
    'output_dir: str = "."  # folder of this report'
)
_SLEEP = (
    "import os, time\n"
    "from pathlib import Path\n"
    "Path(output_dir, 'kernel.pid').write_text(str(os.getpid()))\n"
    "time.sleep(float(area.split('-')[1]) if area.startswith('sleep-') else 0)"
)


def _notebook(path: Path) -> None:
    def cell(kind: str, source: str, tags=()) -> dict:
        extra = {"outputs": [], "execution_count": None} if kind == "code" else {}
        return {"cell_type": kind, "id": f"c{abs(hash(source)) % 10**8}", "source": source,
                "metadata": {"tags": list(tags)}, **extra}  # fmt: skip

    kernel = {"name": "ctc", "display_name": "CTC (workbench)", "language": "python"}
    nb = {
        "cells": [cell("markdown", "# Långsam rapport"),
                  cell("code", _PARAMETERS, ["parameters"]), cell("code", _SLEEP)],
        "metadata": {"kernelspec": kernel, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    path.write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture
def slow_city(tmp_path: Path) -> Path:
    """A run file, an area list of sleeping areas and the sleeping notebook."""
    areas = {"sleep-8-a": "A", "sleep-8-b": "B", "sleep-6-c": "C", "sleep-0-d": "D"}
    lines = ["area_id,name,municipality", *(f"{a},{n},Testby" for a, n in areas.items())]
    (tmp_path / "areas.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "survey_2025.csv").write_text("respondent_id\n", encoding="utf-8")
    (tmp_path / "instrument.yaml").write_text("instrument: {}\n", encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "slow.ipynb")
    raw = {
        "data": {"survey": "survey_*.csv", "areas": "areas.csv", "instrument": "instrument.yaml"},
        "output": "reports",
        "cache": "cache",
        "notebooks": "notebooks",
        "phases": ["slow"],
        "city": False,
        "workers": 2,
        "timeout": 120,
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return tmp_path


def _start_run(city: Path, *areas: str) -> subprocess.Popen:
    command = [sys.executable, str(FAKE_RUN), "run", "--config", str(city / "run.yaml")]
    return subprocess.Popen(
        [*command, "--areas", *areas],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a kill of the batch must not reach the test
    )


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _kernel_pid(city: Path, area: str) -> Path:
    return city / "reports" / str(WAVE) / area / "kernel.pid"


def _kernel_runs(city: Path, area: str) -> bool:
    path = _kernel_pid(city, area)
    return path.exists() and path.read_text().strip().isdigit()


@pytest.mark.slow
def test_kill_9_of_a_running_batch(slow_city: Path) -> None:
    reports = slow_city / "reports"
    batch = _start_run(slow_city, "sleep-8-a", "sleep-8-b")
    _wait_for(
        lambda: all(_kernel_runs(slow_city, a) for a in ("sleep-8-a", "sleep-8-b")),
        90,
        "both kernels to run",
    )
    family = [p.pid for p in psutil.Process(batch.pid).children(recursive=True)]
    kernels = [int(_kernel_pid(slow_city, a).read_text()) for a in ("sleep-8-a", "sleep-8-b")]
    assert set(kernels) <= set(family) and len(family) >= 6  # 2 workers, 2 reports, 2 kernels
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    killed = time.monotonic()
    _wait_for(lambda: not any(_running(p) for p in family), 5, "every worker to stop")
    assert time.monotonic() - killed < 5
    before = _snapshot(reports)
    time.sleep(9)  # longer than the notebooks had left to run
    assert _snapshot(reports) == before  # nothing written after the kill
    assert not list(reports.glob(f"{WAVE}/*/slow.html"))
    assert [p.name for p in (reports / WORK_DIR).iterdir()][0].startswith("job-")  # left behind

    rerun = _start_run(slow_city, "sleep-8-a", "sleep-0-d")
    out, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err
    assert "2 rapporter: 2 klara" in out
    assert list((reports / WORK_DIR).iterdir()) == []  # the killed run's job folders are gone
    for area in ("sleep-8-a", "sleep-0-d"):
        assert (reports / str(WAVE) / area / "slow.html").is_file()


@pytest.mark.slow
def test_a_second_run_on_the_same_folder_is_refused(slow_city: Path) -> None:
    reports = slow_city / "reports"
    first = _start_run(slow_city, "sleep-6-c")
    _wait_for(lambda: _kernel_runs(slow_city, "sleep-6-c"), 90, "the first run's kernel")
    holder = json.loads((reports / LOCK_FILE).read_text(encoding="utf-8"))
    assert holder["pid"] == first.pid
    started = time.monotonic()
    second = _start_run(slow_city, "sleep-0-d")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 2 and time.monotonic() - started < 20
    assert (
        f"Fel: Rapportmappen {reports} används redan av en annan körning (process {first.pid},"
        f" startad {holder['started']}). Vänta tills den är klar, eller välj en annan mapp med"
        " --out." in err
    )
    assert out == ""
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert not (reports / str(WAVE) / "sleep-0-d").exists()  # the second run built nothing
    manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    assert [job["area"] for job in manifest["jobs"]] == ["sleep-6-c"]
    assert os.path.getsize(reports / LOCK_FILE) > 0
