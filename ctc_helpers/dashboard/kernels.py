"""The kernels of the dashboard server: a cap on how many serve pages, and when they are returned.

Every page a visitor opens runs in a kernel of its own (about 150-300 MB). This kernel manager
(Voilà wraps it with its pool of pre-heated kernels) keeps that in bounds:

- **Orphans**: a kernel whose page has no open connection (the page never connected: a script,
  a link preview, a closed tab) is shut down ``orphan_timeout`` seconds after its last activity
  or after its page was delivered, whichever is later; checked every ``cull_interval`` seconds.
- **Idle pages**: a page with an open connection that nobody has used for ``idle_timeout``
  seconds is closed too (the page then offers to reload).
- **Cap**: at most ``max_kernels`` kernels serve pages at the same time (the pre-heated ones come
  on top); :meth:`admit` refuses a page beyond that, and the server answers "busy, try again".
- A busy kernel (a page still being drawn, a cell running) is never culled; the cell time limit
  bounds how long it can stay busy.

A place is reserved when a page is admitted and taken by the kernel started for it
(:meth:`start_kernel` finds the reservation in :data:`ADMISSION`, set by the request's
handler), so that many pages requested at once cannot overshoot the cap.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jupyter_core.utils import ensure_async
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float, Integer, List, Unicode

from ctc_helpers.dashboard import settings

__all__ = ["Admission", "ADMISSION", "DashboardKernelManager"]


@dataclass
class Admission:
    """A place reserved for one page until its kernel starts (or the request ends)."""

    taken: bool = False


# the admission of the request being served (set by the page handler, read in start_kernel)
ADMISSION: ContextVar[Admission | None] = ContextVar("ctc_admission", default=None)


def _utcnow() -> datetime:
    return datetime.now(UTC)  # the clock of Jupyter's last_activity (aware, UTC)


class DashboardKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager with the dashboards' culling rules and cap (module docstring)."""

    orphan_timeout = Float(
        settings.ORPHAN_TIMEOUT,
        config=True,
        help="Seconds after which a kernel without an open page is shut down.",
    )
    idle_timeout = Float(
        settings.IDLE_TIMEOUT,
        config=True,
        help="Seconds after which an open page that nobody uses is closed.",
    )
    max_kernels = Integer(
        settings.MAX_KERNELS,
        config=True,
        help="Kernels serving pages at the same time (pre-heated kernels come on top).",
    )
    pooled_notebooks = List(
        Unicode(),
        [settings.notebook_file(view) for view in settings.VIEWS],
        config=True,
        help="Notebooks with pre-heated kernels (their pools are not counted in the cap).",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._reserved = 0
        self._starting = 0

    # ---------------------------------------------------------------------------------------
    # The cap

    def serving(self) -> int:
        """Kernels serving pages: running and starting ones plus reserved places, without the
        pre-heated kernels waiting in Voilà's pools."""
        pooled = sum(self.get_pool_size(name) for name in self.pooled_notebooks)
        return max(0, len(self.list_kernel_ids()) + self._starting + self._reserved - pooled)

    def get_pool_size(self, notebook_name: str) -> int:
        """Pre-heated kernels waiting for ``notebook_name`` (Voilà's subclass counts them)."""
        return 0

    def admit(self) -> Admission | None:
        """Reserve a place for a page, or None when ``max_kernels`` pages are being served."""
        if self.serving() >= self.max_kernels:
            return None
        self._reserved += 1
        return Admission()

    def release(self, admission: Admission) -> None:
        """Give back a reservation whose page did not start a kernel (it took a pre-heated one,
        or failed)."""
        if not admission.taken:
            admission.taken = True
            self._reserved -= 1

    async def start_kernel(self, *, kernel_name=None, **kwargs):
        """Start a kernel; a visitor's kernel takes its page's reservation."""
        preheated = (kwargs.get("env") or {}).get("VOILA_PREHEAT") == "True"
        admission = ADMISSION.get()
        if not preheated and admission is not None and not admission.taken:
            admission.taken = True
            self._reserved -= 1
        self._starting += 1
        try:
            return await super().start_kernel(kernel_name=kernel_name, **kwargs)
        finally:
            self._starting -= 1

    # ---------------------------------------------------------------------------------------
    # Returning kernels

    def page_delivered(self, kernel_id: str) -> None:
        """The page of ``kernel_id`` has been sent: its orphan time counts from now."""
        if kernel_id in self:
            self.get_kernel(kernel_id).last_activity = _utcnow()

    def cull_reason(self, kernel_id: str, now: datetime | None = None) -> str:
        """Why ``kernel_id`` should be shut down now (``"dead"``, ``"orphan"``, ``"idle"``), or
        an empty string to keep it."""
        kernel = self.get_kernel(kernel_id)
        state = getattr(kernel, "execution_state", None)
        if state == "dead":
            return "dead"
        last = getattr(kernel, "last_activity", None)
        if last is None or state == "busy":
            return ""
        idle = (now or _utcnow()) - last
        if self.kernel_model(kernel_id)["connections"]:
            return "idle" if idle > timedelta(seconds=self.idle_timeout) else ""
        return "orphan" if idle > timedelta(seconds=self.orphan_timeout) else ""

    async def cull_kernel_if_idle(self, kernel_id: str):
        """Shut ``kernel_id`` down when :meth:`cull_reason` says so (Voilà's subclass never
        passes its pre-heated kernels here)."""
        if kernel_id not in self:
            return
        reason = self.cull_reason(kernel_id)
        if reason:
            self.log.info("Returning kernel %s (%s).", kernel_id, reason)
            await ensure_async(self.shutdown_kernel(kernel_id))
