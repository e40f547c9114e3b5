"""The draft action plan for people (notebook 03): the draft goal chain of
:func:`ctc_helpers.phases.gaps.actionplan.draft_goal_chain` as a table, and a note saying where
the draft was written for the area team to edit, in Swedish or English.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import Markdown

from ctc_helpers.i18n import check_language, t
from ctc_helpers.views.numbers import format_pct
from ctc_helpers.views.tables import DisplayTable, display_table

__all__ = ["goal_chain_table", "written_note"]


def goal_chain_table(draft: Mapping[str, Any], *, lang: str | None = None) -> DisplayTable:
    """Display copy of a draft: level, goal, baseline, target, target year, contributes to."""
    lang = check_language(lang)
    rows = [
        {
            t("plan_col_level", lang): t(f"plan_level_{g['level']}", lang),
            t("plan_col_goal", lang): g.get("label") or g["id"],
            t("plan_col_baseline", lang): format_pct(g["baseline"], lang)
            if g["baseline"] is not None
            else "–",
            t("plan_col_target", lang): format_pct(g["target"], lang)
            if g["target"] is not None
            else "–",
            t("plan_col_target_year", lang): str(g["target_year"]),
            t("plan_col_contributes", lang): ", ".join(g["contributes_to"]),
        }
        for g in draft["goals"]
    ]
    return display_table(pd.DataFrame(rows), lang=lang, notes=(t("plan_note", lang),))


def written_note(path: Path | None, *, area: str, lang: str | None = None) -> Markdown:
    """A sentence saying where the draft was written (or that it was not), as Markdown."""
    if path is None:
        return Markdown(t("plan_not_written", lang))
    return Markdown(t("plan_written", lang, path=path.name, area=area))
