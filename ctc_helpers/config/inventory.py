"""The vocabulary shared by the resource and gap analysis: the programme inventory's schema
(``data_schema/inventory.yaml``: columns, prevention levels, settings, grades and ages), the
target groups written in an inventory or the programme bank, the factors and behaviours the
instrument knows, and the constants of the programme bank (effects, flagged ratings, gap types).

Part of the resource and gap analysis; the overview is in :mod:`ctc_helpers.phases.gaps.inputs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BeforeValidator

from ctc_helpers.config.fields import OpenModel, Text, Texts, nonempty_list, whole
from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.instrument import load_instrument, load_respondent_schema
from ctc_helpers.config.messages import validate
from ctc_helpers.i18n import text_of
from ctc_helpers.paths import SCHEMA_DIR
from ctc_helpers.vocab import CITY, FACTOR_KINDS, TOTAL

__all__ = [
    "DEFAULT_BANK",
    "INVENTORY_SCHEMA",
    "CITY",
    "TOTAL",
    "FLAGGED_EFFECTS",
    "FLAGGED_RATINGS",
    "EFFECTS",
    "TAGS",
    "NO_BANK_ID",
    "FLAGGED_KINDS",
    "GAP_TYPES",
    "FlaggedProgrammeWarning",
    "InventorySchema",
    "InventorySchemaFile",
    "load_inventory_schema",
    "parse_target",
    "parse_grades",
    "parse_ages",
    "survey_ages",
    "normalise",
    "factor_kinds",
    "behaviour_ids",
    "ID_PATTERN",
]

DEFAULT_BANK = SCHEMA_DIR / "programme_bank.yaml"
INVENTORY_SCHEMA = SCHEMA_DIR / "inventory.yaml"
FLAGGED_EFFECTS = ("none", "harmful")
FLAGGED_RATINGS = {"ineffective": "none", "harmful": "harmful"}
EFFECTS = ("positive", *FLAGGED_EFFECTS)
TAGS = ("V", "V2", "B", "NF", "D")
# bank_id values that say "this programme is not in the bank" (stops matching by name).
NO_BANK_ID = ("-", "none", "ingen")
FLAGGED_KINDS = ("harmful", "ineffective")  # warning kinds of a flagged programme
# Gap types in the order they are reported (the most urgent first).
GAP_TYPES = (
    "harmful_or_ineffective",
    "no_programme",
    "only_untested",
    "low_reach",
    "low_fidelity",
    "duplication",
    "funding_ending",
    "non_priority_effort",
)
_PUNCT = re.compile(r"[.,()'\"’:!?]")
_SPACE = re.compile(r"[\s_\-–—/]+")
_DASH = re.compile(r"\s*[-–—]\s*")
ID_PATTERN = r"[a-z0-9][a-z0-9_]*"  # a programme id


class FlaggedProgrammeWarning(UserWarning):
    """An inventory lists a programme whose evaluations found no effect or harm."""


def normalise(text: object) -> str:
    """Case-, space-, dash- and punctuation-insensitive key of a name or header.

    >>> normalise("ÖPP – Föräldramöten") == normalise("öpp föräldramöten")
    True
    """
    return _SPACE.sub(" ", _PUNCT.sub("", str(text).casefold())).strip()


# --------------------------------------------------------------------------------------------
# The inventory schema (data_schema/inventory.yaml)


@dataclass(frozen=True)
class InventorySchema:
    """Columns and vocabularies of the programme inventory (``data_schema/inventory.yaml``)."""

    columns: tuple[dict[str, Any], ...]
    prevention_levels: tuple[dict[str, Any], ...]
    settings: tuple[dict[str, Any], ...]
    grades: tuple[dict[str, Any], ...]
    age_offset: int

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c["name"] for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c["name"] for c in self.columns if c.get("required"))

    def column(self, name: str) -> dict[str, Any]:
        return next(c for c in self.columns if c["name"] == name)

    @cached_property
    def header_map(self) -> dict[str, str]:
        """Normalised header spelling -> column name."""
        return {
            normalise(a): c["name"]
            for c in self.columns
            for a in [c["name"], *c.get("aliases", [])]
        }

    def choice_ids(self, vocabulary: str) -> tuple[str, ...]:
        return tuple(e["id"] for e in getattr(self, vocabulary))

    def choice_map(self, vocabulary: str) -> dict[str, str]:
        """Normalised spelling -> id for ``prevention_levels`` or ``settings``."""
        entries = getattr(self, vocabulary)
        return {normalise(a): e["id"] for e in entries for a in [e["id"], *e.get("aliases", [])]}

    def choice_labels(self, vocabulary: str, lang: str | None = None) -> dict[str, str]:
        return {e["id"]: text_of(e["label"], lang) for e in getattr(self, vocabulary)}

    @cached_property
    def grade_map(self) -> dict[str, str]:
        return {
            normalise(a): g["code"] for g in self.grades for a in [g["code"], *g.get("aliases", [])]
        }

    @cached_property
    def grade_years(self) -> dict[str, int]:
        return {g["code"]: int(g["year"]) for g in self.grades}

    def grade_of_year(self, year: int) -> str | None:
        return next((c for c, y in self.grade_years.items() if y == year), None)


class _Column(OpenModel):
    name: Text
    label: Texts
    aliases: list[str] = []


class _Choice(OpenModel):
    id: Text
    label: Texts
    aliases: list[str] = []


class _Grade(OpenModel):
    code: Text
    year: whole(minimum=0)
    label: Texts
    aliases: list[str | int] = []


class InventorySchemaFile(OpenModel):
    """``data_schema/inventory.yaml``: the columns and vocabularies of a programme inventory."""

    columns: Annotated[list[_Column], BeforeValidator(nonempty_list)]
    prevention_levels: Annotated[list[_Choice], BeforeValidator(nonempty_list)]
    settings: Annotated[list[_Choice], BeforeValidator(nonempty_list)]
    grades: Annotated[list[_Grade], BeforeValidator(nonempty_list)]
    age_offset: whole(minimum=0)


@cache
def load_inventory_schema(path: Path = INVENTORY_SCHEMA) -> InventorySchema:
    """Read ``data_schema/inventory.yaml`` (cached).

    >>> schema = load_inventory_schema()
    >>> schema.grade_years["ak7"], schema.age_offset
    (7, 6)
    """
    raw, _ = read_yaml_file(path, what="schema")
    model = validate(InventorySchemaFile, raw, file=Path(path).name)

    def entries(section: list) -> tuple[dict[str, Any], ...]:
        return tuple(e.model_dump(exclude_unset=True) for e in section)

    return InventorySchema(
        columns=entries(model.columns),
        prevention_levels=entries(model.prevention_levels),
        settings=entries(model.settings),
        grades=entries(model.grades),
        age_offset=model.age_offset,
    )


def parse_target(
    grades: str = "", ages: str = "", *, schema: InventorySchema | None = None
) -> tuple[int, int, tuple[str, ...]]:
    """Turn target grades ("ak7-ak9", "ak6;ak8") and/or ages ("10-14") into an age range.

    Returns ``(age_min, age_max, grade_codes)``. Grades give the grade codes (and the ages when
    no ages are given: grade year + ``age_offset``); ages alone give the grades whose pupils have
    those ages. When both are given, the ages are the range and the grades the codes.

    Raises
    ------
    ValueError
        With the key of the problem as the first argument (``bad_grades``, ``bad_ages``,
        ``no_target``).

    >>> parse_target("ak7-ak9")
    (13, 15, ('ak7', 'ak8', 'ak9'))
    >>> parse_target("", "10-12")
    (10, 12, ('ak4', 'ak5', 'ak6'))
    """
    schema = schema or load_inventory_schema()
    grades, ages = str(grades or "").strip(), str(ages or "").strip()
    if not grades and not ages:
        raise ValueError("no_target")
    codes = parse_grades(grades, schema) if grades else ()
    if ages:
        low, high = parse_ages(ages)
    else:
        years = [schema.grade_years[c] for c in codes]
        low, high = min(years) + schema.age_offset, max(years) + schema.age_offset
    if not codes:
        years = range(low - schema.age_offset, high - schema.age_offset + 1)
        codes = tuple(c for c in (schema.grade_of_year(y) for y in years) if c)
    return low, high, codes


def parse_grades(text: str, schema: InventorySchema) -> tuple[str, ...]:
    """Grade codes of a text such as "ak7-ak9" or "åk 6;gy 1" (ValueError ``bad_grades``)."""
    years: set[int] = set()
    for part in re.split(r"[;,]", text):
        ends = [p for p in _DASH.split(part.strip()) if p]
        codes = [schema.grade_map.get(normalise(p)) for p in ends]
        if not 1 <= len(ends) <= 2 or None in codes:
            raise ValueError("bad_grades")
        first, last = (schema.grade_years[c] for c in (codes[0], codes[-1]))
        if first > last:
            raise ValueError("bad_grades")
        years.update(range(first, last + 1))
    return tuple(schema.grade_of_year(y) for y in sorted(years))


def parse_ages(text: str) -> tuple[int, int]:
    """The age range of a text such as "10-14", "13 år" (ValueError ``bad_ages``)."""
    match = re.fullmatch(r"(\d{1,2})(?:\s*[-–—]\s*(\d{1,2}))?\s*(?:år|years?)?", text.casefold())
    if not match:
        raise ValueError("bad_ages")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 0 <= low <= high <= 30:
        raise ValueError("bad_ages")
    return low, high


def survey_ages(schema: InventorySchema | None = None) -> tuple[int, int]:
    """Ages of the survey's grades (``respondents.yaml``), the default window for suggestions.

    >>> survey_ages()
    (12, 17)
    """
    schema = schema or load_inventory_schema()
    years = load_respondent_schema().grade_years.values()
    return min(years) + schema.age_offset, max(years) + schema.age_offset


# --------------------------------------------------------------------------------------------
# Factors and behaviours known to the instrument (an Instrument or a measures table)


def factor_kinds(instrument: Any = None) -> dict[str, str]:
    """Factor id -> ``risk``/``protective`` of an instrument (default: the default instrument) or
    a measures table with ``measure, measure_kind``."""
    if instrument is None:
        instrument = load_instrument()
    if isinstance(instrument, pd.DataFrame):
        rows = instrument.loc[instrument["measure_kind"].isin(FACTOR_KINDS)]
        return dict(zip(rows["measure"], rows["measure_kind"], strict=True))
    return {f.id: f.kind for f in instrument.factors}


def behaviour_ids(instrument: Any = None) -> set[str]:
    """The behaviour ids of an instrument (default: the default instrument) or measures table."""
    if instrument is None:
        instrument = load_instrument()
    if isinstance(instrument, pd.DataFrame):
        return set(instrument.loc[instrument["measure_kind"].eq("behaviour"), "measure"])
    return {b.id for b in instrument.behaviours}
