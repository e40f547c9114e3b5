"""``ctc run`` on the command line: options in, the run summary and the exit code out.

The exit code follows the table in the README: 0 when every report was built (or was up to date)
and no survey row was quarantined, 1 when the run finished but a report failed or rows were
quarantined (``--allow-quarantine`` accepts quarantined rows), 2 when nothing could run (bad
input or configuration, a folder that cannot be used, a folder in use by another run; printed by
:mod:`ctc_helpers.cli`), 3 for an internal error.

The console speaks the language given with ``--lang``, else the run file's ``lang``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.batch.execute import STATUSES
from ctc_helpers.batch.index import TEXTS as REPORT_TEXTS
from ctc_helpers.batch.run import run_batch
from ctc_helpers.config.run import load_run_config
from ctc_helpers.i18n import check_language

__all__ = ["LOG_FOLDER", "command_run", "format_summary", "run_exit_code"]

LOG_FOLDER = "logs"  # unexpected-error logs of a run: <cache>/logs/

_TEXTS = {
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
    "quarantine_exit": {
        "sv": "Körningen slutar med kod 1 eftersom rader ligger i karantän. Rätta raderna, eller"
        " godta karantänen med --allow-quarantine.",
        "en": "The run ends with exit code 1 because rows were quarantined. Correct the rows, or"
        " accept the quarantine with --allow-quarantine.",
    },
    "index": {"sv": "Översikt: {path}", "en": "Overview: {path}"},
    "notes": {
        "sv": "Att rätta i indata (rapporterna säger det i läsarens ord, utan fil och rad):",
        "en": "To correct in the input files (the reports say it in a reader's words, without"
        " file and row):",
    },
}


def _text(key: str, lang: str, **values: Any) -> str:
    return _TEXTS[key][check_language(lang)].format(**values)


def _quarantined(results: pd.DataFrame) -> int:
    return int(results.attrs.get("run", {}).get("quarantine_rows") or 0)


def run_exit_code(results: pd.DataFrame, *, allow_quarantine: bool = False) -> int:
    """0 when every report is built or up to date and no row was quarantined (or quarantine is
    allowed), else 1.

    >>> results = pd.DataFrame({"status": ["ok", "skipped"]})
    >>> results.attrs["run"] = {"quarantine_rows": 3}
    >>> run_exit_code(results), run_exit_code(results, allow_quarantine=True)
    (1, 0)
    """
    failed = not results["status"].isin(["ok", "skipped"]).all()
    return 1 if failed or (_quarantined(results) and not allow_quarantine) else 0


def format_summary(
    results: pd.DataFrame, *, lang: str = "sv", allow_quarantine: bool = True
) -> str:
    """The run summary printed by ``ctc run``: counts, every failed report, quarantine, the
    reports' notes for the coordinator (e.g. inventory rows to correct, by file and row), index;
    and why the exit code is 1 when only quarantined rows make it so (``allow_quarantine``
    False)."""
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
    if _quarantined(results):
        lines.append(
            _text("quarantine", lang, rows=run["quarantine_rows"], file=run["quarantine_file"])
        )
        if not allow_quarantine:
            lines.append(_text("quarantine_exit", lang))
    if run.get("coordinator_notes"):
        lines.append(_text("notes", lang))
        lines += [f"  - {note}" for note in run["coordinator_notes"]]
    if run.get("pdf_problem"):
        lines.append(run["pdf_problem"])
    if run.get("index"):
        lines.append(_text("index", lang, path=run["index"]))
    return "\n".join(lines)


def command_run(args: Any) -> int:
    """``ctc run``: the batch with the command line's choices; the exit code (module docstring).

    Sets ``args.lang`` to the console's language (``--lang``, else the run file's) and
    ``args.log_dir`` to the run's log folder, for the messages :mod:`ctc_helpers.cli` prints.
    """
    config = load_run_config(args.config)
    changes = {
        "output_dir": Path(args.out).resolve() if getattr(args, "out", None) else None,
        "instrument_file": (
            Path(args.instrument).resolve() if getattr(args, "instrument", None) else None
        ),
    }
    config = replace(config, **{k: v for k, v in changes.items() if v is not None})
    explicit = bool(getattr(args, "lang_explicit", False))
    args.lang = check_language(args.lang if explicit else config.lang)
    args.log_dir = config.cache_dir / LOG_FOLDER
    allow = bool(getattr(args, "allow_quarantine", False))
    results = run_batch(
        config,
        areas=args.areas or None,
        waves=args.waves or None,
        phases=args.phases or None,
        workers=args.workers,
        force=bool(args.force),
        scheduler=args.scheduler,
        timeout=args.timeout,
        lang=args.lang if explicit else None,
    )
    print(format_summary(results, lang=args.lang, allow_quarantine=allow))
    return run_exit_code(results, allow_quarantine=allow)
