"""``ctc run``: prepare the published tables once, then build every area's reports in parallel.

The run reads as a list of steps (:func:`run_batch`):

1. check every notebook parameter against the notebooks (unknown names are refused);
2. :func:`prepare` each wave's published folder ``reports/<wave>/data/`` (ingest, screen, score
   and aggregate the whole city once, cached by input checksums; publish suppressed tables);
3. plan one job per wave x area (the city is ``all``) x phase, skipping reports that are up to
   date (same notebook, parameters and published data);
4. run the jobs (longest first), each in a child process with a hard time limit, on local
   worker threads (one per core by default) or on a Dask cluster; a failing report does not
   stop the others;
5. write ``reports/manifest.json`` and ``reports/index.html``.

Examples
--------
>>> from ctc_helpers.config.run import load_run_config
>>> results = run_batch(load_run_config(), areas=["norra-hamnen"])  # doctest: +SKIP
>>> results.columns.tolist()  # doctest: +SKIP
['area', 'wave', 'phase', 'status', 'seconds', 'message']
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ctc_helpers.batch.execute import (
    RESULT_COLUMNS,
    STATUSES,
    file_sha256,
    phase_title,
    read_json,
    run_report_process,
    stop_running_reports,
    write_manifest,
    write_run_index,
)
from ctc_helpers.batch.execute import TEXTS as REPORT_TEXTS
from ctc_helpers.config.run import (
    CITY,
    STAMP,
    Job,
    RunConfig,
    check_parameters,
    load_run_config,
    notebook_defaults,
    plan_jobs,
)
from ctc_helpers.errors import ConfigError
from ctc_helpers.fingerprint import folder_checksum
from ctc_helpers.i18n import check_language, default_language
from ctc_helpers.paths import PACKAGE_DIR

__all__ = [
    "RESULT_COLUMNS",
    "Job",
    "check_parameters",
    "command_run",
    "format_summary",
    "plan_jobs",
    "prepare",
    "run_batch",
    "run_reports",
]


_TEXTS = {
    "progress": {"sv": "Rapporter", "en": "Reports"},
    "unit": {"sv": " rapport", "en": " report"},
    "summary": {
        "sv": "{total} rapporter: {ok} klara, {skipped} oförändrade, {failed} misslyckades,"
        " {timeout} avbröts vid tidsgränsen.",
        "en": "{total} reports: {ok} done, {skipped} up to date, {failed} failed,"
        " {timeout} stopped at the time limit.",
    },
    "problems": {"sv": "Rapporter som inte blev klara:", "en": "Reports that were not built:"},
    "quarantine": {
        "sv": "{rows} rader kunde inte läsas in och ligger i karantän: {file}",
        "en": "{rows} rows could not be read and were quarantined: {file}",
    },
    "index": {"sv": "Översikt: {path}", "en": "Overview: {path}"},
}


def _text(key: str, lang: str, **values: Any) -> str:
    return _TEXTS[key][check_language(lang)].format(**values)


# --------------------------------------------------------------------------------------------
# Up-to-date check


def _job_key(job: Job, *, kernel: str, data_checksum: str) -> str:
    payload = {
        "notebook": file_sha256(job.notebook),
        "parameters": job.parameters,
        "data": data_checksum,
        "kernel": kernel,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _up_to_date(job: Job, key: str) -> dict[str, Any] | None:
    """The stamp of the job's last build when it succeeded with the same key and outputs exist."""
    stamp = read_json(job.stamp)
    fresh = stamp and stamp.get("key") == key and stamp.get("status") == "ok"
    return stamp if fresh and job.ipynb.is_file() and job.html.is_file() else None


# --------------------------------------------------------------------------------------------
# Execution: local worker threads (each job a child process) or a Dask cluster


def _spec(job: Job, *, key: str, kernel: str, lang: str, title: str) -> dict[str, Any]:
    return {
        "area": job.area,
        "wave": job.wave,
        "phase": job.phase,
        "key": key,
        "notebook": str(job.notebook),
        "output_ipynb": str(job.ipynb),
        "output_html": str(job.html),
        "parameters": job.parameters,
        "kernel": kernel,
        "timeout": job.timeout,
        "lang": lang,
        "title": title,
    }


