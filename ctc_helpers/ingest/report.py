"""The result of an ingest: kept rows, the quarantine, the ingest report; and the files written.

:class:`IngestResult` holds what :func:`ctc_helpers.ingest.load.load_survey` returns. The
quarantine has one row per rejected value with the file, row, column, value, rule and reason and
the original values of the row (:func:`build_quarantine`); the report counts rows per file and
rule and lists the warnings (:func:`file_report`, :func:`combine_reports`);
:func:`format_report` writes it as text in Swedish or English and :func:`write_ingest` stores
all of it in a folder.

Examples
--------
>>> problems = pd.DataFrame({"row": [3], "column": ["grade"], "value": ["åk 13"],
...                          "rule": ["unknown_grade"], "reason": ["..."]})
>>> raw = pd.DataFrame({"respondent_id": ["a1", "a2"], "grade": ["åk 7", "åk 13"]}, index=[2, 3])
>>> print(*build_quarantine("enkät.csv", problems, raw).iloc[0], sep=" | ")
enkät.csv | 3 | grade | åk 13 | unknown_grade | ... | a2 | åk 13
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctc_helpers.config.instrument import Instrument
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.ingest.values import display_column, few

if TYPE_CHECKING:
    from ctc_helpers.ingest.parsing import ParseNotes
    from ctc_helpers.ingest.rules import TableRules

__all__ = [
    "QUARANTINE_COLUMNS",
    "IngestResult",
    "build_quarantine",
    "combine_reports",
    "concat_quarantines",
    "file_report",
    "file_warnings",
    "format_report",
    "with_malformed_rows",
    "write_ingest",
]

QUARANTINE_COLUMNS = ("source_file", "row", "column", "value", "rule", "reason")
_FORMAT_NAMES = {"csv": "CSV", "excel": "Excel", "spss": "SPSS", "parquet": "Parquet"}


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ctc_helpers.ingest.load.load_survey` returns.

    Attributes
    ----------
    data : pandas.DataFrame
        The kept rows as the compact ``respondents`` table (``docs/ARCHITECTURE.md``):
        ``respondent_id`` (string), ``wave`` (int16), ``area`` (category of area ids),
        ``school`` (category), ``grade`` (ordered category), ``sex`` (category), ``weight``
        (float, only when the files have it), then one ``Int8`` column per item of the
        instrument (missing answer = <NA>).
    quarantine : pandas.DataFrame
        One row per rejected value: ``source_file, row`` (row number as seen in the file: the
        header is row 1; SPSS and Parquet count cases from 1), ``column, value`` (as written in
        the file), ``rule`` (id), ``reason`` (in the chosen language), then the original values of
        that row, one column each (named as in the file; ``original_<name>`` on a clash).
    report : dict
        ``rows_read``, ``rows_kept``, ``rows_quarantined``, ``quarantined_by_rule`` (rows per rule
        id), ``files`` (the same per file plus format, encoding, delimiter, sheet,
        ``problems_by_column`` and ``warnings``), ``warnings``, ``instrument``, ``area_list``,
        ``language``. Always ``rows_read == rows_kept + rows_quarantined``.
    """

    data: pd.DataFrame
    quarantine: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """True when no row was quarantined."""
        return self.report.get("rows_quarantined", 0) == 0


# --------------------------------------------------------------------------------------------
# The quarantine


def with_malformed_rows(problems: pd.DataFrame, info: dict, lang: str) -> pd.DataFrame:
    """The problems plus one per malformed CSV row (``info["malformed_rows"]`` of
    :func:`ctc_helpers.ingest.readers.read_table`): rule ``malformed_row``, the row's text as its
    value, no column; sorted by row."""
    rows = info.get("malformed_rows") or []
    if not rows:
        return problems
    extra = pd.DataFrame(
        {
            "row": [int(r["row"]) for r in rows],
            "column": "",
            "value": [r["text"] for r in rows],
            "rule": "malformed_row",
            "reason": [
                t("ingest_reason_malformed_row", lang, actual=r["values"], expected=r["expected"])
                for r in rows
            ],
        }
    )
    frames = [f for f in (problems, extra) if len(f)]
    return pd.concat(frames, ignore_index=True).sort_values("row", kind="stable")


