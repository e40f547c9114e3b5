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
from typing import Any

import pandas as pd
import yaml

from ctc_helpers.config.yaml_load import load_yaml
from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import LANGUAGES, text_of
from ctc_helpers.paths import SCHEMA_DIR
from ctc_helpers.vocab import CITY, TOTAL

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
    "load_inventory_schema",
    "parse_target",
    "survey_ages",
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
_ID = re.compile(r"[a-z0-9][a-z0-9_]*")


class FlaggedProgrammeWarning(UserWarning):
    """An inventory lists a programme whose evaluations found no effect or harm."""


def _norm(text: object) -> str:
    """Case-, space-, dash- and punctuation-insensitive key of a name or header."""
    return _SPACE.sub(" ", _PUNCT.sub("", str(text).casefold())).strip()


def _read_yaml(path: Path, what: str) -> dict:
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the {what} {path}: {exc.strerror}.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The {what} {Path(path).name} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"The {what} {Path(path).name} must hold keys and values at the top.")
    return data


def _texts(value: Any, where: str, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or any(not value.get(lang) for lang in LANGUAGES):
        raise ConfigError(
            f"{where}: {key!r} needs a text in each language ({', '.join(LANGUAGES)}),"
            f" got {value!r}."
        )
    return {lang: str(value[lang]) for lang in LANGUAGES}


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
            _norm(a): c["name"] for c in self.columns for a in [c["name"], *c.get("aliases", [])]
        }

    def choice_ids(self, vocabulary: str) -> tuple[str, ...]:
        return tuple(e["id"] for e in getattr(self, vocabulary))

    def choice_map(self, vocabulary: str) -> dict[str, str]:
        """Normalised spelling -> id for ``prevention_levels`` or ``settings``."""
        entries = getattr(self, vocabulary)
        return {_norm(a): e["id"] for e in entries for a in [e["id"], *e.get("aliases", [])]}

    def choice_labels(self, vocabulary: str, lang: str | None = None) -> dict[str, str]:
        return {e["id"]: text_of(e["label"], lang) for e in getattr(self, vocabulary)}

    @cached_property
    def grade_map(self) -> dict[str, str]:
        return {
            _norm(a): g["code"] for g in self.grades for a in [g["code"], *g.get("aliases", [])]
        }

    @cached_property
    def grade_years(self) -> dict[str, int]:
        return {g["code"]: int(g["year"]) for g in self.grades}

    def grade_of_year(self, year: int) -> str | None:
        return next((c for c, y in self.grade_years.items() if y == year), None)


@cache
def load_inventory_schema(path: Path = INVENTORY_SCHEMA) -> InventorySchema:
    """Read ``data_schema/inventory.yaml`` (cached).

    >>> schema = load_inventory_schema()
    >>> schema.grade_years["ak7"], schema.age_offset
    (7, 6)
    """
    raw = _read_yaml(path, "inventory schema")
    for key in ("columns", "prevention_levels", "settings", "grades", "age_offset"):
        if key not in raw:
            raise ConfigError(f"{Path(path).name}: the key {key!r} is missing.")
    return InventorySchema(
        columns=tuple(raw["columns"]),
        prevention_levels=tuple(raw["prevention_levels"]),
        settings=tuple(raw["settings"]),
        grades=tuple(raw["grades"]),
        age_offset=int(raw["age_offset"]),
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
    codes = _parse_grades(grades, schema) if grades else ()
    if ages:
        low, high = _parse_ages(ages)
    else:
        years = [schema.grade_years[c] for c in codes]
        low, high = min(years) + schema.age_offset, max(years) + schema.age_offset
    if not codes:
        years = range(low - schema.age_offset, high - schema.age_offset + 1)
        codes = tuple(c for c in (schema.grade_of_year(y) for y in years) if c)
    return low, high, codes


def _parse_grades(text: str, schema: InventorySchema) -> tuple[str, ...]:
    years: set[int] = set()
    for part in re.split(r"[;,]", text):
        ends = [p for p in _DASH.split(part.strip()) if p]
        codes = [schema.grade_map.get(_norm(p)) for p in ends]
        if not 1 <= len(ends) <= 2 or None in codes:
            raise ValueError("bad_grades")
        first, last = (schema.grade_years[c] for c in (codes[0], codes[-1]))
        if first > last:
            raise ValueError("bad_grades")
        years.update(range(first, last + 1))
    return tuple(schema.grade_of_year(y) for y in sorted(years))


def _parse_ages(text: str) -> tuple[int, int]:
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
    from ctc_helpers.config.instrument import load_respondent_schema

    schema = schema or load_inventory_schema()
    years = load_respondent_schema().grade_years.values()
    return min(years) + schema.age_offset, max(years) + schema.age_offset


# --------------------------------------------------------------------------------------------
# Factors and behaviours known to the instrument (an Instrument or a measures table)


def _factor_kinds(instrument: Any = None) -> dict[str, str]:
    if instrument is None:
        from ctc_helpers.config.instrument import load_instrument

        instrument = load_instrument()
    if isinstance(instrument, pd.DataFrame):
        rows = instrument.loc[instrument["measure_kind"].isin(("risk", "protective"))]
        return dict(zip(rows["measure"], rows["measure_kind"], strict=True))
    return {f.id: f.kind for f in instrument.factors}


def _behaviour_ids(instrument: Any = None) -> set[str]:
    if instrument is None:
        from ctc_helpers.config.instrument import load_instrument

        instrument = load_instrument()
    if isinstance(instrument, pd.DataFrame):
        return set(instrument.loc[instrument["measure_kind"].eq("behaviour"), "measure"])
    return {b.id for b in instrument.behaviours}
