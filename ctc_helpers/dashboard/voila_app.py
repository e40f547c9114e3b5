"""The Voilà process of ``ctc dashboard`` (``python -m ctc_helpers.dashboard.voila_app``).

Voilà 0.5 configured for area teams, with what its command line cannot say:

- the kernels of :class:`~ctc_helpers.dashboard.kernels.DashboardKernelManager` (orphans and idle
  pages returned, a cap on kernels serving pages) and a page handler that answers "busy, try
  again" (Swedish and English, HTTP 503) instead of starting a kernel beyond the cap;
- the page template ``ctc`` (``share/voila/templates/ctc``): nothing loaded from another server,
  and a page whose kernel was closed offers to reload;
- a page asked for with ``?token=`` is redirected to its address without it once the login
  cookie (which scripts cannot read) is set, so no script on a page can find the token in its
  address or its history;
- headers that keep the page on this machine (``Content-Security-Policy``: only this server);
- kernel connections that read every websocket frame in its own framing and refuse malformed
  ones (:mod:`ctc_helpers.dashboard.websocket`: Voilà's and jupyter_server's own reading can be
  made to loop for ever);
- the token from the environment (``CTC_DASHBOARD_TOKEN``), removed before any kernel starts;
- it dies with its parent: a pipe from ``ctc dashboard`` that closes when the parent dies (however
  it dies), and on Linux also the parent-death signal;
- kernels forked from a pre-loaded process (:mod:`ctc_helpers.dashboard.forkserver`, through
  :mod:`ctc_helpers.dashboard.provisioner`): ready in
  milliseconds and sharing the imported code's memory (``--no-fork``: started the usual way);
- it says "ready" on a second pipe once every pre-heated kernel has run its notebook, so that
  ``ctc dashboard`` prints the addresses only when the first visitors get pre-heated pages.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import html
import os
import re
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import tornado.web
from jupyter_client.provisioning.factory import KernelProvisionerFactory
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets.config import Config
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from ctc_helpers.dashboard import provisioner, settings
from ctc_helpers.dashboard.kernels import ADMISSION
from ctc_helpers.dashboard.websocket import SafeKernelWebsocketHandler
from ctc_helpers.i18n import check_language, t

__all__ = [
    "TEMPLATE_ROOT",
    "DashboardHandler",
    "DashboardVoila",
    "voila_config",
    "busy_page",
    "main",
]

TEMPLATE_ROOT = Path(__file__).resolve().parent / "share"  # holds voila/templates/ctc
RETRY_AFTER = 20  # seconds a refused visitor is asked to wait
CHECK_SECONDS = 10  # how often a page asks whether its kernel is still there
EXIT_GRACE = 20  # seconds to shut the kernels down after the parent died, then exit anyway
_KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')
# only this server: scripts, styles, images, fonts and connections (ws: for the kernels)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
PR_SET_PDEATHSIG = 1


def busy_page(lang: str) -> str:
    """The page a visitor gets when ``max_kernels`` pages are served: both languages, ``lang``
    first, no script, nothing loaded from elsewhere."""
    order = [lang, *(other for other in ("sv", "en") if other != lang)]
    sections = "".join(
        f'<section lang="{code}"><h1>{html.escape(t("dash_busy_title", code))}</h1>'
        f"<p>{html.escape(t('dash_busy_text', code))}</p>"
        f'<p><a href="">{html.escape(t("dash_busy_retry", code))}</a></p></section>'
        for code in order
    )
    return (
        f'<!DOCTYPE html><html lang="{order[0]}"><head><meta charset="utf-8">'
        f"<title>{html.escape(t('dash_busy_title', order[0]))}</title>"
        "<style>body{font:16px sans-serif;max-width:40em;margin:3em auto;color:#222}"
        "section+section{border-top:1px solid #ddd;margin-top:1.5em}</style></head>"
        f"<body>{sections}</body></html>"
    )


class DashboardHandler(TornadoVoilaHandler):
    """Voilà's page handler behind the kernel cap: a page is admitted (a place reserved for its
    kernel) or answered with :func:`busy_page`; once sent, its kernel's orphan time starts. A
    request with ``?token=`` (authenticated, its cookie set) is sent to the address without it."""

    @tornado.web.authenticated
    async def get(self, path=None):
        if "token" in self.request.query_arguments:  # the login cookie is set: drop the token
            self.redirect(_without_token(self.request.path, self.request.query))
            return
        manager = self.kernel_manager
        admission = manager.admit()
        if admission is None:
            self.log.warning("Busy: %s pages are served; refusing %s.", manager.max_kernels, path)
            self.set_status(503)
            self.set_header("Retry-After", str(RETRY_AFTER))
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish(busy_page(check_language(os.environ.get(settings.ENV_LANG))))
            return
        ADMISSION.set(admission)
        self.page_path = path
        kernel_id = None
        try:
            async for chunk in self.get_generator(path=path):
                if kernel_id is None:
                    found = _KERNEL_ID.search(chunk)
                    kernel_id = found.group(1) if found else None
                self.write(chunk)
                self.flush()
        finally:
            manager.release(admission)
            if kernel_id is not None:
                manager.page_delivered(kernel_id)

    def should_use_rendered_notebook(self, *args: Any, **kwargs: Any) -> bool:
        """Take a pre-heated kernel only when it has finished running the notebook; one still
        heating would keep the visitor waiting for all of its work, so a fresh kernel (forked
        in milliseconds) serves the page instead."""
        pools = getattr(self.kernel_manager, "_pools", {})  # Voilà 0.5: no public API
        waiting = pools.get(getattr(self, "page_path", None) or "", [])
        return (
            bool(waiting)
            and _heated(waiting[0])
            and super().should_use_rendered_notebook(*args, **kwargs)
        )


def _heated(task: Any) -> bool:
    """Whether a pool entry of Voilà holds a kernel that has run its notebook."""
    if not task.done() or task.cancelled() or task.exception() is not None:
        return False
    return task.result()["task"].done()


def _without_token(path: str, query: str) -> str:
    """``path?query`` without its ``token`` parameter.

    >>> _without_token("/voila/render/gap.ipynb", "token=abc&area=norra-hamnen")
    '/voila/render/gap.ipynb?area=norra-hamnen'
    """
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"]
    return f"{path}?{urlencode(kept)}" if kept else path


class DashboardVoila(Voila):
    """Voilà with :class:`DashboardHandler` serving the pages and
    :class:`~ctc_helpers.dashboard.websocket.SafeKernelWebsocketHandler` their kernel
    connections."""

    def init_handlers(self) -> list:
        replaced = {
            TornadoVoilaHandler: DashboardHandler,
            VoilaKernelWebsocketHandler: SafeKernelWebsocketHandler,
        }
        return [
            (pattern, replaced.get(handler, handler), *rest)
            for pattern, handler, *rest in super().init_handlers()
        ]


def reload_texts(lang: str) -> dict[str, Any]:
    """The texts of the page's "closed, reload" notice, for the template."""
    return {
        "default": lang,
        **{
            code: {key: t(f"dash_reload_{key}", code) for key in ("title", "body", "button")}
            for code in ("sv", "en")
        },
    }


