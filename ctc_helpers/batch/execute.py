"""The report runner: every report in a process of its own, with a hard time limit.

The batch (:mod:`ctc_helpers.batch.run`) hands each report to :class:`ReportWorkers`, which keeps
one warm worker process per thread (``python -m ctc_helpers.batch.worker --serve``, see
:mod:`ctc_helpers.batch.worker`). The worker forks a fresh process for the report, which runs
papermill and the HTML export (:func:`ctc_helpers.batch.report.build_report`); the worker kills
it with its kernel at the time limit. :func:`run_report_process` is the same on a process-wide
set of workers, for the Dask scheduler's workers.

Every file of a report is written in a job folder inside the run's work folder and moved into
place when complete. The workers watch the batch: if it dies, they kill their reports and
kernels and exit (see :mod:`ctc_helpers.batch.worker`).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ctc_helpers.batch.worker import stop_process_tree
from ctc_helpers.paths import PACKAGE_DIR

__all__ = [
    "RESULT_COLUMNS",
    "STATUSES",
    "ReportWorkers",
    "run_report_process",
    "stop_running_reports",
]

RESULT_COLUMNS = ("area", "wave", "phase", "status", "seconds", "message")
STATUSES = ("ok", "failed", "skipped", "timeout")
ANSWER_GRACE = 30.0  # seconds a worker may take beyond the time limit to answer
STARTUP_TIMEOUT = 300.0  # seconds a new worker may take for its imports (a busy machine)
_WORKER_MODULE = "ctc_helpers.batch.worker"


class _Worker:
    """One ``--serve`` worker process and its request/answer pipes."""

    def __init__(self, *, keep_fds: Sequence[int]) -> None:
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives with the worker
        self.proc = subprocess.Popen(
            [sys.executable, "-m", _WORKER_MODULE, "--serve", "--parent", str(os.getpid())],
            env=_child_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            pass_fds=tuple(keep_fds),  # the output folder's lock: held until the worker ends
            start_new_session=True,  # Ctrl-C in the terminal reaches only the batch
        )
        self._buffer = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the worker has done its imports (its first line says so)."""
        line = self._read_line(time.monotonic() + timeout)
        return bool(line) and "ready" in json.loads(line)

    def request(self, request: Mapping[str, Any], *, timeout: float) -> dict[str, Any] | None:
        """Send one request and wait for its answer; None when the worker ended or fell silent."""
        try:
            self.proc.stdin.write((json.dumps(dict(request)) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            return None
        line = self._read_line(time.monotonic() + timeout)
        return json.loads(line) if line else None

    def _read_line(self, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def errors(self) -> str:
        """The last lines the worker itself wrote to stderr."""
        self.log.seek(0)
        return " ".join(self.log.read().decode("utf-8", "replace").strip().splitlines()[-3:])

    def stop(self) -> None:
        stop_process_tree(self.proc.pid)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.log):
            with contextlib.suppress(OSError):
                stream.close()


class _WorkerFailed(Exception):
    """A worker process could not be started (the message says why)."""


_ALL_WORKERS: weakref.WeakSet[ReportWorkers] = weakref.WeakSet()


class ReportWorkers:
    """The warm report workers of a batch: one worker process per thread that runs reports.

    Parameters
    ----------
    keep_fds : sequence of int
        File descriptors the workers keep open while they live (the output folder's lock).

    Use it as a context manager (the workers stop at the end) and call :meth:`run` from any
    number of threads.
    """

    def __init__(self, *, keep_fds: Sequence[int] = ()) -> None:
        self.keep_fds = tuple(keep_fds)
        self._local = threading.local()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        _ALL_WORKERS.add(self)

    def __enter__(self) -> ReportWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self, spec: Mapping[str, Any], *, wall_timeout: float) -> dict[str, Any]:
        """Build one report in a fresh process, killed (with its kernel) at ``wall_timeout``.

        Returns
        -------
        dict
            The spec's ``area``, ``wave``, ``phase`` and ``key`` plus ``status`` (``ok``,
            ``failed`` or ``timeout``), ``message``, ``seconds`` (wall time, without the start
            of a new worker, which pays the imports once for all its reports), ``cpu_seconds``
            (CPU time of the process and its kernel; 0 after a timeout), ``execute_seconds``,
            ``html_seconds``, ``finished`` (ISO time).
        """
        try:
            worker = self._worker()  # its start (imports) is not the report's time
        except _WorkerFailed as exc:
            worker, result = None, {"status": "failed", "message": str(exc)}
        start = time.perf_counter()
        if worker is not None:
            with _job_folder(spec.get("work_dir")) as folder:
                result = self._run_in(worker, folder, spec, wall_timeout)
        if result["status"] == "timeout":  # the report process could not clean up after itself
            Path(spec["output_html"]).unlink(missing_ok=True)
        return {
            **{k: spec[k] for k in ("area", "wave", "phase", "key") if k in spec},
            "execute_seconds": 0.0,
            "html_seconds": 0.0,
            "cpu_seconds": 0.0,
            **result,
            "seconds": round(time.perf_counter() - start, 3),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }

    def stop(self) -> int:
        """Stop every worker (and any report it runs); the number stopped."""
        with self._lock:
            workers, self._workers = list(self._workers), set()
        for worker in workers:
            worker.stop()
        return len(workers)

    def _run_in(
        self, worker: _Worker, folder: Path, spec: Mapping[str, Any], wall_timeout: float
    ) -> dict:
        paths = {name: folder / name for name in ("spec.json", "result.json", "report.log")}
        # the report's files beside the outputs' file system (else build_report's default)
        job = {**spec, "work_dir": str(folder / "files")} if spec.get("work_dir") else dict(spec)
        paths["spec.json"].write_text(json.dumps(job), encoding="utf-8")
        request = {"spec": str(paths["spec.json"]), "result": str(paths["result.json"]),
                   "log": str(paths["report.log"]), "timeout": wall_timeout}  # fmt: skip
        answer = worker.request(request, timeout=wall_timeout + ANSWER_GRACE)
        if answer is None:  # the worker died or hangs: never reuse it
            message = f"report worker stopped: {worker.errors()}"
            self._discard(worker)
            return {"status": "failed", "message": message}
        if answer["timed_out"]:
            return {"status": "timeout", "message": f"stopped after {wall_timeout:g} s"}
        if paths["result.json"].exists():
            result = json.loads(paths["result.json"].read_text(encoding="utf-8"))
            return {**result, "cpu_seconds": answer["cpu_seconds"]}
        tail = _tail(paths["report.log"])
        message = f"exit code {answer['exit_code']}: {tail}"[:500]
        return {"status": "failed", "message": message, "cpu_seconds": answer["cpu_seconds"]}

    def _worker(self) -> _Worker:
        """This thread's worker, started (and its imports done) when it has none."""
        worker = getattr(self._local, "worker", None)
        if worker is not None and worker.alive():
            return worker
        if worker is not None:
            self._discard(worker)
        worker = _Worker(keep_fds=self.keep_fds)
        with self._lock:
            self._workers.add(worker)
        if not worker.wait_ready(STARTUP_TIMEOUT):
            message = f"report worker did not start: {worker.errors()}"
            self._discard(worker)
            raise _WorkerFailed(message)
        self._local.worker = worker
        return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
        worker.stop()
        if getattr(self._local, "worker", None) is worker:
            self._local.worker = None


@contextlib.contextmanager
def _job_folder(work_dir: str | None) -> Iterator[Path]:
    """A folder for one report's files; removed afterwards (and by the next run after a kill)."""
    if work_dir:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="job-", dir=work_dir or None))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " ".join(text.strip().splitlines()[-3:])


def _child_environment() -> dict[str, str]:
    """The environment of the workers and kernels: one math-library thread each, since the
    batch already runs one report per core (unless the user chose otherwise), and this package
    importable by ``python -m`` even when it is not installed."""
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    paths = [str(PACKAGE_DIR.parent), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


# --------------------------------------------------------------------------------------------
# Process-wide workers (Dask workers call run_report_process)

_SHARED: ReportWorkers | None = None
_SHARED_LOCK = threading.Lock()


def run_report_process(spec: Mapping[str, Any], *, wall_timeout: float) -> dict[str, Any]:
    """:meth:`ReportWorkers.run` on this process's shared workers (what a Dask worker runs for
    every job); :func:`stop_running_reports` stops them."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = ReportWorkers()
        workers = _SHARED
    return workers.run(spec, wall_timeout=wall_timeout)


def stop_running_reports() -> int:
    """Stop every report worker of this process (and their reports and kernels), e.g. on
    Ctrl-C or at the end of a Dask run. Returns the number of worker processes stopped."""
    return sum(workers.stop() for workers in list(_ALL_WORKERS))
