"""Inputs for drawing every report chart of a fake published folder (tests.fake_published).

The gap charts read the demo city's programme inventory; the goal chain reads a small chain
written here for Norra Hamnen from the fake instrument's measures (a factor and two behaviours
over the fake waves), so that the follow-up charts show boxes, arrows and lines.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.plots import cache as charts

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
AREA = "norra-hamnen"

_CHAIN = """area: norra-hamnen
baseline_wave: 2023
cutpoint_version: "{cutpoints}"
goals:
  - id: alcohol
    level: long
    indicator: {{kind: behaviour, measure: alcohol_30d}}
    baseline: 0.12
    target: 0.08
    target_year: 2029
    contributes_to: []
  - id: truancy
    level: long
    indicator: {{kind: behaviour, measure: truancy}}
    baseline: 0.09
    target: 0.06
    target_year: 2029
    contributes_to: []
  - id: conflict
    level: medium
    indicator: {{kind: factor, measure: family_conflict}}
    baseline: 0.40
    target: 0.30
    target_year: 2027
    contributes_to: [alcohol, truancy]
"""


def chart_inputs(folder: Path) -> dict[str, Any]:
    """Every chart input (:attr:`ChartSpec.inputs`) for the published ``folder``: files are
    written beside it (once)."""
    root = folder.parent
    inventory = root / "inventory.csv"
    if not inventory.exists():
        shutil.copy(SAMPLE / "programme_inventory.csv", inventory)
    chains = root / "goal_chains"
    if not chains.exists():
        chains.mkdir()
        cutpoints = pd.read_parquet(folder / "aggregates.parquet")["cutpoint_version"]
        text = _CHAIN.format(cutpoints=str(cutpoints.dropna().iloc[0]))
        (chains / f"{AREA}.yaml").write_text(text, encoding="utf-8")
    return {"inventory_path": str(inventory), "priorities_dir": str(root / "priorities"),
            "programme_bank_path": "", "enrolment_file": "", "low_reach": 0.3,
            "goal_chain_dir": str(chains)}  # fmt: skip


def inputs_of(name: str, folder: Path) -> dict[str, Any]:
    """The inputs the chart ``name`` takes."""
    values = chart_inputs(folder)
    return {key: values[key] for key in charts.CHARTS[name].inputs}
