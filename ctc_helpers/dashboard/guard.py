"""Failures in a dashboard kernel: logged to a file, shown to the reader as a friendly message.

A reader never sees a traceback (it may hold paths or data); the traceback goes to
``.ctc/logs/dashboard.log``.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ctc_helpers.dashboard import settings
from ctc_helpers.dashboard.markup import notice_html
from ctc_helpers.i18n import check_language, t

__all__ = ["log_error", "guarded"]

_log = logging.getLogger(__name__)


def log_error(where: str) -> None:
    """Append the current exception's traceback to the dashboard log file (never shown).

    The file is ``settings.LOG_FILE`` (``.ctc/logs/dashboard.log``), read when called, so a test
    can point it elsewhere.
    """
    log_file = settings.LOG_FILE
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a", encoding="utf-8") as log:
            log.write(f"--- {datetime.now():%Y-%m-%d %H:%M:%S} {where}\n{traceback.format_exc()}\n")
    except OSError:
        _log.error("dashboard error in %s (log file %s not writable)", where, log_file)


def guarded(handler: Callable[..., Any], message: Any, lang: str | None = None) -> Callable:
    """Wrap a widget handler: an exception shows a friendly message in ``message`` (an HTML
    widget) instead of vanishing or showing a traceback; the traceback goes to the log file.
    A call that succeeds clears the message."""
    text = t("dash_error", check_language(lang))

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = handler(*args, **kwargs)
        except Exception:  # noqa: BLE001 - a reader sees a friendly message; the log has the rest
            log_error(getattr(handler, "__name__", "handler"))
            message.value = notice_html(text, kind="error")
            return None
        message.value = ""
        return result

    return run
