"""The fork server: one process that has imported what a dashboard kernel needs and forks kernels.

Started the usual way, every page's kernel is a new Python process that imports ipykernel,
pandas, pyarrow, matplotlib, ipywidgets and the dashboard code: about 1.5 s of CPU and 200 MB of
its own each. The fork server (``python -m ctc_helpers.dashboard.forkserver <socket>``, started by
the Voilà process through :mod:`ctc_helpers.dashboard.provisioner`) imports all that once, draws
one chart (fonts loaded) and then makes every kernel by ``fork()``: a kernel is ready in
milliseconds and shares the imported code's memory with the server and the other kernels until
it writes to it (copy-on-write; the imported objects are frozen out of the garbage collector,
which would otherwise touch and so copy them). Measured on the demo city: 128 MB PSS per kernel
instead of 217 MB.

- It listens on a Unix socket in a private folder (mode 0700) for a kernel's arguments,
  environment and folder, forks, and answers with the kernel's process id.
- A forked kernel leads a session of its own, is named ``ctc-kernel`` (``ps``), and dies with the
  fork server, which dies with the Voilà process (parent-death signal and a parent check).
- It also reads the published folder and draws what every dashboard first shows for every
  area (:func:`ctc_helpers.dashboard.page.warm_every_view`), so a kernel opens any area from
  its inherited cache; a kernel that finds the folder rewritten by a new run drops that cache.
- No Python thread may run in the fork server when it forks (a fork copies only the calling
  thread; a lock another thread held would stay locked in every kernel): the server refuses to
  start when it finds one. Of the libraries' own threads, BLAS and OpenMP run on one thread and
  Arrow's allocator has no background thread (the environment
  :func:`ctc_helpers.dashboard.provisioner.start_server` gives the server); Arrow's reading
  pool, idle at the fork, is made anew in a forked process by Arrow itself.

Linux only (``fork`` and ``prctl``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib
import json
import os
import random
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import ipywidgets
from ipykernel.kernelapp import IPKernelApp
from matplotlib.figure import Figure

from ctc_helpers.dashboard.page import warm_every_view
from ctc_helpers.dashboard.settings import KERNEL_PROCESS_NAME

__all__ = ["PRELOAD", "SERVER_PROCESS_NAME", "serve", "main"]

SERVER_PROCESS_NAME = "ctc-forkserver"
# what every dashboard kernel imports besides ipykernel, ipywidgets, matplotlib and the pages
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow.parquet",
)
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
REQUEST_LIMIT = 2**20  # bytes of one request (arguments, environment, folder)


def _die_with(parent_pid: int, signum: int, name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, name.encode())
    libc.prctl(PR_SET_PDEATHSIG, signum)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    figure = Figure(figsize=(2, 1))
    figure.add_subplot().set_title("Å")  # loads the fonts once for every kernel
    figure.savefig(os.devnull, format="png")
    figure.clear()
    done = warm_every_view()  # the published folder read, every view drawn for every area
    print(f"fork server: {done} views of areas drawn ahead for every kernel", flush=True)


def serve(socket_path: str | Path, parent_pid: int) -> None:
    """Pre-load, then fork a kernel for every request on ``socket_path`` until the parent
    (the Voilà process) is gone."""
    _die_with(parent_pid, signal.SIGTERM, SERVER_PROCESS_NAME)
    _preload()
    if threading.active_count() != 1:
        raise RuntimeError("The fork server must not run Python threads before it forks.")
    gc.collect()
    gc.freeze()  # imported objects stay shared: the collector never touches them
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished kernels are reaped by the system
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    os.chmod(socket_path, 0o600)
    listener.listen(64)
    listener.settimeout(1.0)
    print(f"fork server ready at {socket_path} (pid {os.getpid()})", flush=True)
    while os.getppid() == parent_pid:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        with connection:
            connection.settimeout(10)
            try:
                request = _read_request(connection)
            except EOFError:  # a probe (is the server up?): nothing to do
                continue
            except (OSError, ValueError) as problem:
                print(f"fork server: bad request ({problem})", file=sys.stderr, flush=True)
                continue
            pid = os.fork()
            if pid == 0:
                listener.close()
                connection.close()
                _run_kernel(request, os.getppid())
            connection.sendall(json.dumps({"pid": pid}).encode())


def _read_request(connection: socket.socket) -> dict[str, Any]:
    chunks, size = [], 0
    while chunk := connection.recv(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > REQUEST_LIMIT:
            raise ValueError("request too long")
    if not chunks:
        raise EOFError("empty request")
    request = json.loads(b"".join(chunks))
    if not isinstance(request.get("args"), list) or not isinstance(request.get("env"), dict):
        raise ValueError("a request has 'args' (list) and 'env' (mapping)")
    return request


def _run_kernel(request: dict[str, Any], server_pid: int) -> None:
    """In the forked child: become the kernel the request asks for; never returns."""
    code = 1
    try:
        os.setsid()
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        _die_with(server_pid, signal.SIGKILL, KERNEL_PROCESS_NAME)
        os.chdir(request.get("cwd") or "/")
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        os.environ["JPY_PARENT_PID"] = str(server_pid)  # ipykernel watches the fork server
        random.seed()
        sys.argv = ["ipykernel_launcher", *request["args"]]
        kernel = IPKernelApp.instance()
        kernel.initialize(list(request["args"]))
        # ipywidgets was imported before there was a kernel: register its comm targets now
        ipywidgets.register_comm_target()
        kernel.start()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    except BaseException:  # noqa: BLE001 - the kernel's last word goes to the server log
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctc_helpers.dashboard.forkserver")
    parser.add_argument("socket", help="path of the Unix socket to listen on")
    parser.add_argument("--parent-pid", type=int, required=True)
    args = parser.parse_args(argv)
    serve(args.socket, args.parent_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
