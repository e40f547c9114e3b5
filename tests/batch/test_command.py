"""``ctc run`` on the command line: its exit codes, messages and console language, and a manifest
that describes every report the index links.

The runs use the tiny test notebook (``notebooks/tests/tiny.ipynb``: areas named ``fail-*``
raise) and a stand-in for the preparation step (``tests/batch/fake_run.py``).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from ctc_helpers.batch import command, files, index
from ctc_helpers.batch import run as batch
from ctc_helpers.batch.files import LOCK_FILE
from ctc_helpers.cli import main
from ctc_helpers.config.run import run_config_from_dict
from tests.batch.fake_run import fake_prepare

REPO = Path(__file__).resolve().parents[2]
WAVE = 2025


def _city(root: Path, **changes) -> Path:
    areas = {"norr": "Norra delen", "fail-syd": "Södra delen"}
    lines = ["area_id,name,municipality", *(f"{a},{n},Testby" for a, n in areas.items())]
    (root / "areas.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "survey_2025.csv").write_text("respondent_id\n", encoding="utf-8")
    (root / "instrument.yaml").write_text("instrument: {}\n", encoding="utf-8")
    raw = {
        "data": {"survey": "survey_*.csv", "areas": "areas.csv", "instrument": "instrument.yaml"},
        "output": "reports",
        "cache": "cache",
        "notebooks": str(REPO / "notebooks" / "tests"),
        "phases": ["tiny"],
        "city": False,
        "workers": 1,
        "timeout": 120,
        **changes,
    }
    (root / "run.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return root / "run.yaml"


@pytest.fixture
def fake_prepare_step(monkeypatch):
    monkeypatch.setattr(batch, "prepare_waves", fake_prepare)
    monkeypatch.delenv("CTC_FAKE_QUARANTINE", raising=False)
    return monkeypatch


def _run(run_file: Path, *args: str) -> int:
    return main(["run", "--config", str(run_file), *args])


# --------------------------------------------------------------------------------------------
# 0 and 1


@pytest.mark.slow
def test_exit_0_when_every_report_is_built(tmp_path, fake_prepare_step, capsys) -> None:
    code = _run(_city(tmp_path), "--areas", "norr")
    out = capsys.readouterr().out
    assert code == 0
    assert "1 rapporter: 1 klara, 0 oförändrade, 0 misslyckades, 0 avbröts" in out
    assert "karantän" not in out


@pytest.mark.slow
def test_exit_1_when_a_report_fails(tmp_path, fake_prepare_step, capsys) -> None:
    code = _run(_city(tmp_path), "--areas", "norr", "fail-syd")
    out = capsys.readouterr().out
    assert code == 1
    assert "2025 fail-syd tiny: misslyckades – cell 4: ValueError: planned failure" in out


@pytest.mark.slow
def test_exit_1_for_quarantined_rows_unless_allowed(tmp_path, fake_prepare_step, capsys) -> None:
    fake_prepare_step.setenv("CTC_FAKE_QUARANTINE", "3")
    run_file = _city(tmp_path)
    assert _run(run_file, "--areas", "norr") == 1
    out = capsys.readouterr().out
    assert f"3 rader kunde inte läsas in och ligger i karantän: {tmp_path / 'cache'}" in out
    assert (
        "Körningen slutar med kod 1 eftersom rader ligger i karantän. Rätta raderna, eller godta"
        " karantänen med --allow-quarantine." in out
    )
    assert _run(run_file, "--areas", "norr", "--allow-quarantine") == 0
    out = capsys.readouterr().out
    assert "1 oförändrade" in out and "3 rader kunde inte läsas in" in out
    assert "--allow-quarantine" not in out


def test_exit_code_of_a_result_table() -> None:
    import pandas as pd

    results = pd.DataFrame({"status": ["ok", "skipped"]})
    assert command.run_exit_code(results) == 0
    results.attrs["run"] = {"quarantine_rows": 0}
    assert command.run_exit_code(results) == 0
    for status in ("failed", "timeout"):
        assert command.run_exit_code(pd.DataFrame({"status": ["ok", status]})) == 1


# --------------------------------------------------------------------------------------------
# The console's language


@pytest.mark.slow
def test_the_run_files_language_is_the_consoles(tmp_path, fake_prepare_step, capsys) -> None:
    run_file = _city(tmp_path, lang="en")
    assert _run(run_file, "--areas", "norr") == 0
    out = capsys.readouterr().out
    assert "1 reports: 1 done, 0 up to date, 0 failed, 0 stopped at the time limit." in out
    assert f"Overview: {tmp_path / 'reports' / 'index.html'}" in out
    page = tmp_path / "reports" / "2025" / "norr" / "tiny.html"
    assert '<html lang="en">' in page.read_text(encoding="utf-8")
    assert _run(run_file, "--areas", "norr", "--lang", "sv") == 0  # --lang wins, for the
    assert "1 rapporter: 1 klara, 0 oförändrade" in capsys.readouterr().out  # reports too
    assert '<html lang="sv">' in page.read_text(encoding="utf-8")


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from ctc_helpers.batch.files import OutputLock
    with OutputLock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
    """
)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "sv",
            "Fel: Rapportmappen {out} används redan av en annan körning (process {pid}, startad",
        ),
        ("en", "Error: The reports folder {out} is in use by another run (process {pid}, started"),
    ],
)
def test_exit_2_when_another_run_holds_the_folder(tmp_path, fake_prepare_step, capsys, lang,
                                                   expected) -> None:  # fmt: skip
    run_file = _city(tmp_path, lang=lang)
    out = tmp_path / "reports"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        code = _run(run_file, "--areas", "norr")
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 2 and expected.format(out=out, pid=holder.pid) in err
    assert not (out / str(WAVE)).exists()  # nothing prepared, nothing built