def build_quarantine(label: str, problems: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """The problems with the file name and the original values of each row.

    The original values are Arrow-backed text (compact even when many rows are rejected); a
    malformed CSV row, which is not in ``raw``, gets empty values (its text is in ``value``).
    """
    head = problems.assign(source_file=label)[list(QUARANTINE_COLUMNS)].reset_index(drop=True)
    if head.empty:
        return head
    positions = raw.index.get_indexer(head["row"])
    found = pa.array(positions >= 0)
    rows = raw.iloc[np.maximum(positions, 0)] if len(raw) else None
    originals = {}
    for name in raw.columns:
        if rows is None:
            text = pa.array([""] * len(head), type=pa.string())
        else:
            text = pc.if_else(found, display_column(rows[name]).__arrow_array__(), "")
        key = f"original_{name}" if name in QUARANTINE_COLUMNS else str(name)
        originals[key] = pd.arrays.ArrowExtensionArray(text)
    return pd.concat([head, pd.DataFrame(originals)], axis=1)


def concat_quarantines(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The quarantines of several files as one (original values missing in a file are ``""``);
    an empty quarantine with the :data:`QUARANTINE_COLUMNS` when no row was rejected."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in QUARANTINE_COLUMNS})
    return pd.concat(frames, ignore_index=True).fillna("")


# --------------------------------------------------------------------------------------------
# The report


def file_warnings(
    label: str,
    raw: pd.DataFrame,
    info: dict,
    *,
    rules: TableRules,
    absent_items: list[str],
    parsed: ParseNotes,
    relabelled: list[str],
    unmatched: dict[str, list[tuple[Any, str]]],
    lang: str,
) -> list[str]:
    """The warnings about one file, in the user's language: unknown columns, missing items,
    missing-value tokens, SPSS value labels used or not matched, user-missing codes, empty
    optional columns, blank rows, empty unnamed columns."""
    warnings = []
    unknown = [str(c) for c in raw.columns if c not in rules.columns]
    if unknown:
        warnings.append(
            t(
                "ingest_warn_unknown_columns",
                lang,
                file=label,
                n=len(unknown),
                columns=few(unknown),
            )
        )
    if absent_items:
        warnings.append(
            t(
                "ingest_warn_missing_items",
                lang,
                file=label,
                n=len(absent_items),
                total=len(rules.item_ids),
                columns=few(absent_items),
            )
        )
    warnings += _token_warnings(label, parsed.missing_tokens, lang)
    warnings += _alias_warnings(label, parsed.aliased, lang)
    if relabelled:
        warnings.append(
            t(
                "ingest_warn_value_labels",
                lang,
                file=label,
                n=len(relabelled),
                columns=few(relabelled),
            )
        )
    for column, missed in unmatched.items():
        labels = ", ".join(
            f"{code:g} = '{text}'" if isinstance(code, float) else f"{code} = '{text}'"
            for code, text in missed[:4]
        )
        warnings.append(
            t("ingest_warn_unmatched_labels", lang, file=label, column=column, labels=labels)
        )
    if info.get("missing_ranges"):
        warnings.append(
            t(
                "ingest_warn_user_missing",
                lang,
                file=label,
                columns=few(sorted(info["missing_ranges"])),
            )
        )
    if parsed.empty_optional:
        warnings.append(
            t("ingest_warn_empty_optional", lang, file=label, columns=few(parsed.empty_optional))
        )
    if info.get("blank_rows"):
        warnings.append(t("ingest_warn_blank_rows", lang, file=label, n=info["blank_rows"]))
    if info.get("unnamed_empty_columns"):
        warnings.append(
            t("ingest_warn_empty_columns", lang, file=label, n=info["unnamed_empty_columns"])
        )
    return warnings


def _alias_warnings(
    label: str, aliased: dict[str, dict[str, tuple[str, int]]], lang: str
) -> list[str]:
    """One line per value read as another code through an alias ("10" -> gy1): never silent."""
    return [
        t("ingest_warn_alias", lang, file=label, count=count, column=column, value=value, code=code)
        for column, values in aliased.items()
        for value, (code, count) in values.items()
    ]


def _token_warnings(label: str, tokens: dict[str, dict[str, int]], lang: str) -> list[str]:
    by_token: dict[str, list] = {}
    for column, counts in tokens.items():
        for token, count in counts.items():
            by_token.setdefault(token, []).append((column, count))
    return [
        t(
            "ingest_warn_missing_tokens",
            lang,
            file=label,
            token=token,
            count=sum(c for _, c in places),
            columns=few([c for c, _ in places]),
        )
        for token, places in by_token.items()
    ]


def file_report(
    info: dict, label: str, n_rows: int, n_kept: int, problems: pd.DataFrame, warnings: list[str]
) -> dict:
    """The report of one file: ``file, path``, how it was read (``format, encoding, delimiter,
    sheet, blank_rows``), ``rows_read, rows_kept, rows_quarantined``, ``quarantined_by_rule``
    (rows per rule), ``problems_by_column`` and ``warnings``. ``n_rows`` counts the rows read
    into the table (malformed rows come on top); a row lost between read and kept + set aside
    raises RuntimeError (a defect, never a result)."""
    rows_read = n_rows + len(info.get("malformed_rows") or [])
    quarantined = int(problems["row"].nunique())
    if rows_read != n_kept + quarantined:  # a lost row would be a defect, never a result
        raise RuntimeError(
            f"{label}: {rows_read} rows read, {n_kept} kept, {quarantined} set aside"
        )
    by_rule = problems.drop_duplicates(["row", "rule"])["rule"].value_counts()
    by_column = problems[problems["column"] != ""]["column"].value_counts()
    keys = ("format", "encoding", "delimiter", "sheet", "blank_rows")
    return {
        "file": label,
        "path": info["path"],
        **{k: info[k] for k in keys if k in info},
        "rows_read": rows_read,
        "rows_kept": n_kept,
        "rows_quarantined": quarantined,
        "quarantined_by_rule": {str(k): int(v) for k, v in by_rule.items()},
        "problems_by_column": {str(k): int(v) for k, v in by_column.items()},
        "warnings": warnings,
    }


def combine_reports(files: list[dict], instrument: Instrument, area_source: str, lang: str) -> dict:
    """The report of an ingest from the reports of its files (see :func:`file_report`)."""
    by_rule: dict[str, int] = {}
    for file in files:
        for rule, n in file["quarantined_by_rule"].items():
            by_rule[rule] = by_rule.get(rule, 0) + n
    return {
        "instrument": {
            "id": instrument.id,
            "version": instrument.version,
            "checksum": instrument.checksum,
        },
        "area_list": area_source,
        "language": lang,
        "rows_read": sum(f["rows_read"] for f in files),
        "rows_kept": sum(f["rows_kept"] for f in files),
        "rows_quarantined": sum(f["rows_quarantined"] for f in files),
        "quarantined_by_rule": by_rule,
        "files": files,
        "warnings": [w for f in files for w in f["warnings"]],
    }


def format_report(
    result: IngestResult, *, lang: str | None = None, max_problems: int | None = 20
) -> str:
    """The ingest report as readable text: counts per file, reasons, warnings, first problems."""
    lang = check_language(lang or result.report.get("language"))
    report = result.report
    lines = [t("ingest_report_title", lang, instrument=_instrument_text(report))]
    for file in report["files"]:
        lines += [
            "",
            t("ingest_report_file", lang, file=file["file"], details=_details(file, lang)),
        ]
        lines += _count_lines(file, lang)
    if len(report["files"]) > 1:
        lines += ["", t("ingest_report_total", lang), *_count_lines(report, lang)]
    if report["warnings"]:
        lines += ["", t("ingest_report_warnings", lang), *(f"  - {w}" for w in report["warnings"])]
    lines += ["", *_problem_lines(result.quarantine, lang, max_problems)]
    return "\n".join(lines)


def _instrument_text(report: dict) -> str:
    return f"{report['instrument']['id']} {report['instrument']['version']}"


def _details(file: dict, lang: str) -> str:
    parts = [_FORMAT_NAMES.get(file.get("format", ""), file.get("format", ""))]
    if file.get("encoding"):
        parts.append(t("ingest_report_encoding", lang, encoding=file["encoding"]))
    if file.get("delimiter"):
        shown = t("ingest_report_tab", lang) if file["delimiter"] == "\t" else file["delimiter"]
        parts.append(t("ingest_report_delimiter", lang, delimiter=shown))
    if file.get("sheet"):
        parts.append(t("ingest_report_sheet", lang, sheet=file["sheet"]))
    return ", ".join(parts)


def _count_lines(block: dict, lang: str) -> list[str]:
    counts = t(
        "ingest_report_counts",
        lang,
        read=block["rows_read"],
        kept=block["rows_kept"],
        quarantined=block["rows_quarantined"],
    )
    lines = [f"  {counts}"]
    if block["quarantined_by_rule"]:
        lines.append("  " + t("ingest_report_by_rule", lang))
    for rule, n in block["quarantined_by_rule"].items():
        label = t(f"ingest_rule_{rule}", lang)
        lines.append("    " + t("ingest_report_rule_line", lang, rule=label, n=n))
    return lines


def _problem_lines(quarantine: pd.DataFrame, lang: str, limit: int | None) -> list[str]:
    if quarantine.empty:
        return [t("ingest_report_clean", lang)]
    shown = quarantine if limit is None else quarantine.head(limit)
    lines = [t("ingest_report_problems", lang, shown=len(shown), total=len(quarantine))]
    for entry in shown.itertuples(index=False):
        where = t("ingest_report_where", lang, file=entry.source_file, row=entry.row)
        if entry.column:
            where += ", " + t("ingest_report_column", lang, column=entry.column)
        lines.append(f"  {where}: {entry.reason}")
    return lines


# --------------------------------------------------------------------------------------------
# Writing


def write_ingest(result: IngestResult, out_dir: str | Path) -> dict[str, Path]:
    """Store an ingest in ``out_dir``; returns the paths written by name.

    Files: ``respondents.parquet`` (the kept rows), ``quarantine.csv`` (semicolon-separated,
    UTF-8 with BOM so that Excel opens it; the first six column names in the report's
    language), ``ingest_report.json`` and ``ingest_report.txt`` (readable, the report's language).
    Refuses to write over one of the ingested files.
    """
    out = Path(out_dir)
    lang = check_language(result.report.get("language"))
    targets = {
        "respondents": out / "respondents.parquet",
        "quarantine": out / "quarantine.csv",
        "report_json": out / "ingest_report.json",
        "report_txt": out / "ingest_report.txt",
    }
    inputs = {Path(f["path"]).resolve() for f in result.report.get("files", [])}
    clash = [p for p in targets.values() if p.resolve() in inputs]
    if clash:
        raise InputFileError(t("ingest_would_overwrite", lang, file=str(clash[0])))
    out.mkdir(parents=True, exist_ok=True)
    result.data.to_parquet(targets["respondents"], index=False)
    _quarantine_for_excel(result.quarantine, lang).to_csv(
        targets["quarantine"], sep=";", index=False, encoding="utf-8-sig"
    )
    targets["report_json"].write_text(
        json.dumps(result.report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    text = format_report(result, lang=lang, max_problems=100)
    targets["report_txt"].write_text(text + "\n", encoding="utf-8")
    return targets


def _quarantine_for_excel(quarantine: pd.DataFrame, lang: str) -> pd.DataFrame:
    names = {c: t(f"ingest_column_{c}", lang) for c in QUARANTINE_COLUMNS}
    return quarantine.rename(columns=names)
