"""Benchmark of the per-area batch (`ctc run`) on the demo city; prints its figures.

1. Batch against a plain loop: the wall time of the batch (parallel workers, HTML included) over
   every demo area and the city, against a sequential loop of `papermill` command-line runs over
   the same notebooks and parameters (parameters passed as a YAML file, typed), and the same loop
   followed by `jupyter nbconvert --to html --no-input` (the same outputs as the batch).
   Target: the batch >= 1.7x faster than the papermill loop on 2 cores.
2. Per-notebook cost: each phase notebook against an empty notebook (only the parameters cell),
   both run by `papermill` on the command line for the same area (median of a few runs), and the
   same inside the batch (mean job time of each phase against the empty notebook as a phase).
   Target: each phase notebook within 1.5x of the empty notebook.

The published folder is prepared once beforehand (`batch.prepare`; its time is printed too):
notebooks only read the published tables. Outputs go to benchmarks/output/batch/ (gitignored).

Usage: python benchmarks/batch.py [--areas N] [--repeats N] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml

from ctc_helpers import batch
from ctc_helpers.runfile import CITY, STANDARD_PARAMETERS, load_run_config, plan_jobs

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "output" / "batch"
BIN = Path(sys.executable).parent
EMPTY = REPO / "notebooks" / "tests" / "empty.ipynb"


def _papermill(notebook: Path, output: Path, parameters: dict, *, html: bool = False) -> float:
    """One plain command-line run (and optionally its HTML export); returns the wall time."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(parameters, handle)
    started = time.perf_counter()
    command = [str(BIN / "papermill"), str(notebook), str(output), "-f", handle.name, "-k", "ctc"]
    subprocess.run([*command, "--no-progress-bar"], check=True, capture_output=True)
    if html:
        convert = [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(output)]
        subprocess.run(convert, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    os.unlink(handle.name)
    return seconds


def _loop(jobs, root: Path, *, html: bool) -> float:
    started = time.perf_counter()
    for job in jobs:
        output = root / str(job.wave) / job.area / f"{job.phase}.ipynb"
        _papermill(job.notebook, output, job.parameters, html=html)
    return time.perf_counter() - started


def _median_run(notebook: Path, parameters: dict, repeats: int) -> float:
    output = OUT / "single" / f"{notebook.stem}.ipynb"
    return statistics.median(_papermill(notebook, output, parameters) for _ in range(repeats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=None, help="first N areas (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per single-notebook timing")
    parser.add_argument("--workers", type=int, default=None, help="batch workers (default: cores)")
    args = parser.parse_args(argv)

    config = load_run_config(REPO / "reports" / "run.yaml")
    config = replace(config, output_dir=OUT / "reports")
    areas = [CITY, *list(config.area_names)[: args.areas]]
    cores = len(os.sched_getaffinity(0))
    workers = args.workers or cores
    print(f"cores: {cores}, workers: {workers}, load average: {os.getloadavg()[0]:.1f}")
    print(f"areas: {len(areas)} (city included), phases: {', '.join(config.phases)}")

    started = time.perf_counter()
    folder = batch.prepare(config)
    wave = int(folder.parent.name)
    print(f"prepare (ingest, score, aggregate, suppress, compare; cached after the first run):"
          f" {time.perf_counter() - started:.1f} s")  # fmt: skip

    jobs = plan_jobs(config, waves=[wave], areas=areas)
    results = batch.run_reports(config, {wave: folder}, areas=areas, workers=workers, force=True)
    batch_seconds = results.attrs["run"]["reports_seconds"]
    failed = results[results["status"] != "ok"]
    if len(failed):
        print(failed.to_string())
    loop_seconds = _loop(jobs, OUT / "loop", html=False)
    loop_html_seconds = _loop(jobs, OUT / "loop_html", html=True)
    print(f"\n1. {len(jobs)} notebooks")
    print(f"   batch ({workers} workers, HTML included):  {batch_seconds:7.1f} s")
    print(f"   sequential papermill CLI loop:          {loop_seconds:7.1f} s"
          f"   -> batch {loop_seconds / batch_seconds:.2f}x faster (target >= 1.7x)")  # fmt: skip
    print(f"   sequential papermill + nbconvert HTML:  {loop_html_seconds:7.1f} s"
          f"   -> batch {loop_html_seconds / batch_seconds:.2f}x faster")  # fmt: skip

    area = areas[1] if len(areas) > 1 else CITY
    sample = {job.phase: job.parameters for job in jobs if job.area == area}
    empty_params = {k: v for k, v in sample[config.phases[0]].items() if k in STANDARD_PARAMETERS}
    empty = _median_run(EMPTY, empty_params, args.repeats)
    empty_config = replace(config, notebooks_dir=EMPTY.parent, phases=("empty",),
                           phase_parameters={}, output_dir=OUT / "empty")  # fmt: skip
    empty_batch = batch.run_reports(
        empty_config, {wave: folder}, areas=areas, workers=workers, force=True
    )
    empty_job = empty_batch["seconds"].mean()
    print(f"\n2. per notebook, area {area!r} (papermill CLI, median of {args.repeats})")
    print(f"   empty notebook:                         {empty:7.1f} s")
    for phase in config.phases:
        seconds = _median_run(config.notebook_path(phase), sample[phase], args.repeats)
        print(f"   {phase:<38} {seconds:7.1f} s   -> {seconds / empty:.2f}x the empty notebook"
              " (target <= 1.5x)")  # fmt: skip
    print(f"   inside the batch (mean job time incl. HTML, {len(areas)} areas):")
    print(f"   empty notebook:                         {empty_job:7.1f} s")
    for phase in config.phases:
        seconds = results.loc[results["phase"] == phase, "seconds"].mean()
        print(f"   {phase:<38} {seconds:7.1f} s   -> {seconds / empty_job:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
