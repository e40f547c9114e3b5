"""ctc_helpers: the analytical core of the CTC workbench.

The public API is listed here explicitly. Names are imported lazily on first use, so that
``import ctc_helpers`` stays cheap in every notebook and dashboard kernel.

>>> import ctc_helpers
>>> ctc_helpers.wilson_ci.__module__
'ctc_helpers.stats.intervals'
"""

from __future__ import annotations

import importlib
from typing import Any

from ctc_helpers.errors import ComparisonError, ConfigError, CTCError, InputFileError

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "t": "i18n",
    "text_of": "i18n",
    "Instrument": "config.instrument",
    "RespondentSchema": "config.instrument",
    "load_areas": "config.instrument",
    "load_instrument": "config.instrument",
    "load_respondent_schema": "config.instrument",
    "IngestResult": "ingest.report",
    "load_survey": "ingest.load",
    "read_table": "ingest.readers",
    "write_ingest": "ingest.report",
    "build_schema": "ingest.schema",
    "screen_respondents": "survey.screening",
    "screening_log": "survey.screening",
    "score_scales": "survey.scoring",
    "derive_cutpoints": "survey.cutpoints",
    "apply_cutpoints": "survey.cutpoints",
    "save_cutpoints": "survey.cutpoints",
    "load_cutpoints": "survey.cutpoints",
    "classify_behaviours": "survey.behaviours",
    "classify_composites": "survey.behaviours",
    "prepare_scored": "survey.profile",
    "aggregate": "survey.profile",
    "compare_to_city": "survey.compare",
    "compare_waves": "explore",
    "compare_areas": "explore",
    "load_scored": "explore",
    "PrivateDataWarning": "explore",
    "plot_comparison": "plots.explore",
    "plot_over_time": "plots.explore",
    "wilson_ci": "stats.intervals",
    "newcombe_diff_ci": "stats.intervals",
    "two_proportion_ztest": "stats.significance",
    "cohens_h": "stats.significance",
    "holm_adjust": "stats.significance",
    "k_proportions_test": "stats.significance",
    "logistic_trend_test": "stats.trend",
    "suppress_table": "privacy.suppress",
    "suppress_counts": "privacy.suppress",
    "check_disclosure": "privacy.suppress",
    "add_margins": "privacy.suppress",
    "mask_for_display": "privacy.suppress",
    "load_published": "publish.read",
    "rank_factors": "phases.prioritization",
    "load_team_choices": "config.priorities",
    "load_glossary": "config.glossary",
    "load_programme_bank": "config.programme_bank",
    "load_inventory": "phases.gaps.inventory",
    "find_gaps": "phases.gaps.gaps",
    "suggest_programmes": "phases.gaps.suggestions",
    "draft_goal_chain": "phases.gaps.actionplan",
    "write_goal_chain": "phases.gaps.actionplan",
    "trend_table": "phases.followup.trends",
    "change_table": "phases.followup.changes",
    "cohort_table": "phases.followup.cohorts",
    "load_goal_chain": "config.goal_chain",
    "evaluate_goals": "phases.followup.goal_progress",
    "generate_city": "demo.synth",
    "write_city": "demo.synth",
}

__all__ = [
    "CTCError",
    "ComparisonError",
    "ConfigError",
    "InputFileError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'ctc_helpers' has no attribute {name!r}")
