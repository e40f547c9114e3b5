"""The shared vocabulary of every table: the total code, the sex codes that are published, and
the kinds of measure. Defined here once; every module imports them from here.

Grade codes are data, not vocabulary: they come from ``data_schema/respondents.yaml`` (see
:func:`ctc_helpers.config.instrument.load_respondent_schema`).

>>> TOTAL, CITY
('all', 'all')
>>> FACTOR_KINDS + OUTCOME_KINDS == MEASURE_KINDS
True
"""

from __future__ import annotations

__all__ = [
    "CITY",
    "FACTOR_KINDS",
    "MEASURE_KINDS",
    "OUTCOME_KINDS",
    "PUBLISHED_SEXES",
    "TOTAL",
]

TOTAL = "all"  # the code of a total in the area, grade, sex (and school) columns
CITY = TOTAL  # area code of the whole municipality (the city report)
PUBLISHED_SEXES = ("F", "M")  # sexes shown in breakdowns; everyone counts in the totals
FACTOR_KINDS = ("risk", "protective")
OUTCOME_KINDS = ("behaviour", "composite")
MEASURE_KINDS = FACTOR_KINDS + OUTCOME_KINDS
