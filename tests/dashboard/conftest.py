"""A prepared published folder of the demo city, shared by the dashboard view tests.

The real prepare step (:func:`ctc_helpers.publish.build.prepare_waves`) runs once per session on
a small synthetic Exempelstad (3,000 pupils a wave) written by the demo generator; the team
folder is the generated city folder (priorities, goal chains, process checklists and plans,
programme inventory), as ``ctc dashboard`` would read it.
"""

from __future__ import annotations

import pytest
import yaml

from ctc_helpers.config.run import load_run_config
from ctc_helpers.paths import NOTEBOOKS_DIR, REPO_ROOT


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory) -> dict:
    """``{"reports": reports folder, "team": team folder, "folder": published 2025 folder}``."""
    from ctc_helpers.demo.synth import write_city
    from ctc_helpers.publish.build import prepare_waves

    root = tmp_path_factory.mktemp("demo_dashboard")
    city = root / "city"
    write_city(city, respondents_per_wave=3000)
    run = {
        "data": {"survey": [str(city / "exempelstad_*.csv")], "areas": str(city / "areas.csv"),
                 "enrolment": str(city / "enrolment.csv"),
                 "instrument": str(REPO_ROOT / "data_schema" / "instrument.yaml"),
                 "synthetic": True},
        "output": str(root / "reports"), "cache": str(root / "cache"),
        "notebooks": str(NOTEBOOKS_DIR), "phases": ["05_effect_evaluation"], "min_cell": 10,
    }  # fmt: skip
    (root / "run.yaml").write_text(yaml.safe_dump(run), encoding="utf-8")
    folder = prepare_waves(load_run_config(root / "run.yaml")).folders[2025]
    return {"reports": root / "reports", "team": city, "folder": folder}
