"""``ctc run``: prepare the published tables once, then build every area's reports in parallel.

The run reads as a list of steps (:func:`run_batch`):

1. check every notebook parameter against the notebooks (unknown names are refused);
2. :func:`prepare` each wave's published folder ``reports/<wave>/data/`` (ingest, screen, score
   and aggregate the whole city once, cached by input checksums; publish suppressed tables);
3. plan one job per wave x area (the city is ``all``) x phase, skipping reports that are up to
   date (same notebook, parameters and published data, and the same workbench: helper package
   and ``data_schema/`` texts, :func:`~ctc_helpers.fingerprint.workbench_fingerprint`);
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

import compileall
import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.batch.execute import (
    RESULT_COLUMNS,
    ReportWorkers,
    run_report_process,
    stop_running_reports,
)
from ctc_helpers.batch.files import locked_output, read_json, work_folder, write_atomic
from ctc_helpers.batch.index import write_manifest, write_run_index
from ctc_helpers.batch.pdf import pdf_problem
from ctc_helpers.batch.report import phase_title
from ctc_helpers.batch.worker import watch_parent
from ctc_helpers.config.notebook_params import check_parameters, notebook_defaults
from ctc_helpers.config.run import STAMP, Job, RunConfig, load_run_config, plan_jobs
from ctc_helpers.errors import ConfigError
from ctc_helpers.fingerprint import file_sha256, folder_checksum, workbench_fingerprint
from ctc_helpers.i18n import check_language
from ctc_helpers.paths import PACKAGE_DIR
from ctc_helpers.publish.build import prepare_waves

__all__ = [
    "RESULT_COLUMNS",
    "Job",
    "check_parameters",
    "plan_jobs",
    "run_batch",
    "run_reports",
]


_TEXTS = {
    "progress": {"sv": "Rapporter", "en": "Reports"},
    "unit": {"sv": " rapport", "en": " report"},
    "no_cluster": {
        "sv": "--scheduler kräver paketet distributed, som inte är installerat. Installera"
        " arbetsbänken med klustertillägget: pip install -e '.[cluster]'.",
        "en": "--scheduler needs the package distributed, which is not installed. Install the"
        " workbench with the cluster extra: pip install -e '.[cluster]'.",
    },
}


def _text(key: str, lang: str, **values: Any) -> str:
    return _TEXTS[key][check_language(lang)].format(**values)


# --------------------------------------------------------------------------------------------
# Up-to-date check


def _job_key(job: Job, *, kernel: str, data_checksum: str, workbench: str) -> str:
    """What a report is made from: its notebook, parameters, published data, kernel and the
    workbench that draws and words it (``workbench``: helper code, templates and texts)."""
    payload = {
        "notebook": file_sha256(job.notebook),
        "parameters": job.parameters,
        "data": data_checksum,
        "kernel": kernel,
        "workbench": workbench,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _up_to_date(job: Job, key: str) -> dict[str, Any] | None:
    """The stamp of the job's last build when it succeeded with the same key and outputs exist."""
    stamp = read_json(job.stamp)
    fresh = stamp and stamp.get("key") == key and stamp.get("status") == "ok"
    return stamp if fresh and job.ipynb.is_file() and job.html.is_file() else None


# --------------------------------------------------------------------------------------------
# Execution: local worker threads (each job a child process) or a Dask cluster


def _spec(
    job: Job, *, key: str, kernel: str, lang: str, title: str, work_dir: Path, pdf: bool = False
) -> dict[str, Any]:
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
        "work_dir": str(work_dir),  # job folders: same file system as the reports
        "pdf": pdf,  # print <phase>.pdf beside the page (batch.pdf)
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


def _run_local(
    specs: Sequence[dict[str, Any]], workers: int, on_done, *, keep_fds: Sequence[int]
) -> None:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    with ReportWorkers(keep_fds=keep_fds) as reports:
        try:
            _drive(
                specs,
                lambda spec: pool.submit(reports.run, spec, wall_timeout=spec["timeout"]),
                concurrent.futures.as_completed,
                on_done,
            )
        except KeyboardInterrupt:  # Ctrl-C: stop the notebooks (they run in sessions of their own)
            pool.shutdown(wait=False, cancel_futures=True)
            reports.stop()
            raise
        finally:
            pool.shutdown(wait=True)


