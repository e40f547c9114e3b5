"""The per-area batch: run file validation, planning, parameter checks, failure isolation, time
limits, skipping, the Dask path, the manifest and the index.

Most tests run the tiny notebooks of ``notebooks/tests/`` on a fake published folder (areas named
``fail-*`` raise, areas named ``hang-*`` sleep); the end-to-end tests at the bottom run the real
phase notebooks on a small generated city.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import time
from argparse import Namespace
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

from ctc_helpers.batch import command
from ctc_helpers.batch import run as batch
from ctc_helpers.config.run import CITY, run_config_from_dict
from ctc_helpers.errors import ConfigError
from ctc_helpers.publish import build

REPO = Path(__file__).resolve().parents[2]
TEST_NOTEBOOKS = REPO / "notebooks" / "tests"
WAVE = 2025


# --------------------------------------------------------------------------------------------
# Fixtures: a fake city (area list, placeholder inputs) and a fake published folder


def _write_city(root: Path, areas: dict[str, str]) -> None:
    lines = ["area_id,name,municipality", *(f"{a},{n},Testby" for a, n in areas.items())]
    (root / "areas.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "survey_2025.csv").write_text("respondent_id\n", encoding="utf-8")
    (root / "instrument.yaml").write_text("instrument: {}\n", encoding="utf-8")
    published = root / "reports" / str(WAVE) / "data"
    published.mkdir(parents=True)
    (published / "run_info.json").write_text(json.dumps({"table": "fake"}), encoding="utf-8")


def _raw_config(**changes) -> dict:
    raw = {
        "data": {
            "survey": "survey_*.csv",
            "areas": "areas.csv",
            "instrument": "instrument.yaml",
        },
        "output": "reports",
        "cache": "cache",
        "notebooks": str(TEST_NOTEBOOKS),
        "phases": ["tiny"],
        "workers": 2,
        "timeout": 120,
    }
    raw.update(changes)
    return raw


@pytest.fixture
def city(tmp_path: Path) -> Path:
    _write_city(tmp_path, {"norr": "Norra delen", "fail-syd": "Södra delen", "hang-ost": "Östra"})
    return tmp_path


def _config(root: Path, **changes):
    return run_config_from_dict(_raw_config(**changes), base_dir=root)


def _published(root: Path) -> dict[int, Path]:
    return {WAVE: root / "reports" / str(WAVE) / "data"}


def _fake_prepare(root: Path, calls: list | None = None):
    def prepare_waves(config, *, waves=None):
        if calls is not None:
            calls.append(waves)
        private = {"quarantine_file": "/cache/quarantine.csv", "cache": "/cache"}
        return build.Prepared(
            folders=_published(root), summary={"quarantine_rows": 2}, seconds=0.0, private=private
        )

    return prepare_waves


# --------------------------------------------------------------------------------------------
# The run file, job planning and the notebooks' parameters are tested in tests/config/
# (test_run.py, test_notebook_params.py); here: a bad parameter stops the batch early


def test_unknown_parameter_is_refused_before_anything_runs(city: Path, monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(batch, "prepare_waves", _fake_prepare(city, calls))
    config = _config(city, phase_parameters={"tiny": {"colour": "red"}})
    with pytest.raises(ConfigError, match=r"tiny\.ipynb .* 'colour' \("):  # sv or en
        batch.run_batch(config)
    assert calls == []  # nothing prepared
    with pytest.raises(ConfigError, match=r"workers must be a whole number of at least 1, got 0"):
        batch.run_batch(_config(city), workers=0)
    with pytest.raises(ConfigError, match=r"timeout must be .* got -1"):
        batch.run_batch(_config(city), timeout=-1)
    assert calls == []
    assert not (city / "reports" / "2025" / "norr").exists()  # nothing built
    assert not (city / "reports" / "manifest.json").exists()


# --------------------------------------------------------------------------------------------
# One batch with a failing area, run through the command line entry point


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("failing")
    _write_city(root, {"norr": "Norra delen", "fail-syd": "Södra delen"})
    (root / "run.yaml").write_text(yaml.safe_dump(_raw_config()), encoding="utf-8")
    args = Namespace(config=root / "run.yaml", areas=None, waves=None, phases=None, workers=None,
                     timeout=None, scheduler=None, out=None, force=False, lang="sv",
                     lang_explicit=False, instrument=None, allow_quarantine=False)  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "prepare_waves", _fake_prepare(root))
        started = time.perf_counter()
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = command.command_run(args)
        elapsed = time.perf_counter() - started
    return {"root": root, "code": code, "printed": printed.getvalue(), "elapsed": elapsed}


@pytest.mark.slow
def test_a_failing_area_does_not_stop_the_others(failing_run) -> None:
    reports = failing_run["root"] / "reports" / "2025"
    assert failing_run["code"] == 1
    for area in (CITY, "norr"):
        assert (reports / area / "tiny.html").is_file()
        saved = json.loads((reports / area / "tiny.json").read_text(encoding="utf-8"))
        assert saved == {"area": area, "wave": WAVE, "lang": "sv", "min_cell": 10}
    assert not (reports / "fail-syd" / "tiny.html").exists()
    failed = json.loads((reports / "fail-syd" / "tiny.ipynb").read_text(encoding="utf-8"))
    errors = [
        o for c in failed["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert errors[0]["evalue"] == "planned failure in fail-syd"


@pytest.mark.slow
def test_the_run_ends_with_a_summary(failing_run) -> None:
    printed = failing_run["printed"]
    assert "3 rapporter: 2 klara, 0 oförändrade, 1 misslyckades, 0 avbröts" in printed
    assert "2025 fail-syd tiny: misslyckades – cell 4: ValueError: planned failure in fail-syd" in (
        printed
    )
    assert "2 rader kunde inte läsas in och ligger i karantän: /cache/quarantine.csv" in printed
    assert f"Översikt: {failing_run['root'] / 'reports' / 'index.html'}" in printed


@pytest.mark.slow
def test_manifest_contents(failing_run) -> None:
    root = failing_run["root"]
    manifest = json.loads((root / "reports" / "manifest.json").read_text(encoding="utf-8"))
    sha = hashlib.sha256((root / "areas.csv").read_bytes()).hexdigest()
    assert manifest["inputs"]["areas"] == {"file": "areas.csv", "sha256": sha}  # no folder
    run_file = hashlib.sha256((root / "run.yaml").read_bytes()).hexdigest()
    assert manifest["inputs"]["run_file"]["sha256"] == run_file
    assert manifest["packages"]["papermill"] and manifest["packages"]["python"].startswith("3.")
    assert re.fullmatch(r"[0-9a-f]{40}", manifest["git"]["commit"])
    assert manifest["settings"]["workers"] == 2 and manifest["settings"]["kernel"] == "ctc"
    assert {k: manifest["summary"][k] for k in ("ok", "failed", "skipped", "timeout")} == {
        "ok": 2, "failed": 1, "skipped": 0, "timeout": 0,
    }  # fmt: skip
    jobs = {job["area"]: job for job in manifest["jobs"]}
    assert set(jobs) == {CITY, "norr", "fail-syd"}
    norr = jobs["norr"]
    assert norr["status"] == "ok" and norr["html"] == "2025/norr/tiny.html"
    assert norr["parameters"]["data_dir"] == str(root / "reports" / "2025" / "data")
    notebook = hashlib.sha256((TEST_NOTEBOOKS / "tiny.ipynb").read_bytes()).hexdigest()
    assert norr["notebook_sha256"] == notebook
    assert 0 < norr["seconds"] <= manifest["timings"]["total_seconds"]
    assert norr["cpu_seconds"] > 0 and 0 < norr["execute_seconds"] < norr["seconds"]
    assert manifest["timings"]["total_seconds"] <= failing_run["elapsed"]
    data = root / "reports" / "2025" / "data" / "run_info.json"
    expected = hashlib.sha256(
        f"run_info.json\0{hashlib.sha256(data.read_bytes()).hexdigest()}\n".encode()
    ).hexdigest()
    assert manifest["published"]["2025"] == {"dir": "2025/data", "sha256": expected}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "a":
            self.links.append(dict(attrs)["href"])


@pytest.mark.slow
def test_index_links_every_report_with_status(failing_run) -> None:
    index = failing_run["root"] / "reports" / "index.html"
    page = index.read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(page)
    pdfs = [
        f"2025/{a}/tiny.pdf"
        for a in ("all", "norr")
        if (index.parent / "2025" / a / "tiny.pdf").is_file()
    ]
    assert sorted(parser.links) == sorted([
        "2025/all/tiny.html", "2025/fail-syd/tiny.ipynb", "2025/norr/tiny.html", *pdfs,
    ])  # fmt: skip
    assert all((index.parent / link).is_file() for link in parser.links)
    assert page.count("status-ok") == 2 + 1 and page.count('"status status-failed"') == 1
    assert "Hela kommunen" in page and "Norra delen" in page and "Testrapport" in page
    assert "planned failure in fail-syd" in page
    assert '<html lang="sv">' in page and "<script" not in page


# --------------------------------------------------------------------------------------------
# Time limit, skipping, Dask


@pytest.mark.slow
def test_a_hanging_notebook_is_killed_at_the_time_limit(city: Path) -> None:
    config = _config(city, timeout=8)
    started = time.perf_counter()
    results = batch.run_reports(config, _published(city), areas=["hang-ost"])
    elapsed = time.perf_counter() - started
    assert results[["area", "status"]].to_dict("records") == [
        {"area": "hang-ost", "status": "timeout"}
    ]
    assert results.loc[0, "message"] == "stopped after 8 s"
    assert 8 <= results.loc[0, "seconds"] < 8 + 5 and elapsed < 8 + 15
    kernel_pid = int((city / "reports" / "2025" / "hang-ost" / "kernel.pid").read_text())
    deadline = time.time() + 5
    while psutil.pid_exists(kernel_pid) and time.time() < deadline:
        if psutil.Process(kernel_pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    alive = psutil.pid_exists(kernel_pid) and psutil.Process(kernel_pid).status() != "zombie"
    assert not alive, "the kernel of the killed notebook is still running"
    assert not list((city / "reports" / "2025" / "hang-ost").glob("*.html"))


@pytest.mark.slow
def test_up_to_date_reports_are_skipped_and_rebuilt_with_force(city: Path, monkeypatch) -> None:
    # the workbench is held still here (edits of the working tree while the test runs would
    # rebuild); test_freshness.py checks that a workbench change rebuilds
    monkeypatch.setattr(batch, "workbench_fingerprint", lambda: "workbench")
    config = _config(city)
    first = batch.run_reports(config, _published(city), areas=["norr"])
    html = city / "reports" / "2025" / "norr" / "tiny.html"
    built = html.stat().st_mtime_ns
    second = batch.run_reports(config, _published(city), areas=["norr"])
    assert first["status"].tolist() == ["ok"] and second["status"].tolist() == ["skipped"]
    assert second["seconds"].tolist() == [0.0] and html.stat().st_mtime_ns == built
    forced = batch.run_reports(config, _published(city), areas=["norr"], force=True)
    assert forced["status"].tolist() == ["ok"] and html.stat().st_mtime_ns > built
    # new published data make the report out of date
    (city / "reports" / "2025" / "data" / "run_info.json").write_text('{"table": "new"}')
    rebuilt = batch.run_reports(config, _published(city), areas=["norr"])
    assert rebuilt["status"].tolist() == ["ok"]
    assert "new" in (city / "reports" / "2025" / "norr" / "tiny.ipynb").read_text()
    # other parameters too
    changed = batch.run_reports(_config(city, min_cell=11), _published(city), areas=["norr"])
    assert changed["status"].tolist() == ["ok"]
    # a deleted report is rebuilt
    html.unlink()
    assert batch.run_reports(config, _published(city), areas=["norr"])["status"][0] == "ok"


@pytest.mark.slow
def test_dask_scheduler_runs_the_same_jobs(city: Path) -> None:
    from distributed import LocalCluster

    config = _config(city)
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        results = batch.run_reports(
            config,
            _published(city),
            areas=["norr", "fail-syd"],
            scheduler=cluster.scheduler_address,
        )
    statuses = dict(zip(results["area"], results["status"], strict=True))
    assert statuses == {"norr": "ok", "fail-syd": "failed"}
    assert (city / "reports" / "2025" / "norr" / "tiny.html").is_file()
    manifest = json.loads((city / "reports" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["scheduler"] == cluster.scheduler_address


def test_result_table_columns(city: Path, monkeypatch) -> None:
    """Nothing to build (every report skipped) still gives the documented table."""
    monkeypatch.setattr(batch, "_up_to_date", lambda job, key: {"finished": "x"})
    results = batch.run_reports(_config(city), _published(city), areas=["norr"])
    assert results.columns.tolist() == ["area", "wave", "phase", "status", "seconds", "message"]
    assert results.to_dict("records") == [
        {"area": "norr", "wave": WAVE, "phase": "tiny", "status": "skipped", "seconds": 0.0,
         "message": ""}
    ]  # fmt: skip
    assert isinstance(results, pd.DataFrame)


# --------------------------------------------------------------------------------------------
# End to end: prepare and the real phase notebooks on a small generated city

REAL_PHASES = ["01_survey_analysis", "02_factor_prioritization"]
AREA = "norra-hamnen"
MIN_CELL = 10


@pytest.fixture(scope="module")
def small_city(tmp_path_factory):
    """A small synthetic city (400 respondents per wave) with one questionnaire that has an
    impossible grade, prepared once for the latest wave."""
    from ctc_helpers.demo.synth import write_city

    root = tmp_path_factory.mktemp("small_city")
    write_city(root / "data", respondents_per_wave=400)
    survey = root / "data" / "exempelstad_2025.csv"
    header, first = survey.read_text(encoding="utf-8").splitlines()[:2]
    bad = first.split(",")
    bad[0], bad[4] = "BAD-0001", "åk 13"  # respondent_id, grade
    with survey.open("a", encoding="utf-8") as handle:
        handle.write(",".join(bad) + "\n")
    assert header.split(",")[4] == "grade"
    raw = {
        "data": {
            "survey": "data/exempelstad_*.csv",
            "areas": "data/areas.csv",
            "enrolment": "data/enrolment.csv",
            "instrument": str(REPO / "data_schema" / "instrument.yaml"),
            "synthetic": True,
        },
        "output": "reports",
        "cache": "cache",
        "notebooks": str(REPO / "notebooks"),
        "phases": REAL_PHASES,
        "phase_parameters": {
            "02_factor_prioritization": {"priorities_dir": str(REPO / "data/sample/priorities")}
        },
        "min_cell": MIN_CELL,
        "workers": 2,
        "timeout": 300,
    }
    config = run_config_from_dict(raw, base_dir=root)
    started = time.perf_counter()
    prepared = build.prepare_waves(config)
    return {"root": root, "config": config, "prepared": prepared,
            "seconds": time.perf_counter() - started}  # fmt: skip


def _survey_rows(root: Path) -> pd.DataFrame:
    files = sorted((root / "data").glob("exempelstad_*.csv"))
    columns = ["respondent_id", "wave", "area", "school", "grade"]
    frame = pd.concat([pd.read_csv(f, usecols=columns) for f in files])
    return frame[frame["respondent_id"] != "BAD-0001"]


@pytest.mark.slow
def test_prepare_writes_the_published_folder(small_city) -> None:
    from ctc_helpers.config.instrument import load_instrument

    folder = small_city["prepared"].folders[2025]
    assert folder == small_city["root"] / "reports" / "2025" / "data"
    assert sorted(p.name for p in folder.iterdir()) == sorted(build.PUBLISHED_FILES)
    info = json.loads((folder / "run_info.json").read_text(encoding="utf-8"))
    instrument = load_instrument(REPO / "data_schema" / "instrument.yaml")
    assert (info["wave"], info["previous_wave"], info["waves"]) == (2025, 2023, [2021, 2023, 2025])
    assert info["min_cell"] == MIN_CELL and info["synthetic"] is True
    assert info["instrument"]["id"] == instrument.id
    assert info["instrument"]["version"] == instrument.version
    areas = pd.read_csv(small_city["root"] / "data" / "areas.csv")
    assert info["areas"] == areas[["area_id", "name"]].to_dict("records")
    enrolment = small_city["root"] / "data" / "enrolment.csv"
    assert info["data_checksums"]["enrolment"] == hashlib.sha256(enrolment.read_bytes()).hexdigest()
    measures = pd.read_csv(folder / "measures.csv")
    assert len(measures) == len(instrument.measures())
    assert {"label_sv", "label_en", "description_sv", "description_en"} <= set(measures.columns)
    cutpoints = pd.read_csv(folder / "cutpoints.csv")
    assert set(cutpoints["factor"]) == set(instrument.factor_ids)
    versions = sorted(cutpoints["version"].unique())
    assert info["cutpoint_version"] == (versions[0] if len(versions) == 1 else versions)
    assert [r["id"] for r in info["validity_rules"]] == [r.id for r in instrument.validity]
    aggregates = pd.read_parquet(folder / "aggregates.parquet")
    assert sorted(aggregates["wave"].unique()) == [2021, 2023, 2025]
    assert set(aggregates["area"]) == {*areas["area_id"], CITY}


@pytest.mark.slow
def test_quarantined_rows_are_reported_and_kept_in_the_cache(small_city) -> None:
    summary, private = small_city["prepared"].summary, small_city["prepared"].private
    assert summary["quarantine_rows"] == 1
    assert not {"quarantine_file", "cache"} & set(summary)  # the summary goes into the manifest
    quarantine = pd.read_csv(private["quarantine_file"])
    assert "BAD-0001" in quarantine.to_string()
    cache = Path(private["cache"])
    assert cache.parent == small_city["root"] / "cache"
    assert (cache / "scored.parquet").is_file()  # row-level data stay in the private cache
    published = small_city["prepared"].folders[2025]
    assert not any(
        "respondent_id" in pd.read_parquet(p).columns for p in published.glob("*.parquet")
    )


@pytest.mark.slow
def test_no_published_table_shows_a_small_group(small_city) -> None:
    folder = small_city["prepared"].folders[2025]
    counts = {
        "aggregates": ["n"],
        "participation": ["n", "n_valid"],
        "screening_log": ["n_respondents"],
        "comparisons": ["n", "n_previous", "n_area", "n_city", "n_rest"],
    }
    for name, columns in counts.items():
        table = pd.read_parquet(folder / f"{name}.parquet")
        for column in columns:
            shown = table[column].dropna()
            small = shown[(shown > 0) & (shown < MIN_CELL)]
            assert small.empty, f"{name}.{column} shows {small.tolist()[:5]}"
        if "suppressed" in table.columns:
            hidden = table[table["suppressed"]]
            values = {
                "aggregates": ["n_flagged", "pct"],
                "screening_log": ["n_respondents", "n_flagged"],
            }
            blank = hidden[values.get(name, columns)].isna()
            assert blank.all(axis=1).all() if name == "aggregates" else blank.any(axis=1).all()
            assert len(hidden) > 0  # the small city has small groups to hide
    aggregates = pd.read_parquet(folder / "aggregates.parquet")
    flagged = aggregates["n_flagged"].dropna()
    assert not ((flagged > 0) & (flagged < 5)).any()  # min_count: no 1-4 pupils with an answer
    comparisons = pd.read_parquet(folder / "comparisons.parquet")
    too_few = comparisons[comparisons["change"] == "too_few"]
    assert too_few["diff"].isna().all() and len(too_few) > 0


@pytest.mark.slow
def test_participation_counts_and_response_rate(small_city) -> None:
    folder = small_city["prepared"].folders[2025]
    table = pd.read_parquet(folder / "participation.parquet")
    everyone = table["all_pupils"] & (table["school"] == CITY) & (table["grade"] == CITY)
    totals = table[everyone & (table["sex"] == CITY)].set_index(["wave", "area"])
    rows = _survey_rows(small_city["root"])
    enrolment = pd.read_csv(small_city["root"] / "data" / "enrolment.csv")
    answered = rows.groupby(["wave", "area"]).size()
    enrolled = enrolment.groupby(["wave", "area"])["enrolled"].sum()
    assert set(totals.index) == set(answered.index) | {(w, CITY) for w in (2021, 2023, 2025)}
    shown = totals[totals["n"].notna()]
    # 400 pupils a wave: every area is sealed (docs/PRIVACY.md rule 5); the city's all-pupils
    # total is shown unless its pupils without a stated sex are 1-9 (here in 2025)
    assert len(shown) >= 2 and set(shown.index.get_level_values("area")) == {CITY}
    for key, row in shown.iterrows():  # a shown total is the true count, hidden or not elsewhere
        assert row["n"] == (answered[key] if key[1] != CITY else answered[key[0]].sum())
        expected = enrolled[key] if key[1] != CITY else enrolled[key[0]].sum()
        assert row["enrolled"] == expected
        assert row["response_rate"] == pytest.approx(row["n"] / expected)
    hidden = totals[totals["n"].isna()]
    assert hidden["enrolled"].isna().all()  # enrolment only beside a shown count
    by_sex = table[(table["school"] == CITY) & (table["grade"] == CITY) & (table["area"] == CITY)]
    assert set(by_sex["sex"]) == {"F", "M", CITY}
    assert by_sex.loc[by_sex["sex"] != CITY, "enrolled"].isna().all()  # enrolment has no sex
    schools = table[table["school"] != CITY]
    assert (schools["grade"] == CITY).all() and (schools["sex"] == CITY).all()  # totals only
    own = pd.concat([rows[["area", "school"]], enrolment[["area", "school"]]])
    for area, listed in schools.groupby("area")["school"]:
        assert set(listed) <= set(own.loc[own["area"] == area, "school"])  # the area's own
    log = pd.read_parquet(folder / "screening_log.parquet")
    city_log = log[(log["area"] == CITY) & (log["grade"] == CITY) & (log["wave"] == 2025)]
    screened = city_log["n_respondents"]
    if pd.isna(totals.loc[(2025, CITY), "n"]):  # the same pupils: hidden together
        assert screened.isna().all()
    else:
        assert (screened == (rows["wave"] == 2025).sum()).all()


@pytest.mark.slow
def test_comparisons_cover_every_area_and_the_trend(small_city) -> None:
    folder = small_city["prepared"].folders[2025]
    comparisons = pd.read_parquet(folder / "comparisons.parquet")
    areas = set(pd.read_csv(small_city["root"] / "data" / "areas.csv")["area_id"])
    totals = comparisons[(comparisons["grade"] == CITY) & (comparisons["sex"] == CITY)]
    versus_city = totals[totals["comparison"] == "city"]
    trend = totals[totals["comparison"] == "previous_wave"]
    assert set(versus_city["area"]) == areas
    assert set(trend["area"]) == areas | {CITY}
    assert (trend["reference_wave"] == 2023).all() and versus_city["reference_wave"].isna().all()
    assert (comparisons["wave"] == 2025).all()
    assert {"F", "M"} <= set(comparisons["sex"])


@pytest.mark.slow
def test_prepare_reuses_the_cache_and_the_published_folder(small_city) -> None:
    config = small_city["config"]
    info = small_city["prepared"].folders[2025] / "run_info.json"
    written = info.stat().st_mtime_ns
    caches = sorted((small_city["root"] / "cache").iterdir())
    started = time.perf_counter()
    again = build.prepare_waves(config)
    assert time.perf_counter() - started < small_city["seconds"] / 2
    assert info.stat().st_mtime_ns == written
    stricter = build.prepare_waves(replace(config, min_cell=15), waves=[2021])
    assert sorted((small_city["root"] / "cache").iterdir())[: len(caches)] == caches
    assert not [p for p in (small_city["root"] / "cache").iterdir() if p not in caches and
                not p.name.startswith(Path(again.summary["cache"]).name)]  # fmt: skip
    assert json.loads((stricter.folders[2021] / "run_info.json").read_text())["min_cell"] == 15
    with pytest.raises(ConfigError, match=r"no survey wave 2019 in the data files; waves present"):
        build.prepare_waves(config, waves=[2019])


@pytest.mark.slow
def test_real_batch_on_a_small_city(small_city) -> None:
    config = small_city["config"]
    results = batch.run_batch(config, areas=[CITY, AREA])
    assert results[["area", "phase", "status"]].to_dict("records") == [
        {"area": area, "phase": phase, "status": "ok"}
        for area in (CITY, AREA)
        for phase in REAL_PHASES
    ], results["message"].tolist()
    reports = small_city["root"] / "reports" / "2025"
    from ctc_helpers.batch.report import external_references

    for area in (CITY, AREA):
        for phase in REAL_PHASES:
            page = (reports / area / f"{phase}.html").read_text(encoding="utf-8")
            assert external_references(page) == []
            assert "data:image/png;base64," in page
            assert "display.load_published" not in page  # no code
            assert (reports / area / f"{phase}.json").is_file()  # the notebook's results record
    index = (small_city["root"] / "reports" / "index.html").read_text(encoding="utf-8")
    assert f'href="2025/{AREA}/01_survey_analysis.html"' in index
    manifest = json.loads((small_city["root"] / "reports" / "manifest.json").read_text())
    assert manifest["summary"]["quarantine_rows"] == 1
    assert manifest["timings"]["prepare_seconds"] >= 0


def test_package_byte_code_is_written_for_the_kernels():
    import importlib.util

    from ctc_helpers.batch import run as batch_module
    from ctc_helpers.paths import PACKAGE_DIR

    for cache in PACKAGE_DIR.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)  # only a cache
    batch_module._compile_package()
    for source in PACKAGE_DIR.rglob("*.py"):
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.is_file() and cached.stat().st_mtime >= source.stat().st_mtime, source.name
