"""Kernels for the dashboard pages from the fork server (Voilà's side of it).

:class:`ForkProvisioner` is a jupyter_client kernel provisioner: for this Python's ipykernel it
asks the fork server (:mod:`ctc_helpers.dashboard.forkserver`) for a kernel instead of starting a
process; any other kernel command is started the usual way. :func:`start_server` starts the fork
server for the Voilà process and :func:`register` makes the provisioner known to jupyter_client
(``JUPYTER_DEFAULT_PROVISIONER_NAME`` then chooses it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.provisioning import LocalProvisioner
from jupyter_client.provisioning.factory import KernelProvisionerFactory

from ctc_helpers.dashboard.settings import ENV_FORKSERVER

__all__ = [
    "PROVISIONER",
    "available",
    "kernel_arguments",
    "start_server",
    "request_kernel",
    "ForkedKernel",
    "ForkProvisioner",
    "register",
]

PROVISIONER = "ctc-fork-provisioner"
IGNORED_OPTIONS = ("-Xfrozen_modules=off",)  # interpreter options a forked kernel can do without
# one thread only in the fork server: no BLAS or OpenMP workers, no background thread of Arrow's
# allocator (the fork server checks)
SERVER_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}


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


def start_server(folder: Path, *, timeout: float = 120) -> tuple[Any, Path]:
    """Start the fork server for this process (its parent) with a socket in ``folder``;
    wait until it accepts. Returns (the process, the socket's path)."""
    path = folder / "kernels.sock"
    command = [sys.executable, "-m", "ctc_helpers.dashboard.forkserver", str(path),
               f"--parent-pid={os.getpid()}"]  # fmt: skip
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
