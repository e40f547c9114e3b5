"""``python -m ctc_helpers.batch.worker``: the process that builds the batch's reports.

Two ways to start it::

    python -m ctc_helpers.batch.worker SPEC RESULT [--parent PID]
        build the one report described by the JSON file SPEC and write the result to RESULT
    python -m ctc_helpers.batch.worker --serve [--parent PID]
        import papermill and nbconvert once, then build one report per request read from
        standard input, each in a child process forked for it, and answer each on standard
        output (one JSON line each way)

The batch (:mod:`ctc_helpers.batch.execute`) starts one server per worker thread. Forking keeps a
fresh process per report (a time limit kills it and its kernel, and nothing one report leaves in
memory reaches the next) without importing papermill for every report: those imports cost about
1.8 s of CPU per process here, 1.05 s of it in ``rfc3987_syntax``, which jsonschema (imported by
nbformat) loads for its IRI formats and which builds its parsers at import time
(python-jsonschema/jsonschema#1428). Neither jsonschema nor nbformat has a setting that avoids that
import (nbformat's ``NBFORMAT_VALIDATOR`` only chooses the validator used after it).

Every process of a report dies with the batch, however the batch ends (even ``kill -9``):

- the server checks that its parent is still the batch while a report runs and stops at the end
  of its input, which the kernel closes when the batch dies; it then kills the report's process
  tree;
- the report process checks its parent (the server) five times a second and kills its kernel
  (which runs in a session of its own) before it exits; the kernel itself also exits when its
  parent is gone (ipykernel's parent poller).

Once its imports are done, the server says ``{"ready": pid}``. Then, per report:
request ``{"spec": path, "result": path, "log": path, "timeout": seconds}``, answer
``{"exit_code": int or null, "cpu_seconds": float, "timed_out": bool}``; the report's own result
is the JSON file ``result``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from ctc_helpers.batch.files import write_atomic
from ctc_helpers.batch.report import build_report

__all__ = ["main", "run_one", "serve", "stop_process_tree", "watch_parent"]

PARENT_GONE = 75  # exit code of a worker whose batch has gone (EX_TEMPFAIL)
CHILD_FAILED = 70  # exit code of a report process that could not run its report (EX_SOFTWARE)
_POLL = 0.05  # seconds between checks of a running report
_WATCH = 0.2  # seconds between checks of the parent in a report process


def run_one(spec_path: str | Path, result_path: str | Path, *, parent: int | None = None) -> int:
    """Build the report of the spec file and write its result file (``build_report``'s dict).

    ``parent``: stop (and kill the kernel) as soon as this process is no longer the parent.
    """
    if parent is not None:
        watch_parent(parent)
    started = time.perf_counter()
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    try:
        result = build_report(spec)
    except Exception as exc:  # noqa: BLE001 - the batch needs a result for every report
        result = {
            "status": "failed",
            "message": " ".join(f"{type(exc).__name__}: {exc}".split())[:500],
            "execute_seconds": round(time.perf_counter() - started, 3),
            "html_seconds": 0.0,
        }
    write_atomic(result_path, json.dumps(result))
    return 0


def watch_parent(parent: int, *, interval: float = _WATCH) -> threading.Thread:
    """Kill this process's descendants and exit when ``parent`` stops being its parent."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        stop_process_tree(os.getpid(), include_root=False)
        os._exit(PARENT_GONE)

    thread = threading.Thread(target=watch, name="ctc-parent-watch", daemon=True)
    thread.start()
    return thread


def stop_process_tree(pid: int, *, include_root: bool = True) -> int:
    """SIGKILL a process and every descendant (kernels run in sessions of their own, so a
    process group kill would miss them); the number of processes signalled."""
    try:
        root = psutil.Process(pid)
        family = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    targets = [*family, root] if include_root else family
    for member in targets:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            continue
    _wait_stopped(targets, timeout=5)
    return len(targets)


def _wait_stopped(processes: list[psutil.Process], *, timeout: float) -> None:
    """Wait until every process has stopped: gone, or a zombie (dead; its parent, or whoever
    adopted it, has yet to collect its exit status)."""
    deadline = time.monotonic() + timeout
    pending = list(processes)
    while pending and time.monotonic() < deadline:
        pending = [p for p in pending if _running(p)]
        if pending:
            time.sleep(0.02)


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# --------------------------------------------------------------------------------------------
# The server: one fork per report


def serve(*, parent: int, stdin: int = 0, stdout: int = 1) -> int:
    """Answer report requests until the input ends or the parent is gone (see the module)."""
    _preload()
    os.write(stdout, (json.dumps({"ready": os.getpid()}) + "\n").encode("utf-8"))
    lines = _Lines(stdin)
    while True:
        line = lines.next(parent)
        if line is None:
            return 0 if os.getppid() == parent else PARENT_GONE
        answer = _run_forked(json.loads(line), parent=parent, stdin=stdin, stdout=stdout)
        os.write(stdout, (json.dumps(answer) + "\n").encode("utf-8"))


def _preload() -> None:
    """Import what every report needs, once, before the first fork."""
    # ~2.3 s of imports (papermill, nbconvert, nbformat with jsonschema), paid once per worker
    import nbformat  # noqa: F401
    import papermill  # noqa: F401
    from nbconvert import HTMLExporter  # noqa: F401
    from nbconvert.preprocessors import TagRemovePreprocessor  # noqa: F401


class _Lines:
    """Lines from a file descriptor, waiting at most a second at a time (to watch the parent)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer = fd, b""

    def next(self, parent: int) -> str | None:
        while b"\n" not in self.buffer:
            if os.getppid() != parent:
                return None
            ready, _, _ = select.select([self.fd], [], [], 1.0)
            if not ready:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8")


def _run_forked(request: dict[str, Any], *, parent: int, stdin: int, stdout: int) -> dict:
    server = os.getpid()
    pid = os.fork()
    if pid == 0:  # the report process
        code = CHILD_FAILED
        try:
            _detach_streams(request["log"], stdin=stdin, stdout=stdout)
            code = run_one(request["spec"], request["result"], parent=server)
        finally:
            os._exit(code)
    return _wait(pid, float(request["timeout"]), parent=parent)


def _detach_streams(log: str, *, stdin: int, stdout: int) -> None:
    """The report process reads nothing and writes its errors to its own log, never to the
    server's answer channel."""
    null = os.open(os.devnull, os.O_RDWR)
    errors = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(null, stdin)
    os.dup2(null, stdout)
    os.dup2(errors, 2)
    os.close(null)
    os.close(errors)


def _wait(pid: int, timeout: float, *, parent: int) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            cpu = round(usage.ru_utime + usage.ru_stime, 3)
            return {"exit_code": os.waitstatus_to_exitcode(status), "cpu_seconds": cpu,
                    "timed_out": False}  # fmt: skip
        if os.getppid() != parent:  # the batch has gone: so does the report
            stop_process_tree(pid)
            os._exit(PARENT_GONE)
        if time.monotonic() >= deadline:
            stop_process_tree(pid)
            os.waitpid(pid, 0)
            return {"exit_code": None, "cpu_seconds": 0.0, "timed_out": True}
        time.sleep(_POLL)


# --------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m ctc_helpers.batch.worker`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m ctc_helpers.batch.worker")
    parser.add_argument("spec", nargs="?", help="JSON file describing one report")
    parser.add_argument("result", nargs="?", help="where to write the report's result (JSON)")
    parser.add_argument("--serve", action="store_true", help="answer requests on stdin")
    parser.add_argument("--parent", type=int, default=None, help="process id of the batch")
    args = parser.parse_args(argv)
    parent = args.parent if args.parent is not None else os.getppid()
    if os.getppid() != parent:  # the batch died before this process started
        return PARENT_GONE
    if args.serve:
        return serve(parent=parent)
    if not (args.spec and args.result):
        parser.error("give SPEC and RESULT, or --serve")
    return run_one(args.spec, args.result, parent=parent)


if __name__ == "__main__":
    sys.exit(main())
