"""Dashboard kernels forked from one pre-loaded process instead of started afresh.

Started the usual way, every page's kernel is a new Python process that imports ipykernel,
pandas, pyarrow, matplotlib, ipywidgets and the dashboard code: about 1.5 s of CPU and 150-300 MB
of its own each. The fork server (``python -m ctc_helpers.dashboard.forkserver``, started by the
Voilà process) imports all that once, draws one chart (fonts loaded), and then makes every kernel
by ``fork()``: a kernel is ready in milliseconds and shares the imported code's memory with the
server and the other kernels until it writes to it (copy-on-write; the objects are frozen out of
the garbage collector, which would otherwise touch and copy them).

- :class:`ForkProvisioner` is the kernel provisioner (jupyter_client) that asks the fork server
  for a kernel; a command that is not this Python's ``ipykernel_launcher`` is started as usual.
- The fork server listens on a Unix socket in a private folder (mode 0700) and forks only the
  kernel command; a forked kernel starts a session of its own and dies with the fork server,
  which dies with the Voilà process (parent-death signal and a parent check).
- Nothing runs in threads in the fork server before it forks (a fork copies only the calling
  thread; a lock held by another would stay locked in the kernel).

Linux only (``fork`` and ``prctl``); elsewhere kernels start the usual way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import importlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import ipywidgets
import psutil
from ipykernel.kernelapp import IPKernelApp
from jupyter_client.provisioning import LocalProvisioner
from jupyter_client.provisioning.factory import KernelProvisionerFactory

__all__ = [
    "ENV_FORKSERVER",
    "PROVISIONER",
    "KERNEL_NAME",
    "PRELOAD",
    "available",
    "kernel_arguments",
    "ForkedKernel",
    "ForkProvisioner",
    "register",
    "start_server",
    "request_kernel",
    "serve",
]

ENV_FORKSERVER = "CTC_DASHBOARD_FORKSERVER"  # the fork server's socket (in the Voilà process)
PROVISIONER = "ctc-fork-provisioner"
# what every dashboard kernel imports; loaded once in the fork server
# one thread only: no BLAS or OpenMP workers, no background thread of Arrow's allocator
SERVER_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}
PRELOAD = (  # (ipykernel's kernelapp and ipywidgets are imported by this module already)
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "matplotlib.figure",
    "ctc_helpers.dashboard.page",
)
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
KERNEL_NAME = "ctc-kernel"  # the process name of a forked kernel (ps, psutil's name())
SERVER_NAME = "ctc-forkserver"
IGNORED_OPTIONS = ("-Xfrozen_modules=off",)  # interpreter options a forked kernel can do without
REQUEST_LIMIT = 2**20  # bytes of one request (argv, environment, folder)


def available() -> bool:
    """Whether kernels can be forked here (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def kernel_arguments(command: Sequence[str]) -> list[str] | None:
    """The arguments after ``-m ipykernel_launcher`` when ``command`` runs this Python's
    ipykernel (what the fork server can fork), else None. Of the interpreter's own options only
    ``-Xfrozen_modules=off`` (for the debugger, which dashboards do not use) may come first.

    >>> kernel_arguments([sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
    ...                   "-f", "k.json"])
    ['-f', 'k.json']
    >>> kernel_arguments(["/usr/bin/R", "--slave", "-f", "k.json"]) is None
    True
    """
    command = list(command)
    if not command or os.path.realpath(command[0]) != os.path.realpath(sys.executable):
        return None
    rest = command[1:]
    while rest and rest[0] in IGNORED_OPTIONS:
        rest = rest[1:]
    if rest[:2] != ["-m", "ipykernel_launcher"]:
        return None
    return rest[2:]


# --------------------------------------------------------------------------------------------
# The fork server


def _die_with(parent_pid: int, signum: int, name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, name.encode())
    libc.prctl(PR_SET_PDEATHSIG, signum)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1))
    figure.add_subplot().set_title("Å")  # loads the fonts once for every kernel
    figure.savefig(os.devnull, format="png")
    figure.clear()


