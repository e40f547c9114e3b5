"""The mapping file: from a survey export's column names and codes to the instrument's.

A municipality's export keeps its own variable names and codes (``F12`` coded 0..3, "vet ej"
coded 8); the mapping file says, column by column, which workbench column or instrument item
each export column is and how its codes translate. The export itself is never edited: the
mapping is applied to a copy when the export is read (:mod:`ctc_helpers.ingest.mapping`).

Format (every key but ``from`` optional)::

    columns:                          # the respondent columns of data_schema/respondents.yaml
      respondent_id: {from: lopnr}
      wave: {value: 2025}             # a constant, when the export has no such column
      area: {from: skolomr, codes: {1: norr, 2: soder}}
      grade: {from: arskurs, codes: {7: ak7, 9: ak9, 11: gy2}}
      sex: {from: kon, codes: {1: F, 2: M, 3: U}, missing: [9]}
    items:                            # instrument item id -> export column
      alk_30: {from: F12, codes: {0: 1, 1: 2, 2: 3, 3: 4}, missing: [8, 9]}
      trivs: {from: F3, offset: 1, reverse: true, missing: [8]}

``codes`` maps an export code to the instrument's code; ``offset`` adds a number to every code
(0-based codes: ``offset: 1``); ``missing`` lists codes that mean no answer ("vet ej", "vill
inte svara"); ``reverse: true`` turns an item's code c into (1 + k) - c, k being the highest code
of the item's response set, after ``codes``/``offset``.

>>> import yaml
>>> raw = yaml.safe_load("items: {alk: {from: F12, offset: 1, missing: [8]}}")
>>> MappingFile.model_validate(raw).items["alk"].missing
[8]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from ctc_helpers.config.fields import FileModel, Text, whole
from ctc_helpers.config.files import parse_yaml, read_bytes
from ctc_helpers.config.messages import Problem, check, problem, raise_problems

__all__ = ["ColumnMap", "Mapping", "MappingFile", "load_mapping", "mapping_problems"]

Code = int | str


def _code(value: Any) -> Any:
    """Codes are whole numbers or short texts (``2.0`` from SPSS is the code 2)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise problem("cfg_map_code")
    return value


CodeValue = Annotated[int | str, BeforeValidator(_code)]


class ColumnMap(FileModel):
    """How one workbench column or item is read from the export."""

    source: Text | None = Field(None, alias="from")
    value: CodeValue | None = None
    codes: dict[CodeValue, CodeValue] | None = None
    offset: whole() | None = None
    missing: list[CodeValue] = []
    reverse: bool = False

    model_config = FileModel.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _one_way(self) -> ColumnMap:
        if (self.source is None) == (self.value is None):
            raise problem("cfg_map_from_or_value")
        if self.codes is not None and self.offset is not None:
            raise problem("cfg_map_codes_or_offset")
        return self


def _none_is_empty(value: Any) -> Any:
    return {} if value is None else value


class MappingFile(FileModel):
    """The mapping file: ``columns`` (respondent columns) and ``items`` (instrument items)."""

    columns: Annotated[dict[Text, ColumnMap], BeforeValidator(_none_is_empty)] = {}
    items: Annotated[dict[Text, ColumnMap], BeforeValidator(_none_is_empty)] = {}
    note: str = ""


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file. Build it with :func:`load_mapping`."""

    columns: dict[str, ColumnMap]
    items: dict[str, ColumnMap]
    path: Path | None = None

    @property
    def entries(self) -> dict[str, ColumnMap]:
        """Every target (respondent column or item) -> how it is read, columns first."""
        return {**self.columns, **self.items}

    @property
    def sources(self) -> dict[str, str]:
        """Export column -> target, for the entries read from a column."""
        return {m.source: target for target, m in self.entries.items() if m.source is not None}


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file.

    Raises
    ------
    ConfigFileError
        Naming the file, the key path (``items.alk_30.codes``) and the value.
    """
    path = Path(path)
    raw = parse_yaml(read_bytes(path, what="mapping"), name=path.name)
    model, problems = check(MappingFile, raw)
    raise_problems(path.name, problems or _twice(model))
    return Mapping(columns=dict(model.columns), items=dict(model.items), path=path)


def _twice(model: MappingFile) -> list[Problem]:
    """An export column read for two targets."""
    seen: dict[str, str] = {}
    problems = []
    for section in ("columns", "items"):
        for target, entry in getattr(model, section).items():
            if entry.source in seen:
                first = seen[entry.source]
                problems.append(
                    Problem(
                        f"{section}.{target}.from",
                        "map_source_twice",
                        {"first": first},
                        entry.source,
                    )  # fmt: skip
                )
            elif entry.source is not None:
                seen[entry.source] = target
    return problems


def mapping_problems(
    mapping: Mapping, *, item_codes: dict[str, tuple[int, ...]], required: tuple[str, ...]
) -> list[Problem]:
    """Problems between a mapping and the instrument: unknown items, codes outside the item's
    response set, required respondent columns with no source.

    ``item_codes`` maps each instrument item to its codes; ``required`` are the required
    respondent columns.
    """
    problems = [
        Problem(f"columns.{c}", "map_column_missing", {"column": c})
        for c in required
        if c not in mapping.columns
    ]
    for item, entry in mapping.items.items():
        if item not in item_codes:
            problems.append(Problem(f"items.{item}", "map_item_unknown", {}, item))
            continue
        allowed = item_codes[item]
        bad = [c for c in (entry.codes or {}).values() if c not in allowed]
        if bad:
            problems.append(
                Problem(f"items.{item}.codes", "map_code_outside", {"allowed": allowed}, bad[0])
            )
    return problems
