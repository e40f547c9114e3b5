"""Benchmark of the per-area batch (`ctc run`) on the demo city; prints its figures.

1. Batch against a plain loop: the wall time of the batch (parallel workers, HTML included) over
   every demo area and the city, against a sequential loop of `papermill` command-line runs over
   the same notebooks and parameters (parameters passed as a YAML file, typed), and the same loop
   followed by `jupyter nbconvert --to html --no-input` (the same outputs as the batch).
   Target: the batch >= 1.7x faster than the papermill loop on 2 cores.
2. Per-notebook cost: each phase notebook against an empty notebook (only the parameters cell),
   both run by `papermill` on the command line for the same area, and the same inside the batch
   (mean job time of each phase against the empty notebook as a phase).
   Target: each phase notebook within 1.5x of the empty notebook.
   The command-line runs are made in rounds (the empty notebook, then every phase, repeated),
   so that a machine that slows down or speeds up during the benchmark affects both sides of a
   ratio alike; the ratio printed is the median of the rounds' ratios, beside the medians of the
   times themselves.

The machine may be shared: the load average is printed, and beside every wall time the CPU
time of the child processes (user + system, kernels included) is shown, which competing
processes disturb much less; "2-core estimate" is the loop's CPU time over the batch's CPU time
shared by the workers.

The published folder is prepared once beforehand (`build.prepare`; its time is printed too):
notebooks only read the published tables. The batch draws the reports' charts into the chart
cache before it runs the notebooks (`ctc_helpers.plots.cache`); that step is inside the batch's time
and printed on its own. The loops start with an empty chart cache, so each of their notebooks
draws its own charts, as it would without the batch; the per-notebook CLI figures are given both
with the charts the batch drew and with an empty cache. Outputs go to benchmarks/output/batch/ (gitignored).

3. The report runner (`--part runner`, no demo city needed): what a report costs beside its
   notebook. A warm worker (`python -m ctc_helpers.batch.worker --serve`) imports papermill and
   nbconvert once and forks one process per report; printed are the worker's start (its
   imports), the import of the worker module itself, and the wall and CPU time of one report of
   the test notebooks `empty` and `tiny` (median of --repeats, after a first report that starts
   the worker), on warm workers and as a one-off process (`python -m ctc_helpers.batch.worker
   SPEC RESULT`, which pays the imports for every report).

Usage: python benchmarks/batch.py [--areas N] [--repeats N] [--workers N]
                                  [--part all|notebooks|runner]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import yaml

from ctc_helpers.batch import run as batch
from ctc_helpers.config.run import CITY, STANDARD_PARAMETERS, load_run_config, plan_jobs
from ctc_helpers.plots import cache as charts
from ctc_helpers.publish import build

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "output" / "batch"
BIN = Path(sys.executable).parent
EMPTY = REPO / "notebooks" / "tests" / "empty.ipynb"


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Timer:
    """Wall time and child CPU time of a block."""

    def __enter__(self) -> _Timer:
        self.wall, self.cpu = time.perf_counter(), _children_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = _children_cpu() - self.cpu


def _papermill(notebook: Path, output: Path, parameters: dict, *, html: bool = False) -> None:
    """One plain command-line run (and optionally its HTML export)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(parameters, handle)
    command = [str(BIN / "papermill"), str(notebook), str(output), "-f", handle.name, "-k", "ctc"]
    subprocess.run([*command, "--no-progress-bar"], check=True, capture_output=True)
    if html:
        convert = [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(output)]
        subprocess.run(convert, check=True, capture_output=True)
    os.unlink(handle.name)


def _clear_charts(folder: Path) -> None:
    """Empty the chart cache: the next notebook draws its own charts, as without the batch."""
    shutil.rmtree(folder / charts.CACHE_DIR, ignore_errors=True)


def _loop(jobs, root: Path, *, html: bool, folder: Path) -> _Timer:
    _clear_charts(folder)
    with _Timer() as timer:
        for job in jobs:
            output = root / str(job.wave) / job.area / f"{job.phase}.ipynb"
            _papermill(job.notebook, output, job.parameters, html=html)
    return timer


def _rounds(
    runs: dict[str, tuple[Path, dict]], repeats: int, *, cold: Path | None = None
) -> dict[str, list[_Timer]]:
    """``repeats`` rounds of one CLI run of each notebook, in the order given; the timers of
    each notebook, round by round. ``cold``: clear that folder's chart cache before each run
    (the notebook draws its charts itself)."""
    timers: dict[str, list[_Timer]] = {label: [] for label in runs}
    for _ in range(repeats):
        for label, (notebook, parameters) in runs.items():
            if cold is not None:
                _clear_charts(cold)
            with _Timer() as timer:
                _papermill(notebook, OUT / "single" / f"{notebook.stem}.ipynb", parameters)
            timers[label].append(timer)
    return timers


def _medians(timers: list[_Timer]) -> tuple[float, float]:
    """Median wall and CPU seconds."""
    return statistics.median(t.wall for t in timers), statistics.median(t.cpu for t in timers)