# --------------------------------------------------------------------------------------------
# 2: file-system problems name the path and what to do


def test_exit_2_for_an_output_folder_under_a_file(tmp_path, fake_prepare_step, capsys) -> None:
    blocker = tmp_path / "reports.txt"
    blocker.write_text("x", encoding="utf-8")
    code = _run(_city(tmp_path), "--out", str(blocker / "reports"), "--lang", "en")
    err = capsys.readouterr().err
    assert code == 2
    assert f"Error: {blocker / 'reports'} cannot be used as a folder: there is a file" in err


def test_exit_2_for_a_read_only_output_folder(tmp_path, fake_prepare_step, capsys) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    real_open = os.open

    def read_only(path, *args, **kwargs):
        if str(path).startswith(str(out)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    fake_prepare_step.setattr(files.os, "open", read_only)
    code = _run(_city(tmp_path), "--areas", "norr")
    err = capsys.readouterr().err
    assert code == 2
    assert f"Fel: Behörighet saknas för {out}. Ge ditt konto rätt att läsa och skriva där" in err
    assert LOCK_FILE not in err  # the folder the user chose, not the hidden lock file


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_exit_2_for_a_folder_without_write_permission(tmp_path, fake_prepare_step, capsys):
    out = tmp_path / "reports"
    out.mkdir(mode=0o555)
    try:
        code = _run(_city(tmp_path), "--areas", "norr")
    finally:
        out.chmod(0o755)
    assert code == 2 and f"Fel: Behörighet saknas för {out}." in capsys.readouterr().err


def test_exit_2_when_the_disk_is_full(tmp_path, fake_prepare_step, capsys) -> None:
    fake_prepare_step.setattr(batch, "_up_to_date", lambda job, key: {"finished": "x"})
    real_write = files.write_atomic

    def full(path, data, *, work_dir=None):
        if Path(path).name == "manifest.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write(path, data, work_dir=work_dir)

    fake_prepare_step.setattr(index, "write_atomic", full)
    code = _run(_city(tmp_path), "--areas", "norr")
    err = capsys.readouterr().err
    manifest = tmp_path / "reports" / "manifest.json"
    assert code == 2
    assert f"Fel: Disken är full: {manifest} kunde inte skrivas. Frigör utrymme" in err
    assert not manifest.exists()


def test_exit_2_for_a_missing_or_invalid_run_file(tmp_path, capsys) -> None:
    assert _run(tmp_path / "missing.yaml") == 2
    assert str(tmp_path / "missing.yaml") in capsys.readouterr().err
    assert _run(_city(tmp_path, workers=0)) == 2
    err = capsys.readouterr().err
    assert "workers" in err and "0" in err and "Traceback" not in err


def test_exit_2_for_a_cluster_without_the_cluster_extra(tmp_path, fake_prepare_step, capsys):
    fake_prepare_step.setitem(sys.modules, "distributed", None)  # not installed
    code = _run(_city(tmp_path), "--areas", "norr", "--scheduler", "tcp://127.0.0.1:1")
    err = capsys.readouterr().err
    assert code == 2
    assert "--scheduler kräver paketet distributed" in err and "'.[cluster]'" in err


# --------------------------------------------------------------------------------------------
# 3: an internal error is logged beside the run's cache


def test_exit_3_logs_beside_the_runs_cache(tmp_path, fake_prepare_step, capsys) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a fault in the runner")

    fake_prepare_step.setattr(command, "run_batch", broken)
    code = _run(_city(tmp_path, lang="en"), "--areas", "norr")
    err = capsys.readouterr().err
    logs = list((tmp_path / "cache" / command.LOG_FOLDER).glob("error-*.log"))
    assert code == 3 and len(logs) == 1
    assert "RuntimeError: a fault in the runner" in logs[0].read_text(encoding="utf-8")
    assert "An unexpected error occurred (RuntimeError)" in err and str(logs[0]) in err


# --------------------------------------------------------------------------------------------
# The manifest describes every report the index links


@pytest.mark.slow
def test_manifest_is_merged_across_runs(tmp_path) -> None:
    _city(tmp_path)
    raw = yaml.safe_load((tmp_path / "run.yaml").read_text(encoding="utf-8"))
    config = run_config_from_dict(raw, base_dir=tmp_path)
    published = fake_prepare(config).folders
    first = batch.run_reports(config, published, areas=["norr"])
    manifest = json.loads((tmp_path / "reports" / "manifest.json").read_text(encoding="utf-8"))
    norr_run = manifest["created"]
    # a report whose run was killed before it wrote the manifest: only its stamp is there
    old = tmp_path / "reports" / "2025" / "old"
    old.mkdir()
    stamp = {"key": "k1", "status": "ok", "message": "", "seconds": 1.5, "finished": "2025-01-01"}
    (old / ".tiny.build.json").write_text(json.dumps(stamp), encoding="utf-8")
    second = batch.run_reports(config, published, areas=["fail-syd"])
    assert first["status"].tolist() == ["ok"] and second["status"].tolist() == ["failed"]
    manifest = json.loads((tmp_path / "reports" / "manifest.json").read_text(encoding="utf-8"))
    jobs = {job["area"]: job for job in manifest["jobs"]}
    assert list(jobs) == ["fail-syd", "norr", "old"]  # this run's first
    assert jobs["norr"]["status"] == "ok" and jobs["norr"]["run"] == norr_run
    assert jobs["norr"]["parameters"]["area"] == "norr"  # the full entry of the first run
    assert jobs["fail-syd"]["run"] == manifest["created"]
    assert jobs["old"] == {"area": "old", "wave": 2025, "phase": "tiny", "status": "ok",
                           "seconds": 1.5, "message": "", "finished": "2025-01-01", "key": "k1",
                           "ipynb": "2025/old/tiny.ipynb", "html": "2025/old/tiny.html",
                           "run": None}  # fmt: skip
    assert {k: manifest["summary"][k] for k in ("ok", "failed")} == {"ok": 0, "failed": 1}
    page = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    for link in ("2025/norr/tiny.html", "2025/fail-syd/tiny.ipynb", "2025/old/tiny.html"):
        assert f'href="{link}"' in page
    assert manifest["published"]["2025"]["dir"] == "2025/data"
