"""The texts of a phase report: headings and paragraphs from ``data_schema/i18n.yaml``, the
report header with the synthetic-data notice, the methods appendix and the glossary.

A section of a phase notebook is one call that shows its parts in order (:func:`show`)::

    report.show(
        report.section("risk_profile", lang, area=area, name=name),
        charts.chart(pub, "risk_profile", **chart),
        profile.profile_table(pub, kind="risk", area=area, wave=wave, lang=lang),
    )
"""

from __future__ import annotations

import html
import os
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown
from IPython.display import display as ipython_display

from ctc_helpers.config.glossary import load_glossary
from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.publish.read import Published
from ctc_helpers.views.escape import escape_markdown, markdown_text
from ctc_helpers.views.instrument import (
    FACTOR_REPORTS,
    instrument_title,
    language_note,
    missing_note,
)
from ctc_helpers.views.labels import area_name, has_text, rule_labels
from ctc_helpers.views.summary import anchor
from ctc_helpers.views.tables import DisplayTable, column_label
from ctc_helpers.vocab import CITY

__all__ = [
    "show",
    "heading",
    "narrative",
    "section",
    "report_header",
    "synthetic_banner",
    "methods_appendix",
    "glossary_table",
]


def show(*parts: object) -> None:
    """Display the parts of a report section in order; ``None`` (nothing to say) is skipped.

    The helpers only build the parts (tested without a notebook); this call shows them. Few
    cells keep a report fast: papermill saves the whole notebook before and after every cell.
    """
    for part in parts:
        if part is not None:
            ipython_display(part)


def heading(key: str, lang: str | None = None, *, level: int = 2, **values: object) -> Markdown:
    """A section heading from the i18n text ``report_<key>`` (``level`` = number of ``#``)."""
    return Markdown(f"{'#' * level} {markdown_text(f'report_{key}', lang, **values)}")


def narrative(key: str, lang: str | None = None, **values: object) -> Markdown:
    """A paragraph from the i18n text ``report_<key>_text`` with ``{placeholders}`` filled."""
    return Markdown(markdown_text(f"report_{key}_text", lang, **values))


def section(
    key: str, lang: str | None = None, *, area: str | None = None, level: int = 2, **values: object
) -> Markdown:
    """A section: heading ``report_<key>`` and paragraph ``report_<key>_text``.

    An anchor (:func:`ctc_helpers.views.summary.anchor`) precedes the heading, for the table of
    contents. For the city report (``area == "all"``) the paragraph ``report_<key>_city_text`` is used when
    it exists. ``values`` fill the ``{placeholders}`` of both texts.
    """
    text_key = _city_key(f"report_{key}", "text", area)
    title = markdown_text(f"report_{key}", lang, **values)
    body = markdown_text(text_key, lang, **values) if has_text(text_key) else ""
    target = f'<a id="{anchor(key)}"></a>\n\n'  # the table of contents links here
    return Markdown(f"{target}{'#' * level} {title}\n\n{body}".rstrip())


def report_header(
    published: Published, *, phase: str, area: str, wave: int, lang: str | None = None
) -> Markdown:
    """Title, purpose and (for synthetic data) the synthetic-data notice of a phase report.

    ``phase`` names the texts ``report_<phase>_title`` and ``report_<phase>_purpose``; the city
    report (``area == "all"``) uses ``report_<phase>_city_title`` and ``_city_purpose`` where
    they exist (worded for the whole municipality, not for an area).
    """
    lang = check_language(lang)
    name = area_name(published, area, lang)
    title = markdown_text(_city_key(f"report_{phase}", "title", area), lang, area=name, wave=wave)
    purpose = markdown_text(
        _city_key(f"report_{phase}", "purpose", area), lang, area=name, wave=wave
    )
    banner = synthetic_banner(published.run_info, lang)
    notice = f"\n\n{banner.data}" if banner is not None else ""
    language = language_note(published, lang)  # the instrument is not written in ``lang``
    notice += f"\n\n{language.data}" if language is not None else ""
    missing = missing_note(published, "factors", lang) if phase in FACTOR_REPORTS else None
    notice += f"\n\n**{missing.data}**" if missing is not None else ""
    return Markdown(f"# {title}\n\n{purpose}{notice}")


