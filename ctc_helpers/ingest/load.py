"""Ingesting survey files: read, validate and combine them into the ``respondents`` table.

:func:`load_survey` reads each file (:mod:`ctc_helpers.ingest.readers`), checks its header
(:mod:`ctc_helpers.ingest.rules`), parses its values (:mod:`ctc_helpers.ingest.parsing`), runs the
pandera schema (:mod:`ctc_helpers.ingest.schema`) and returns the kept rows, a quarantine of
rejected rows with the reason for each, and an ingest report
(:class:`~ctc_helpers.ingest.report.IngestResult`). ``ctc validate`` and ``ctc ingest`` are
:func:`command_validate` and :func:`command_ingest`.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from ctc_helpers.paths import REPO_ROOT
>>> mini = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
>>> areas = pd.DataFrame({"area_id": ["norr"], "name": ["Norr"], "municipality": ["Exempelstad"]})
>>> with tempfile.TemporaryDirectory() as folder:
...     survey = Path(folder) / "enkät.csv"
...     _ = survey.write_text(
...         "respondent_id;wave;area;grade;sex;fa_conf_1\\n"
...         "a1;2025;Norr;åk 7;flicka;2\\n"
...         "a2;2025;Norr;åk 13;pojke;3\\n", encoding="utf-8")
...     result = load_survey(survey, instrument=mini, areas=areas, lang="en")
>>> result.report["rows_read"], result.report["rows_kept"], result.report["rows_quarantined"]
(2, 1, 1)
>>> print(*result.quarantine.loc[0, ["row", "column", "value", "rule"]], sep=" | ")
3 | grade | åk 13 | unknown_grade
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import (
    Instrument,
    RespondentSchema,
    load_areas,
    load_instrument,
    load_respondent_schema,
)
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.ingest.columns import column_limit
from ctc_helpers.ingest.parsing import apply_value_labels, parse_table, release_markers
from ctc_helpers.ingest.readers import read_table, spss_missing_codes
from ctc_helpers.ingest.report import (
    IngestResult,
    build_quarantine,
    combine_reports,
    concat_quarantines,
    file_report,
    file_warnings,
    format_report,
    with_malformed_rows,
    write_ingest,
)
from ctc_helpers.ingest.rules import TableRules, build_rules, check_columns
from ctc_helpers.ingest.schema import build_schema_from_rules, describe_problems, find_problems
from ctc_helpers.ingest.values import quoted
from ctc_helpers.paths import REPO_ROOT, SAMPLE_DIR

if TYPE_CHECKING:
    from pandera.pandas import DataFrameSchema

__all__ = [
    "DEFAULT_AREAS",
    "DEFAULT_INGEST_DIR",
    "load_survey",
    "command_validate",
    "command_ingest",
]

DEFAULT_AREAS = SAMPLE_DIR / "areas.csv"
DEFAULT_INGEST_DIR = REPO_ROOT / ".ctc" / "ingested"


@dataclass
class _FileResult:
    label: str
    data: pd.DataFrame
    rows: np.ndarray  # row numbers of the kept rows (for messages across files)
    quarantine: pd.DataFrame
    report: dict[str, Any]


def load_survey(
    paths: str | Path | Iterable[str | Path],
    *,
    instrument: Instrument | None = None,
    areas: str | Path | pd.DataFrame | None = None,
    respondent_schema: RespondentSchema | None = None,
    sheet: str | None = None,
    lang: str | None = None,
    max_columns: int | None = None,
) -> IngestResult:
    """Read, validate and combine survey files (for example one per wave).

    Parameters
    ----------
    paths : path or list of paths
        CSV, Excel, SPSS or Parquet files (see :func:`ctc_helpers.ingest.readers.read_table`).
    instrument : Instrument, optional
        Default: ``data_schema/instrument.yaml``.
    areas : path or DataFrame, optional
        The area list (``area_id, name, municipality``). Default: ``data/sample/areas.csv``.
    respondent_schema : RespondentSchema, optional
        Default: ``data_schema/respondents.yaml`` with the instrument's own grades and sexes
        when it declares them.
    sheet : str, optional
        Excel sheet to read (default: the first).
    lang : {"sv", "en"}, optional
        Language of reasons, warnings and errors (default: ``CTC_LANG`` or Swedish).
    max_columns : int, optional
        Most columns a file may have; a file with more is refused before its data is read.
        Default: the environment variable ``CTC_MAX_COLUMNS``, else 2,000.

    Returns
    -------
    IngestResult
        ``data`` (kept rows, compact types), ``quarantine`` (rejected values with reasons and the
        original rows) and ``report``; see :class:`~ctc_helpers.ingest.report.IngestResult`
        for the columns.

    Raises
    ------
    InputFileError
        File-level problems: unreadable, empty or not a table, required columns missing, a
        column of the wrong kind entirely, duplicate respondent ids (within or across files),
        a missing Excel sheet, a missing area list, more columns than the column limit. The
        message names the file, column, rows and values involved.
    ConfigError
        ``max_columns`` or ``CTC_MAX_COLUMNS`` is not a whole number of at least 1.
    """
    lang = check_language(lang)
    limit = column_limit(max_columns, lang=lang)
    paths = _as_paths(paths, lang)
    instrument = instrument if instrument is not None else load_instrument()
    table_schema = respondent_schema or load_respondent_schema(instrument=instrument)
    area_frame, area_source = _resolve_areas(areas, lang)
    rules = build_rules(instrument, table_schema, area_frame, area_source=area_source)
    labels = _file_labels(paths)
    schema = build_schema_from_rules(rules)
    parts = [
        _ingest_file(path, label, rules, schema, sheet=sheet, lang=lang, max_columns=limit)
        for path, label in zip(paths, labels, strict=True)
    ]
    _check_weights(parts, lang)
    data = _combine(parts, rules)
    _check_unique_ids(data, parts, rules, lang)
    quarantine = concat_quarantines([p.quarantine for p in parts])
    report = combine_reports([p.report for p in parts], instrument, area_source, lang)
    return IngestResult(data, quarantine, report)


def _as_paths(paths: str | Path | Iterable[str | Path], lang: str) -> list[Path]:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise InputFileError(t("ingest_no_files", lang))
    return [Path(p) for p in items]


def _file_labels(paths: list[Path]) -> list[str]:
    names = [p.name for p in paths]
    return [p.name if names.count(p.name) == 1 else str(p) for p in paths]


def _resolve_areas(areas: str | Path | pd.DataFrame | None, lang: str) -> tuple[pd.DataFrame, str]:
    if isinstance(areas, pd.DataFrame):
        missing = [c for c in ("area_id", "name") if c not in areas.columns]
        if missing:
            raise InputFileError(
                t("ingest_area_columns", lang, missing=quoted(missing), found=quoted(areas))
            )
        return areas, t("ingest_area_table", lang)
    path = Path(areas) if areas is not None else DEFAULT_AREAS
    if not path.is_file():
        raise InputFileError(t("ingest_no_area_list", lang, path=str(path)))
    return load_areas(path), path.name


def _ingest_file(
    path: Path,
    label: str,
    rules: TableRules,
    schema: DataFrameSchema,
    *,
    sheet: str | None,
    lang: str,
    max_columns: int,
) -> _FileResult:
    """One file: read, check the header, parse, validate, split into kept and quarantined."""
    raw, info = read_table(path, sheet=sheet, lang=lang, max_columns=max_columns)
    absent_items = check_columns(raw.columns, rules, file=label, lang=lang, head=raw.head(10))
    prepared, relabelled, unmatched = apply_value_labels(
        raw, info.get("value_labels", {}), rules, missing_codes=spss_missing_codes(info)
    )
    compact, parsed = parse_table(prepared, rules, file=label, lang=lang)
    found = find_problems(compact, schema, rules, file=label, lang=lang)
    problems = with_malformed_rows(describe_problems(found, raw, rules, lang=lang), info, lang)
    rejected = np.isin(compact.index.to_numpy(), problems["row"].to_numpy())
    kept = release_markers(compact[~rejected] if rejected.any() else compact, rules)
    warnings = file_warnings(
        label,
        raw,
        info,
        rules=rules,
        absent_items=absent_items,
        parsed=parsed,
        relabelled=relabelled,
        unmatched=unmatched,
        lang=lang,
    )
    report = file_report(info, label, len(raw), len(kept), problems, warnings)
    return _FileResult(
        label=label,
        data=kept,
        rows=compact.index.to_numpy()[~rejected],
        quarantine=build_quarantine(label, problems, raw),
        report=report,
    )


def _check_weights(parts: list[_FileResult], lang: str) -> None:
    weighted = [p.label for p in parts if "weight" in p.data.columns]
    if weighted and len(weighted) < len(parts):
        unweighted = [p.label for p in parts if p.label not in weighted]
        raise InputFileError(
            t(
                "ingest_weight_partial",
                lang,
                with_weight=quoted(weighted),
                without=quoted(unweighted),
            )
        )


def _combine(parts: list[_FileResult], rules: TableRules) -> pd.DataFrame:
    frames = [p.data for p in parts]
    for name in frames[0].columns:
        if rules.columns[name].kind == "text" and len(frames) > 1:
            union = pd.api.types.union_categoricals([f[name] for f in frames]).categories
            frames = [f.assign(**{name: f[name].cat.set_categories(union)}) for f in frames]
    if len(frames) > 1:
        return pd.concat(frames, ignore_index=True)
    data = frames[0]  # built in _ingest_file for this call only: renumbering it in place is safe
    data.index = pd.RangeIndex(len(data))
    return data


def _check_unique_ids(
    data: pd.DataFrame, parts: list[_FileResult], rules: TableRules, lang: str
) -> None:
    """Respondent ids must be unique across all files (within a file pandera checks them)."""
    id_column = rules.id_column
    if id_column is None or id_column not in data or len(parts) < 2:
        return
    repeated = data[id_column].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    origin = pd.DataFrame(
        {
            "id": data[id_column].to_numpy()[repeated],
            "file": np.concatenate([[p.label] * len(p.data) for p in parts])[repeated],
            "row": np.concatenate([p.rows for p in parts])[repeated],
        }
    )
    examples = [
        t(
            "ingest_duplicate_across_example",
            lang,
            id=value,
            places=", ".join(
                f"{f} {t('ingest_row_word', lang)} {r}"
                for f, r in zip(g["file"], g["row"], strict=True)
            ),
        )
        for value, g in list(origin.groupby("id", sort=False))[:5]
    ]
    n = origin["id"].nunique()
    raise InputFileError(t("ingest_duplicate_ids_across", lang, n=n, examples="; ".join(examples)))


# --------------------------------------------------------------------------------------------
# Command line (registered in ctc_helpers.cli)


def command_validate(args) -> int:
    """``ctc validate FILE ...``: print the report; exit 0 when clean, 1 when rows would be
    quarantined. File-level problems raise InputFileError (the CLI prints it, exit code 2)."""
    result = _load_from_args(args)
    print(format_report(result, lang=args.lang, max_problems=20))
    return 0 if result.clean else 1


def command_ingest(args) -> int:
    """``ctc ingest FILE ... [--out DIR]``: validate, then store the result; exit 0, or 1 when
    rows were quarantined (unless ``--allow-quarantine``)."""
    result = _load_from_args(args)
    out = args.out if args.out is not None else DEFAULT_INGEST_DIR
    written = write_ingest(result, out)
    print(format_report(result, lang=args.lang, max_problems=20))
    print()
    print(
        t(
            "ingest_written",
            args.lang,
            folder=str(out),
            files=", ".join(p.name for p in written.values()),
        )
    )
    return 0 if result.clean or getattr(args, "allow_quarantine", False) else 1


def _load_from_args(args) -> IngestResult:
    instrument = load_instrument(args.instrument) if args.instrument is not None else None
    return load_survey(
        args.files, instrument=instrument, areas=args.areas, sheet=args.sheet, lang=args.lang
    )
