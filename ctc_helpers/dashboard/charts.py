"""Charts of a dashboard kernel: drawn once per selection as PNG bytes and kept in memory.

The plot functions of :mod:`ctc_helpers.plots` draw on an Axes; here they draw on a figure that
pyplot never sees (nothing to close, nothing shown twice) and the PNG goes into a
``widgets.Image``. Each chart is drawn twice (:func:`chart_pngs`): at the dashboard's width, and
narrow for a phone (:func:`ctc_helpers.plots.cache.fit_narrow`: the same font sizes on a figure
:data:`~ctc_helpers.plots.cache.NARROW_WIDTH` inches wide, so that labels shown at a phone's width
stay about 12 px high); the page's style sheet shows one of them. A pre-heated kernel fills the
cache for every area before its visitor comes.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

from ctc_helpers.plots.cache import NARROW_WIDTH, fit_narrow

__all__ = ["PNG_DPI", "render_png", "cached_png", "chart_pngs", "cached_keys", "clear_charts"]

PNG_DPI = 90
CACHE_SIZE = 400  # charts kept per kernel; the least recently used are dropped beyond it

_PNG_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_PNG_LOCK = threading.Lock()


def render_png(
    draw: Callable[[Any], Any], *, width: float, height: float, narrow: bool = False
) -> bytes:
    """Draw on a new Axes of a ``width`` x ``height`` inch figure and return PNG bytes;
    ``narrow``: the phone's version, :data:`NARROW_WIDTH` inches wide."""
    figure = Figure(
        figsize=(NARROW_WIDTH if narrow else width, height),
        dpi=PNG_DPI,
        layout="constrained" if narrow else None,
    )
    try:
        draw(figure.add_subplot())
        if narrow:
            fit_narrow(figure)
        buffer = io.BytesIO()
        figure.savefig(
            buffer, format="png", bbox_inches="tight", pad_inches=0.15,
            facecolor="white", pil_kwargs={"compress_level": 1},
        )  # fmt: skip
    finally:
        figure.clear()
    return buffer.getvalue()


def cached_png(
    key: tuple, draw: Callable[[Any], Any], *, width: float, height: float, narrow: bool = False
) -> bytes:
    """:func:`render_png` once per ``key`` (a selection) and version in this kernel."""
    key = (*key, "narrow") if narrow else key
    with _PNG_LOCK:
        if key in _PNG_CACHE:
            _PNG_CACHE.move_to_end(key)
            return _PNG_CACHE[key]
    png = render_png(draw, width=width, height=height, narrow=narrow)
    with _PNG_LOCK:
        _PNG_CACHE[key] = png
        while len(_PNG_CACHE) > CACHE_SIZE:
            _PNG_CACHE.popitem(last=False)
    return png


def chart_pngs(
    key: tuple,
    draw: Callable[[Any], Any],
    *,
    width: float,
    height: float,
    narrow_draw: Callable[[Any], Any] | None = None,
    name: str = "chart",
) -> dict[str, bytes]:
    """The chart for the dashboard's width and for a phone, as panel parts: ``{name: wide PNG,
    name + "_phone": narrow PNG}``.

    ``narrow_draw`` draws the phone's version when it needs another layout (default ``draw``).
    """
    wide = cached_png(key, draw, width=width, height=height)
    narrow = cached_png(key, narrow_draw or draw, width=width, height=height, narrow=True)
    return {name: wide, f"{name}_phone": narrow}


def cached_keys() -> list[tuple]:
    """The keys of the charts drawn so far (oldest first)."""
    with _PNG_LOCK:
        return list(_PNG_CACHE)


def clear_charts() -> None:
    """Forget every chart drawn by this kernel."""
    with _PNG_LOCK:
        _PNG_CACHE.clear()