def _run_dask(specs: Sequence[dict[str, Any]], address: str, on_done, *, lang: str) -> None:
    try:
        from distributed import Client, as_completed  # ~0.7 s, only with --scheduler
    except ImportError:
        raise ConfigError(_text("no_cluster", lang)) from None

    with Client(address) as client:
        try:
            _drive(
                specs,
                lambda spec: client.submit(
                    run_report_process, spec, wall_timeout=spec["timeout"], pure=False
                ),
                as_completed,
                on_done,
            )
        finally:
            client.run(stop_running_reports)  # the Dask workers' warm report workers


def _compile_package() -> None:
    """Write the package's byte code once, so that each notebook kernel does not compile it.

    Python skips writing ``__pycache__`` when ``PYTHONDONTWRITEBYTECODE`` is set (common in
    containers and CI) and an editable install has none: every kernel would then compile the
    package anew (about 0.25 s). Stale files are recompiled; a read-only folder is left alone.
    """
    compileall.compile_dir(PACKAGE_DIR, quiet=2)


def _draw_charts(specs: Sequence[Mapping[str, Any]], *, workers: int) -> pd.DataFrame:
    """Draw the charts of the reports to build into the chart cache (:mod:`ctc_helpers.plots.cache`),
    in ``workers`` processes: the notebooks then only embed them. A chart that fails here is drawn
    again by its notebook, whose report then shows the problem.

    The drawing runs in a process that watches the batch (:func:`~ctc_helpers.batch.worker.
    watch_parent`): if the batch is killed, that process stops its drawing processes at once,
    which would otherwise go on writing charts and then wait for work forever.
    """
    from ctc_helpers.plots import cache as charts  # ~0.33 s (matplotlib), only when drawing

    defaults = {n: notebook_defaults(Path(n)) for n in {s["notebook"] for s in specs}}
    reports = []
    for spec in specs:
        parameters = {**defaults[spec["notebook"]], **spec["parameters"]}
        if "data_dir" in parameters:
            reports.append((parameters["data_dir"], spec["area"], spec["wave"],
                            parameters.get("lang", spec["lang"]), parameters.get("min_cell"),
                            spec["phase"], parameters))  # fmt: skip
    tasks = charts.tasks_for(reports)
    if not tasks:
        return charts.render(tasks, workers=workers)
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=context, initializer=watch_parent, initargs=(os.getpid(),)
    ) as pool:
        return pool.submit(charts.render, tasks, workers=workers).result()


def _execute(
    specs: list[dict[str, Any]],
    *,
    workers: int,
    scheduler: str | None,
    lang: str,
    keep_fds: Sequence[int] = (),
) -> list[dict[str, Any]]:
    """Run the jobs with one overall progress bar; returns one result per job."""
    from tqdm.auto import tqdm  # ~0.12 s, only when there are reports to build

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
            _run_dask(specs, scheduler, on_done, lang=lang)
        else:
            _run_local(specs, workers, on_done, keep_fds=keep_fds)
    return results


def _write_stamp(result: Mapping[str, Any], specs: Sequence[Mapping[str, Any]]) -> None:
    spec = next(s for s in specs if s["key"] == result["key"] and s["area"] == result["area"])
    path = Path(spec["output_ipynb"]).parent / STAMP.format(phase=spec["phase"])
    record = {k: result.get(k) for k in ("key", "status", "message", "seconds", "finished")}
    record["title"] = result.get("title") or spec["title"]  # the report's own heading
    text = json.dumps(record, indent=1, ensure_ascii=False)
    write_atomic(path, text, work_dir=Path(spec["work_dir"]))


