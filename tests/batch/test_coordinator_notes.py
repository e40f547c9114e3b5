"""The coordinator's notes of a run: the reports' results records hold precise messages (file,
row, column, value) that the reports say in a reader's words; ``ctc run`` gathers them once per
run into its summary and the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ctc_helpers.batch import command
from ctc_helpers.batch import run as batch
from ctc_helpers.config.run import Job

PHASE = "03_gap_analysis"
FIRST = "programinventering.csv, rad 2, kolumn bank_id: 'x' finns inte i programbanken."
SECOND = "programinventering.csv, rad 5: Egen insats i Solvik anger 12 genomförda."


def _job(root: Path, area: str) -> Job:
    return Job(area=area, wave=2025, phase=PHASE, notebook=root / "nb.ipynb", parameters={},
               timeout=60, output_dir=root / "2025" / area)  # fmt: skip


def _record(job: Job, status: str, notes: list[str] | None) -> dict:
    if notes is not None:
        job.output_dir.mkdir(parents=True, exist_ok=True)
        payload = {"area": job.area, "phase": job.phase, "coordinator_notes": notes}
        (job.output_dir / f"{job.phase}.json").write_text(json.dumps(payload), encoding="utf-8")
    return {"status": status, "job": job}


def test_notes_are_gathered_once_each_from_built_and_up_to_date_reports(tmp_path: Path) -> None:
    records = [
        _record(_job(tmp_path, "solvik"), "ok", [FIRST, SECOND]),
        _record(_job(tmp_path, "centrum"), "skipped", [SECOND, FIRST]),  # same inventory
        _record(_job(tmp_path, "all"), "ok", None),  # no results record
        _record(_job(tmp_path, "norr"), "failed", ["stale note of a failed report"]),
    ]
    assert batch._coordinator_notes(records) == [FIRST, SECOND]
    assert batch._coordinator_notes(records[2:]) == []


def test_the_run_summary_prints_the_notes_with_file_and_row() -> None:
    results = pd.DataFrame({"status": ["ok", "skipped"]})
    results.attrs["run"] = {"coordinator_notes": [FIRST, SECOND]}
    swedish = command.format_summary(results, lang="sv").splitlines()
    assert swedish[1].startswith("Att rätta i indata")
    assert swedish[2:] == [f"  - {FIRST}", f"  - {SECOND}"]
    english = command.format_summary(results, lang="en").splitlines()
    assert english[1].startswith("To correct in the input files")
    results.attrs["run"] = {}
    assert len(command.format_summary(results, lang="sv").splitlines()) == 1
