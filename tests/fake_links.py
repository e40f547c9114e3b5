"""A hand-made local link table (``links.parquet``) for the fake published folder, as the prepare
step writes it when the run file names ``priority_behaviours: [truancy]``.

In every area and the city, low commitment to school and friends' use of drugs go clearly with
truancy here (adjusted difference +12 points, +5 to +19) and family conflict does not (+2, -3 to
+7). With these links the ranking of Söderdalen (nothing clear against the city, so the two risk
factors are suggested by rank) changes: without behaviours the suggestion is perceived
availability of drugs and family conflict, with truancy it is perceived availability of drugs
and low commitment to school (the tests check that the two differ before relying on it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ctc_helpers.phases.links import LINK_COLUMNS, LINKS_FILE

BEHAVIOUR = "truancy"
AREAS = ("norra-hamnen", "soderdalen", "all")
# factor: (kind, clear here)
FACTORS = {
    "low_commitment_school": ("risk", True),
    "friends_drug_use": ("risk", True),
    "family_conflict": ("risk", False),
}


def links_table() -> pd.DataFrame:
    """The link rows (wave 2025), in the columns of ``LINK_COLUMNS``."""
    rows = []
    for area in AREAS:
        for factor, (kind, clear) in FACTORS.items():
            rd, low, high = (0.12, 0.05, 0.19) if clear else (0.02, -0.03, 0.07)
            rows.append(
                {"wave": 2025, "area": area, "factor": factor, "factor_kind": kind,
                 "behaviour": BEHAVIOUR, "n_exposed": 60.0, "n_unexposed": 180.0,
                 "pct_exposed": 0.08 + rd, "pct_unexposed": 0.08, "rd": rd, "rd_low": low,
                 "rd_high": high, "rr": (0.08 + rd) / 0.08, "suppressed": False}
            )  # fmt: skip
    frame = pd.DataFrame(rows).reindex(columns=list(LINK_COLUMNS))
    text = ("area", "factor", "factor_kind", "behaviour")
    numbers = [c for c in LINK_COLUMNS if c not in ("wave", "suppressed", *text)]
    return frame.astype({c: float for c in numbers})


def write_links(folder: Path) -> Path:
    """Write :func:`links_table` into the published ``folder``; returns the file."""
    path = Path(folder) / LINKS_FILE
    links_table().to_parquet(path, index=False)
    return path