def voila_config(args: argparse.Namespace, *, token: str) -> Config:
    """The configuration of the dashboard server (see the module docstring)."""
    config = Config()
    config.Voila.update(
        port=args.port, ip=args.ip, open_browser=False, port_retries=0, token=token,
        tornado_settings={"headers": {
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        }},
    )  # fmt: skip
    config.VoilaConfiguration.update(
        template="ctc", strip_sources=True, show_tracebacks=False,
        preheat_kernel=args.pool_size > 0, default_pool_size=max(args.pool_size, 0),
        multi_kernel_manager_class="ctc_helpers.dashboard.kernels.DashboardKernelManager",
        resources={"ctc_texts": reload_texts(check_language(args.lang)),
                   "ctc_check_seconds": CHECK_SECONDS},
    )  # fmt: skip
    config.VoilaExecutor.timeout = args.cell_timeout
    # Jupyter's culler calls the kernel manager's own rules (kernels.py) every cull_interval
    config.MappingKernelManager.update(
        cull_idle_timeout=max(1, int(args.orphan_timeout)), cull_interval=args.cull_interval
    )
    config.DashboardKernelManager.update(
        orphan_timeout=args.orphan_timeout, idle_timeout=args.idle_timeout,
        max_kernels=args.max_kernels,
    )  # fmt: skip
    return config