def _city_key(stem: str, suffix: str, area: str | None) -> str:
    """``<stem>_city_<suffix>`` for the city report when that text exists, else ``<stem>_<suffix>``."""
    city = f"{stem}_city_{suffix}"
    return city if area == CITY and has_text(city) else f"{stem}_{suffix}"


def synthetic_banner(run_info: dict[str, Any], lang: str | None = None) -> HTML | None:
    """A framed notice when the published data are synthetic; ``None`` (nothing shown) otherwise."""
    if not run_info.get("synthetic", False):
        return None
    text = html.escape(t("synthetic_notice", lang))
    return HTML(
        '<div class="ctc-synthetic" style="border:2px solid #D55E00;padding:0.6em 1em;'
        f'margin:0.5em 0;background:#FFF4EC"><strong>{text}</strong></div>'
    )


def glossary_table(lang: str | None = None, *, published: Published | None = None) -> DisplayTable:
    """The glossary (``data_schema/glossary.yaml``) as a two-column table.

    With ``published``, the instrument's own glossary entries (``glossary:`` of the instrument
    file, published in ``run_info.json``) come first; a default term of the same name (case
    ignored) is replaced by the instrument's.
    """
    lang = check_language(lang)
    terms = load_glossary(lang).loc[:, ["term", "definition"]]
    own = pd.DataFrame(
        [
            {"term": text_of(e["term"], lang), "definition": text_of(e["definition"], lang)}
            for e in (published.glossary if published is not None else [])
        ],
        columns=["term", "definition"],
    )
    replaced = terms["term"].str.casefold().isin(set(own["term"].str.casefold()))
    terms = pd.concat([own, terms.loc[~replaced]], ignore_index=True)
    frame = pd.DataFrame(
        {
            column_label("term", lang): terms["term"],
            column_label("definition", lang): terms["definition"],
        }
    )
    return DisplayTable(frame)


def methods_appendix(published: Published, lang: str | None = None) -> Markdown:
    """The methods appendix: instrument, cut points, suppression and screening rules."""
    lang = check_language(lang)
    info = published.run_info
    instrument = info.get("instrument") or {}
    cuts = published.cutpoints
    methods = ", ".join(f"{m} ({k})" for m, k in cuts["method"].value_counts().items())
    references = ", ".join(sorted({str(r) for r in cuts["reference"].dropna()})) or "–"
    rules = {k: v for k, v in rule_labels(published, lang).items() if k != "any_excluded"}
    rule_lines = (
        "\n".join(f"    - {escape_markdown(label)}" for label in rules.values())
        or f"    - {t('report_methods_no_rules', lang)}"
    )
    if not published.has("screening"):  # the instrument has no validity rules (issue 16)
        title = instrument_title(published, lang)
        rule_lines = markdown_text("instrument_no_screening", lang, title=title)
    lines = [
        markdown_text(
            "report_methods_instrument",
            lang,
            id=instrument.get("id", ""),
            version=instrument.get("version", ""),
        ),
        f"  {escape_markdown(_text_of(instrument.get('notice'), lang))}".rstrip(),
        markdown_text(
            "report_methods_cutpoints",
            lang,
            version=_versions_text(info.get("cutpoint_version", ""), lang),
            methods=methods,
            reference=references,
        )
        if published.has("factors")  # no factor scales (issue 16): no cut points to describe
        else "",
        t("report_methods_suppression", lang, min_n=published.min_cell),
        t("report_methods_screening", lang) if published.has("screening") else "",
        rule_lines,
        t("report_methods_statistics", lang),
        t("report_methods_glossary", lang),
    ]
    return Markdown(
        "\n".join(f"- {line}" if not line.startswith(" ") else line for line in lines if line)
    )


def _versions_text(value: Any, lang: str) -> str:
    """One version as is; a few joined; many as their common prefix and their number."""
    versions = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    if len(versions) <= 3:
        return ", ".join(versions)
    prefix = os.path.commonprefix(versions)
    prefix = prefix[: prefix.rfind("/") + 1] if "/" in prefix else prefix
    return t("report_methods_versions", lang, prefix=prefix, k=len(versions))


def _text_of(mapping: dict[str, str] | str | None, lang: str | None) -> str:
    return "" if mapping is None else text_of(mapping, lang)