def serve(socket_path: str | Path, parent_pid: int) -> None:
    """Pre-load, then fork a kernel for every request on ``socket_path`` until the parent
    (the Voilà process) is gone."""
    _die_with(parent_pid, signal.SIGTERM, SERVER_NAME)
    _preload()
    threads = os.listdir("/proc/self/task")
    if threading.active_count() != 1 or len(threads) != 1:
        names = [Path(f"/proc/self/task/{t}/comm").read_text().strip() for t in threads]
        raise RuntimeError(f"The fork server must not run threads before it forks: {names}.")
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
        _die_with(server_pid, signal.SIGKILL, KERNEL_NAME)
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


# --------------------------------------------------------------------------------------------
# The Voilà side: asking for a kernel, and the process it gets


def start_server(folder: Path, *, timeout: float = 120) -> tuple[Any, Path]:
    """Start the fork server for this process (its parent) with a socket in ``folder``;
    wait until it accepts. Returns (the process, the socket's path)."""
    path = folder / "kernels.sock"
    command = [sys.executable, "-m", __name__, str(path), f"--parent-pid={os.getpid()}"]
    process = subprocess.Popen(command, env={**os.environ, **SERVER_ENV})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(path))
            return process, path
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"The fork server did not start (exit code {process.poll()}).")


def request_kernel(
    socket_path: str | Path, args: list[str], env: dict[str, str], cwd: str | None
) -> int:
    """Ask the fork server for a kernel; its process id."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(30)
        connection.connect(str(socket_path))
        connection.sendall(json.dumps({"args": args, "env": env, "cwd": cwd}).encode())
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    return int(json.loads(answer)["pid"])


class ForkedKernel:
    """A forked kernel process, with the part of ``subprocess.Popen`` a provisioner uses."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._process: psutil.Process | None = psutil.Process(pid)
        except psutil.NoSuchProcess:
            self._process = None
            self.returncode = 0

    def poll(self) -> int | None:
        if self.returncode is None:
            alive = self._process is not None and self._process.is_running()
            with contextlib.suppress(psutil.Error):
                alive = alive and self._process.status() != psutil.STATUS_ZOMBIE
            if not alive:
                self.returncode = 0  # reaped by the fork server: the code is not known here
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.poll() is None and self._process is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                self._process.wait(timeout)
            self.returncode = 0
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """A kernel provisioner that forks this Python's ipykernel from the fork server (whose
    socket ``CTC_DASHBOARD_FORKSERVER`` names) and starts anything else as usual."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        socket_path = os.environ.get(ENV_FORKSERVER)
        args = kernel_arguments(cmd)
        if not socket_path or args is None:
            return await super().launch_kernel(cmd, **kwargs)
        env = {str(k): str(v) for k, v in (kwargs.get("env") or os.environ).items()}
        cwd = str(kwargs.get("cwd") or os.getcwd())
        pid = await asyncio.to_thread(request_kernel, socket_path, args, env, cwd)
        self.process = ForkedKernel(pid)
        self.pid = self.pgid = pid  # the kernel leads a session (and process group) of its own
        self.cwd = cwd
        return self.connection_info


def register() -> None:
    """Make :class:`ForkProvisioner` known to jupyter_client as ``ctc-fork-provisioner``."""
    KernelProvisionerFactory.provisioners[PROVISIONER] = EntryPoint(
        name=PROVISIONER,
        value=f"{__name__}:ForkProvisioner",
        group=KernelProvisionerFactory.GROUP_NAME,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctc_helpers.dashboard.forkserver")
    parser.add_argument("socket", help="path of the Unix socket to listen on")
    parser.add_argument("--parent-pid", type=int, required=True)
    args = parser.parse_args(argv)
    serve(args.socket, args.parent_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
