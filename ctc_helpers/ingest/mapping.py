"""Apply a mapping file to a survey export: the workbench's columns and codes, the export untouched.

:func:`map_export` reads the export (CSV, Excel, SPSS or Parquet, through
:func:`~ctc_helpers.ingest.readers.read_table`), renames its columns and translates its codes as
the mapping file says (:mod:`ctc_helpers.config.mapping`), and returns a new table ready for
:func:`~ctc_helpers.ingest.load.load_survey`, a code table (every export code, its SPSS value
label, what it became and how many rows have it) and the problems found: export columns that do
not exist, codes in the data or in the SPSS value labels that the mapping neither translates nor
marks as missing. A code the mapping does not cover is passed on unchanged, so that ingest
reports (and quarantines) it with the vocabulary in force: no row is dropped here.

``ctc map EXPORT --mapping FILE --out FILE.parquet`` writes the mapped table (:func:`command_map`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.config.instrument import Instrument, load_instrument
from ctc_helpers.config.mapping import ColumnMap, Mapping, load_mapping
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.ingest.readers import read_table

__all__ = ["CODE_TABLE_COLUMNS", "MappedExport", "map_export", "write_mapped", "command_map"]

CODE_TABLE_COLUMNS = ("target", "source", "code", "label", "mapped_to", "n")
MISSING = "<missing>"  # ``mapped_to`` of a code the mapping marks as no answer
UNMAPPED = "<unmapped>"  # ``mapped_to`` of a code the mapping does not cover


@dataclass(frozen=True)
class MappedExport:
    """The export in the workbench's columns and codes.

    ``data``: one row per export row (same order, same index), one column per mapped target.
    ``codes``: the code table (columns :data:`CODE_TABLE_COLUMNS`; ``mapped_to`` is the new
    code, ``<missing>`` or ``<unmapped>``). ``problems``: sentences naming the file, column and
    code, in the language asked for.
    """

    data: pd.DataFrame
    codes: pd.DataFrame
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def clean(self) -> bool:
        return not self.problems


def map_export(
    path: str | Path,
    mapping: Mapping | str | Path,
    instrument: Instrument | None = None,
    *,
    lang: str | None = None,
) -> MappedExport:
    """Read an export and apply a mapping to a copy of it.

    Raises
    ------
    InputFileError
        The export cannot be read, or a column the mapping reads from does not exist in it
        (the message lists the export's columns).
    """
    lang = check_language(lang)
    mapping = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    instrument = instrument if instrument is not None else load_instrument()
    raw, info = read_table(path, lang=lang)
    _check_sources(mapping, raw, Path(path).name, lang)
    labels = info.get("value_labels", {})
    columns, tables, problems = {}, [], []
    for target, entry in mapping.entries.items():
        top = _top_code(instrument, target) if entry.reverse else None
        values = _mapped_values(raw, entry, top, len(raw))
        columns[target] = values
        translated = entry.codes is not None or entry.offset is not None or entry.missing
        if entry.source is not None and (translated or entry.source in labels):
            table = _code_table(raw[entry.source], values, entry, labels.get(entry.source, {}))
            tables.append(table.assign(target=target, source=entry.source))
            problems += _uncovered(table, Path(path).name, entry.source, target, lang)
    data = pd.DataFrame(columns, index=raw.index)
    codes = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return MappedExport(data, codes.reindex(columns=list(CODE_TABLE_COLUMNS)), tuple(problems))


def _check_sources(mapping: Mapping, raw: pd.DataFrame, name: str, lang: str) -> None:
    absent = [s for s in mapping.sources if s not in raw.columns]
    if absent:
        raise InputFileError(
            t(
                "map_source_absent",
                lang,
                file=name,
                columns=", ".join(absent),
                found=", ".join(map(str, raw.columns)),
            )  # fmt: skip
        )


def _top_code(instrument: Instrument, target: str) -> int:
    return instrument.item_max_code(target) if target in instrument.items else 0


def _as_code(value: Any) -> Any:
    """An export value as a code: 2.0 and "2" are 2; other texts stripped; NaN is None."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.lstrip("-").isdigit() else (text or None)
    return value


def _translate(code: Any, entry: ColumnMap, top: int | None) -> Any:
    if code is None or code in entry.missing:
        return None
    if entry.codes is not None:
        code = entry.codes.get(code, code) if code in entry.codes else code
    elif entry.offset is not None and isinstance(code, int):
        code = code + entry.offset
    if top and isinstance(code, int) and 1 <= code <= top:
        code = top + 1 - code
    return code


def _mapped_values(raw: pd.DataFrame, entry: ColumnMap, top: int | None, n: int) -> pd.Series:
    if entry.source is None:
        return pd.Series([entry.value] * n, index=raw.index)
    values = [_translate(_as_code(v), entry, top) for v in raw[entry.source]]
    series = pd.Series(values, index=raw.index, dtype=object)
    numeric = all(v is None or isinstance(v, int) for v in values)
    return series.astype("Int64") if numeric else series.astype("string")


def _covered(code: Any, entry: ColumnMap) -> str | None:
    """What the code becomes (as text), ``<missing>``, or None when the mapping does not cover it."""
    if code in entry.missing:
        return MISSING
    if entry.codes is not None:
        return str(entry.codes[code]) if code in entry.codes else None
    if entry.offset is not None:
        return str(code + entry.offset) if isinstance(code, int) else None
    return str(code)


def _code_table(
    source: pd.Series, values: pd.Series, entry: ColumnMap, labels: dict[Any, str]
) -> pd.DataFrame:
    """One row per code seen in the data or labelled in the SPSS file."""
    counts = pd.Series([_as_code(v) for v in source]).value_counts(dropna=True)
    seen = dict(counts.items())
    label_of = {_as_code(k): str(v) for k, v in labels.items()}
    codes = list(dict.fromkeys([*label_of, *seen]))
    rows = [
        {
            "code": str(code),
            "label": label_of.get(code, ""),
            "mapped_to": _covered(code, entry) or UNMAPPED,
            "n": int(seen.get(code, 0)),
        }
        for code in codes
    ]
    return pd.DataFrame(rows, columns=["code", "label", "mapped_to", "n"])


def _uncovered(table: pd.DataFrame, file: str, source: str, target: str, lang: str) -> list[str]:
    # "codes" or "offset" declared: every code must be covered; with neither, codes pass as is.
    rows = table.loc[table["mapped_to"].eq(UNMAPPED)]
    return [
        t(
            "map_code_uncovered",
            lang,
            file=file,
            column=source,
            target=target,
            code=row.code,
            label=row.label or "-",
            n=row.n,
        )  # fmt: skip
        for row in rows.itertuples()
    ]


def write_mapped(mapped: MappedExport, out: str | Path) -> Path:
    """Write the mapped table as Parquet (a new file; the export is left as it is)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    mapped.data.reset_index(drop=True).to_parquet(out, index=False)
    return out


def command_map(args) -> int:
    """``ctc map EXPORT --mapping FILE --out FILE.parquet``: exit 0, or 1 with problems listed."""
    instrument = load_instrument(args.instrument) if args.instrument is not None else None
    mapped = map_export(args.export, args.mapping, instrument, lang=args.lang)
    written = write_mapped(mapped, args.out)
    for line in mapped.problems:
        print(line)
    print(t("map_written", args.lang, path=str(written), rows=len(mapped.data)))
    return 0 if mapped.clean else 1
