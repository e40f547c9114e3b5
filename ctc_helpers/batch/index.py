"""What a run leaves beside the reports: the overview page ``index.html`` and ``manifest.json``.

Both describe every report under the output folder, found by the build stamps beside the reports
(``<wave>/<area>/.<phase>.build.json``), not only those of the last run: the index links each
report, and the manifest has one entry per report the index shows, this run's builds with their
full detail and earlier ones as the previous manifest recorded them. Both are written atomically.
"""

from __future__ import annotations

import html
import json
import platform
import subprocess
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctc_helpers.batch.execute import RESULT_COLUMNS, STATUSES
from ctc_helpers.batch.files import read_json, work_folder, write_atomic
from ctc_helpers.fingerprint import file_sha256
from ctc_helpers.i18n import check_language
from ctc_helpers.paths import REPO_ROOT

if TYPE_CHECKING:
    from ctc_helpers.config.run import Job, RunConfig

__all__ = [
    "STAMP_GLOB",
    "TEXTS",
    "read_stamps",
    "write_index",
    "write_manifest",
    "write_run_index",
]

STAMP_GLOB = "*/*/.*.build.json"  # reports/<wave>/<area>/.<phase>.build.json
_PACKAGES = (
    "ctc-helpers", "pandas", "numpy", "scipy", "matplotlib", "seaborn", "pillow", "pyarrow",
    "pandera", "pydantic", "papermill", "nbconvert", "nbformat", "nbclient", "ipykernel",
    "jupyter_client", "jinja2", "ipython", "dask", "distributed", "tqdm", "pyyaml", "psutil",
    "threadpoolctl",
)  # fmt: skip


# Texts shown to readers of the overview page and the run summary (sv default, en).
TEXTS: dict[str, dict[str, str]] = {
    "index_title": {"sv": "Rapporter", "en": "Reports"},
    "index_intro": {
        "sv": "Alla rapporter som har byggts, med status och byggtid. Klicka på en rapport för att"
        " läsa den.",
        "en": "Every report that has been built, with its status and build time. Click a report"
        " to read it.",
    },
    "wave": {"sv": "Undersökning {wave}", "en": "Survey {wave}"},
    "area": {"sv": "Område", "en": "Area"},
    "city": {"sv": "Hela kommunen", "en": "Whole municipality"},
    "status_ok": {"sv": "klar", "en": "done"},
    "status_skipped": {"sv": "oförändrad", "en": "up to date"},
    "status_failed": {"sv": "misslyckades", "en": "failed"},
    "status_timeout": {"sv": "avbröts (tidsgräns)", "en": "stopped (time limit)"},
    "status_missing": {"sv": "saknas", "en": "missing"},
    "built": {"sv": "byggd {when}, {seconds} s", "en": "built {when}, {seconds} s"},
    "notebook": {"sv": "anteckningsbok", "en": "notebook"},
    "generated": {"sv": "Sidan skapades {when}.", "en": "Page generated {when}."},
    "image_alt": {"sv": "Diagram", "en": "Chart"},
    "synthetic": {
        "sv": "Syntetiska data: siffrorna beskriver inga verkliga barn.",
        "en": "Synthetic data: the figures describe no real children.",
    },
}

_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 70rem; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.3rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #d0d0d0;
         vertical-align: top; }