def _longest_first(jobs: Sequence[Job], specs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order the jobs by the time their last build took, longest first (plan order otherwise):
    the workers then finish close together instead of one running the last long report alone."""
    expected = {str(job.ipynb): (read_json(job.stamp) or {}).get("seconds") or 0.0 for job in jobs}
    return sorted(specs, key=lambda spec: -float(expected.get(spec["output_ipynb"], 0.0)))


def _failed_result(spec: Mapping[str, Any], message: str) -> dict[str, Any]:
    return {
        **{k: spec[k] for k in ("area", "wave", "phase", "key")},
        "status": "failed",
        "message": message,
        "seconds": 0.0,
        "cpu_seconds": 0.0,
        "execute_seconds": 0.0,
        "html_seconds": 0.0,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _drive(
    specs: Sequence[dict[str, Any]],
    submit: Callable[[dict[str, Any]], Any],
    completed: Callable[[list[Any]], Iterable[Any]],
    on_done: Callable[[dict[str, Any]], None],
) -> None:
    """Submit every job, then hand each result to ``on_done`` as it arrives."""
    futures = {submit(spec): spec for spec in specs}
    for future in completed(list(futures)):
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - a lost worker fails one job, not the run
            result = _failed_result(futures[future], f"{type(exc).__name__}: {exc}")
        on_done(result)


def _run_local(specs: Sequence[dict[str, Any]], workers: int, on_done) -> None:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        _drive(
            specs,
            lambda spec: pool.submit(run_report_process, spec, wall_timeout=spec["timeout"]),
            concurrent.futures.as_completed,
            on_done,
        )
    except KeyboardInterrupt:  # Ctrl-C: stop the notebooks (they run in sessions of their own)
        pool.shutdown(wait=False, cancel_futures=True)
        stop_running_reports()
        raise
    finally:
        pool.shutdown(wait=True)


def _run_dask(specs: Sequence[dict[str, Any]], address: str, on_done) -> None:
    from distributed import Client, as_completed

    with Client(address) as client:
        _drive(
            specs,
            lambda spec: client.submit(
                run_report_process, spec, wall_timeout=spec["timeout"], pure=False
            ),
            as_completed,
            on_done,
        )


def _compile_package() -> None:
    """Write the package's byte code once, so that each notebook kernel does not compile it.

    Python skips writing ``__pycache__`` when ``PYTHONDONTWRITEBYTECODE`` is set (common in
    containers and CI) and an editable install has none: every kernel would then compile the
    package anew (about 0.25 s). Stale files are recompiled; a read-only folder is left alone.
    """
    import compileall

    compileall.compile_dir(PACKAGE_DIR, quiet=2)


def _draw_charts(specs: Sequence[Mapping[str, Any]], *, workers: int) -> pd.DataFrame:
    """Draw the charts of the reports to build into the chart cache (:mod:`ctc_helpers.plots.cache`),
    in ``workers`` processes: the notebooks then only embed them. A chart that fails here is drawn
    again by its notebook, whose report then shows the problem."""
    from ctc_helpers.plots import cache as charts

    defaults = {n: notebook_defaults(Path(n)) for n in {s["notebook"] for s in specs}}
    reports = []
    for spec in specs:
        parameters = {**defaults[spec["notebook"]], **spec["parameters"]}
        if "data_dir" in parameters:
            reports.append((parameters["data_dir"], spec["area"], spec["wave"],
                            parameters.get("lang", spec["lang"]), parameters.get("min_cell"),
                            spec["phase"], parameters))  # fmt: skip
    return charts.render(charts.tasks_for(reports), workers=workers)


def _execute(
    specs: list[dict[str, Any]], *, workers: int, scheduler: str | None, lang: str
) -> list[dict[str, Any]]:
    """Run the jobs with one overall progress bar; returns one result per job."""
    from tqdm.auto import tqdm

    results: list[dict[str, Any]] = []
    if not specs:
        return results
    unit = _text("unit", lang)
    with tqdm(total=len(specs), desc=_text("progress", lang), unit=unit, file=sys.stderr) as bar:

        def on_done(result: dict[str, Any]) -> None:
            results.append(result)
            _write_stamp(result, specs)
            bar.update(1)

        if scheduler:
            _run_dask(specs, scheduler, on_done)
        else:
            _run_local(specs, workers, on_done)
    return results


def _write_stamp(result: Mapping[str, Any], specs: Sequence[Mapping[str, Any]]) -> None:
    spec = next(s for s in specs if s["key"] == result["key"] and s["area"] == result["area"])
    path = Path(spec["output_ipynb"]).parent / STAMP.format(phase=spec["phase"])
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {k: result.get(k) for k in ("key", "status", "message", "seconds", "finished")}
    record["title"] = result.get("title") or spec["title"]  # the report's own heading
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Prepare: the whole city once (cached, private), then one published folder per wave


PUBLISHED_FILES = (
    "aggregates.parquet",
    "comparisons.parquet",
    "participation.parquet",
    "screening_log.parquet",
    "cutpoints.csv",
    "measures.csv",
    "run_info.json",
)
UNKNOWN_SCHOOL = "unknown"  # school code of questionnaires without a school


@dataclass(frozen=True)
class Prepared:
    """The published folders of the prepared waves and what the run summary reports."""

    folders: dict[int, Path]
    summary: dict[str, Any]
    seconds: float


@functools.cache
def _code_checksum() -> str:
    """The package's code version: its version number and the checksums of its modules (read
    once per process: the code that runs is the code that was imported)."""
    digest = hashlib.sha256(metadata.version("ctc-helpers").encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(
            path.relative_to(PACKAGE_DIR).as_posix().encode() + file_sha256(path).encode()
        )
    return digest.hexdigest()


def _input_files(config: RunConfig) -> dict[str, Path]:
    files = {f"survey/{p.name}": p for p in config.survey_files}
    files.update(areas=config.areas_file, instrument=config.instrument_file)
    if config.enrolment_file:
        files["enrolment"] = config.enrolment_file
    if config.cutpoints_file:
        files["cutpoints"] = config.cutpoints_file
    return files


def _build_cache(config: RunConfig, instrument: Any, schema: Any, folder: Path) -> None:
    """Ingest every survey file once, score, aggregate and count the whole city (unsuppressed)."""
    from ctc_helpers.ingest.readers import load_survey
    from ctc_helpers.survey.cutpoints import load_cutpoints
    from ctc_helpers.survey.profile import aggregate, prepare_scored
    from ctc_helpers.survey.screening import screening_log

    ingested = load_survey(
        list(config.survey_files), instrument=instrument, areas=config.areas_file
    )
    frozen = load_cutpoints(config.cutpoints_file) if config.cutpoints_file else None
    scored, cutpoints = prepare_scored(ingested.data, instrument, cutpoints=frozen)
    areas = list(config.area_names)
    tables = {
        "scored": scored,
        "aggregates": aggregate(scored, instrument, schema, areas=areas, cutpoints=cutpoints),
        "screening_log": screening_log(scored, instrument, respondent_schema=schema),
        "participation": _participation(scored, schema, config.enrolment_file),
    }
    folder.mkdir(parents=True)
    for name, table in tables.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    cutpoints.to_csv(folder / "cutpoints.csv", index=False)
    ingested.quarantine.to_csv(folder / "quarantine.csv", index=False)
    report = json.dumps(ingested.report, indent=1, ensure_ascii=False, default=str)
    (folder / "ingest_report.json").write_text(report, encoding="utf-8")
    meta = {
        "waves": sorted(int(w) for w in scored["wave"].unique()),
        "respondents": len(scored),
        "quarantine_rows": int(ingested.report.get("rows_quarantined", 0)),
    }
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _participation(scored: pd.DataFrame, schema: Any, enrolment_file: Path | None) -> pd.DataFrame:
    """Questionnaires by wave x area x school x grade x sex with every margin (unsuppressed).

    Returns columns ``wave, area, school, grade, sex, n`` (questionnaires), ``n_valid`` (valid
    after screening) and ``enrolled`` (rows with ``sex == "all"`` where every part is known).
    Respondents whose sex is not published (``U``, missing) count in the totals only.
    """
    from ctc_helpers.privacy.suppress import add_margins

    total = schema.total_code
    school = scored["school"] if "school" in scored.columns else pd.Series(index=scored.index)
    leaves = (
        pd.DataFrame(
            {
                "wave": scored["wave"].astype(int),
                "area": scored["area"].astype(str),
                "school": school.astype("object").fillna(UNKNOWN_SCHOOL).astype(str),
                "grade": scored["grade"].astype(str),
                "sex": scored["sex"].astype("object").fillna("missing").astype(str),
                "n": 1,
                "n_valid": scored["valid"].astype(int),
            }
        )
        .groupby(["wave", "area", "school", "grade", "sex"])[["n", "n_valid"]]
        .sum()
        .reset_index()
    )
    dims = ("area", "school", "grade", "sex")
    table = add_margins(leaves, dims=dims, value_cols=("n", "n_valid"), by=("wave",))
    table = table[table["sex"].isin([*schema.published_sex_codes, total])].reset_index(drop=True)
    return table.assign(enrolled=_enrolled(table, enrolment_file, total=total))


def _enrolled(table: pd.DataFrame, enrolment_file: Path | None, *, total: str) -> pd.Series:
    """Enrolled pupils of each row with ``sex == total``; NaN where any part is unknown."""
    from ctc_helpers.privacy.suppress import add_margins

    keys = ["wave", "area", "school", "grade"]
    if enrolment_file is None:
        return pd.Series(float("nan"), index=table.index)
    enrolment = pd.read_csv(enrolment_file, dtype={"area": str, "school": str, "grade": str})
    missing = [c for c in [*keys, "enrolled"] if c not in enrolment.columns]
    if missing:
        raise ConfigError(
            f"The enrolment file {enrolment_file.name} has no column {missing[0]!r} (columns"
            f" needed: {', '.join([*keys, 'enrolled'])})."
        )
    detail = table[(table[["area", "school", "grade"]] != total).all(axis=1) & (table.sex == total)]
    leaves = detail[[*keys, "n"]].merge(enrolment[[*keys, "enrolled"]], on=keys, how="left")
    # no number and nobody answered: a school outside this area or grade, i.e. zero pupils
    unknown = leaves["enrolled"].isna() & (leaves["n"] > 0)
    leaves = leaves.assign(enrolled=leaves["enrolled"].fillna(0.0), unknown=unknown.astype(int))
    sums = add_margins(
        leaves, dims=("area", "school", "grade"), value_cols=("enrolled", "unknown"), by=("wave",)
    )
    sums = sums.assign(enrolled=sums["enrolled"].where(sums["unknown"] == 0), sex=total)
    merged = table[[*keys, "sex"]].merge(
        sums[[*keys, "sex", "enrolled"]], on=[*keys, "sex"], how="left"
    )
    return pd.Series(merged["enrolled"].to_numpy(float), index=table.index)


def _cache(config: RunConfig, instrument: Any, schema: Any, checksums: Mapping[str, str]) -> Path:
    """The cache folder of these inputs and this code, built when missing."""
    payload = json.dumps({"inputs": dict(checksums), "code": _code_checksum()}, sort_keys=True)
    folder = config.cache_dir / hashlib.sha256(payload.encode()).hexdigest()[:24]
    if (folder / "meta.json").is_file():
        return folder
    building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    _build_cache(config, instrument, schema, building)
    if (folder / "meta.json").is_file():  # built meanwhile by another run
        shutil.rmtree(building)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        building.rename(folder)
    return folder


def _suppressed_tables(cache: Path, *, min_n: int, waves: Sequence[int]) -> dict[str, pd.DataFrame]:
    """The suppressed tables of the given waves (each wave is protected on its own and cached
    per minimum cell size: suppression is the slow step)."""
    names = ("aggregates", "participation", "screening_log")
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in names}
    for wave in waves:
        folder = cache / f"suppressed-min{min_n}" / str(wave)
        if not all((folder / f"{n}.parquet").is_file() for n in names):
            staging = folder.with_name(f"{wave}.building-{os.getpid()}")
            staging.mkdir(parents=True, exist_ok=True)
            for name, table in _suppress(cache, min_n=min_n, wave=wave).items():
                table.to_parquet(staging / f"{name}.parquet", index=False)
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)
        for name in names:
            parts[name].append(pd.read_parquet(folder / f"{name}.parquet"))
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def _suppress(cache: Path, *, min_n: int, wave: int) -> dict[str, pd.DataFrame]:
    """Suppress one wave's aggregates, participation and screening log."""
    from ctc_helpers.privacy.suppress import suppress_table

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(cache / f"{name}.parquet", filters=[("wave", "==", wave)])

    aggregates = suppress_table(read("aggregates"), min_n=min_n)
    participation = _suppress_participation(read("participation"), min_n=min_n)
    participation = _drop_foreign_schools(
        participation, pd.read_parquet(cache / "participation.parquet")
    )
    enrolled = participation["enrolled"]
    participation = participation.assign(
        response_rate=(participation["n"] / enrolled).where(enrolled > 0)
    )
    log = suppress_table(
        read("screening_log"),
        min_n=min_n,
        dims=("area", "grade"),
        within=("wave", "rule"),
        size_col="n_respondents",
        value_cols=("n_respondents", "n_flagged"),
    )
    return {
        "aggregates": aggregates,
        "participation": participation,
        "screening_log": _hide_like(log, participation),
    }