def die_with_parent(parent_fd: int | None, parent_pid: int | None) -> None:
    """Stop the server when ``ctc dashboard`` dies, however it dies.

    ``parent_fd`` is the read end of a pipe whose write end only the parent holds: it reads
    end-of-file the moment the parent is gone. The server then stops as on SIGTERM (its kernels
    shut down), and exits after ``EXIT_GRACE`` seconds at the latest. On Linux the kernel also
    sends SIGTERM when the parent dies (``PR_SET_PDEATHSIG``).
    """
    if parent_pid is not None and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)
    if parent_fd is None:
        return
    loop = IOLoop.current()

    def watch() -> None:
        while os.read(parent_fd, 64):
            pass
        loop.add_callback(loop.stop)
        time.sleep(EXIT_GRACE)
        os._exit(3)

    threading.Thread(target=watch, name="ctc-parent-watch", daemon=True).start()


def pools_ready(manager: Any, notebooks: list[str], pool_size: int) -> bool:
    """True when every pre-heated kernel has run its notebook (a kernel that failed to start
    counts as done: it is in the log, and the server serves pages without it).

    Voilà 0.5 keeps its pools in ``_pools`` (notebook -> tasks whose result holds the render
    task) and has no public way to ask; without the attribute the pools count as ready.
    """
    pools = getattr(manager, "_pools", None)
    if pools is None or pool_size <= 0:
        return True
    for notebook in notebooks:
        tasks = pools.get(notebook, [])
        if len(tasks) < pool_size or not all(task.done() for task in tasks):
            return False
        failed = [t for t in tasks if t.cancelled() or t.exception() is not None]
        if not all(_heated(task) for task in tasks if task not in failed):
            return False
    return True


def announce_ready(app: DashboardVoila, ready_fd: int | None, pool_size: int) -> None:
    """Write ``ready`` to ``ready_fd`` once the server listens and its pools are heated."""
    if ready_fd is None:
        return
    notebooks = [settings.notebook_file(view) for view in settings.VIEWS]

    def check() -> None:
        if getattr(app, "ioloop", None) is None or not pools_ready(
            app.kernel_manager, notebooks, pool_size
        ):
            return
        callback.stop()
        try:
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)
        except OSError:
            app.log.warning("ctc dashboard is no longer waiting for the ready message.")

    callback = PeriodicCallback(check, 250)
    callback.start()


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ctc_helpers.dashboard.voila_app")
    parser.add_argument("notebooks", nargs="?", default=str(settings.DASHBOARD_DIR))
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--lang", default=None)
    parser.add_argument("--pool-size", type=int, default=settings.POOL_SIZE)
    parser.add_argument("--max-kernels", type=int, default=settings.MAX_KERNELS)
    parser.add_argument("--idle-timeout", type=float, default=settings.IDLE_TIMEOUT)
    parser.add_argument("--orphan-timeout", type=float, default=settings.ORPHAN_TIMEOUT)
    parser.add_argument("--cull-interval", type=int, default=settings.CULL_INTERVAL)
    parser.add_argument("--cell-timeout", type=int, default=settings.CELL_TIMEOUT)
    parser.add_argument("--parent-fd", type=int, default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--ready-fd", type=int, default=None)
    parser.add_argument("--no-fork", dest="fork", action="store_false")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the dashboard server until it is stopped (SIGTERM, or its parent dies)."""
    args = _arguments(argv)
    token = os.environ.pop(settings.ENV_TOKEN, "")  # never inherited by a kernel
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(TEMPLATE_ROOT), os.environ.get("JUPYTER_PATH", "")) if p
    )
    asyncio.set_event_loop(asyncio.new_event_loop())
    die_with_parent(args.parent_fd, args.parent_pid)
    config = voila_config(args, token=token)
    with tempfile.TemporaryDirectory(prefix="ctc-dashboard-") as private:
        if args.fork and provisioner.available():
            _, socket_path = provisioner.start_server(Path(private))
            os.environ[settings.ENV_FORKSERVER] = str(socket_path)
            provisioner.register()
            choice = KernelProvisionerFactory.default_provisioner_name_env
            os.environ[choice] = provisioner.PROVISIONER
        app = DashboardVoila.instance(config=config)
        app.initialize([args.notebooks])
        announce_ready(app, args.ready_fd, args.pool_size)
        app.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
