"""Deep links: ``.../omradesprofil.ipynb?area=norra-hamnen`` (an area id or its name) opens that area.

``lang=en`` (or ``sv``) opens the page in that language, so the navigation between dashboards
keeps the reader's language; any other value is ignored.

Voilà puts the query string in the kernel's ``QUERY_STRING``; a pre-heated kernel (which ran the
notebook before anyone asked for it) learns it from ``voila.utils.wait_for_request`` in a
background thread, so no cell blocks and the execution time limit still holds. The link is then
applied on the kernel's main thread (:func:`on_kernel_thread`), where the visitor's own choices
are handled too: applied from the background thread, a slow update of the link's area could
finish after the visitor's next choice and leave the page showing the link's area under the
visitor's choice. Only the areas of
the published ``run_info.json`` are accepted (an allow-list); anything else shows the default
area with a message.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from urllib.parse import parse_qs

import pandas as pd

from ctc_helpers.dashboard.guard import log_error
from ctc_helpers.i18n import LANGUAGES

__all__ = [
    "area_from_query",
    "language_from_query",
    "preheating",
    "wait_for_query",
    "on_kernel_thread",
    "DeepLink",
]


def area_from_query(query: str | None, areas: pd.DataFrame) -> tuple[str | None, str | None]:
    """The area a link asks for, checked against the published area list (an allow-list).

    Parameters
    ----------
    query : str
        The query string (``area=norra-hamnen&...``); other keys are ignored.
    areas : pandas.DataFrame
        The published area list (``area_id, name``); ids and names match without regard to
        case and surrounding spaces.

    Returns
    -------
    tuple
        ``(area_id, None)`` for a known area, ``(None, refused_value)`` for anything else (the
        value as given, at most 60 characters, not escaped), ``(None, None)`` without ``area``.

    Examples
    --------
    >>> areas = pd.DataFrame({"area_id": ["norra-hamnen"], "name": ["Norra Hamnen"]})
    >>> area_from_query("area=Norra%20Hamnen", areas)
    ('norra-hamnen', None)
    >>> area_from_query("area=../etc", areas)
    (None, '../etc')
    >>> area_from_query("token=abc", areas)
    (None, None)
    """
    values = parse_qs(query or "", keep_blank_values=True).get("area")
    if not values:
        return None, None
    wanted = values[0].strip()
    known = {
        **{str(n).strip().casefold(): str(a) for a, n in zip(areas["area_id"], areas["name"], strict=True)},
        **{str(a).casefold(): str(a) for a in areas["area_id"]},
    }  # fmt: skip
    area = known.get(wanted.casefold())
    return (area, None) if area is not None else (None, wanted[:60])


def language_from_query(query: str | None) -> str | None:
    """The language a link asks for (``lang=en``), if it is one the dashboards speak.

    >>> language_from_query("area=lillby&lang=en"), language_from_query("lang=xx")
    ('en', None)
    """
    values = parse_qs(query or "").get("lang")
    wanted = values[0].strip().lower() if values else ""
    return wanted if wanted in LANGUAGES else None


def preheating() -> bool:
    """True in a Voilà kernel started before its visitor asked for the page."""
    return os.environ.get("VOILA_PREHEAT", "False") == "True"


def wait_for_query() -> str:
    """Block until Voilà hands this pre-heated kernel its visitor's request; the query string."""
    from voila.utils import wait_for_request  # 1.5 s to import (jupyter_server): in the thread

    wait_for_request()
    return os.environ.get("QUERY_STRING", "")


def on_kernel_thread(function: Callable[..., None], *args: object) -> None:
    """Call ``function(*args)`` on the kernel's main thread, between the messages it handles
    (widget changes from the browser), and log what it raises. Outside a kernel: call it now."""
    from ipykernel.kernelbase import Kernel  # ipykernel: 0.1 s, loaded already in a kernel

    loop = getattr(Kernel.instance(), "io_loop", None) if Kernel.initialized() else None

    def logged() -> None:
        try:
            function(*args)
        except Exception:  # noqa: BLE001 - runs on the kernel's loop: log, never crash it
            log_error("deep link")

    if loop is None:
        logged()
    else:
        loop.add_callback(logged)


class DeepLink:
    """The visitor's query string of a pre-heated kernel, applied once the page is built.

    The waiting thread starts before the page is built, so that importing Voilà's helper
    (seconds) overlaps the pre-heating instead of delaying the deep link. ``wait`` is the
    function that blocks until the visitor comes (default :func:`wait_for_query`).
    """

    def __init__(self, wait: Callable[[], str] | None = None) -> None:
        self._wait = wait or wait_for_query
        self._page_built = threading.Event()
        self._apply: Callable[[str], None] | None = None
        self.thread = threading.Thread(target=self._run, name="ctc-deep-link", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            query = self._wait()
            self._page_built.wait()
            on_kernel_thread(self._apply, query)
        except Exception:  # noqa: BLE001 - a background thread: log, never crash the kernel
            log_error("deep link")

    def apply_with(self, apply: Callable[[str], None]) -> None:
        """Hand over the function that shows the link's area (called from the thread)."""
        self._apply = apply
        self._page_built.set()