def _suppress_participation(table: pd.DataFrame, *, min_n: int) -> pd.DataFrame:
    """Suppress on the questionnaires (``n``) and on the valid ones (``n_valid``): a row is hidden
    when either count needs it, so no small group of either kind is shown."""
    from ctc_helpers.privacy.suppress import suppress_table

    common = {"min_n": min_n, "dims": ("area", "school", "grade", "sex"), "within": ("wave",)}
    by_n = suppress_table(table, size_col="n", value_cols=("n", "n_valid"), **common)
    by_valid = suppress_table(table, size_col="n_valid", value_cols=("n", "n_valid"), **common)
    hidden = by_n["suppressed"] | by_valid["suppressed"]
    primary = by_n["suppression_reason"].eq("primary") | by_valid["suppression_reason"].eq(
        "primary"
    )
    reason = np.select([primary, hidden], ["primary", "complementary"], "")
    return by_n.assign(
        n=by_n["n"].mask(hidden),
        n_valid=by_n["n_valid"].mask(hidden),
        suppressed=hidden,
        suppression_reason=reason,
    )


def _drop_foreign_schools(table: pd.DataFrame, every_wave: pd.DataFrame) -> pd.DataFrame:
    """Drop the empty rows of schools outside an area (the full cube needed by the suppression
    crosses every area with every school). Dropping published zero rows reveals nothing.

    A school belongs to an area when it had respondents or enrolled pupils there in any wave.
    """
    used = every_wave[(every_wave["n"] > 0) | (every_wave["enrolled"].fillna(0) > 0)]
    pairs = used[["area", "school"]].drop_duplicates().assign(_member=True)
    marked = table.merge(pairs, on=["area", "school"], how="left")
    keep = marked["_member"].eq(True) | table["area"].eq(CITY).to_numpy()
    keep |= table["school"].eq(CITY).to_numpy()
    return table[keep.to_numpy()].reset_index(drop=True)