def _paired(timers: list[_Timer], base: list[_Timer], what: str) -> float:
    """Median over the rounds of ``timers[i].what / base[i].what``."""
    return statistics.median(
        getattr(t, what) / getattr(b, what) for t, b in zip(timers, base, strict=True)
    )


def _job_means(results) -> dict[str, tuple[float, float]]:
    """Mean wall and CPU seconds per phase of a batch run (CPU from the run's manifest)."""
    manifest = json.loads(Path(results.attrs["run"]["manifest"]).read_text(encoding="utf-8"))
    jobs = pd.DataFrame(manifest["jobs"])
    means = jobs.groupby("phase", sort=False)[["seconds", "cpu_seconds"]].mean()
    return {phase: (row.seconds, row.cpu_seconds) for phase, row in means.iterrows()}


def _line(label: str, timer: _Timer) -> str:
    return f"   {label:<38} {timer.wall:7.1f} s wall {timer.cpu:7.1f} s CPU"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=None, help="first N areas (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per single-notebook timing")
    parser.add_argument("--workers", type=int, default=None, help="batch workers (default: cores)")
    parser.add_argument("--part", choices=("all", "notebooks", "runner"), default="all",
                        help="notebooks: only the per-notebook figures (2.); runner: only 3.")  # fmt: skip
    args = parser.parse_args(argv)
    if args.part == "runner":
        _runner(max(args.repeats, 5))
        return 0

    config = load_run_config(REPO / "reports" / "run.yaml")
    config = replace(config, output_dir=OUT / "reports")
    areas = [CITY, *list(config.area_names)[: args.areas]]
    cores = len(os.sched_getaffinity(0))
    workers = args.workers or cores
    print(f"cores: {cores}, workers: {workers}, load average: {os.getloadavg()[0]:.1f}")
    print(f"areas: {len(areas)} (city included), phases: {', '.join(config.phases)}")

    started = time.perf_counter()
    folder = build.prepare(config)
    wave = int(folder.parent.name)
    print(f"prepare (ingest, score, aggregate, suppress, compare; cached after the first run):"
          f" {time.perf_counter() - started:.1f} s")  # fmt: skip

    jobs = plan_jobs(config, waves=[wave], areas=areas)
    if args.part == "all":
        results = _batch_against_loops(
            config, jobs, folder, wave=wave, areas=areas, workers=workers
        )
    else:
        results = batch.run_reports(
            config, {wave: folder}, areas=areas, workers=workers, force=True
        )
    _per_notebook(config, jobs, folder, results, wave=wave, areas=areas, workers=workers,
                  repeats=args.repeats)  # fmt: skip
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


def _batch_against_loops(config, jobs, folder: Path, *, wave: int, areas, workers: int):
    """Section 1: the batch against the sequential loops; returns the batch's results."""
    with _Timer() as batch_timer:
        results = batch.run_reports(
            config, {wave: folder}, areas=areas, workers=workers, force=True
        )
    failed = results[results["status"] != "ok"]
    if len(failed):
        print(failed.to_string())
    charts_seconds = results.attrs["run"]["charts_seconds"]
    loop = _loop(jobs, OUT / "loop", html=False, folder=folder)
    loop_html = _loop(jobs, OUT / "loop_html", html=True, folder=folder)
    print(f"\n1. {len(jobs)} notebooks (wall time; CPU time of all child processes)")
    print(_line(f"batch ({workers} workers, HTML included)", batch_timer))
    print(
        f"   of which drawing the charts beforehand ({workers} processes) {charts_seconds:7.1f} s wall"
    )
    print("   (the loops start with an empty chart cache: each notebook draws its own charts)")
    for label, timer in (("sequential papermill CLI loop", loop),
                         ("sequential papermill + nbconvert HTML", loop_html)):  # fmt: skip
        estimate = timer.cpu / (batch_timer.cpu / workers)
        print(_line(label, timer) + f"   -> batch {timer.wall / batch_timer.wall:.2f}x faster"
              f" (2-core estimate from CPU: {estimate:.2f}x)")  # fmt: skip
    print("   target: batch >= 1.7x faster than the papermill loop on 2 cores")
    return results


