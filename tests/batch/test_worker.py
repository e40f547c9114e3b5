"""The report worker process: its command line, and dying with the batch however it ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

from ctc_helpers.batch import worker

_BATCH = textwrap.dedent(
    """
    import subprocess, sys, time
    worker = subprocess.Popen([sys.executable, "-c", sys.argv[1]], start_new_session=True)
    print(worker.pid, flush=True)
    time.sleep(300)
    """
)
# A report process: it watches its parent and has started a "kernel" in a session of its own.
_REPORT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from ctc_helpers.batch.worker import watch_parent
    watch_parent(os.getppid())
    kernel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                              start_new_session=True)
    time.sleep(300)
    """
)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_running(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _running(p)]


def test_a_report_process_and_its_kernel_die_with_a_killed_parent() -> None:
    batch = subprocess.Popen(
        [sys.executable, "-c", _BATCH, _REPORT], stdout=subprocess.PIPE, text=True
    )
    report = int(batch.stdout.readline())
    deadline = time.monotonic() + 10
    while not psutil.Process(report).children() and time.monotonic() < deadline:
        time.sleep(0.05)
    kernel = psutil.Process(report).children()[0].pid
    assert os.getsid(kernel) == kernel  # in a session of its own, like a Jupyter kernel
    os.kill(batch.pid, signal.SIGKILL)
    batch.wait()
    killed = time.monotonic()
    assert _wait_gone([report, kernel], 5) == []
    assert time.monotonic() - killed < 2  # five checks a second


def test_stop_process_tree_kills_every_descendant() -> None:
    tree = subprocess.Popen([sys.executable, "-c", _BATCH, _REPORT], stdout=subprocess.PIPE)
    report = int(tree.stdout.readline())
    deadline = time.monotonic() + 10
    while not psutil.Process(report).children() and time.monotonic() < deadline:
        time.sleep(0.05)
    family = [tree.pid, report, psutil.Process(report).children()[0].pid]
    assert worker.stop_process_tree(tree.pid) == 3
    tree.wait()
    assert _wait_gone(family, 5) == []
    assert worker.stop_process_tree(tree.pid) == 0  # gone already


def test_the_command_line(tmp_path) -> None:
    module = [sys.executable, "-m", "ctc_helpers.batch.worker"]
    usage = subprocess.run(module, capture_output=True, text=True)
    assert usage.returncode == 2 and "give SPEC and RESULT, or --serve" in usage.stderr
    orphan = subprocess.run([*module, "--serve", "--parent", "1"], capture_output=True)
    assert orphan.returncode == worker.PARENT_GONE  # its batch is not its parent: it stops


def test_serve_ends_when_its_input_ends() -> None:
    server = subprocess.run(
        [sys.executable, "-m", "ctc_helpers.batch.worker", "--serve"],
        input=b"",
        capture_output=True,
        timeout=60,
    )
    assert server.returncode == 0
    ready = json.loads(server.stdout)  # said once its imports were done; nothing after
    assert list(ready) == ["ready"] and isinstance(ready["ready"], int)
