"""A copy of the fake published folder and team files with hostile text in every file a team
edits (shared by the pytest and browser tests of hostile text).

Script goes into the area names (``run_info.json``, written from ``areas.csv`` by the batch), the
instrument's labels and descriptions (``measures.csv``), a priorities note, a goal chain's title,
note and goal label, and the programme inventory's programme, provider and note. One area is
named like a spreadsheet formula.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from tests.fake_published import write_fake_published

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://example.invalid","klicka")'
NAMES = {
    "norra-hamnen": f"Norra {SCRIPT}",
    "soderdalen": f"Söder {IMAGE}",
    "lillby": FORMULA,
}
LABEL = f"Konflikter {IMAGE}"  # the label of family_conflict, in both languages
NOTE = f"Vi valde {SCRIPT} och {IMAGE}"  # the team's priorities note
GOAL_LABEL = f"Mål {IMAGE}"
PROGRAMME = f"Träff {IMAGE}"
INVENTORY = (
    "area,programme,provider,bank_id,year,prevention_level,setting,target_grades,target_ages,"
    "targeted_factors,participants_reached,eligible_population,sessions_planned,"
    "sessions_delivered,fidelity_score,evidence_rating,evidence_source,funding_end,note\n"
    f'norra-hamnen,"{PROGRAMME}","{SCRIPT}",,2025,universal,family,ak7-ak9,,'
    f'family_conflict,30,200,10,9,0.9,,,,"{SCRIPT}"\n'
)


def write_hostile_site(root: Path) -> tuple[Path, Path]:
    """Write the hostile copy under ``root``: (reports folder, team folder)."""
    folder = root / "reports" / "2025" / "data"
    write_fake_published(folder)
    info = json.loads((folder / "run_info.json").read_text(encoding="utf-8"))
    info["areas"] = [{"area_id": a, "name": n} for a, n in NAMES.items()]
    (folder / "run_info.json").write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
    measures = pd.read_csv(folder / "measures.csv")
    own = measures["measure"].eq("family_conflict")
    measures.loc[own, ["label_sv", "label_en"]] = LABEL
    measures.loc[own, ["description_sv", "description_en"]] = SCRIPT
    measures.to_csv(folder / "measures.csv", index=False)
    team = root / "team"
    (team / "priorities").mkdir(parents=True)
    (team / "goal_chains").mkdir()
    choice = {
        "area": "norra-hamnen",
        "wave": 2025,
        "decided": "2025-11-18",
        "risk_factors": ["family_conflict"],
        "protective_factors": [],
        "note": NOTE,
    }
    goal = {
        "id": "alcohol",
        "level": "long",
        "label": GOAL_LABEL,
        "note": SCRIPT,
        "indicator": {"kind": "behaviour", "measure": "alcohol_30d"},
        "baseline": 0.10,
        "target": 0.08,
        "target_year": 2029,
    }
    chain = {"area": "norra-hamnen", "baseline_wave": 2023, "cutpoint_version": "fake-cut-1",
             "title": SCRIPT, "note": IMAGE, "goals": [goal]}  # fmt: skip
    (team / "priorities" / "norra-hamnen.yaml").write_text(
        yaml.safe_dump(choice, allow_unicode=True), encoding="utf-8"
    )
    (team / "goal_chains" / "norra-hamnen.yaml").write_text(
        yaml.safe_dump(chain, allow_unicode=True), encoding="utf-8"
    )
    (team / "programme_inventory.csv").write_text(INVENTORY, encoding="utf-8")
    return root / "reports", team
