"""ctc_helpers: the analytical core of the CTC workbench.

The public API is listed here explicitly. Names are imported lazily on first use, so that
``import ctc_helpers`` stays cheap in every notebook and dashboard kernel.

>>> import ctc_helpers
>>> ctc_helpers.wilson_ci.__module__
'ctc_helpers.stats'
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import ComparisonError, ConfigError, CTCError, InputFileError
from .i18n import t, text_of
from .instrument import (
    Instrument,
    RespondentSchema,
    load_areas,
    load_instrument,
    load_respondent_schema,
)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "IngestResult": "io",
    "load_survey": "io",
    "read_table": "io",
    "write_ingest": "io",
    "build_schema": "validate",
    "screen_respondents": "screening",
    "screening_log": "screening",
    "score_scales": "scoring",
    "derive_cutpoints": "cutpoints",
    "apply_cutpoints": "cutpoints",
    "save_cutpoints": "cutpoints",
    "load_cutpoints": "cutpoints",
    "classify_behaviours": "behaviours",
    "classify_composites": "behaviours",
    "prepare_scored": "profile",
    "aggregate": "profile",
    "compare_to_city": "compare",
    "compare_waves": "compare",
    "wilson_ci": "stats",
    "newcombe_diff_ci": "stats",
    "two_proportion_ztest": "stats",
    "cohens_h": "stats",
    "holm_adjust": "stats",
    "k_proportions_test": "stats",
    "logistic_trend_test": "stats",
    "suppress_table": "privacy",
    "suppress_counts": "privacy",
    "check_disclosure": "privacy",
    "add_margins": "privacy",
    "mask_for_display": "privacy",
    "load_published": "published",
    "rank_factors": "prioritize",
    "load_team_choices": "prioritize",
    "load_glossary": "glossary",
    "load_programme_bank": "resources",
    "load_inventory": "resources",
    "find_gaps": "resources",
    "suggest_programmes": "resources",
    "draft_goal_chain": "actionplan",
    "write_goal_chain": "actionplan",
    "trend_table": "followup",
    "change_table": "followup",
    "cohort_table": "followup",
    "load_goal_chain": "goalchain",
    "evaluate_goals": "goalchain",
    "generate_city": "synth",
    "write_city": "synth",
}

__all__ = [
    "CTCError",
    "ComparisonError",
    "ConfigError",
    "InputFileError",
    "Instrument",
    "RespondentSchema",
    "load_areas",
    "load_instrument",
    "load_respondent_schema",
    "t",
    "text_of",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'ctc_helpers' has no attribute {name!r}")