def _hide_like(log: pd.DataFrame, participation: pd.DataFrame) -> pd.DataFrame:
    """Hide screening-log groups that the participation table hides (they count the same people)."""
    total = "all"
    groups = participation[(participation["school"] == total) & (participation["sex"] == total)]
    hidden = groups.loc[groups["suppressed"], ["wave", "area", "grade"]].assign(_hide=True)
    marked = log.merge(hidden, on=["wave", "area", "grade"], how="left")
    extra = marked["_hide"].eq(True).to_numpy() & ~log["suppressed"].to_numpy()
    return log.assign(
        n_respondents=log["n_respondents"].mask(extra),
        n_flagged=log["n_flagged"].mask(extra),
        suppressed=log["suppressed"] | extra,
        suppression_reason=log["suppression_reason"].mask(extra, "complementary"),
    )


def _comparisons(
    aggregates: pd.DataFrame, *, wave: int, previous: int | None, areas: Sequence[str], min_n: int
) -> pd.DataFrame:
    """Each area against the city, and each area and the city against the previous wave.

    Groups: every grade (all sexes), every sex (all grades) and the total. Returns the columns of
    ``compare_to_city`` and ``compare_waves`` plus ``comparison`` (``city`` /
    ``previous_wave``) and ``reference_wave`` (the previous wave; NaN for ``city``).
    """
    from ctc_helpers.survey.compare import compare_to_city, compare_waves

    table = aggregates[aggregates["wave"].isin([wave, previous])]
    by_area = dict(tuple(table.groupby("area", sort=False)))
    rows = by_area[CITY]
    groups = [(g, CITY) for g in rows["grade"].unique()]
    groups += [(CITY, s) for s in rows["sex"].unique() if s != CITY]
    frames = []
    for area in [CITY, *areas]:
        both = pd.concat([by_area[area], rows]) if area != CITY else rows
        for grade, sex in groups:
            common = {"area": area, "grade": grade, "sex": sex, "min_n": min_n}
            if area != CITY:
                versus = compare_to_city(both, wave=wave, **common)
                frames.append(versus.assign(comparison="city", reference_wave=float("nan")))
            if previous is not None:
                trend = compare_waves(by_area[area], wave=wave, previous_wave=previous, **common)
                frames.append(trend.assign(comparison="previous_wave", reference_wave=previous))
    return pd.concat(frames, ignore_index=True)


