"""Notes a report shows about the instrument itself (issue 16: bring your own survey).

A municipality's own questionnaire may lack parts of the CTC instrument (no risk or protective
factor scales, no problem behaviours, no screening rules) or be written in one language only. The
published folder says so (``run_info.json``: ``has_factors``, ``has_behaviours``,
``has_screening``, ``languages``, read by :class:`ctc_helpers.publish.read.Published`); these
helpers turn that into the sentence a reader sees instead of an empty or failing section.

>>> from types import SimpleNamespace
>>> pub = SimpleNamespace(run_info={"instrument": {"title": {"sv": "Skolenkät", "en": "Skolenkät"}}},
...     has=lambda part: part != "factors", languages=("sv",))
>>> print(missing_note(pub, "factors", "en").data)
The survey Skolenkät has no risk or protective factors. This part is built on such factors and is therefore not shown.
>>> missing_note(pub, "behaviours", "en") is None
True
>>> print(language_note(pub, "en").data)
*The survey (Skolenkät) is not available in English: its questions and labels are shown in Swedish.*
>>> language_note(pub, "sv") is None
True
"""

from __future__ import annotations

from typing import Any

from IPython.display import Markdown

from ctc_helpers.i18n import check_language, text_of
from ctc_helpers.views.escape import markdown_text

__all__ = [
    "PART_OF_KIND",
    "FACTOR_REPORTS",
    "instrument_title",
    "missing_note",
    "language_note",
    "has_part",
]

# the reports (``report_<phase>_title``) built on the risk and protective factors
FACTOR_REPORTS = ("priorities", "gaps")

# the part of the instrument each measure kind of the published tables comes from
PART_OF_KIND = {
    "risk": "factors",
    "protective": "factors",
    "composite": "factors",
    "behaviour": "behaviours",
}
_NOTE_KEYS = {
    "factors": "instrument_no_factors",
    "behaviours": "instrument_no_behaviours",
    "screening": "instrument_no_screening",
}


def instrument_title(published: Any, lang: str | None = None) -> str:
    """The instrument's title in ``lang`` (its id when it has none)."""
    info = published.run_info.get("instrument") or {}
    title = info.get("title")
    return text_of(title, lang) if title else str(info.get("id", ""))


def has_part(published: Any, part: str) -> bool:
    """Whether the published instrument has ``part`` (``"factors"``, ``"behaviours"``,
    ``"screening"``); folders written before the flags existed have every part."""
    return bool(published.has(part))


def missing_note(published: Any, part: str, lang: str | None = None) -> Markdown | None:
    """The sentence shown instead of a section built on ``part`` when the instrument lacks it;
    ``None`` (nothing to say) when it has it. ``part`` may also be a measure kind (``"risk"``)."""
    part = PART_OF_KIND.get(part, part)
    if part not in _NOTE_KEYS:
        raise ValueError(f"part is {part!r}; choose from: {', '.join(_NOTE_KEYS)}.")
    if has_part(published, part):
        return None
    lang = check_language(lang)
    return Markdown(markdown_text(_NOTE_KEYS[part], lang, title=instrument_title(published, lang)))


def language_note(published: Any, lang: str | None = None) -> Markdown | None:
    """A visible note when the instrument's texts are not written in the report's language."""
    lang = check_language(lang)
    if lang in published.languages:
        return None
    return Markdown(
        f"*{markdown_text('instrument_one_language', lang, title=instrument_title(published, lang))}*"
    )