def _per_notebook(config, jobs, folder: Path, results, *, wave: int, areas, workers: int,
                  repeats: int) -> None:  # fmt: skip
    """Section 2: every phase notebook against the empty notebook, on the CLI and in the batch."""
    area = areas[1] if len(areas) > 1 else CITY
    sample = {job.phase: job.parameters for job in jobs if job.area == area}
    empty_params = {k: v for k, v in sample[config.phases[0]].items() if k in STANDARD_PARAMETERS}
    batch.run_reports(config, {wave: folder}, areas=[area], workers=workers, force=True)
    runs = {"empty": (EMPTY, empty_params)}  # charts cached by the batch, as in `ctc run`
    runs |= {phase: (config.notebook_path(phase), sample[phase]) for phase in config.phases}
    timers = _rounds(runs, repeats)
    empty_wall, empty_cpu = _medians(timers["empty"])
    print(f"\n2. per notebook, area {area!r} (papermill CLI, {repeats} rounds of every notebook;"
          " medians, and the median of the rounds' ratios)")  # fmt: skip
    print(f"   {'empty notebook':<38} {empty_wall:7.1f} s wall {empty_cpu:7.1f} s CPU")
    for phase in config.phases:
        wall, cpu = _medians(timers[phase])
        ratio_wall = _paired(timers[phase], timers["empty"], "wall")
        ratio_cpu = _paired(timers[phase], timers["empty"], "cpu")
        print(f"   {phase:<38} {wall:7.1f} s wall {cpu:7.1f} s CPU   -> {ratio_wall:.2f}x"
              f" wall, {ratio_cpu:.2f}x CPU of the empty notebook (target <= 1.5x)")  # fmt: skip
    print("   the same, drawing its own charts (empty chart cache; against the median empty run):")
    drawn = {p: runs[p] for p in config.phases if charts.PHASE_CHARTS.get(p)}
    for phase, phase_timers in _rounds(drawn, repeats, cold=folder).items():
        wall, cpu = _medians(phase_timers)
        print(f"   {phase:<38} {wall:7.1f} s wall {cpu:7.1f} s CPU   -> {wall / empty_wall:.2f}x"
              f" wall, {cpu / empty_cpu:.2f}x CPU")  # fmt: skip
    empty_config = replace(config, notebooks_dir=EMPTY.parent, phases=("empty",),
                           phase_parameters={}, output_dir=OUT / "empty")  # fmt: skip
    empty_batch = batch.run_reports(
        empty_config, {wave: folder}, areas=areas, workers=workers, force=True
    )
    print(f"   inside the batch (mean per job incl. HTML, {len(areas)} areas, charts drawn"
          " beforehand; wall, CPU):")  # fmt: skip
    empty_wall, empty_cpu = _job_means(empty_batch)["empty"]
    print(f"   {'empty notebook':<38} {empty_wall:7.1f} s wall {empty_cpu:7.1f} s CPU")
    for phase, (wall, cpu) in _job_means(results).items():
        print(f"   {phase:<38} {wall:7.1f} s wall {cpu:7.1f} s CPU   -> {wall / empty_wall:.2f}x"
              f" wall, {cpu / empty_cpu:.2f}x CPU")  # fmt: skip


def _median_run(command: list[str], repeats: int) -> float:
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def _test_spec(notebook: str, out: Path, index: int) -> dict:
    folder = out / f"{notebook}-{index}"
    return {"area": "norr", "wave": 2025, "phase": notebook, "key": str(index),
            "notebook": str(EMPTY.parent / f"{notebook}.ipynb"),
            "output_ipynb": str(folder / f"{notebook}.ipynb"),
            "output_html": str(folder / f"{notebook}.html"),
            "parameters": {"area": "norr", "output_dir": str(folder)}, "kernel": "ctc",
            "timeout": 120, "lang": "sv", "title": notebook, "work_dir": str(out / ".work")}  # fmt: skip


def _runner(repeats: int) -> None:
    """Section 3: the report runner's own cost (see the module docstring)."""
    from ctc_helpers.batch.execute import ReportWorkers

    python = [sys.executable, "-c"]
    preload = "from ctc_helpers.batch import worker; worker._preload()"
    print(f"3. report runner (load average {os.getloadavg()[0]:.1f}; medians of {repeats})")
    print(
        f"   worker start, imports once per worker     {_median_run([*python, preload], repeats):5.2f} s wall"
    )
    module = _median_run([*python, "import ctc_helpers.batch.worker"], repeats)
    print(
        f"   python -m ctc_helpers.batch.worker import  {module:5.2f} s wall (interpreter included)"
    )
    out = Path(tempfile.mkdtemp(prefix="runner-", dir=OUT.parent if OUT.parent.exists() else None))
    with ReportWorkers() as workers:
        workers.run(_test_spec("empty", out, 0), wall_timeout=120)  # starts the worker
        for notebook in ("empty", "tiny"):
            results = [workers.run(_test_spec(notebook, out, i + 1), wall_timeout=120)
                       for i in range(repeats)]  # fmt: skip
            assert all(r["status"] == "ok" for r in results), results
            wall = statistics.median(r["seconds"] for r in results)
            cpu = statistics.median(r["cpu_seconds"] for r in results)
            print(
                f"   one report, {notebook + '.ipynb,':<12} warm worker  {wall:5.2f} s wall {cpu:5.2f} s CPU"
            )
    spec = out / "spec.json"
    spec.write_text(json.dumps(_test_spec("empty", out, 99)), encoding="utf-8")
    one_off = [
        sys.executable,
        "-m",
        "ctc_helpers.batch.worker",
        str(spec),
        str(out / "result.json"),
    ]
    print(
        f"   one report, empty.ipynb, one-off process   {_median_run(one_off, repeats):5.2f} s wall"
    )
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