def _measures(instrument: Any) -> pd.DataFrame:
    """``Instrument.measures()`` with the labels and descriptions in Swedish and English."""
    sv, en = instrument.measures("sv"), instrument.measures("en")
    texts = ["label", "description"]
    return sv.rename(columns={c: f"{c}_sv" for c in texts}).assign(
        **{f"{c}_en": en[c].to_numpy() for c in texts}
    )


def _run_info(
    config: RunConfig,
    instrument: Any,
    cutpoints: pd.DataFrame,
    *,
    wave: int,
    previous: int | None,
    waves: Sequence[int],
    checksums: Mapping[str, str],
    key: str,
) -> dict[str, Any]:
    versions = sorted(str(v) for v in cutpoints["version"].unique())
    return {
        "prepare_key": key,
        "wave": wave,
        "previous_wave": previous,
        "waves": list(waves),
        "min_cell": config.min_cell,
        "synthetic": config.synthetic,
        "instrument": {
            "id": instrument.id,
            "version": instrument.version,
            "title": instrument.title,
            "notice": instrument.notice,
        },
        "cutpoint_version": versions[0] if len(versions) == 1 else versions,
        "validity_rules": [
            {"id": r.id, "label": dict(r.label), "exclude": r.exclude} for r in instrument.validity
        ],
        "data_checksums": dict(checksums),
        "areas": [{"area_id": a, "name": n} for a, n in config.area_names.items()],
    }