th { background: #f2f2f2; }
.status { display: inline-block; font-size: .85rem; padding: 0 .4rem; border-radius: .3rem; }
.status-ok, .status-skipped { background: #e3f1e6; color: #11521f; }
.status-failed, .status-timeout { background: #fbe4e4; color: #7c1111; }
.status-missing { background: #eeeeee; color: #444444; }
.meta { color: #555555; font-size: .85rem; }
.notice { background: #fff6d6; padding: .5rem .8rem; border-left: 4px solid #c79a00; }
"""


def _text(key: str, lang: str, **values: Any) -> str:
    return TEXTS[key][check_language(lang)].format(**values)


def write_index(
    reports: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    phases: Mapping[str, str],
    area_names: Mapping[str, str],
    lang: str = "sv",
    synthetic: bool = False,
    work_dir: Path | None = None,
) -> Path:
    """Write the overview page: one table per wave, one row per area, one column per phase.

    Parameters
    ----------
    reports : sequence of mappings
        One per report: ``area``, ``wave``, ``phase``, ``status``, ``seconds``, ``finished``,
        ``html`` and ``ipynb`` (paths relative to the page's folder).
    path : path
        The page to write (``reports/index.html``).
    phases : mapping
        Phase id -> display title, in display order.
    area_names : mapping
        Area id -> name; the city (``all``) is listed first as the whole municipality.
    lang : {"sv", "en"}
    synthetic : bool
        Show the synthetic-data notice.
    work_dir : path, optional
        Folder for the temporary file (default: beside the page).
    """
    lang = check_language(lang)
    by_wave: dict[int, dict[tuple[str, str], Mapping[str, Any]]] = {}
    for report in reports:
        titled = {"title": phases.get(report["phase"], report["phase"]), **report}
        by_wave.setdefault(int(report["wave"]), {})[(report["area"], report["phase"])] = titled
    sections = [
        _wave_section(wave, by_wave[wave], phases, area_names, lang)
        for wave in sorted(by_wave, reverse=True)
    ]
    notice = f'<p class="notice">{_text("synthetic", lang)}</p>' if synthetic else ""
    page = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_text('index_title', lang)}</title>\n<style>{_INDEX_CSS}</style>\n</head>\n"
        f"<body>\n<h1>{_text('index_title', lang)}</h1>\n{notice}"
        f"<p>{_text('index_intro', lang)}</p>\n{''.join(sections)}"
        f'<p class="meta">{_text("generated", lang, when=time.strftime("%Y-%m-%d %H:%M"))}</p>\n'
        "</body>\n</html>\n"
    )
    return write_atomic(path, page, work_dir=work_dir)


def _wave_section(
    wave: int,
    reports: Mapping[tuple[str, str], Mapping[str, Any]],
    phases: Mapping[str, str],
    area_names: Mapping[str, str],
    lang: str,
) -> str:
    shown_phases = [p for p in phases if any(phase == p for _, phase in reports)]
    shown_phases += sorted({p for _, p in reports} - set(shown_phases))
    areas = sorted({a for a, _ in reports}, key=lambda a: (a != "all", area_names.get(a, a)))
    head = "".join(f"<th>{html.escape(phases.get(p, p))}</th>" for p in shown_phases)
    rows = []
    for area in areas:
        name = _text("city", lang) if area == "all" else area_names.get(area, area)
        cells = "".join(_report_cell(reports.get((area, p)), lang) for p in shown_phases)
        rows.append(f'<tr><th scope="row">{html.escape(name)}</th>{cells}</tr>\n')
    return (
        f"<h2>{_text('wave', lang, wave=wave)}</h2>\n<table>\n<thead><tr>"
        f"<th>{_text('area', lang)}</th>{head}</tr></thead>\n<tbody>\n{''.join(rows)}"
        "</tbody>\n</table>\n"
    )


def _report_cell(report: Mapping[str, Any] | None, lang: str) -> str:
    if report is None:
        return (
            f'<td><span class="status status-missing">{_text("status_missing", lang)}</span></td>'
        )
    status = report["status"]
    label = _text(f"status_{status}", lang)
    when = str(report.get("finished", "")).replace("T", " ")[:16]
    seconds = f"{float(report.get('seconds') or 0):.1f}"
    parts = []
    if status in ("ok", "skipped") and report.get("html"):
        title = html.escape(str(report.get("title", report["phase"])))
        parts.append(f'<a href="{html.escape(str(report["html"]))}">{title}</a><br>')
        if report.get("pdf"):  # the A4 PDF beside the page (batch.pdf)
            parts.append(f'<a class="meta" href="{html.escape(str(report["pdf"]))}">PDF</a><br>')
    parts.append(f'<span class="status status-{status}">{label}</span> ')
    parts.append(f'<span class="meta">{_text("built", lang, when=when, seconds=seconds)}</span>')
    if status in ("failed", "timeout"):
        if report.get("message"):
            parts.append(f'<br><span class="meta">{html.escape(str(report["message"]))}</span>')
        if report.get("ipynb"):
            href = html.escape(str(report["ipynb"]))
            parts.append(f'<br><a class="meta" href="{href}">{_text("notebook", lang)}</a>')
    return f"<td>{''.join(parts)}</td>"


# --------------------------------------------------------------------------------------------
# What a run leaves behind: the manifest and the index of every report


def _git_commit() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _input_checksums(config: RunConfig) -> dict[str, Any]:
    """Each input file by its name and checksum: the manifest is published beside the reports,
    so it names no folder of the coordinator's machine (docs/PRIVACY.md)."""

    def entry(path: Path | None) -> dict[str, str] | None:
        return None if path is None else {"file": path.name, "sha256": file_sha256(path)}

    return {
        "survey": [entry(p) for p in config.survey_files],
        "areas": entry(config.areas_file),
        "enrolment": entry(config.enrolment_file),
        "instrument": entry(config.instrument_file),
        "cutpoints": entry(config.cutpoints_file),
        "run_file": entry(config.path),
    }


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _job_entry(record: Mapping[str, Any], root: Path, run: str) -> dict[str, Any]:
    job: Job = record["job"]
    detail = record["detail"]
    return {
        **{k: record[k] for k in RESULT_COLUMNS},
        "cpu_seconds": detail.get("cpu_seconds"),
        "execute_seconds": detail.get("execute_seconds"),
        "html_seconds": detail.get("html_seconds"),
        "finished": detail.get("finished") or (detail.get("built") or {}).get("finished"),
        "notebook": _relative(job.notebook, REPO_ROOT),
        "notebook_sha256": file_sha256(job.notebook),
        "parameters": job.parameters,
        "timeout": job.timeout,
        "key": record["key"],
        "ipynb": _relative(job.ipynb, root),
        "html": _relative(job.html, root),
        "run": run,
    }


def _stamp_entry(report: Mapping[str, Any], run: str | None) -> dict[str, Any]:
    """A manifest entry from a build stamp alone (a report no manifest has recorded)."""
    fields = ("area", "wave", "phase", "status", "seconds", "message", "finished", "key")
    return {**{k: report.get(k) for k in fields}, "ipynb": report["ipynb"],
            "html": report["html"], "run": run}  # fmt: skip


def _merged_jobs(
    root: Path, built: Sequence[dict[str, Any]], previous: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """This run's entries, then one for every other report under ``root`` (by its stamp): the
    previous manifest's entry when it has one, else what the stamp says."""
    key = lambda entry: (int(entry["wave"]), entry["area"], entry["phase"])  # noqa: E731
    earlier = {key(e): e for e in previous.get("jobs", []) if isinstance(e, dict)}
    jobs, seen = list(built), {key(e) for e in built}
    for report in read_stamps(root):
        if key(report) in seen:
            continue
        entry = earlier.get(key(report))
        if entry is not None and entry.get("key") == report.get("key"):
            jobs.append({**entry, "run": entry.get("run") or previous.get("created")})
        else:  # built by a run that wrote no manifest (killed before its end)
            jobs.append(_stamp_entry(report, None))
    return jobs


def write_manifest(
    config: RunConfig,
    records: Sequence[Mapping[str, Any]],
    *,
    published: Mapping[int, Path],
    checksums: Mapping[int, str],
    settings: Mapping[str, Any],
    summary: Mapping[str, Any],
    timings: Mapping[str, Any],
) -> Path:
    """Write ``<output>/manifest.json``: input checksums, parameters, package versions, git
    commit, timings and one entry per report under the output folder.

    ``records`` are this run's jobs (as built by :mod:`ctc_helpers.batch.run`); reports of earlier
    runs (other waves, areas or phases) keep the entry the previous manifest gave them, so the
    manifest describes every report ``index.html`` links. Each entry's ``run`` is the
    ``created`` time of the run that built or checked it. ``summary`` counts this run's jobs.
    """
    root = config.output_dir
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    previous = read_json(root / "manifest.json") or {}
    built = [_job_entry(r, root, created) for r in records]
    this_run = {
        str(wave): {"dir": _relative(Path(folder), root), "sha256": checksums[wave]}
        for wave, folder in published.items()
    }
    manifest = {
        "created": created,
        "git": _git_commit(),
        "packages": _package_versions(),
        "inputs": _input_checksums(config),
        "published": {**previous.get("published", {}), **this_run},
        "settings": dict(settings),
        "summary": {
            **dict(summary),
            **{s: sum(r["status"] == s for r in records) for s in STATUSES},
        },
        "timings": dict(timings),
        "jobs": _merged_jobs(root, built, previous),
    }
    text = json.dumps(manifest, indent=1, ensure_ascii=False)
    return write_atomic(root / "manifest.json", text, work_dir=work_folder(root))


def read_stamps(root: Path, titles: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every report under ``root`` as its build stamp records it: the stamp's fields plus
    ``area``, ``wave``, ``phase``, ``title``, ``html`` and ``ipynb`` (relative to ``root``)."""
    titles = titles or {}
    reports = []
    for stamp_path in sorted(Path(root).glob(STAMP_GLOB)):
        stamp = read_json(stamp_path)
        wave, area = stamp_path.parent.parent.name, stamp_path.parent.name
        if stamp is None or not wave.isdigit():
            continue
        phase = stamp_path.name[1 : -len(".build.json")]
        reports.append(
            {
                **stamp,
                "area": area,
                "wave": int(wave),
                "phase": phase,
                "title": stamp.get("title") or titles.get(phase, phase),
                "html": f"{wave}/{area}/{phase}.html",
                "ipynb": f"{wave}/{area}/{phase}.ipynb",
                "pdf": f"{wave}/{area}/{phase}.pdf"
                if (stamp_path.parent / f"{phase}.pdf").is_file()
                else "",
            }
        )
    return reports


def write_run_index(
    config: RunConfig, *, lang: str, titles: Mapping[str, str], synthetic: bool
) -> Path:
    """Write ``<output>/index.html`` for every report under the output folder (all waves, their
    last builds, read from the build stamps beside the reports)."""
    root = config.output_dir
    return write_index(
        read_stamps(root, titles),
        root / "index.html",
        phases=dict(titles),
        area_names=config.area_names,
        lang=lang,
        synthetic=synthetic,
        work_dir=work_folder(root),
    )
