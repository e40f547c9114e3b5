"""Voilà dashboards for area teams.

A dashboard notebook is a title, an import and one call to :func:`app` (in :mod:`.page`); the
views are functions that return widgets (:mod:`.profile`, :mod:`.priorities`, :mod:`.gap`,
:mod:`.followup`), and :mod:`.server` runs them with Voilà (``ctc dashboard``). ``app`` is
imported on first use, so that ``ctc dashboard`` does not load the widgets.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        return importlib.import_module("ctc_helpers.dashboard.page").app
    raise AttributeError(f"module 'ctc_helpers.dashboard' has no attribute {name!r}")
