"""Labels a reader sees for the codes of the published tables, in Swedish or English.

Areas (the run's area list; ``"all"`` is the municipality), measures (the published measure
catalogue), grades and sexes (the instrument's vocabulary in ``run_info.json``, else
``data_schema/respondents.yaml``; ``"all"`` being every grade or everyone), validity rules
(``run_info.json``, else the default instrument) and domains (the instrument's declared domains in
``run_info.json``, else ``data_schema/i18n.yaml``). :func:`check_area` checks a notebook's ``area`` parameter and gives
the area's name.

>>> has_text("city"), has_text("no_such_text")
(True, False)
"""

from __future__ import annotations

import pandas as pd

from ctc_helpers.config.instrument import load_instrument, load_respondent_schema
from ctc_helpers.i18n import check_language, message_keys, t, text_of
from ctc_helpers.publish.read import Published
from ctc_helpers.vocab import CITY, TOTAL

__all__ = [
    "has_text",
    "check_area",
    "area_name",
    "area_names",
    "measure_labels",
    "grade_labels",
    "sex_labels",
    "rule_labels",
    "domain_label",
    "domain_labels",
]


def has_text(key: str) -> bool:
    """Whether ``data_schema/i18n.yaml`` has a text with this key (placeholders not needed)."""
    return key in message_keys()


def check_area(published: Published, area: str, lang: str | None = None) -> str:
    """Return the area's display name after checking that the area is published.

    ``"all"`` is the whole municipality (its name is the text ``city``).

    Raises
    ------
    ValueError
        If the area is not in the run's area list; the message lists the known ids.
    """
    if area == CITY:
        return t("city", lang)
    known = published.areas
    if area not in set(known["area_id"]):
        raise ValueError(
            f"The area {area!r} is not in the published data. Known areas: "
            f"{', '.join(known['area_id'])}, or 'all' for the whole municipality."
        )
    return str(known.set_index("area_id").loc[area, "name"])


def area_name(published: Published, area: str, lang: str | None = None) -> str:
    """Display name of an area id (``"all"`` gives the municipality)."""
    if area == CITY:
        return t("city", lang)
    names = published.areas.set_index("area_id")["name"]
    return str(names.get(area, area))


def area_names(published: Published) -> dict[str, str]:
    """Map area id -> name for every area of the run (the city is not in it)."""
    areas = published.areas
    return dict(zip(areas["area_id"], areas["name"], strict=True))


def measure_labels(measures: pd.DataFrame, lang: str | None = None) -> dict[str, str]:
    """Map measure id -> label in ``lang`` from the (normalised) published measures."""
    column = f"label_{check_language(lang)}"
    return dict(zip(measures["measure"], measures[column], strict=True))


def grade_labels(lang: str | None = None, *, published: object = None) -> dict[str, str]:
    """Map grade code -> label, in order, ``all`` -> all grades.

    The vocabulary is the instrument's as published (``published``: a :class:`Published` or its
    aggregate table, which carries it), else ``data_schema/respondents.yaml``.
    """
    own = _vocabulary_labels(published, "grades", lang)
    return {**(own or load_respondent_schema().grade_labels(lang)), TOTAL: t("all_grades", lang)}


def sex_labels(lang: str | None = None, *, published: object = None) -> dict[str, str]:
    """Map sex code -> label (the published vocabulary, else ``respondents.yaml``), ``all``."""
    own = _vocabulary_labels(published, "sexes", lang)
    return {**(own or load_respondent_schema().sex_labels(lang)), TOTAL: t("all_sexes", lang)}


def domain_labels(published: object = None, lang: str | None = None) -> dict[str, str]:
    """Map domain id -> name, in order: the instrument's declared domains as published, else
    the four CTC domains (``domain_<id>`` in ``data_schema/i18n.yaml``)."""
    declared = _run_info(published).get("domains") or []
    if declared:
        return {d["id"]: _text_of(d.get("label"), lang) or d["id"] for d in declared}
    return {d: t(f"domain_{d}", lang) for d in ("community", "family", "school", "individual")}


def domain_label(domain: str, lang: str | None = None, *, published: object = None) -> str:
    """The name of a factor domain (declared by the instrument, else ``domain_<code>`` in
    ``data_schema/i18n.yaml``), else the code.

    >>> domain_label("family", "en"), domain_label("elsewhere", "en")
    ('Family', 'elsewhere')
    """
    declared = domain_labels(published, lang) if published is not None else {}
    if domain in declared:
        return declared[domain]
    key = f"domain_{domain}"
    return t(key, lang) if has_text(key) else domain


def _run_info(published: object) -> dict:
    """``run_info`` of a :class:`Published`, or of an aggregate table read by ``load_published``
    (which carries it in ``attrs``); ``{}`` otherwise."""
    if isinstance(published, Published):
        return published.run_info
    if isinstance(published, pd.DataFrame | pd.Series):
        return published.attrs.get("run_info") or {}
    return {}


def _vocabulary_labels(published: object, key: str, lang: str | None) -> dict[str, str]:
    entries = (_run_info(published).get("respondents") or {}).get(key) or []
    return {str(e["code"]): _text_of(e.get("label"), lang) or str(e["code"]) for e in entries}


def rule_labels(published: Published, lang: str | None = None) -> dict[str, str]:
    """Map validity rule id -> label: ``run_info["validity_rules"]``, else the default instrument.

    The default instrument's labels are used only for rule ids it defines; ``any_excluded`` is
    the total of excluded questionnaires.
    """
    lang = check_language(lang)
    labels = {"any_excluded": t("report_rule_any_excluded", lang)}
    rules = published.run_info.get("validity_rules")
    if rules:
        return {**labels, **{r["id"]: _text_of(r.get("label"), lang) or r["id"] for r in rules}}
    known = {rule.id: text_of(rule.label, lang) for rule in load_instrument().validity}
    present = [r for r in dict.fromkeys(published.screening_log["rule"]) if r != "any_excluded"]
    return {**labels, **{r: known.get(r, r) for r in present}}


def _text_of(mapping: dict[str, str] | str | None, lang: str | None) -> str:
    return "" if mapping is None else text_of(mapping, lang)