def _publish(
    config: RunConfig,
    instrument: Any,
    cache: Path,
    tables: Callable[[Sequence[int]], dict[str, pd.DataFrame]],
    *,
    wave: int,
    checksums: Mapping[str, str],
) -> Path:
    """Write ``<output>/<wave>/data/`` (reused when its key matches); returns the folder."""
    folder = config.output_dir / str(wave) / "data"
    key = hashlib.sha256(f"{cache.name}/{config.min_cell}/{wave}".encode()).hexdigest()[:24]
    info = read_json(folder / "run_info.json")
    if (
        info
        and info.get("prepare_key") == key
        and all((folder / f).is_file() for f in PUBLISHED_FILES)
    ):
        return folder
    waves = [int(w) for w in json.loads((cache / "meta.json").read_text())["waves"] if w <= wave]
    previous = max((w for w in waves if w < wave), default=None)
    published = tables(waves)
    cutpoints = pd.read_csv(cache / "cutpoints.csv", dtype={"version": str})
    comparisons = _comparisons(
        published["aggregates"], wave=wave, previous=previous,
        areas=list(config.area_names), min_n=config.min_cell,
    )  # fmt: skip
    staging = folder.with_name(".data-staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, table in {**published, "comparisons": comparisons}.items():
        table.reset_index(drop=True).to_parquet(staging / f"{name}.parquet", index=False)
    cutpoints.to_csv(staging / "cutpoints.csv", index=False)
    _measures(instrument).to_csv(staging / "measures.csv", index=False)
    info = _run_info(
        config, instrument, cutpoints, wave=wave, previous=previous, waves=waves,
        checksums=checksums, key=key,
    )  # fmt: skip
    (staging / "run_info.json").write_text(
        json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def prepare_waves(config: RunConfig, *, waves: Sequence[int] | None = None) -> Prepared:
    """Build (or reuse) the published folders of the chosen waves (default: the run file's)."""
    from ctc_helpers.config.instrument import load_instrument

    start = time.perf_counter()
    instrument = load_instrument(config.instrument_file)
    checksums = {name: file_sha256(path) for name, path in _input_files(config).items()}
    # one BLAS thread: the many small SVDs of the suppression slow down several-fold when
    # OpenBLAS threads compete for busy cores (measured 14 s -> 2 s for one wave)
    with threadpool_limits(limits=1, user_api="blas"):
        return _prepare(config, instrument, checksums, waves=waves, start=start)


def _prepare(
    config: RunConfig,
    instrument: Any,
    checksums: Mapping[str, str],
    *,
    waves: Sequence[int] | None,
    start: float,
) -> Prepared:
    from ctc_helpers.config.instrument import load_respondent_schema

    cache = _cache(config, instrument, load_respondent_schema(), checksums)
    meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
    chosen = _chosen_waves(waves or config.waves, meta["waves"])

    def tables(waves: Sequence[int]) -> dict[str, pd.DataFrame]:
        return _suppressed_tables(cache, min_n=config.min_cell, waves=waves)

    folders = {
        w: _publish(config, instrument, cache, tables, wave=w, checksums=checksums) for w in chosen
    }
    summary = {
        "waves": chosen,
        "respondents": meta["respondents"],
        "quarantine_rows": meta["quarantine_rows"],
        "quarantine_file": str(cache / "quarantine.csv"),
        "cache": str(cache),
        "synthetic": config.synthetic,
    }
    return Prepared(folders=folders, summary=summary, seconds=time.perf_counter() - start)


def _chosen_waves(waves: Sequence[int] | None, present: Sequence[int]) -> list[int]:
    if not waves:
        return [max(present)]
    missing = [w for w in waves if w not in present]
    if missing:
        raise ConfigError(
            f"There is no survey wave {missing[0]} in the data files; waves present:"
            f" {', '.join(map(str, present))}."
        )
    return sorted(int(w) for w in waves)


# --------------------------------------------------------------------------------------------
# The run


def prepare(config: RunConfig | str | Path, *, wave: int | None = None) -> Path:
    """Build (or reuse) the published folder ``reports/<wave>/data/`` of a wave.

    Parameters
    ----------
    config : RunConfig or path of a run file
    wave : int, optional
        The survey year (default: the latest in the data).

    Returns
    -------
    pathlib.Path
        The published folder (see ``docs/ARCHITECTURE.md``).
    """
    config = config if isinstance(config, RunConfig) else load_run_config(config)
    prepared = prepare_waves(config, waves=None if wave is None else (int(wave),))
    return next(iter(prepared.folders.values()))


def run_batch(
    config: RunConfig | str | Path,
    *,
    areas: Sequence[str] | None = None,
    waves: Sequence[int] | None = None,
    phases: Sequence[str] | None = None,
    workers: int | None = None,
    force: bool = False,
    scheduler: str | None = None,
    timeout: int | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """Prepare the published data and build every report of the run (see the module docstring).

    Parameters
    ----------
    config : RunConfig or path of a run file
    areas, waves, phases : sequence, optional
        Restrict the run (default: the run file's selection; waves: the latest).
    workers : int, optional
        Parallel reports (default: the run file's ``workers``, else one per core).
    force : bool
        Rebuild reports that are up to date.
    scheduler : str, optional
        Address of a Dask scheduler; the jobs then run on its workers (shared file system).
    timeout : int, optional
        Seconds allowed per notebook (default: the run file's).
    lang : {"sv", "en"}, optional
        Report language (default: the run file's).

    Returns
    -------
    pandas.DataFrame
        One row per report: ``area``, ``wave``, ``phase``, ``status`` (``ok``, ``failed``,
        ``skipped`` = up to date, ``timeout``), ``seconds`` (wall time of this run's build),
        ``message`` (why it failed). ``attrs["run"]`` holds the manifest's summary.

    Raises
    ------
    ConfigError
        An unknown area, wave, phase or notebook parameter, before anything is built.
    """
    started = time.perf_counter()
    config = config if isinstance(config, RunConfig) else load_run_config(config)
    _positive("workers", workers)
    _positive("timeout", timeout)
    check_parameters(plan_jobs(config, waves=[0], areas=areas, phases=phases, lang=lang))
    prepared = prepare_waves(config, waves=waves)
    return run_reports(
        config,
        prepared.folders,
        areas=areas,
        phases=phases,
        workers=workers,
        force=force,
        scheduler=scheduler,
        timeout=timeout,
        lang=lang,
        extra={**prepared.summary, "prepare_seconds": round(prepared.seconds, 3)},
        started=started,
    )


def run_reports(
    config: RunConfig,
    published: Mapping[int, Path],
    *,
    areas: Sequence[str] | None = None,
    phases: Sequence[str] | None = None,
    workers: int | None = None,
    force: bool = False,
    scheduler: str | None = None,
    timeout: int | None = None,
    lang: str | None = None,
    extra: Mapping[str, Any] | None = None,
    started: float | None = None,
) -> pd.DataFrame:
    """Build the reports of already published waves (``{wave: published folder}``).

    Same options and result as :func:`run_batch`, which calls it after :func:`prepare`;
    ``extra`` (the preparation's summary) goes into the manifest.
    """
    started = started if started is not None else time.perf_counter()
    lang = check_language(lang or config.lang)
    workers = _positive("workers", workers) or config.worker_count
    jobs = plan_jobs(
        config,
        waves=published,
        areas=areas,
        phases=phases,
        timeout=_positive("timeout", timeout),
        lang=lang,
    )
    check_parameters(jobs)
    checksums = {wave: folder_checksum(Path(folder)) for wave, folder in published.items()}
    titles = {p: phase_title(config.notebook_path(p), lang=lang) for p in config.phases}
    keys = [_job_key(j, kernel=config.kernel, data_checksum=checksums[j.wave]) for j in jobs]
    stamps = [None if force else _up_to_date(j, k) for j, k in zip(jobs, keys, strict=True)]
    specs = [
        _spec(job, key=key, kernel=config.kernel, lang=lang, title=titles[job.phase])
        for job, key, stamp in zip(jobs, keys, stamps, strict=True)
        if stamp is None
    ]
    batch_start = time.perf_counter()
    _compile_package()
    drawn = _draw_charts(specs, workers=workers)
    charts_seconds = time.perf_counter() - batch_start
    specs = _longest_first(jobs, specs)
    built = _execute(specs, workers=workers, scheduler=scheduler, lang=lang)
    summary = {k: v for k, v in (extra or {}).items() if k != "prepare_seconds"}
    summary["charts"] = drawn["status"].value_counts().to_dict() if len(drawn) else {}
    timings = {
        **{k: v for k, v in (extra or {}).items() if k == "prepare_seconds"},
        "charts_seconds": round(charts_seconds, 3),
        "reports_seconds": round(time.perf_counter() - batch_start, 3),
    }
    records = _records(jobs, keys, stamps, built)
    settings = {"workers": workers, "scheduler": scheduler, "force": force, "lang": lang,
                "kernel": config.kernel, "min_cell": config.min_cell}  # fmt: skip
    manifest = write_manifest(
        config,
        records,
        published=published,
        checksums=checksums,
        settings=settings,
        summary=summary,
        timings={**timings, "total_seconds": round(time.perf_counter() - started, 3)},
    )
    synthetic = bool(summary.get("synthetic"))
    index = write_run_index(config, lang=lang, titles=titles, synthetic=synthetic)
    results = pd.DataFrame(records, columns=[*RESULT_COLUMNS])
    results.attrs["run"] = {**summary, "manifest": str(manifest), "index": str(index), **timings}
    return results


def _positive(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}.")
    return value


def _records(
    jobs: Sequence[Job],
    keys: Sequence[str],
    stamps: Sequence[dict[str, Any] | None],
    built: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """One record per job in plan order: built results, or ``skipped`` with the last build."""
    by_job = {(r["wave"], r["area"], r["phase"]): r for r in built}
    records = []
    for job, key, stamp in zip(jobs, keys, stamps, strict=True):
        result = by_job.get((job.wave, job.area, job.phase))
        if result is None:
            result = {"status": "skipped", "message": "", "seconds": 0.0, "built": stamp}
        records.append(
            {
                "area": job.area,
                "wave": job.wave,
                "phase": job.phase,
                "status": result["status"],
                "seconds": float(result.get("seconds") or 0.0),
                "message": result.get("message") or "",
                "key": key,
                "job": job,
                "detail": result,
            }
        )
    return records


# --------------------------------------------------------------------------------------------
# Command line


def format_summary(results: pd.DataFrame, *, lang: str = "sv") -> str:
    """The run summary printed by ``ctc run``: counts, every failed report, quarantine, index."""
    counts = results["status"].value_counts()
    lines = [
        _text("summary", lang, total=len(results), **{s: int(counts.get(s, 0)) for s in STATUSES})
    ]
    problems = results[results["status"].isin(["failed", "timeout"])]
    if len(problems):
        lines.append(_text("problems", lang))
        status_text = {s: REPORT_TEXTS[f"status_{s}"][lang] for s in ("failed", "timeout")}
        lines += [
            f"  {r.wave} {r.area} {r.phase}: {status_text[r.status]} – {r.message}"
            for r in problems.itertuples()
        ]
    run = results.attrs.get("run", {})
    if run.get("quarantine_rows"):
        lines.append(
            _text("quarantine", lang, rows=run["quarantine_rows"], file=run["quarantine_file"])
        )
    if run.get("index"):
        lines.append(_text("index", lang, path=run["index"]))
    return "\n".join(lines)


def command_run(args: Any) -> int:
    """``ctc run``: the batch with the command line's choices; 0 when every report is built."""
    # jsonschema (imported by papermill through nbformat) builds ~35 parsers at import time
    # through rfc3987_syntax (python-jsonschema/jsonschema#1428); its "iri" formats are unused here.
    sys.modules.setdefault("rfc3987_syntax", None)
    config = load_run_config(args.config)
    changes = {
        "output_dir": Path(args.out).resolve() if getattr(args, "out", None) else None,
        "instrument_file": (
            Path(args.instrument).resolve() if getattr(args, "instrument", None) else None
        ),
    }
    config = replace(config, **{k: v for k, v in changes.items() if v is not None})
    # the command line always has a language (messages); it sets the reports' language only
    # when it differs from the default, so that run.yaml's `lang` applies otherwise
    lang = getattr(args, "lang", None)
    report_lang = lang if lang and lang != default_language() else None
    results = run_batch(
        config,
        areas=args.areas or None,
        waves=args.waves or None,
        phases=args.phases or None,
        workers=args.workers,
        force=bool(args.force),
        scheduler=args.scheduler,
        timeout=args.timeout,
        lang=report_lang,
    )
    print(format_summary(results, lang=check_language(lang or config.lang)))
    return 0 if results["status"].isin(["ok", "skipped"]).all() else 1