# --------------------------------------------------------------------------------------------
# The run


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
    FolderInUseError
        Another run is using the output folder (the message names its process and start).
    OSError
        The output folder cannot be written (read-only, full, missing ...); names the path.
    """
    started = time.perf_counter()
    config = config if isinstance(config, RunConfig) else load_run_config(config)
    _positive("workers", workers)
    _positive("timeout", timeout)
    check_parameters(plan_jobs(config, waves=[0], areas=areas, phases=phases, lang=lang))
    with locked_output(config.output_dir, lang=check_language(lang or config.lang)):
        prepared = prepare_waves(config, waves=waves)
        results = run_reports(
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
        results.attrs["run"]["quarantine_file"] = prepared.private["quarantine_file"]
        return results


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
    ``extra`` (the preparation's summary) goes into the manifest. The output folder is locked
    for the run (:class:`~ctc_helpers.batch.files.OutputLock`).
    """
    started = started if started is not None else time.perf_counter()
    lang = check_language(lang or config.lang)
    with locked_output(config.output_dir, lang=lang) as lock:
        return _run_reports(
            config, published, areas=areas, phases=phases, workers=workers, force=force,
            scheduler=scheduler, timeout=timeout, lang=lang, extra=extra, started=started,
            keep_fds=[lock.fd],
        )  # fmt: skip


def _run_reports(
    config: RunConfig,
    published: Mapping[int, Path],
    *,
    areas: Sequence[str] | None,
    phases: Sequence[str] | None,
    workers: int | None,
    force: bool,
    scheduler: str | None,
    timeout: int | None,
    lang: str,
    extra: Mapping[str, Any] | None,
    started: float,
    keep_fds: Sequence[int],
) -> pd.DataFrame:
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
    workbench = workbench_fingerprint()  # once per run: ~0.01 s for ~180 files
    keys = [
        _job_key(j, kernel=config.kernel, data_checksum=checksums[j.wave], workbench=workbench)
        for j in jobs
    ]
    stamps = [None if force else _up_to_date(j, k) for j, k in zip(jobs, keys, strict=True)]
    work_dir = work_folder(config.output_dir)
    no_pdf = pdf_problem(lang)  # said once in the summary; the reports are built without PDFs
    specs = [
        _spec(job, key=key, kernel=config.kernel, lang=lang, title=titles[job.phase],
              work_dir=work_dir, pdf=not no_pdf)
        for job, key, stamp in zip(jobs, keys, stamps, strict=True)
        if stamp is None
    ]  # fmt: skip
    batch_start = time.perf_counter()
    _compile_package()
    drawn = _draw_charts(specs, workers=workers)
    charts_seconds = time.perf_counter() - batch_start
    specs = _longest_first(jobs, specs)
    built = _execute(specs, workers=workers, scheduler=scheduler, lang=lang, keep_fds=keep_fds)
    summary = {k: v for k, v in (extra or {}).items() if k != "prepare_seconds"}
    summary["charts"] = drawn["status"].value_counts().to_dict() if len(drawn) else {}
    timings = {
        **{k: v for k, v in (extra or {}).items() if k == "prepare_seconds"},
        "charts_seconds": round(charts_seconds, 3),
        "reports_seconds": round(time.perf_counter() - batch_start, 3),
    }
    records = _records(jobs, keys, stamps, built)
    notes = _coordinator_notes(records)
    if notes:
        summary["coordinator_notes"] = notes
    settings = {"workers": workers, "scheduler": scheduler, "force": force, "lang": lang,
                "kernel": config.kernel, "min_cell": config.min_cell,
                "workbench": workbench}  # fmt: skip
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
    results.attrs["run"] = {**summary, "manifest": str(manifest), "index": str(index), **timings,
                            "pdf_problem": no_pdf}  # fmt: skip
    return results


def _positive(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}.")
    return value


def _coordinator_notes(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ``coordinator_notes`` of the results records (``<output_dir>/<phase>.json``) of the
    reports that are built or up to date, each note once, in plan order: precise messages
    (file, row, column, value) that the reports themselves say in a reader's words."""
    notes: dict[str, None] = {}
    for record in records:
        if record["status"] not in ("ok", "skipped"):
            continue
        job: Job = record["job"]
        results = read_json(job.output_dir / f"{job.phase}.json") or {}
        notes.update(dict.fromkeys(str(n) for n in results.get("coordinator_notes") or []))
    return list(notes)


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
