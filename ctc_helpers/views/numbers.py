"""Numbers for people: percentages, percentage points and counts as text, Swedish or English.

Only display copies are formatted: the tidy frames keep proportions 0..1 and counts unrounded.
Half rounds up (``0.375`` is ``38 %``), as in :func:`ctc_helpers.privacy.suppress.mask_for_display`;
Swedish uses a decimal comma, the minus sign ``−`` and a narrow no-break space between thousands.
"""

from __future__ import annotations

import math

import pandas as pd

from ctc_helpers.i18n import check_language

__all__ = ["format_pct", "format_points", "format_count"]


def _round_half_up(value: float, decimals: int = 0) -> float:
    factor = 10**decimals
    return math.floor(abs(value) * factor + 0.5 + 1e-9) / factor * (1 if value >= 0 else -1)


def _number(value: float, decimals: int, lang: str) -> str:
    text = f"{_round_half_up(value, decimals):.{decimals}f}"
    text = "0" if decimals == 0 and text == "-0" else text
    return text.replace(".", ",").replace("-", "−") if lang == "sv" else text


def format_pct(value: float | None, lang: str | None = None, *, decimals: int = 0) -> str:
    """A proportion (0..1) as a percentage: ``"37 %"`` (sv) or ``"37%"`` (en); NaN gives ``""``.

    Half rounds up, as in :func:`ctc_helpers.privacy.suppress.mask_for_display`.

    >>> format_pct(0.375, "sv"), format_pct(0.375, "en"), format_pct(0.0512, "sv", decimals=1)
    ('38 %', '38%', '5,1 %')
    """
    lang = check_language(lang)
    if value is None or pd.isna(value):
        return ""
    number = _number(100 * float(value), decimals, lang)
    return f"{number} %" if lang == "sv" else f"{number}%"


def format_points(value: float | None, lang: str | None = None, *, decimals: int = 0) -> str:
    """A difference of proportions in percentage points, signed: ``"+12"``; NaN gives ``""``.

    >>> format_points(0.123, "sv"), format_points(-0.05, "sv"), format_points(-0.05, "en")
    ('+12', '−5', '-5')
    """
    lang = check_language(lang)
    if value is None or pd.isna(value):
        return ""
    number = _number(100 * float(value), decimals, lang)
    return number if number.startswith(("−", "-")) or number == "0" else f"+{number}"


def format_count(value: float | None, lang: str | None = None) -> str:
    """A count as a whole number with a thin space as thousands separator in Swedish.

    >>> format_count(12345.0, "sv"), format_count(12345, "en"), format_count(float("nan"))
    ('12\\u202f345', '12,345', '')
    """
    lang = check_language(lang)
    if value is None or pd.isna(value):
        return ""
    text = f"{int(_round_half_up(float(value))):,}"
    return text.replace(",", "\u202f") if lang == "sv" else text
