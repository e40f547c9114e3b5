"""The small results record each phase notebook writes for the batch: ``<output_dir>/<phase>.json``.

:func:`write_results` writes it (the batch reads it for the index page and the manifest); the
payload is the phase's own summary of numbers and codes, e.g. :func:`profile_summary` for the
profile report (notebook 01), :func:`ctc_helpers.phases.prioritization.priority_summary`,
:func:`ctc_helpers.phases.gaps.gaps.gap_summary` and
:func:`ctc_helpers.phases.followup.record.results_record`.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.publish.read import Published, select_rows
from ctc_helpers.vocab import TOTAL

__all__ = ["write_results", "profile_summary"]


def write_results(output_dir: str | Path, area: str, phase: str, payload: dict) -> Path | None:
    """Write the notebook's small results record ``<output_dir>/<phase>.json``.

    Parameters
    ----------
    output_dir : str or Path
        Folder of the area's reports (the batch passes ``reports/<wave>/<area_id>``); ``""``
        writes nothing (an interactive run).
    area, phase : str
        Recorded in the file with the time it was written (UTC).
    payload : dict
        JSON-compatible values; NumPy numbers and arrays, pandas values and NaN (as ``null``)
        are converted.

    Returns
    -------
    Path or None
        The file written.
    """
    if not str(output_dir):
        return None
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "area": area,
        "phase": phase,
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        **payload,
    }
    target = folder / f"{phase}.json"
    text = json.dumps(_json_safe(record), ensure_ascii=False, indent=2, allow_nan=False)
    target.write_text(text + "\n", encoding="utf-8")
    return target


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Series):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Path | pd.Timestamp):
        return str(value)
    return value


def profile_summary(published: Published, *, area: str, wave: int) -> dict[str, Any]:
    """The results record of notebook 01: respondents, shown/suppressed cells, clear differences."""
    own = select_rows(published.aggregates, wave=wave, area=area, grade=None, sex=None)
    totals = select_rows(published.participation, wave=wave, area=area, kinds=None)
    totals = totals.loc[totals["school"].eq(TOTAL)]
    comp = select_rows(published.comparisons, wave=wave, area=area)
    clear = comp.loc[comp["change"].isin(["increase", "decrease"])]
    return {
        "wave": wave,
        "respondents": None if totals.empty else totals["n"].iloc[0],
        "synthetic": published.synthetic,
        "min_cell": published.min_cell,
        "cells": len(own),
        "cells_suppressed": int(own["suppressed"].sum()),
        "clear_vs_city": sorted(clear.loc[clear["comparison"].eq("city"), "measure"]),
        "clear_since_previous": sorted(
            clear.loc[clear["comparison"].eq("previous_wave"), "measure"]
        ),
    }
