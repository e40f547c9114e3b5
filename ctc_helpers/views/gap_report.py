"""Everything the gap analysis report of an area (notebook 03) shows, read and computed in one
call: :func:`load_gap_report` returns a :class:`GapReport`.

It runs the steps of :mod:`ctc_helpers.phases.gaps` in order (inputs, matrix, gaps, suggestions,
the draft goal chain and the results record) and keeps the labels the tables need, so that each
section of the notebook is one call to :mod:`ctc_helpers.views.gaps` with the report's fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.config.programme_bank import ProgrammeBank
from ctc_helpers.i18n import check_language
from ctc_helpers.phases.gaps.actionplan import draft_goal_chain
from ctc_helpers.phases.gaps.gaps import find_gaps, gap_summary
from ctc_helpers.phases.gaps.inputs import load_gap_inputs
from ctc_helpers.phases.gaps.inventory import Inventory
from ctc_helpers.phases.gaps.matrix import gap_matrix
from ctc_helpers.phases.gaps.suggestions import suggest_for_gaps
from ctc_helpers.publish.read import Published
from ctc_helpers.views.labels import area_names, check_area, measure_labels

__all__ = ["GapReport", "load_gap_report"]


@dataclass(frozen=True)
class GapReport:
    """The gap analysis of one area (or of the city, ``"all"``), ready to show.

    Attributes
    ----------
    files : dict
        The input files as given (``inventory_path, priorities_dir, programme_bank_path,
        enrolment_file``): the report charts of :mod:`ctc_helpers.plots.cache` take them.
    labels, area_names : dict
        Measure id -> label in the report's language; area id -> name.
    bank, inventory, priorities
        From :func:`ctc_helpers.phases.gaps.inputs.load_gap_inputs`.
    matrix, gaps, suggestions : pandas.DataFrame
        :func:`~ctc_helpers.phases.gaps.matrix.gap_matrix`,
        :func:`~ctc_helpers.phases.gaps.gaps.find_gaps` and
        :func:`~ctc_helpers.phases.gaps.suggestions.suggest_for_gaps` of the area.
    draft : dict
        The draft goal chain (:func:`~ctc_helpers.phases.gaps.actionplan.draft_goal_chain`).
    summary : dict
        The results record of the report (:func:`~ctc_helpers.phases.gaps.gaps.gap_summary`).
    """

    files: dict[str, str]
    labels: dict[str, str]
    area_names: dict[str, str]
    bank: ProgrammeBank
    inventory: Inventory
    priorities: pd.DataFrame
    matrix: pd.DataFrame
    gaps: pd.DataFrame
    suggestions: pd.DataFrame
    draft: dict[str, Any]
    summary: dict[str, Any]


def load_gap_report(
    published: Published,
    *,
    area: str,
    wave: int,
    lang: str | None = None,
    inventory_path: str | Path,
    priorities_dir: str | Path | None = None,
    programme_bank_path: str | Path = "",
    enrolment_file: str | Path = "",
    low_reach: float = 0.30,
    low_fidelity: float = 0.80,
) -> GapReport:
    """Read the inputs of an area's gap analysis and make every table of its report.

    Parameters
    ----------
    published : Published
        The published folder (:func:`ctc_helpers.publish.read.load_published`).
    area : str
        Area id, or ``"all"`` for the city report (every area).
    wave : int
        Survey year of the report.
    lang : {"sv", "en"}, optional
        Language of the labels, the inventory's messages and the draft's texts.
    inventory_path, priorities_dir, programme_bank_path, enrolment_file
        As in :func:`ctc_helpers.phases.gaps.inputs.load_gap_inputs`.
    low_reach, low_fidelity : float
        Thresholds of :func:`ctc_helpers.phases.gaps.gaps.find_gaps`.

    Returns
    -------
    GapReport

    Raises
    ------
    ValueError
        If the area or the wave is not published (the message lists the known ones).
    InputFileError
        If an input file cannot be used as a whole (the message names the file).
    """
    lang = check_language(lang)
    check_area(published, area, lang)
    files = {
        "inventory_path": str(inventory_path),
        "priorities_dir": "" if priorities_dir is None else str(priorities_dir),
        "programme_bank_path": str(programme_bank_path),
        "enrolment_file": str(enrolment_file),
    }
    inputs = load_gap_inputs(published, area=area, wave=wave, lang=lang, **files)
    labels = measure_labels(published.measures, lang)
    gaps = find_gaps(
        inputs.programmes,
        inputs.priorities,
        wave=wave,
        area=area,
        low_reach=low_reach,
        low_fidelity=low_fidelity,
    )
    draft = draft_goal_chain(
        area,
        wave,
        inputs.priorities,
        published.aggregates,
        inputs.programmes,
        bank=inputs.bank,
        labels=labels,
        lang=lang,
    )
    return GapReport(
        files=files,
        labels=labels,
        area_names=area_names(published),
        bank=inputs.bank,
        inventory=inputs.inventory,
        priorities=inputs.priorities,
        matrix=gap_matrix(
            inputs.programmes, inputs.priorities, area=area, instrument=published.measures
        ),
        gaps=gaps,
        suggestions=suggest_for_gaps(gaps, bank=inputs.bank, programmes=inputs.programmes),
        draft=draft,
        summary=gap_summary(gaps, inputs.priorities, inputs.inventory),
    )
