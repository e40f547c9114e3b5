"""Resource and gap analysis (resurs- och gapanalys): the programme bank, each area's programme
inventory, the gaps against the area's prioritised factors, and the city view.

The declarative side lives in ``data_schema/``: ``programme_bank.yaml`` (tested programmes, and
programmes flagged because evaluations found no effect or harm) and ``inventory.yaml`` (the
columns of the inventory file and their allowed values). The action plan (goal chain) made from
the results is in :mod:`ctc_helpers.actionplan`.

Steps, each a function of tidy frames:

1. :func:`load_programme_bank` and :func:`load_inventory` read and validate the inputs; bad
   inventory rows go to a rejected table with their reasons (rows read = kept + rejected), and a
   flagged programme in use is warned about.
2. :func:`prioritised_factors`: the area team's recorded choice, else the suggestion of
   :func:`ctc_helpers.prioritize.rank_factors`.
3. :func:`current_programmes` keeps the latest figures per programme and adds reach and dose.
4. :func:`gap_matrix`, :func:`find_gaps` and :func:`suggest_programmes` make the analysis;
   :func:`city_view` puts every area's priorities next to its programme coverage.

Display helpers for the notebook (tables, charts, texts) close the module.

Examples
--------
>>> bank = load_programme_bank()
>>> bank.match("Studiebesök på anstalt")
'scared_straight'
>>> bank.programme("scared_straight")["flagged"]
True
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ._yaml import load_yaml
from .errors import ConfigError, InputFileError
from .i18n import LANGUAGES, check_language, t, text_of
from .paths import REPO_ROOT, SCHEMA_DIR

__all__ = [
    "DEFAULT_BANK",
    "GapInputs",
    "load_gap_inputs",
    "INVENTORY_SCHEMA",
    "GAP_TYPES",
    "FlaggedProgrammeWarning",
    "InventorySchema",
    "ProgrammeBank",
    "Inventory",
    "load_inventory_schema",
    "load_programme_bank",
    "parse_target",
    "load_inventory",
    "load_enrolment",
    "prioritised_factors",
    "current_programmes",
    "gap_matrix",
    "coverage_summary",
    "find_gaps",
    "suggest_programmes",
    "suggest_for_gaps",
    "survey_ages",
    "city_view",
    "report_areas",
    "city_view_figsize",
    "plot_city_view",
    "plot_reach",
    "gap_types",
    "gap_types_table",
    "inventory_summary",
    "problems_table",
    "warning_notes",
    "priorities_note",
    "matrix_table",
    "gap_table",
    "suggestion_table",
    "gap_summary",
]

DEFAULT_BANK = SCHEMA_DIR / "programme_bank.yaml"
INVENTORY_SCHEMA = SCHEMA_DIR / "inventory.yaml"
CITY = "all"
TOTAL = "all"
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
    from .instrument import load_respondent_schema

    schema = schema or load_inventory_schema()
    years = load_respondent_schema().grade_years.values()
    return min(years) + schema.age_offset, max(years) + schema.age_offset


# --------------------------------------------------------------------------------------------
# Factors and behaviours known to the instrument (an Instrument or a measures table)


def _factor_kinds(instrument: Any = None) -> dict[str, str]:
    if instrument is None:
        from .instrument import load_instrument

        instrument = load_instrument()
    if isinstance(instrument, pd.DataFrame):
        rows = instrument.loc[instrument["measure_kind"].isin(("risk", "protective"))]
        return dict(zip(rows["measure"], rows["measure_kind"], strict=True))
    return {f.id: f.kind for f in instrument.factors}


def _behaviour_ids(instrument: Any = None) -> set[str]:
    if instrument is None:
        from .instrument import load_instrument

        instrument = load_instrument()
    if isinstance(instrument, pd.DataFrame):
        return set(instrument.loc[instrument["measure_kind"].eq("behaviour"), "measure"])
    return {b.id for b in instrument.behaviours}


# --------------------------------------------------------------------------------------------
# The programme bank


@dataclass(frozen=True)
class ProgrammeBank:
    """The validated programme bank. Build it with :func:`load_programme_bank`.

    ``programmes`` has one row per programme: ``programme_id, name, aliases`` (tuple),
    ``settings, prevention_levels`` (tuples), ``age_min, age_max, factors, behaviours``
    (tuples), ``evidence_rating, evidence_rank, tested, evidence_source, rating_tag,
    factors_tag, effect`` (``positive / none / harmful``), ``flagged`` (bool),
    ``effect_evidence_sv, effect_evidence_en, effect_source, caution_sv, caution_en,
    description_sv, description_en, source_file``.
    ``ratings``: ``evidence_rating, rank, tested, label_sv, label_en, description_sv,
    description_en``. ``outcome_groups``: ``group, behaviours`` (tuple), ``label_sv, label_en``.
    ``factor_outcomes``: ``factor, group, tag`` (long form).
    """

    programmes: pd.DataFrame
    ratings: pd.DataFrame
    outcome_groups: pd.DataFrame
    factor_outcomes: pd.DataFrame
    names: Mapping[str, str]
    version: str
    files: tuple[Path, ...]

    def match(self, name: object, *, prefix: bool = False) -> str | None:
        """The id of the programme with this name, alias or id (case/dashes ignored), or None.

        With ``prefix=True`` a name that *begins* with a name or alias (of at least three
        characters) followed by a space or dash also matches ("ÖPP – föräldramöten" is ÖPP);
        the longest such name wins.

        >>> load_programme_bank().match("ÖPP – föräldramöten", prefix=True)
        'orebro_prevention_programme'
        """
        key = _norm(name)
        if key in self.names or not prefix:
            return self.names.get(key)
        starts = [k for k in self.names if len(k) >= 3 and key.startswith(k + " ")]
        return self.names[max(starts, key=len)] if starts else None

    def programme(self, programme_id: str) -> dict[str, Any]:
        """One programme as a dict (``KeyError`` naming the known ids when unknown)."""
        rows = self.programmes.loc[self.programmes["programme_id"].eq(programme_id)]
        if rows.empty:
            raise KeyError(f"The programme bank has no programme {programme_id!r}.")
        return rows.iloc[0].to_dict()

    @property
    def flagged(self) -> pd.DataFrame:
        """Programmes whose evaluations found no effect or harm."""
        return self.programmes.loc[self.programmes["flagged"]].reset_index(drop=True)

    def rating_label(self, rating: str, lang: str | None = None) -> str:
        labels = self.ratings.set_index("evidence_rating")[f"label_{check_language(lang)}"]
        return str(labels.get(rating, rating))


def load_programme_bank(
    path: str | Path | None = None,
    *,
    extra: str | Path | Sequence[str | Path] | None = None,
    instrument: Any = None,
) -> ProgrammeBank:
    """Read and validate the programme bank, optionally extended with the user's own files.

    Parameters
    ----------
    path : str or Path, optional
        The bank (default ``data_schema/programme_bank.yaml``).
    extra : str, Path or list of them, optional
        The user's files with a ``programmes:`` list in the same format; ``""`` or None = none.
        An id already in the bank is refused unless the entry has ``override: true``, which
        replaces the bank's entry. A name or alias used by two programmes is refused.
    instrument : Instrument or pandas.DataFrame, optional
        An instrument (or a published measures table with ``measure, measure_kind``) whose
        factor and behaviour ids the programmes may use besides those of the default instrument
        (``data_schema/instrument.yaml``, the catalogue of factor ids). Programmes for factors a
        survey does not measure are kept; they simply never match that survey's priorities.

    Returns
    -------
    ProgrammeBank

    Raises
    ------
    ConfigError
        A file cannot be read or an entry is not valid; the message names the file, the
        programme id and the key.
    """
    path = Path(path) if path is not None else DEFAULT_BANK
    raw = _read_yaml(path, "programme bank")
    ratings = _parse_ratings(raw.get("evidence_ratings"), path.name)
    vocab = _BankVocabulary(
        ratings=ratings.set_index("evidence_rating"),
        factors={**_factor_kinds(None), **_factor_kinds(instrument)},
        behaviours=_behaviour_ids(None) | _behaviour_ids(instrument),
        schema=load_inventory_schema(),
    )
    groups = _parse_outcome_groups(raw.get("outcome_groups"), path.name, vocab)
    outcomes = _parse_factor_outcomes(raw.get("factor_outcomes"), path.name, vocab, groups)
    entries = _parse_programmes(raw, path, vocab, allow_override=False)
    files = [path]
    for extra_path in _extra_paths(extra):
        extra_raw = _read_yaml(extra_path, "programme file")
        unknown = sorted(set(extra_raw) - {"programmes", "version"})
        if unknown:
            raise ConfigError(
                f"{extra_path.name}: unknown key {unknown[0]!r}; a user's programme file holds"
                " only a 'programmes:' list (and optionally 'version')."
            )
        entries = _merge_entries(
            entries, _parse_programmes(extra_raw, extra_path, vocab, allow_override=True)
        )
        files.append(extra_path)
    programmes = pd.DataFrame(entries)
    return ProgrammeBank(
        programmes=programmes,
        ratings=ratings,
        outcome_groups=groups,
        factor_outcomes=outcomes,
        names=_name_index(entries),
        version=str(raw.get("version", "")),
        files=tuple(files),
    )


@dataclass(frozen=True)
class _BankVocabulary:
    ratings: pd.DataFrame
    factors: dict[str, str]
    behaviours: set[str]
    schema: InventorySchema


def _extra_paths(extra: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if extra is None or (isinstance(extra, str) and not extra.strip()):
        return []
    items = [extra] if isinstance(extra, str | Path) else list(extra)
    return [_resolve(p) for p in items if str(p).strip()]


def _resolve(path: str | Path) -> Path:
    """A path as given, or relative to the repository root when it does not exist here."""
    path = Path(path).expanduser()
    return path if path.is_absolute() or path.exists() else REPO_ROOT / path


def _parse_ratings(raw: Any, where: str) -> pd.DataFrame:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: 'evidence_ratings' must be a non-empty list.")
    rows = []
    for entry in raw:
        rating = entry.get("id") if isinstance(entry, dict) else None
        here = f"{where}: evidence rating {rating!r}"
        if not isinstance(rating, str) or not isinstance(entry.get("rank"), int):
            raise ConfigError(f"{here} needs an id and a whole-number rank.")
        if not isinstance(entry.get("tested"), bool):
            raise ConfigError(f"{here}: 'tested' must be true or false.")
        label = _texts(entry.get("label"), here, "label")
        description = _texts(entry.get("description"), here, "description")
        rows.append(
            {
                "evidence_rating": rating,
                "rank": entry["rank"],
                "tested": entry["tested"],
                **{f"label_{k}": v for k, v in label.items()},
                **{f"description_{k}": v for k, v in description.items()},
            }
        )
    frame = pd.DataFrame(rows)
    needed = sorted({"not_rated", *FLAGGED_RATINGS} - set(frame["evidence_rating"]))
    if needed or frame["evidence_rating"].duplicated().any():
        raise ConfigError(
            f"{where}: evidence ratings must be unique and include not_rated, ineffective and"
            f" harmful (missing: {', '.join(needed) or 'none'})."
        )
    return frame


def _parse_outcome_groups(raw: Any, where: str, vocab: _BankVocabulary) -> pd.DataFrame:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: 'outcome_groups' must be a non-empty list.")
    rows = []
    for entry in raw:
        group = entry.get("id") if isinstance(entry, dict) else None
        here = f"{where}: outcome group {group!r}"
        behaviours = entry.get("behaviours") if isinstance(entry, dict) else None
        if not isinstance(group, str) or not isinstance(behaviours, list) or not behaviours:
            raise ConfigError(f"{here} needs an id and a non-empty list of behaviours.")
        unknown = [b for b in behaviours if b not in vocab.behaviours]
        if unknown:
            raise ConfigError(
                f"{here} names behaviours the instrument lacks: {', '.join(unknown)}."
            )
        label = _texts(entry.get("label"), here, "label")
        rows.append(
            {
                "group": group,
                "behaviours": tuple(behaviours),
                "label_sv": label["sv"],
                "label_en": label["en"],
            }
        )
    return pd.DataFrame(rows)


def _parse_factor_outcomes(
    raw: Any, where: str, vocab: _BankVocabulary, groups: pd.DataFrame
) -> pd.DataFrame:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'factor_outcomes' must map factor ids to outcome groups.")
    rows = []
    for factor, entry in raw.items():
        here = f"{where}: factor_outcomes {factor!r}"
        if factor not in vocab.factors:
            raise ConfigError(f"{here}: the instrument has no factor with this id.")
        outcomes = entry.get("outcomes") if isinstance(entry, dict) else None
        unknown = [o for o in outcomes or [] if o not in set(groups["group"])]
        if not outcomes or unknown:
            raise ConfigError(
                f"{here} needs outcomes from: {', '.join(groups['group'])} (got {outcomes!r})."
            )
        tag = _choice_value(entry.get("tag"), TAGS, here, "tag")
        rows += [{"factor": factor, "group": o, "tag": tag} for o in outcomes]
    return pd.DataFrame(rows, columns=["factor", "group", "tag"])


_PROGRAMME_KEYS = {
    "id",
    "name",
    "aliases",
    "setting",
    "prevention_level",
    "ages",
    "factors",
    "behaviours",
    "evidence_rating",
    "evidence_source",
    "tags",
    "effect",
    "effect_evidence",
    "effect_source",
    "caution",
    "description",
    "override",
}


def _parse_programmes(
    raw: dict, path: Path, vocab: _BankVocabulary, *, allow_override: bool
) -> list[dict[str, Any]]:
    entries = raw.get("programmes")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path.name}: 'programmes' must be a non-empty list.")
    parsed: list[dict[str, Any]] = []
    for number, entry in enumerate(entries, start=1):
        row = _parse_programme(entry, number, path, vocab, allow_override=allow_override)
        if any(p["programme_id"] == row["programme_id"] for p in parsed):
            raise ConfigError(
                f"{path.name}: the programme id {row['programme_id']!r} occurs twice."
            )
        parsed.append(row)
    return parsed


def _parse_programme(
    entry: Any, number: int, path: Path, vocab: _BankVocabulary, *, allow_override: bool
) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ConfigError(f"{path.name}: programme number {number} must be a mapping of keys.")
    programme_id = entry.get("id")
    if not isinstance(programme_id, str) or not _ID.fullmatch(programme_id):
        raise ConfigError(
            f"{path.name}: programme number {number} has the id {programme_id!r}; use lower-case"
            " letters a-z, digits and underscores."
        )
    here = f"{path.name}: programme {programme_id!r}"
    unknown = sorted(set(entry) - _PROGRAMME_KEYS - ({"override"} if allow_override else set()))
    if unknown or ("override" in entry and not allow_override):
        raise ConfigError(
            f"{here}: unknown key {(unknown or ['override'])[0]!r}. Allowed keys:"
            f" {', '.join(sorted(_PROGRAMME_KEYS - {'override'}))}"
            + (", override." if allow_override else ".")
        )
    rating = _choice_value(
        entry.get("evidence_rating"), tuple(vocab.ratings.index), here, "evidence_rating"
    )
    effect = _effect(entry, rating, here)
    low, high = _ages(entry.get("ages"), here)
    factors = _id_list(entry.get("factors"), vocab.factors, here, "factors", "factor")
    behaviours = _id_list(
        entry.get("behaviours", []), vocab.behaviours, here, "behaviours", "behaviour"
    )
    if not factors and not behaviours:
        raise ConfigError(f"{here}: give at least one factor id (or behaviour id).")
    tags = entry.get("tags") if isinstance(entry.get("tags"), dict) else {}
    flagged = effect in FLAGGED_EFFECTS
    evidence = _texts(entry.get("effect_evidence"), here, "effect_evidence") if flagged else {}
    if flagged and not str(entry.get("effect_source") or "").strip():
        raise ConfigError(f"{here}: a flagged programme needs 'effect_source' (the evaluations).")
    caution = _texts(entry["caution"], here, "caution") if entry.get("caution") else {}
    description = _texts(entry.get("description"), here, "description")
    return {
        "programme_id": programme_id,
        "name": _text_value(entry.get("name"), here, "name"),
        "aliases": tuple(_aliases(entry.get("aliases", []), here)),
        "settings": _choice_list(
            entry.get("setting"), vocab.schema.choice_ids("settings"), here, "setting"
        ),
        "prevention_levels": _choice_list(
            entry.get("prevention_level"),
            vocab.schema.choice_ids("prevention_levels"),
            here,
            "prevention_level",
        ),
        "age_min": low,
        "age_max": high,
        "factors": factors,
        "behaviours": behaviours,
        "evidence_rating": rating,
        "evidence_rank": int(vocab.ratings.loc[rating, "rank"]),
        "tested": bool(vocab.ratings.loc[rating, "tested"]),
        "evidence_source": _text_value(entry.get("evidence_source"), here, "evidence_source"),
        "rating_tag": _choice_value(tags.get("rating"), TAGS, here, "tags.rating"),
        "factors_tag": _choice_value(tags.get("factors"), TAGS, here, "tags.factors"),
        "effect": effect,
        "flagged": flagged,
        "effect_evidence_sv": evidence.get("sv", ""),
        "effect_evidence_en": evidence.get("en", ""),
        "effect_source": str(entry.get("effect_source") or ""),
        "caution_sv": caution.get("sv", ""),
        "caution_en": caution.get("en", ""),
        "description_sv": description["sv"],
        "description_en": description["en"],
        "override": bool(entry.get("override", False)),
        "source_file": path.name,
    }


def _effect(entry: dict, rating: str, here: str) -> str:
    effect = _choice_value(entry.get("effect", "positive"), EFFECTS, here, "effect")
    expected = FLAGGED_RATINGS.get(rating, "positive")
    if effect != expected:
        raise ConfigError(
            f"{here}: effect {effect!r} does not fit evidence_rating {rating!r}. Use effect: none"
            " with evidence_rating: ineffective, effect: harmful with evidence_rating: harmful,"
            " and leave effect out otherwise."
        )
    return effect


def _text_value(value: Any, here: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{here}: {key!r} must be a non-empty text, got {value!r}.")
    return value.strip()


def _aliases(value: Any, here: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{here}: 'aliases' must be a list of names, got {value!r}.")
    return [v.strip() for v in value]


def _choice_value(value: Any, allowed: tuple[str, ...], here: str, key: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{here}: {key} is {value!r}; allowed: {', '.join(allowed)}.")
    return str(value)


def _choice_list(value: Any, allowed: tuple[str, ...], here: str, key: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{here}: {key} must be one of {', '.join(allowed)} or a list of them.")
    return tuple(_choice_value(v, allowed, here, key) for v in values)


def _ages(value: Any, here: str) -> tuple[int, int]:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 0 <= value[0] <= value[1] <= 30
    )
    if not ok:
        raise ConfigError(
            f"{here}: 'ages' must be [youngest, oldest] in years (0-30), got {value!r}."
        )
    return int(value[0]), int(value[1])


def _id_list(value: Any, known: Iterable[str], here: str, key: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{here}: {key!r} must be a list of {what} ids, got {value!r}.")
    known = set(known)
    unknown = [str(v) for v in value if v not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"{here}: {key} names {', '.join(map(repr, unknown))}, which the instrument does not"
            f" have as a {what}.{hint} The ids are listed in data_schema/instrument.yaml."
        )
    return tuple(dict.fromkeys(value))


def _merge_entries(base: list[dict], extra: list[dict]) -> list[dict]:
    merged = {e["programme_id"]: e for e in base}
    for entry in extra:
        old = merged.get(entry["programme_id"])
        if old is not None and not entry["override"]:
            raise ConfigError(
                f"{entry['source_file']}: the programme id {entry['programme_id']!r} is already"
                f" in {old['source_file']}. Give your programme another id, or add"
                " 'override: true' to replace the bank's entry on purpose."
            )
        merged[entry["programme_id"]] = entry
    return list(merged.values())


def _name_index(entries: list[dict]) -> dict[str, str]:
    index: dict[str, str] = {}
    for entry in entries:
        for name in (entry["programme_id"], entry["name"], *entry["aliases"]):
            key, owner = _norm(name), entry["programme_id"]
            if index.get(key, owner) != owner:
                raise ConfigError(
                    f"{entry['source_file']}: the name {name!r} of programme {owner!r} is"
                    f" already used by programme {index[key]!r}; a name may belong to one"
                    " programme only."
                )
            index[key] = owner
    return index


# --------------------------------------------------------------------------------------------
# Reading a table (CSV or Excel) as text


def _read_table(path: Path, *, sheet: str | None, lang: str) -> tuple[pd.DataFrame, dict]:
    """The file as stripped text cells with its header, via :func:`ctc_helpers.io.read_table`.

    The frame's ``row`` column is the row number as the user sees it (header = row 1).
    ``info`` is read_table's (``blank_rows``, ``malformed_rows`` ...). File errors raise
    :class:`InputFileError` with read_table's message.
    """
    from .io import read_table
    from .validate import UNNAMED_PREFIX

    frame, info = read_table(path, sheet=sheet, lang=lang)
    unnamed = [i for i, c in enumerate(frame.columns) if str(c).startswith(UNNAMED_PREFIX)]
    if unnamed:
        raise InputFileError(t("inv_column_no_name", lang, file=path.name, number=unnamed[0] + 1))
    text = frame.astype(object).map(_cell_text)
    return text.assign(row=[int(i) for i in frame.index]).reset_index(drop=True), info


def _cell_text(value: Any) -> str:
    """A cell as text: Excel dates as YYYY-MM-DD, whole floats without decimals, NA as ""."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _canonical_columns(
    frame: pd.DataFrame, schema: InventorySchema, file: str, lang: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the file's headers to the schema's column names; returns the frame and
    a map column name -> header as written."""
    names = {h: schema.header_map.get(_norm(h)) for h in frame.columns if h != "row"}
    unknown = [h for h, name in names.items() if name is None]
    if unknown:
        raise InputFileError(
            t(
                "inv_unknown_columns",
                lang,
                file=file,
                columns=", ".join(unknown),
                allowed=", ".join(schema.column_names),
            )
        )
    written: dict[str, str] = {}
    for header, name in names.items():
        if name in written:
            raise InputFileError(
                t(
                    "inv_duplicate_column",
                    lang,
                    file=file,
                    column=name,
                    headers=f"{written[name]}, {header}",
                )
            )
        written[name] = header
    missing = [c for c in schema.required_columns if c not in written]
    if missing:
        raise InputFileError(
            t(
                "inv_missing_columns",
                lang,
                file=file,
                columns=", ".join(missing),
                required=", ".join(schema.required_columns),
            )
        )
    renamed = frame.rename(columns=names)
    absent = {c: "" for c in schema.column_names if c not in renamed.columns}
    return renamed.assign(**absent)[["row", *schema.column_names]], written


# --------------------------------------------------------------------------------------------
# The programme inventory


@dataclass(frozen=True)
class Inventory:
    """A validated programme inventory, made by :func:`load_inventory`.

    Attributes
    ----------
    programmes : pandas.DataFrame
        The kept rows, typed: ``row`` (spreadsheet row), the schema's columns (``year``,
        ``participants_reached``, ``eligible_population``, ``sessions_planned``,
        ``sessions_delivered`` as float with NaN when empty; ``fidelity_score`` 0..1;
        ``funding_end`` as a date or None; ``targeted_factors`` as a tuple of factor ids) plus
        ``age_min, age_max, grade_codes`` (tuple), ``bank_id`` ("" when not in the bank),
        ``evidence_rating`` (the bank's when matched), ``rating_from`` (``bank / file /
        default``), ``evidence_rank, tested, effect`` (``positive / none / harmful / ""``),
        ``flagged`` (bool).
    rejected : pandas.DataFrame
        Rows that could not be used, as written in the file: ``row``, the file's columns and
        ``reasons`` (all messages of the row, joined).
    problems : pandas.DataFrame
        One row per problem: ``row, column, value, message``.
    warnings : pandas.DataFrame
        Rows kept but worth a look: ``row, area, programme, kind, message`` (``kind`` in
        ``harmful, ineffective, rating_differs, reach_over_100, sessions_over_plan``).
    """

    programmes: pd.DataFrame
    rejected: pd.DataFrame
    problems: pd.DataFrame
    warnings: pd.DataFrame
    path: Path
    n_read: int
    n_blank: int = 0

    @property
    def n_kept(self) -> int:
        return len(self.programmes)

    @property
    def n_rejected(self) -> int:
        return len(self.rejected)


@dataclass(frozen=True)
class _Checker:
    file: str
    lang: str
    schema: InventorySchema
    areas: dict[str, str]  # normalised id or name -> area id
    area_ids: tuple[str, ...]
    factors: dict[str, str]
    bank: ProgrammeBank
    headers: dict[str, str]
    area_names: dict[str, str] = field(default_factory=dict)


class _CellProblem(Exception):
    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key, self.values = key, values


def load_inventory(
    path: str | Path,
    *,
    bank: ProgrammeBank,
    areas: pd.DataFrame | Iterable[str],
    instrument: Any = None,
    lang: str | None = None,
    sheet: str | None = None,
    warn: bool = True,
) -> Inventory:
    """Read and validate a programme inventory (CSV or Excel, ``data_schema/inventory.yaml``).

    Parameters
    ----------
    path : str or Path
        The file; a relative path that does not exist here is taken from the repository root.
    bank : ProgrammeBank
        Programmes are matched with it (``bank_id``, else name and aliases): ratings are taken
        from the bank and flagged programmes are warned about.
    areas : pandas.DataFrame or iterable of str
        The area list (``area_id`` and ``name`` columns, e.g. ``Published.areas``) or area ids.
        A row may name the area by id or by name.
    instrument : Instrument or pandas.DataFrame, optional
        Factor ids allowed in ``targeted_factors`` (an Instrument or a measures table).
    lang : {"sv", "en"}, optional
        Language of the messages (default Swedish).
    sheet : str, optional
        Excel sheet (default the first).
    warn : bool
        Also issue a :class:`FlaggedProgrammeWarning` for every flagged programme (the
        ``warnings`` frame holds them either way; a report shows that frame instead).

    Returns
    -------
    Inventory
        ``programmes`` (kept), ``rejected``, ``problems``, ``warnings``; ``n_read`` = kept +
        rejected.

    Raises
    ------
    InputFileError
        The file cannot be used as a whole (missing, unreadable, empty, a required column
        missing, an unknown or repeated column); the message names the file and the column.
    """
    lang = check_language(lang)
    path = _resolve(path)
    schema = load_inventory_schema()
    table, info = _read_table(path, sheet=sheet, lang=lang)
    frame, headers = _canonical_columns(table, schema, path.name, lang)
    blank = frame.drop(columns="row").eq("").all(axis=1)
    frame = frame.loc[~blank].reset_index(drop=True)
    malformed = _malformed_problems(info, path.name, lang)
    if frame.empty and not malformed:
        raise InputFileError(t("inv_file_empty", lang, file=path.name))
    checker = _Checker(
        file=path.name,
        lang=lang,
        schema=schema,
        areas=_area_lookup(areas),
        area_ids=tuple(dict.fromkeys(_area_lookup(areas).values())),
        factors=_factor_kinds(instrument),
        bank=bank,
        headers=headers,
        area_names=_area_names(areas),
    )
    parsed, problems = _check_rows(frame, checker)
    problems = problems + _duplicate_problems(parsed, checker) + malformed
    bad_rows = {p["row"] for p in problems}
    kept = _with_bank(pd.DataFrame([p for p in parsed if p["row"] not in bad_rows]), bank)
    notes = _inventory_warnings(kept, checker)
    for message in notes.loc[notes["kind"].isin(FLAGGED_KINDS) & warn, "message"]:
        warnings.warn(message, FlaggedProgrammeWarning, stacklevel=2)
    return Inventory(
        programmes=kept,
        rejected=_rejected(frame, problems, headers, info),
        problems=pd.DataFrame(problems, columns=["row", "column", "value", "message"])
        .sort_values("row", kind="stable")
        .reset_index(drop=True),
        warnings=notes,
        path=path,
        n_read=len(frame) + len(malformed),
        n_blank=int(blank.sum()) + int(info.get("blank_rows", 0)),
    )


def _area_names(areas: pd.DataFrame | Iterable[str]) -> dict[str, str]:
    if isinstance(areas, pd.DataFrame) and "name" in areas.columns:
        return dict(zip(areas["area_id"].astype(str), areas["name"].astype(str), strict=True))
    return {}


def _area_lookup(areas: pd.DataFrame | Iterable[str]) -> dict[str, str]:
    if isinstance(areas, pd.DataFrame):
        ids = areas["area_id"].astype(str)
        names = areas["name"].astype(str) if "name" in areas.columns else ids
        return {
            **{_norm(n): i for n, i in zip(names, ids, strict=True)},
            **{_norm(i): i for i in ids},
        }
    return {_norm(a): str(a) for a in areas if str(a) != CITY}


_KINDS = {
    "text": lambda v, s, c: v,
    "area": lambda v, s, c: _check_area(v, c),
    "choice": lambda v, s, c: _check_choice(v, s, c),
    "int": lambda v, s, c: _check_int(v, s),
    "proportion": lambda v, s, c: _check_proportion(v, s),
    "date": lambda v, s, c: _check_date(v),
    "grades": lambda v, s, c: _check_grades(v, c),
    "ages": lambda v, s, c: _check_ages(v),
    "factors": lambda v, s, c: _check_factors(v, s, c),
    "bank_id": lambda v, s, c: _check_bank_id(v, c),
}


def _check_rows(frame: pd.DataFrame, checker: _Checker) -> tuple[list[dict], list[dict]]:
    parsed, problems = [], []
    for record in frame.to_dict("records"):
        row, found = {"row": record["row"]}, []
        for spec in checker.schema.columns:
            name, value = spec["name"], record[spec["name"]]
            try:
                row[name] = _check_cell(value, spec, checker)
            except _CellProblem as problem:
                found.append(_problem(record["row"], name, value, problem, checker))
        found += _target_problems(record, row, checker) if not found else []
        parsed.append(row)
        problems += found
    return parsed, problems


def _check_cell(value: str, spec: dict, checker: _Checker) -> Any:
    if value == "":
        if not spec.get("nullable", False):
            raise _CellProblem("inv_required")
        return None
    return _KINDS[spec["type"]](value, spec, checker)


def _problem(row: int, column: str, value: str, problem: _CellProblem, checker: _Checker) -> dict:
    header = checker.headers.get(column, column)
    shown = header if _norm(header) == _norm(column) else f"{header} ({column})"
    where = t("inv_where", checker.lang, file=checker.file, row=row, column=shown)
    message = t(problem.key, checker.lang, where=where, value=value, **problem.values)
    return {"row": row, "column": column, "value": value, "message": message}


def _check_area(value: str, checker: _Checker) -> str:
    area = checker.areas.get(_norm(value))
    if area is None:
        raise _CellProblem("inv_unknown_area", allowed=", ".join(checker.area_ids))
    return area


def _check_choice(value: str, spec: dict, checker: _Checker) -> str:
    vocabulary = spec["choices"]
    if vocabulary == "evidence_ratings":
        allowed = tuple(checker.bank.ratings["evidence_rating"])
        lookup = {_norm(r): r for r in allowed}
        labels = dict(zip(allowed, checker.bank.ratings[f"label_{checker.lang}"], strict=True))
    else:
        allowed = checker.schema.choice_ids(vocabulary)
        lookup = checker.schema.choice_map(vocabulary)
        labels = checker.schema.choice_labels(vocabulary, checker.lang)
    choice = lookup.get(_norm(value))
    if choice is None:
        options = ", ".join(f"{a} ({labels[a]})" if _norm(labels[a]) != a else a for a in allowed)
        raise _CellProblem("inv_bad_choice", allowed=options)
    return choice


def _number(value: str) -> float:
    text = value.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    text = text.replace("−", "-")
    try:
        number = float(text)
    except ValueError:
        raise _CellProblem("inv_bad_number") from None
    if not np.isfinite(number):
        raise _CellProblem("inv_bad_number")
    return number


def _check_int(value: str, spec: dict) -> float:
    try:
        number = _number(value)
    except _CellProblem:
        raise _CellProblem("inv_bad_int") from None
    if not number.is_integer():
        raise _CellProblem("inv_bad_int")
    if "min" in spec and number < spec["min"]:
        raise _CellProblem("inv_below_min", min=spec["min"])
    if "max" in spec and number > spec["max"]:
        raise _CellProblem("inv_above_max", max=spec["max"])
    return float(number)


def _check_proportion(value: str, spec: dict) -> float:
    number = _number(value.rstrip())
    if not spec.get("min", 0) <= number <= spec.get("max", 1):
        raise _CellProblem("inv_bad_proportion")
    return number


def _check_date(value: str) -> dt.date:
    text = value.split(" ")[0].split("T")[0]
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise _CellProblem("inv_bad_date")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _CellProblem("inv_bad_date") from None


def _check_grades(value: str, checker: _Checker) -> str:
    try:
        _parse_grades(value, checker.schema)
    except ValueError:
        codes = ", ".join(g["code"] for g in checker.schema.grades)
        raise _CellProblem("inv_bad_grades", allowed=codes) from None
    return value


def _check_ages(value: str) -> str:
    try:
        _parse_ages(value)
    except ValueError:
        raise _CellProblem("inv_bad_ages") from None
    return value


def _check_factors(value: str, spec: dict, checker: _Checker) -> tuple[str, ...]:
    parts = [p.strip() for p in re.split(r"[;,|]", value) if p.strip()]
    unknown = [p for p in parts if p not in checker.factors]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(checker.factors), n=1)
        key = "inv_unknown_factor_hint" if close else "inv_unknown_factor"
        raise _CellProblem(key, factor=unknown[0], hint=close[0] if close else "")
    if not parts:
        raise _CellProblem("inv_required")
    return tuple(dict.fromkeys(parts))


def _check_bank_id(value: str, checker: _Checker) -> str:
    if value.strip().casefold() in NO_BANK_ID:
        return NO_BANK_ID[0]
    if value not in set(checker.bank.programmes["programme_id"]):
        match = checker.bank.match(value)
        hint = match or ", ".join(
            difflib.get_close_matches(value, list(checker.bank.programmes["programme_id"]), n=3)
        )
        raise _CellProblem("inv_unknown_bank_id", hint=hint or "-")
    return value


def _target_problems(record: dict, row: dict, checker: _Checker) -> list[dict]:
    if row.get("target_grades") or row.get("target_ages"):
        return []
    problem = _CellProblem("inv_no_target")
    return [_problem(record["row"], "target_grades", "", problem, checker)]


def _duplicate_problems(parsed: list[dict], checker: _Checker) -> list[dict]:
    first: dict[tuple, int] = {}
    problems = []
    for row in parsed:
        if not row.get("area") or not row.get("programme"):
            continue
        key = (row["area"], _norm(row["programme"]), row.get("year"))
        if key in first:
            problem = _CellProblem("inv_duplicate_row", first=first[key])
            problems.append(_problem(row["row"], "programme", row["programme"], problem, checker))
        else:
            first[key] = row["row"]
    return problems


def _with_bank(kept: pd.DataFrame, bank: ProgrammeBank) -> pd.DataFrame:
    """Add the target ages, the bank match, the rating used and the flag."""
    if kept.empty:
        return pd.DataFrame(columns=[*_KEPT_COLUMNS])
    targets = [
        parse_target(g, a)
        for g, a in zip(
            kept["target_grades"].fillna(""), kept["target_ages"].fillna(""), strict=True
        )
    ]
    given_ids = kept["bank_id"].fillna("")
    exact = [bank.match(p) or "" for p in kept["programme"]]
    begins = [bank.match(p, prefix=True) or "" for p in kept["programme"]]
    bank_ids = [
        "" if g in NO_BANK_ID else g or e or b
        for g, e, b in zip(given_ids, exact, begins, strict=True)
    ]
    how = [
        "none" if g in NO_BANK_ID else "bank_id" if g else "exact" if e else "prefix" if b else ""
        for g, e, b in zip(given_ids, exact, begins, strict=True)
    ]
    table = bank.programmes.set_index("programme_id")
    ratings = bank.ratings.set_index("evidence_rating")
    given = kept["evidence_rating"].fillna("")
    used = [
        table.loc[b, "evidence_rating"] if b else (g or "not_rated")
        for b, g in zip(bank_ids, given, strict=True)
    ]
    source = [
        "bank" if b else ("file" if g else "default") for b, g in zip(bank_ids, given, strict=True)
    ]
    effect = [
        table.loc[b, "effect"] if b else FLAGGED_RATINGS.get(r, "")
        for b, r in zip(bank_ids, used, strict=True)
    ]
    out = kept.assign(
        age_min=[a for a, _, _ in targets],
        age_max=[b for _, b, _ in targets],
        grade_codes=[c for _, _, c in targets],
        bank_id=bank_ids,
        bank_match=how,
        given_rating=given,
        evidence_rating=used,
        rating_from=source,
        evidence_rank=[int(ratings.loc[r, "rank"]) for r in used],
        tested=[bool(ratings.loc[r, "tested"]) for r in used],
        effect=effect,
        flagged=[e in FLAGGED_EFFECTS for e in effect],
        evidence_source=[
            s or (table.loc[b, "evidence_source"] if b else "")
            for s, b in zip(kept["evidence_source"].fillna(""), bank_ids, strict=True)
        ],
    )
    return out.loc[:, list(_KEPT_COLUMNS)]


_KEPT_COLUMNS = (
    "row",
    "area",
    "programme",
    "provider",
    "bank_id",
    "bank_match",
    "year",
    "prevention_level",
    "setting",
    "target_grades",
    "target_ages",
    "age_min",
    "age_max",
    "grade_codes",
    "targeted_factors",
    "participants_reached",
    "eligible_population",
    "sessions_planned",
    "sessions_delivered",
    "fidelity_score",
    "evidence_rating",
    "given_rating",
    "rating_from",
    "evidence_rank",
    "tested",
    "evidence_source",
    "effect",
    "flagged",
    "funding_end",
    "note",
)


def _inventory_warnings(kept: pd.DataFrame, checker: _Checker) -> pd.DataFrame:
    rows = []
    lang, bank = checker.lang, checker.bank
    for record in kept.to_dict("records"):
        base = {"row": record["row"], "area": record["area"], "programme": record["programme"]}
        where = {
            "file": checker.file,
            "row": record["row"],
            "programme": record["programme"],
            "area": checker.area_names.get(record["area"], record["area"]),
        }
        if record["flagged"]:
            rows.append(
                {
                    **base,
                    "kind": "harmful" if record["effect"] == "harmful" else "ineffective",
                    "message": _flag_message(record, bank, lang, where),
                }
            )
        if record["rating_from"] == "bank" and record["given_rating"] not in (
            "",
            record["evidence_rating"],
        ):
            rows.append(
                {
                    **base,
                    "kind": "rating_differs",
                    "message": t(
                        "inv_warn_rating_differs",
                        lang,
                        **where,
                        given=record["given_rating"],
                        bank_rating=record["evidence_rating"],
                        bank_name=bank.programme(record["bank_id"])["name"],
                    ),
                }
            )
        reached, eligible = record["participants_reached"], record["eligible_population"]
        if pd.notna(reached) and pd.notna(eligible) and reached > eligible:
            rows.append(
                {
                    **base,
                    "kind": "reach_over_100",
                    "message": t(
                        "inv_warn_reach_over",
                        lang,
                        **where,
                        reached=int(reached),
                        eligible=int(eligible),
                    ),
                }
            )
        planned, delivered = record["sessions_planned"], record["sessions_delivered"]
        if pd.notna(planned) and pd.notna(delivered) and delivered > planned:
            rows.append(
                {
                    **base,
                    "kind": "sessions_over_plan",
                    "message": t(
                        "inv_warn_sessions",
                        lang,
                        **where,
                        planned=int(planned),
                        delivered=int(delivered),
                    ),
                }
            )
    return pd.DataFrame(rows, columns=["row", "area", "programme", "kind", "message"])


def _flag_message(record: dict, bank: ProgrammeBank, lang: str, where: dict) -> str:
    if record["bank_id"]:
        entry = bank.programme(record["bank_id"])
        kind = "harmful" if entry["effect"] == "harmful" else "ineffective"
        text = t(
            f"inv_warn_{kind}",
            lang,
            **where,
            bank_name=entry["name"],
            evidence=entry[f"effect_evidence_{lang}"],
            source=entry["effect_source"],
        )
        note = t("inv_warn_prefix_note", lang) if record["bank_match"] == "prefix" else ""
        return f"{text} {note}".strip()
    return t(
        "inv_warn_rated_flagged",
        lang,
        **where,
        rating=bank.rating_label(record["evidence_rating"], lang),
    )


def _malformed_problems(info: dict, file: str, lang: str) -> list[dict]:
    """CSV rows with the wrong number of values (kept out of the frame by read_table)."""
    return [
        {"row": int(m["row"]), "column": "", "value": str(m.get("text", "")),
         "message": t("inv_malformed_row", lang, file=file, row=m["row"], values=m["values"],
                      expected=m["expected"])}
        for m in info.get("malformed_rows", [])
    ]  # fmt: skip


def _rejected(
    frame: pd.DataFrame, problems: list[dict], headers: dict[str, str], info: dict
) -> pd.DataFrame:
    reasons: dict[int, list[str]] = {}
    for problem in problems:
        reasons.setdefault(problem["row"], []).append(problem["message"])
    columns = ["row", *headers]
    rows = frame.loc[frame["row"].isin(reasons), columns].rename(columns=headers)
    raw = pd.DataFrame(
        [{"row": int(m["row"]), "raw_text": str(m.get("text", ""))}
         for m in info.get("malformed_rows", [])], columns=["row", "raw_text"],
    )  # fmt: skip
    rows = pd.concat([rows, raw], ignore_index=True) if not raw.empty else rows
    rows = rows.assign(reasons=[" ".join(reasons[r]) for r in rows["row"]])
    return rows.sort_values("row", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Enrolment, current figures, reach


def load_enrolment(
    path: str | Path | None = "", *, participation: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Enrolled pupils by wave, area and grade, from a file or the published participation.

    Parameters
    ----------
    path : str or Path, optional
        A CSV or Excel file with columns ``area, grade, enrolled`` and optionally ``wave`` and
        ``school`` (summed over schools), such as ``data/sample/enrolment.csv``. Empty: use
        ``participation``.
    participation : pandas.DataFrame, optional
        The published ``participation.parquet`` (rows ``school == sex == "all"`` per grade).

    Returns
    -------
    pandas.DataFrame
        Columns ``wave`` (NaN when the file has none), ``area, grade, enrolled``. Empty when
        neither source is given or the published table has no enrolment.

    Raises
    ------
    InputFileError
        The file cannot be read or lacks a column, or a count is not a number (row named).
    """
    columns = ["wave", "area", "grade", "enrolled"]
    if path is not None and str(path).strip():
        return _enrolment_file(_resolve(path), columns)
    if participation is None or "enrolled" not in participation.columns:
        return pd.DataFrame(columns=columns)
    rows = participation.loc[
        participation["school"].eq(TOTAL)
        & participation["sex"].eq(TOTAL)
        & participation["grade"].ne(TOTAL)
        & participation["area"].ne(CITY)
        & participation["enrolled"].notna()
    ]
    return rows.loc[:, columns].astype({"enrolled": float}).reset_index(drop=True)


def _enrolment_file(path: Path, columns: list[str]) -> pd.DataFrame:
    from .instrument import load_respondent_schema

    frame, _ = _read_table(path, sheet=None, lang="en")
    frame = frame.set_axis([c if c == "row" else _norm(c) for c in frame.columns], axis=1)
    missing = [c for c in ("area", "grade", "enrolled") if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"The enrolment file {path.name} lacks the column(s) {', '.join(missing)} (columns"
            f" found: {', '.join(frame.columns)})."
        )
    grades = load_respondent_schema().grade_aliases
    enrolled = pd.to_numeric(frame["enrolled"].str.replace(",", "."), errors="coerce")
    bad = enrolled.isna() | frame["grade"].str.casefold().map(grades).isna()
    if bad.any():
        first = frame.loc[bad].iloc[0]
        raise InputFileError(
            f"The enrolment file {path.name}, row {first['row']}: grade {first['grade']!r} /"
            f" enrolled {first['enrolled']!r} is not a known grade and a number."
        )
    wave = pd.to_numeric(frame["wave"], errors="coerce") if "wave" in frame else np.nan
    table = frame.assign(
        wave=wave, grade=frame["grade"].str.casefold().map(grades), enrolled=enrolled
    )
    return table.groupby(["wave", "area", "grade"], dropna=False, as_index=False)["enrolled"].sum()[
        columns
    ]


def current_programmes(
    inventory: Inventory | pd.DataFrame,
    *,
    wave: int | None = None,
    enrolment: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The latest figures of every programme, with the eligible population, reach and dose.

    Parameters
    ----------
    inventory : Inventory or pandas.DataFrame
        A loaded inventory (or its ``programmes`` frame).
    wave : int, optional
        Survey year: rows with a later ``year`` are left out; per area and programme the row
        of the latest year is kept (a row without a year counts as current).
    enrolment : pandas.DataFrame, optional
        From :func:`load_enrolment`. For a *universal* programme without
        ``eligible_population``, the eligible population is the enrolment of its target grades
        in the area (the latest enrolment wave up to the row's year, or ``wave``); it stays
        unknown when a target grade is not in the enrolment. Selective and indicated
        programmes use only the file's number: their target group is not a whole grade.

    Returns
    -------
    pandas.DataFrame
        The inventory's columns plus ``eligible`` (float), ``eligible_source`` (``file /
        enrolment / ""``), ``reach`` = participants_reached / eligible (NaN when unknown) and
        ``dose`` = sessions_delivered / sessions_planned.
    """
    frame = inventory.programmes if isinstance(inventory, Inventory) else inventory
    if wave is not None:
        frame = frame.loc[frame["year"].isna() | (frame["year"] <= wave)]
    keyed = frame.assign(_key=frame["programme"].map(_norm), _year=frame["year"].fillna(np.inf))
    latest = (
        keyed.sort_values(["_year", "row"], kind="stable")
        .drop_duplicates(["area", "_key"], keep="last")
        .sort_values("row")
        .drop(columns=["_key", "_year"])
        .reset_index(drop=True)
    )
    enrolled = _enrolment_index(enrolment)
    from_enrolment = [
        _enrolled(r, enrolled, wave) if r["prevention_level"] == "universal" else np.nan
        for r in latest.to_dict("records")
    ]
    given = latest["eligible_population"].astype(float)
    eligible = given.fillna(pd.Series(from_enrolment, index=latest.index, dtype=float))
    source = np.where(given.notna(), "file", np.where(eligible.notna(), "enrolment", ""))
    planned = latest["sessions_planned"].astype(float)
    return latest.assign(
        eligible=eligible,
        eligible_source=source,
        reach=latest["participants_reached"].astype(float) / eligible,
        dose=latest["sessions_delivered"].astype(float) / planned.where(planned > 0),
    )


def _enrolment_index(enrolment: pd.DataFrame | None) -> dict[str, dict[Any, dict[str, float]]]:
    """Enrolled pupils by area, wave (NaN: no wave given) and grade, summed once."""
    if enrolment is None or enrolment.empty:
        return {}
    sums = enrolment.groupby(["area", "wave", "grade"], dropna=False)["enrolled"].sum()
    index: dict[str, dict[Any, dict[str, float]]] = {}
    for (area, wave, grade), value in sums.items():
        index.setdefault(area, {}).setdefault(wave, {})[grade] = float(value)
    return index


def _enrolled(
    record: dict, index: dict[str, dict[Any, dict[str, float]]], wave: int | None
) -> float:
    """Enrolment of the record's target grades in its area, in the latest enrolment wave up to
    the record's year (else ``wave``; else the first wave); every row when no wave is given."""
    per_wave = index.get(record["area"])
    if not per_wave:
        return np.nan
    waves = sorted(w for w in per_wave if pd.notna(w))
    reference = record["year"] if pd.notna(record["year"]) else wave
    if waves:
        earlier = [w for w in waves if reference is None or w <= reference]
        by_grade = per_wave[earlier[-1] if earlier else waves[0]]
    else:
        by_grade = {}
        for grades in per_wave.values():
            for grade, value in grades.items():
                by_grade[grade] = by_grade.get(grade, 0.0) + value
    codes = list(record["grade_codes"])
    if not codes or any(c not in by_grade for c in codes):
        return np.nan
    return float(sum(by_grade[c] for c in codes))


# --------------------------------------------------------------------------------------------
# What the gap analysis of one area reads


@dataclass(frozen=True)
class GapInputs:
    """The inputs of an area's gap analysis, read by :func:`load_gap_inputs`."""

    bank: ProgrammeBank
    inventory: Inventory
    enrolment: pd.DataFrame
    programmes: pd.DataFrame
    priorities: pd.DataFrame


def load_gap_inputs(
    published: Any,
    *,
    area: str,
    wave: int,
    lang: str | None = None,
    inventory_path: str | Path,
    priorities_dir: str | Path | None = None,
    programme_bank_path: str | Path | Sequence[str | Path] | None = "",
    enrolment_file: str | Path | None = "",
) -> GapInputs:
    """Read the programme bank, the inventory, the enrolment and the area's priorities.

    One call for what notebook 03 and its charts (:mod:`ctc_helpers.charts`) both need: the bank
    extended with ``programme_bank_path``, the validated inventory (without warnings; notebook 03
    shows them), the enrolment, the programmes running in ``wave`` and the prioritised factors
    (:func:`prioritised_factors`, the previous wave taken from ``published``).

    Returns
    -------
    GapInputs
        ``bank``, ``inventory``, ``enrolment``, ``programmes``, ``priorities``.
    """
    from .display import check_wave

    bank = load_programme_bank(extra=programme_bank_path, instrument=published.measures)
    inventory = load_inventory(
        inventory_path,
        bank=bank,
        areas=published.areas,
        instrument=published.measures,
        lang=lang,
        warn=False,
    )
    enrolment = load_enrolment(enrolment_file, participation=published.participation)
    priorities = prioritised_factors(
        published,
        area=area,
        wave=wave,
        priorities_dir=priorities_dir,
        previous_wave=check_wave(published, wave),
    )
    programmes = current_programmes(inventory, wave=wave, enrolment=enrolment)
    return GapInputs(bank, inventory, enrolment, programmes, priorities)


# --------------------------------------------------------------------------------------------
# Priorities


def prioritised_factors(
    published: Any,
    *,
    area: str,
    wave: int,
    priorities_dir: str | Path | None = None,
    previous_wave: int | None = None,
) -> pd.DataFrame:
    """The prioritised factors of an area (or of every area for ``"all"``).

    The area team's recorded choice (``<priorities_dir>/<area>.yaml``) when there is one, else
    the suggestion of :func:`ctc_helpers.prioritize.rank_factors` on the published tables.

    Parameters
    ----------
    published : Published
        The published folder (:func:`ctc_helpers.display.load_published`): ``aggregates``,
        ``comparisons``, ``measures`` and ``areas`` are used.
    area : str
        Area id, or ``"all"``: every area of the run (one block of rows per area).
    wave : int
    priorities_dir : str or Path, optional
        Folder of the teams' files; empty or None = use the suggestions only.
    previous_wave : int, optional
        Passed to ``rank_factors``.

    Returns
    -------
    pandas.DataFrame
        Columns ``area, factor, kind, source`` (``team`` / ``suggested``), ``rank`` (order
        within kind), ``decided`` (the team's date as text, "" for suggestions) and
        ``choice_wave`` (the wave the team's choice builds on; NaN for suggestions). An area
        with no recorded choice and too few answers has no rows.
    """
    present = set(published.aggregates.loc[published.aggregates["wave"].eq(wave), "area"])
    areas = [a for a in published.areas["area_id"] if a in present] if area == CITY else [area]
    folder = _resolve(priorities_dir) if priorities_dir and str(priorities_dir).strip() else None
    frames = [_area_priorities(published, a, wave, folder, previous_wave) for a in areas]
    columns = ["area", "factor", "kind", "source", "rank", "decided", "choice_wave"]
    frames = [f for f in frames if not f.empty]
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


def _area_priorities(
    published: Any, area: str, wave: int, folder: Path | None, previous_wave: int | None
) -> pd.DataFrame:
    from .prioritize import load_team_choices, rank_factors

    choices = load_team_choices(folder, area, factors=published.measures) if folder else None
    if choices is not None:
        rows = [(f, "risk", i) for i, f in enumerate(choices.risk_factors, start=1)]
        rows += [(f, "protective", i) for i, f in enumerate(choices.protective_factors, start=1)]
        return pd.DataFrame(rows, columns=["factor", "kind", "rank"]).assign(
            area=area,
            source="team",
            decided=choices.decided.isoformat(),
            choice_wave=float(choices.wave),
        )
    ranked = rank_factors(
        published.aggregates,
        published.comparisons,
        area=area,
        wave=wave,
        previous_wave=previous_wave,
    )
    suggested = ranked.loc[ranked["suggested"], ["factor", "kind", "rank"]]
    return suggested.assign(area=area, source="suggested", decided="", choice_wave=np.nan)


# --------------------------------------------------------------------------------------------
# The gap matrix, the gaps, the suggestions


MATRIX_COLUMNS = (
    "area",
    "factor",
    "kind",
    "prioritised",
    "priority_source",
    "priority_rank",
    "programme",
    "provider",
    "bank_id",
    "prevention_level",
    "setting",
    "age_min",
    "age_max",
    "evidence_rating",
    "evidence_rank",
    "tested",
    "flagged",
    "effect",
    "participants_reached",
    "eligible",
    "reach",
    "dose",
    "fidelity_score",
    "funding_end",
)


def gap_matrix(
    programmes: pd.DataFrame,
    priorities: pd.DataFrame,
    *,
    area: str = CITY,
    instrument: Any = None,
) -> pd.DataFrame:
    """Factors x programmes of an area: which programme targets which factor, and how well.

    Parameters
    ----------
    programmes : pandas.DataFrame
        From :func:`current_programmes` (needs ``reach``, ``eligible`` and ``dose``).
    priorities : pandas.DataFrame
        From :func:`prioritised_factors`.
    area : str
        Area id, or ``"all"`` for every area.
    instrument : Instrument or pandas.DataFrame, optional
        Gives the kind of the factors that are not prioritised.

    Returns
    -------
    pandas.DataFrame
        One row per area x factor x programme (a prioritised factor without any programme has
        one row with ``programme`` NaN). Columns ``area, factor, kind, prioritised`` (bool),
        ``priority_source, priority_rank, programme, provider, bank_id, prevention_level,
        setting, age_min, age_max, evidence_rating, evidence_rank, tested, flagged, effect,
        participants_reached, eligible, reach`` (0..1), ``dose, fidelity_score, funding_end``.
        Prioritised factors first (risk, then protective, in the team's order).
    """
    kinds = _factor_kinds(instrument)
    exploded = programmes.explode("targeted_factors").rename(columns={"targeted_factors": "factor"})
    chosen = (
        priorities.loc[:, ["area", "factor", "source", "rank"]]
        .rename(columns={"source": "priority_source", "rank": "priority_rank"})
        .assign(prioritised=True)
    )
    matrix = exploded.merge(chosen, on=["area", "factor"], how="outer")
    if area != CITY:
        matrix = matrix.loc[matrix["area"].eq(area)]
    matrix = matrix.assign(
        prioritised=matrix["prioritised"].eq(True),
        kind=matrix["factor"].map(kinds).fillna(""),
        flagged=matrix["flagged"].eq(True),
        _kind=matrix["factor"].map(kinds).map({"risk": 0, "protective": 1}).fillna(2),
        _rank=-pd.to_numeric(matrix["evidence_rank"], errors="coerce").fillna(-9),
    )
    ordered = matrix.sort_values(
        [
            "area",
            "prioritised",
            "_kind",
            "priority_rank",
            "factor",
            "flagged",
            "_rank",
            "programme",
        ],
        ascending=[True, False, True, True, True, True, True, True],
        kind="stable",
    )
    return ordered.loc[:, list(MATRIX_COLUMNS)].reset_index(drop=True)


def coverage_summary(matrix: pd.DataFrame) -> pd.DataFrame:
    """One row per area x factor of a gap matrix: how the factor is covered.

    Returns
    -------
    pandas.DataFrame
        Columns ``area, factor, kind, prioritised, priority_source, n_programmes`` (programmes
        not flagged), ``n_tested``, ``n_flagged``, ``best_rating`` (highest-ranked rating of
        those programmes, "" when none), ``max_reach``, ``min_fidelity`` and ``coverage``:
        ``tested`` (at least one tested programme), ``untested`` (programmes, none tested) or
        ``none``.
    """
    rows = matrix.assign(
        _real=matrix["programme"].notna() & ~matrix["flagged"],
        _tested=matrix["programme"].notna() & ~matrix["flagged"] & matrix["tested"].eq(True),
        _flag=matrix["programme"].notna() & matrix["flagged"],
    )
    real = rows.loc[rows["_real"]]
    best = real.sort_values("evidence_rank", ascending=False).drop_duplicates(["area", "factor"])
    summary = rows.groupby(["area", "factor"], sort=False).agg(
        kind=("kind", "first"),
        prioritised=("prioritised", "any"),
        priority_source=("priority_source", "first"),
        n_programmes=("_real", "sum"),
        n_tested=("_tested", "sum"),
        n_flagged=("_flag", "sum"),
    )
    measures = real.groupby(["area", "factor"]).agg(
        max_reach=("reach", "max"), min_fidelity=("fidelity_score", "min")
    )
    summary = (
        summary.join(measures)
        .join(best.set_index(["area", "factor"])["evidence_rating"].rename("best_rating"))
        .reset_index()
    )
    coverage = np.select(
        [summary["n_tested"] > 0, summary["n_programmes"] > 0], ["tested", "untested"], "none"
    )
    return summary.assign(
        best_rating=summary["best_rating"].fillna(""),
        coverage=coverage,
        priority_source=summary["priority_source"].fillna(""),
    )


def find_gaps(
    programmes: pd.DataFrame,
    priorities: pd.DataFrame,
    *,
    bank: ProgrammeBank,
    wave: int,
    area: str = CITY,
    low_reach: float = 0.30,
    low_fidelity: float = 0.80,
    next_survey: dt.date | str | None = None,
    labels: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """The gaps of an area against its prioritised factors, each named and explained.

    Gap types (in this order; :func:`gap_types` gives the texts):

    - ``harmful_or_ineffective``: a flagged programme is in use (any factor);
    - ``no_programme``: a prioritised factor that no programme targets (flagged ones do not
      count);
    - ``only_untested``: a prioritised factor whose programmes are all untested;
    - ``low_reach``: a programme for a prioritised factor reaches less than ``low_reach`` of its
      eligible population (only where the eligible population is known);
    - ``low_fidelity``: its fidelity score is below ``low_fidelity``;
    - ``duplication``: two or more programmes for the same prioritised factor at the same
      prevention level with overlapping target ages;
    - ``funding_ending``: its funding ends before the next survey;
    - ``non_priority_effort``: a programme that targets none of the area's prioritised factors
      (only when the area has priorities).

    Parameters
    ----------
    programmes, priorities : pandas.DataFrame
        From :func:`current_programmes` and :func:`prioritised_factors`.
    bank : ProgrammeBank
        For the evidence behind a flag.
    wave : int
        Survey year; the next survey is taken to be in October two years later unless
        ``next_survey`` is given.
    area : str
        Area id or ``"all"``.
    low_reach, low_fidelity : float
        Thresholds, proportions 0..1 ([D] defaults: 30 % reach, 80 % fidelity).
    next_survey : date or "YYYY-MM-DD", optional
    labels : mapping, optional
        Factor id -> label for the explanations (default the ids).
    lang : {"sv", "en"}, optional

    Returns
    -------
    pandas.DataFrame
        Columns ``area, gap, factor`` (the factor, or for programme gaps the prioritised
        factors the programme targets, ";"-separated), ``programme`` ("" for factor gaps;
        programmes joined by " / " for duplication), ``value`` (reach, fidelity, number of
        programmes; NaN otherwise), ``threshold``, ``label``, ``explanation``.
    """
    lang = check_language(lang)
    cutoff = _cutoff(next_survey, wave)
    chosen = priorities if area == CITY else priorities.loc[priorities["area"].eq(area)]
    used = programmes if area == CITY else programmes.loc[programmes["area"].eq(area)]
    summary = coverage_summary(gap_matrix(used, chosen, area=area))
    targets = _programme_targets(used, chosen)
    found = [
        *_flagged_gaps(targets, bank, lang),
        *_factor_gaps(summary),
        *_reach_gaps(targets, low_reach),
        *_fidelity_gaps(targets, low_fidelity),
        *_duplication_gaps(targets, chosen),
        *_funding_gaps(targets, cutoff),
        *_non_priority_gaps(targets, chosen),
    ]
    order = list(dict.fromkeys([*chosen["area"], *used["area"]]))
    return _render_gaps(found, labels or {}, lang, order)


def _cutoff(next_survey: dt.date | str | None, wave: int) -> dt.date:
    if next_survey is None or (isinstance(next_survey, str) and not next_survey.strip()):
        return dt.date(int(wave) + 2, 10, 1)
    if isinstance(next_survey, dt.date):
        return next_survey
    try:
        return dt.date.fromisoformat(str(next_survey).strip())
    except ValueError:
        raise ValueError(
            f"next_survey must be a date YYYY-MM-DD (e.g. {int(wave) + 2}-10-01); got {next_survey!r}."
        ) from None


def _programme_targets(used: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Programmes with ``priority_factors`` (tuple of the area's prioritised factors targeted)."""
    sets = chosen.groupby("area")["factor"].agg(lambda s: tuple(s)).to_dict()
    priority = [
        tuple(f for f in sets.get(a, ()) if f in fs)
        for a, fs in zip(used["area"], used["targeted_factors"], strict=True)
    ]
    return used.assign(priority_factors=priority, has_priorities=used["area"].isin(sets))


def _gap(
    area: str,
    gap: str,
    factor: str,
    programme: str = "",
    value: float = np.nan,
    threshold: float = np.nan,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "area": area,
        "gap": gap,
        "factor": factor,
        "programme": programme,
        "value": value,
        "threshold": threshold,
        "fields": fields,
    }


def _flagged_gaps(targets: pd.DataFrame, bank: ProgrammeBank, lang: str) -> list[dict]:
    gaps = []
    for r in targets.loc[targets["flagged"]].to_dict("records"):
        entry = bank.programme(r["bank_id"]) if r["bank_id"] else None
        evidence = (
            entry[f"effect_evidence_{lang}"]
            if entry
            else bank.rating_label(r["evidence_rating"], lang)
        )
        source = entry["effect_source"] if entry else r["evidence_source"] or "-"
        gaps.append(
            _gap(
                r["area"],
                "harmful_or_ineffective",
                ";".join(r["targeted_factors"]),
                r["programme"],
                factors=r["targeted_factors"],
                evidence=evidence,
                source=source,
                effect=r["effect"],
            )
        )
    return gaps


def _factor_gaps(summary: pd.DataFrame) -> list[dict]:
    prioritised = summary.loc[summary["prioritised"]]
    none = prioritised.loc[prioritised["coverage"].eq("none")]
    untested = prioritised.loc[prioritised["coverage"].eq("untested")]
    return [
        *(
            _gap(
                r["area"],
                "no_programme",
                r["factor"],
                factors=(r["factor"],),
                flagged=int(r["n_flagged"]),
            )
            for r in none.to_dict("records")
        ),
        *(
            _gap(
                r["area"],
                "only_untested",
                r["factor"],
                value=float(r["n_programmes"]),
                factors=(r["factor"],),
            )
            for r in untested.to_dict("records")
        ),
    ]


def _serving(targets: pd.DataFrame) -> pd.DataFrame:
    return targets.loc[~targets["flagged"] & targets["priority_factors"].map(bool)]


def _reach_gaps(targets: pd.DataFrame, threshold: float) -> list[dict]:
    rows = _serving(targets)
    rows = rows.loc[rows["reach"].notna() & (rows["reach"] < threshold)]
    return [
        _gap(
            r["area"],
            "low_reach",
            ";".join(r["priority_factors"]),
            r["programme"],
            r["reach"],
            threshold,
            factors=r["priority_factors"],
            reached=r["participants_reached"],
            eligible=r["eligible"],
        )
        for r in rows.to_dict("records")
    ]


def _fidelity_gaps(targets: pd.DataFrame, threshold: float) -> list[dict]:
    rows = _serving(targets)
    rows = rows.loc[rows["fidelity_score"].notna() & (rows["fidelity_score"] < threshold)]
    return [
        _gap(
            r["area"],
            "low_fidelity",
            ";".join(r["priority_factors"]),
            r["programme"],
            r["fidelity_score"],
            threshold,
            factors=r["priority_factors"],
        )
        for r in rows.to_dict("records")
    ]


def _duplication_gaps(targets: pd.DataFrame, chosen: pd.DataFrame) -> list[dict]:
    rows = _serving(targets).explode("priority_factors")
    gaps = []
    for (area, factor, level), group in rows.groupby(
        ["area", "priority_factors", "prevention_level"]
    ):
        for cluster in _overlapping(group):
            names = " / ".join(cluster["programme"])
            gaps.append(
                _gap(
                    area,
                    "duplication",
                    factor,
                    names,
                    float(len(cluster)),
                    factors=(factor,),
                    level=level,
                )
            )
    return gaps


def _overlapping(group: pd.DataFrame) -> list[pd.DataFrame]:
    """Clusters of two or more programmes whose age ranges overlap (chained)."""
    ordered = group.sort_values(["age_min", "age_max", "programme"])
    clusters, current, reach_to = [], [], -1
    for record in ordered.to_dict("records"):
        if current and record["age_min"] > reach_to:
            clusters.append(current)
            current = []
        current.append(record)
        reach_to = max(reach_to, record["age_max"]) if len(current) > 1 else record["age_max"]
    clusters.append(current)
    return [pd.DataFrame(c) for c in clusters if len(c) > 1]


def _funding_gaps(targets: pd.DataFrame, cutoff: dt.date) -> list[dict]:
    rows = _serving(targets)
    ending = rows.loc[
        rows["funding_end"].map(lambda d: d is not None and pd.notna(d) and d < cutoff)
    ]
    return [
        _gap(
            r["area"],
            "funding_ending",
            ";".join(r["priority_factors"]),
            r["programme"],
            factors=r["priority_factors"],
            date=r["funding_end"].isoformat(),
            cutoff=cutoff.isoformat(),
        )
        for r in ending.to_dict("records")
    ]


def _non_priority_gaps(targets: pd.DataFrame, chosen: pd.DataFrame) -> list[dict]:
    rows = targets.loc[
        ~targets["flagged"] & targets["has_priorities"] & ~targets["priority_factors"].map(bool)
    ]
    return [
        _gap(
            r["area"],
            "non_priority_effort",
            ";".join(r["targeted_factors"]),
            r["programme"],
            factors=r["targeted_factors"],
        )
        for r in rows.to_dict("records")
    ]


def _render_gaps(
    found: list[dict], labels: Mapping[str, str], lang: str, areas: list[str]
) -> pd.DataFrame:
    from .display import format_pct

    columns = ["area", "gap", "factor", "programme", "value", "threshold", "label", "explanation"]
    levels = load_inventory_schema().choice_labels("prevention_levels", lang)
    rows = []
    for gap in found:
        fields = dict(gap["fields"])
        factors = ", ".join(labels.get(f, f) for f in fields.pop("factors", ()))
        if "level" in fields:
            fields["level"] = levels.get(fields["level"], fields["level"])
        for key in ("reached", "eligible"):
            if key in fields:
                fields[key] = "" if pd.isna(fields[key]) else f"{fields[key]:.0f}"
        text = t(
            f"res_gap_{gap['gap']}_text",
            lang,
            factors=factors,
            programme=gap["programme"],
            value=format_pct(gap["value"], lang),
            threshold=format_pct(gap["threshold"], lang),
            count="" if pd.isna(gap["value"]) else f"{gap['value']:.0f}",
            **fields,
        )
        rows.append(
            {
                **{k: gap[k] for k in columns[:6]},
                "label": t(f"res_gap_{gap['gap']}", lang),
                "explanation": text,
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    ordered = frame.assign(
        _area=frame["area"].map({a: i for i, a in enumerate(areas)}),
        _gap=frame["gap"].map({g: i for i, g in enumerate(GAP_TYPES)}),
    ).sort_values(["_area", "_gap", "factor", "programme"], kind="stable")
    return ordered.drop(columns=["_area", "_gap"]).reset_index(drop=True)


def gap_types(lang: str | None = None) -> pd.DataFrame:
    """The gap types with their name and description: columns ``gap, label, description``.

    >>> gap_types("en").loc[0, "label"]
    'Harmful or ineffective programme in use'
    """
    lang = check_language(lang)
    return pd.DataFrame(
        [
            {
                "gap": g,
                "label": t(f"res_gap_{g}", lang),
                "description": t(f"res_gap_{g}_about", lang),
            }
            for g in GAP_TYPES
        ]
    )


def gap_types_table(lang: str | None = None) -> Any:
    """Display copy of :func:`gap_types`: the name and meaning of each gap type."""
    from .display import display_table

    types = gap_types(lang)
    return display_table(
        pd.DataFrame({t("res_col_gap", lang): types["label"],
                      t("res_col_meaning", lang): types["description"]}),
        lang=lang,
    )  # fmt: skip


def suggest_programmes(
    bank: ProgrammeBank,
    *,
    factors: Iterable[str],
    ages: tuple[int, int] | None = None,
    settings: Iterable[str] | None = None,
    prevention_levels: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    tested_only: bool = True,
    min_overlap: int = 2,
    top: int | None = None,
) -> pd.DataFrame:
    """Candidate programmes from the bank for factors, ranked by evidence. Never a flagged one.

    Parameters
    ----------
    bank : ProgrammeBank
    factors : iterable of str
        Factor ids to fill.
    ages : (int, int), optional
        Age window the programme must overlap (default :func:`survey_ages`, åk 6 - gy 2).
    min_overlap : int
        Years of age the programme and the window must share (default 2, so that a programme
        for ages 3-12 is not offered for ages 12-17).
    settings, prevention_levels : iterable of str, optional
        Keep programmes with at least one of these settings / levels (default any).
    exclude : iterable of str
        Programme ids to leave out (e.g. those the area already runs).
    tested_only : bool
        Only programmes whose rating counts as tested (default True).
    top : int, optional
        At most this many per factor.

    Returns
    -------
    pandas.DataFrame
        One row per factor x candidate: ``factor, rank`` (1 = best within the factor),
        ``programme_id, name, settings, prevention_levels`` (";"-joined), ``age_min, age_max,
        evidence_rating, evidence_rank, n_factors`` (how many of the requested factors it
        targets), ``evidence_source, caution_sv, caution_en``. Ranked by evidence rank, then
        ``n_factors``, then name.

    Examples
    --------
    >>> bank = load_programme_bank()
    >>> suggest_programmes(bank, factors=["family_conflict"], top=2)["name"].tolist()
    ['Multisystemisk terapi (MST)', 'Funktionell familjeterapi (FFT)']
    """
    factors = list(dict.fromkeys(factors))
    low, high = ages if ages is not None else survey_ages()
    pool = bank.programmes
    keep = (
        ~pool["flagged"]
        & ~pool["effect"].isin(FLAGGED_EFFECTS)
        & ~pool["evidence_rating"].isin(FLAGGED_RATINGS)
        & (np.minimum(pool["age_max"], high) - np.maximum(pool["age_min"], low) + 1 >= min_overlap)
        & ~pool["programme_id"].isin(set(exclude))
    )
    if tested_only:
        keep &= pool["tested"]
    if settings is not None:
        wanted = set(settings)
        keep &= pool["settings"].map(lambda s: bool(wanted & set(s)))
    if prevention_levels is not None:
        wanted_levels = set(prevention_levels)
        keep &= pool["prevention_levels"].map(lambda s: bool(wanted_levels & set(s)))
    pool = pool.loc[keep]
    rows = [
        {**r, "factor": f, "n_factors": len(set(r["factors"]) & set(factors))}
        for f in factors
        for r in pool.loc[pool["factors"].map(lambda fs, f=f: f in fs)].to_dict("records")
    ]
    return _rank_suggestions(pd.DataFrame(rows), factors, top)


SUGGESTION_COLUMNS = (
    "factor",
    "rank",
    "programme_id",
    "name",
    "settings",
    "prevention_levels",
    "age_min",
    "age_max",
    "evidence_rating",
    "evidence_rank",
    "n_factors",
    "evidence_source",
    "caution_sv",
    "caution_en",
)


def _rank_suggestions(rows: pd.DataFrame, factors: list[str], top: int | None) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=list(SUGGESTION_COLUMNS))
    order = {f: i for i, f in enumerate(factors)}
    ranked = rows.assign(_f=rows["factor"].map(order)).sort_values(
        ["_f", "evidence_rank", "n_factors", "name"], ascending=[True, False, False, True]
    )
    ranked = ranked.assign(
        rank=ranked.groupby("factor").cumcount() + 1,
        settings=ranked["settings"].map(";".join),
        prevention_levels=ranked["prevention_levels"].map(";".join),
    )
    if top is not None:
        ranked = ranked.loc[ranked["rank"] <= top]
    return ranked.loc[:, list(SUGGESTION_COLUMNS)].reset_index(drop=True)


def suggest_for_gaps(
    gaps: pd.DataFrame,
    *,
    bank: ProgrammeBank,
    programmes: pd.DataFrame | None = None,
    ages: tuple[int, int] | None = None,
    top: int = 3,
) -> pd.DataFrame:
    """Bank candidates for the factors of the gaps ``no_programme``, ``only_untested`` and
    ``harmful_or_ineffective`` (replacements), leaving out programmes the area already runs.

    Returns
    -------
    pandas.DataFrame
        ``area, gap`` and the columns of :func:`suggest_programmes`, one block per gap factor.
    """
    wanted = gaps.loc[gaps["gap"].isin(("harmful_or_ineffective", "no_programme", "only_untested"))]
    frames = []
    for record in wanted.to_dict("records"):
        running = (
            set()
            if programmes is None
            else set(programmes.loc[programmes["area"].eq(record["area"]), "bank_id"]) - {""}
        )
        found = suggest_programmes(
            bank, factors=record["factor"].split(";"), ages=ages, exclude=running, top=top
        )
        frames.append(found.assign(area=record["area"], gap=record["gap"]))
    columns = ["area", "gap", *SUGGESTION_COLUMNS]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return (
        pd.concat(frames, ignore_index=True)
        .drop_duplicates(["area", "gap", "factor", "programme_id"])[columns]
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------------------------
# City view


def city_view(
    programmes: pd.DataFrame,
    priorities: pd.DataFrame,
    *,
    areas: Sequence[str] | None = None,
    aggregates: pd.DataFrame | None = None,
    wave: int | None = None,
    instrument: Any = None,
) -> pd.DataFrame:
    """Areas x factors: each area's priority next to its programme coverage.

    Shows whether programmes follow local risk (a universal programme where the factor is
    prioritised) or are spread evenly. Factors shown: those prioritised in at least one area or
    targeted by at least one programme.

    Parameters
    ----------
    programmes, priorities : pandas.DataFrame
        From :func:`current_programmes` and :func:`prioritised_factors` (``area="all"``).
    areas : sequence of str, optional
        Areas in display order (default those in the two frames, sorted).
    aggregates : pandas.DataFrame, optional
        The published aggregate table; with ``wave`` it adds ``pct`` (the area's share at risk
        or with protection; NaN when suppressed).
    instrument : Instrument or pandas.DataFrame, optional
        For the kind of each factor.

    Returns
    -------
    pandas.DataFrame
        One row per area x factor: the columns of :func:`coverage_summary` (a pair without any
        programme or priority has zero counts and ``coverage == "none"``) plus ``pct``.
    """
    summary = coverage_summary(gap_matrix(programmes, priorities, instrument=instrument))
    kinds = _factor_kinds(instrument)
    areas = list(areas) if areas is not None else sorted(set(summary["area"]))
    summary = summary.loc[summary["area"].isin(areas)]
    factors = sorted(set(summary["factor"]), key=lambda f: (kinds.get(f) != "risk", f))
    grid = pd.MultiIndex.from_product([areas, factors], names=["area", "factor"]).to_frame(
        index=False
    )
    view = grid.merge(summary, on=["area", "factor"], how="left")
    view = view.assign(
        kind=view["factor"].map(kinds).fillna(""),
        prioritised=view["prioritised"].eq(True),
        priority_source=view["priority_source"].fillna(""),
        n_programmes=view["n_programmes"].fillna(0).astype(int),
        n_tested=view["n_tested"].fillna(0).astype(int),
        n_flagged=view["n_flagged"].fillna(0).astype(int),
        best_rating=view["best_rating"].fillna(""),
        coverage=view["coverage"].fillna("none"),
    )
    return view.assign(pct=_area_pct(view, aggregates, wave))


def _area_pct(view: pd.DataFrame, aggregates: pd.DataFrame | None, wave: int | None) -> pd.Series:
    if aggregates is None or wave is None:
        return pd.Series(np.nan, index=view.index)
    rows = aggregates.loc[
        aggregates["wave"].eq(wave) & aggregates["grade"].eq(TOTAL) & aggregates["sex"].eq(TOTAL)
    ]
    pct = rows["pct"].where(~rows["suppressed"].astype(bool))
    lookup = dict(zip(zip(rows["area"], rows["measure"], strict=True), pct, strict=True))
    return pd.Series(
        [lookup.get(k, np.nan) for k in zip(view["area"], view["factor"], strict=True)],
        index=view.index,
        dtype=float,
    )


def report_areas(areas: pd.DataFrame, area: str) -> list[str]:
    """The areas a report covers: every area id of the list for ``"all"``, else ``[area]``.

    >>> report_areas(pd.DataFrame({"area_id": ["a", "b"]}), "all"), report_areas(None, "b")
    (['a', 'b'], ['b'])
    """
    return list(areas["area_id"]) if area == CITY else [area]


def city_view_figsize(view: pd.DataFrame) -> tuple[float, float]:
    """A figure size for :func:`plot_city_view`: one row per factor, one column per area.

    >>> city_view_figsize(pd.DataFrame({"area": ["a", "b"], "factor": ["f", "f"]}))
    (6.0, 3.1)
    """
    columns, rows = view["area"].nunique(), view["factor"].nunique()
    return round(4.6 + 0.7 * columns, 1), round(2.8 + 0.3 * rows, 1)


_COVERAGE_COLOURS = {"tested": "#0072B2", "untested": "#E69F00", "none": "#FFFFFF"}


def plot_city_view(
    view: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
    ax: Any = None,
) -> Any:
    """Grid of factors (rows) x areas (columns) from :func:`city_view`.

    Cell colour = coverage (blue: a tested programme, orange: only untested ones, white: none);
    the number = programmes (not flagged); a thick black frame = a prioritised factor, hatched
    when no programme covers it; "!" = a flagged programme in use. Reads without colour through
    the numbers, frames and hatching. :func:`city_view_figsize` gives a fitting figure size.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    labels, area_names = labels or {}, area_names or {}
    areas = list(dict.fromkeys(view["area"]))
    factors = list(dict.fromkeys(view["factor"]))
    for cell in view.to_dict("records"):
        _city_cell(ax, cell, x=areas.index(cell["area"]), y=factors.index(cell["factor"]))
    ax.set_xlim(0, len(areas))
    ax.set_ylim(len(factors), 0)
    ax.set_aspect("equal")
    ax.xaxis.tick_top()
    ax.set_xticks(
        [i + 0.5 for i in range(len(areas))],
        [area_names.get(a, a) for a in areas],
        rotation=45,
        ha="left",
        fontsize="small",
    )
    ax.set_yticks(
        [i + 0.5 for i in range(len(factors))],
        [labels.get(f, f) for f in factors],
        fontsize="small",
    )
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.legend(
        handles=_city_legend(lang),
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
        fontsize="small",
        title=t("res_city_legend_title", lang),
        title_fontsize="small",
    )
    return ax


def _city_cell(ax: Any, cell: dict, *, x: int, y: int) -> None:
    from matplotlib.patches import Rectangle

    prioritised = bool(cell["prioritised"])
    gap = prioritised and cell["coverage"] == "none"
    ax.add_patch(
        Rectangle(
            (x + 0.04, y + 0.04),
            0.92,
            0.92,
            facecolor=_COVERAGE_COLOURS[cell["coverage"]],
            edgecolor="black" if prioritised else "#BBBBBB",
            linewidth=2.2 if prioritised else 0.6,
            hatch="///" if gap else None,
            zorder=2 if prioritised else 1,
        )
    )
    count = str(cell["n_programmes"]) if cell["n_programmes"] else ""
    text = count + ("!" if cell["n_flagged"] else "")
    colour = "white" if cell["coverage"] == "tested" else "black"
    ax.text(
        x + 0.5, y + 0.5, text, ha="center", va="center", fontsize="small", color=colour, zorder=3
    )


def _city_legend(lang: str) -> list:
    from matplotlib.patches import Patch

    return [
        Patch(facecolor=_COVERAGE_COLOURS["tested"], label=t("res_city_legend_tested", lang)),
        Patch(facecolor=_COVERAGE_COLOURS["untested"], label=t("res_city_legend_untested", lang)),
        Patch(facecolor="white", edgecolor="#BBBBBB", label=t("res_city_legend_none", lang)),
        Patch(
            facecolor="white",
            edgecolor="black",
            linewidth=2.2,
            label=t("res_city_legend_priority", lang),
        ),
        Patch(
            facecolor="white", edgecolor="black", hatch="///", label=t("res_city_legend_gap", lang)
        ),
        Patch(facecolor="white", edgecolor="white", label=t("res_city_legend_flagged", lang)),
    ]


def plot_reach(
    matrix: pd.DataFrame,
    *,
    low_reach: float = 0.30,
    labels: Mapping[str, str] | None = None,
    lang: str | None = None,
    ax: Any = None,
) -> Any:
    """Reach of each programme for the prioritised factors of one area (a gap matrix).

    One bar per prioritised factor x programme (flagged programmes left out), 0-100 % of the
    eligible population, with the ``low_reach`` threshold as a dashed line. A factor without a
    programme, or a programme whose eligible population is unknown, gets a text instead of a bar.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from .plots import PALETTE

    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    labels = labels or {}
    rows = matrix.loc[matrix["prioritised"] & ~matrix["flagged"]].reset_index(drop=True)
    if rows["area"].nunique() > 1:
        ax.text(
            0.5,
            0.5,
            t("res_plot_city_only", lang),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return ax
    if rows.empty:
        ax.text(
            0.5,
            0.5,
            t("res_plot_no_priorities", lang),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return ax
    names = [
        f"{labels.get(f, f)} – {p}" if pd.notna(p) else labels.get(f, f)
        for f, p in zip(rows["factor"], rows["programme"], strict=True)
    ]
    values = 100 * rows["reach"].astype(float)
    ax.barh(range(len(rows)), values.fillna(0), color=PALETTE["area"], height=0.6, zorder=2)
    for y, (programme, value) in enumerate(zip(rows["programme"], values, strict=True)):
        if pd.isna(value):
            key = "res_plot_no_programme" if pd.isna(programme) else "res_plot_reach_unknown"
            ax.text(
                1,
                y,
                t(key, lang),
                va="center",
                fontsize="small",
                style="italic",
                color=PALETTE["gap"],
            )
    ax.axvline(
        100 * low_reach,
        color=PALETTE["suggested"],
        linestyle="--",
        linewidth=1.2,
        label=t("res_plot_reach_threshold", lang, value=f"{100 * low_reach:.0f}"),
    )
    ax.set_yticks(range(len(rows)), names, fontsize="small")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel(t("res_plot_reach_axis", lang))
    ax.legend(loc="lower right", frameon=False, fontsize="small")
    return ax


# --------------------------------------------------------------------------------------------
# Display edge (notebook 03): texts and tables in Swedish or English


def inventory_summary(inventory: Inventory, lang: str | None = None) -> Any:
    """A sentence on the rows read, kept, rejected and skipped (Markdown)."""
    from IPython.display import Markdown

    return Markdown(
        t(
            "inv_summary",
            lang,
            file=inventory.path.name,
            read=inventory.n_read,
            kept=inventory.n_kept,
            rejected=inventory.n_rejected,
            blank=inventory.n_blank,
        )
    )


def problems_table(inventory: Inventory, lang: str | None = None) -> Any:
    """The rejected rows' problems as a table, or None when there are none."""
    from .display import display_table

    if inventory.problems.empty:
        return None
    lang = check_language(lang)
    frame = inventory.problems.rename(
        columns={c: t(f"res_col_{c}", lang) for c in ("row", "column", "value", "message")}
    )
    return display_table(frame, lang=lang)


def warning_notes(inventory: Inventory, lang: str | None = None, *, area: str = CITY) -> Any:
    """The inventory's warnings for ``area`` (all for ``"all"``) as a framed list, flagged
    programmes first; None when there are none."""
    from IPython.display import HTML

    notes = inventory.warnings
    notes = notes if area == CITY else notes.loc[notes["area"].eq(area)]
    if notes.empty:
        return None
    order = notes["kind"].isin(FLAGGED_KINDS)
    notes = pd.concat([notes.loc[order], notes.loc[~order]])
    items = "".join(f"<li>{html.escape(m)}</li>" for m in notes["message"])
    title = html.escape(t("inv_warnings_title", lang))
    return HTML(
        '<div class="ctc-warning" style="border:2px solid #D55E00;padding:0.4em 1em;'
        f'background:#FFF4EC"><strong>{title}</strong><ul>{items}</ul></div>'
    )


def priorities_note(
    priorities: pd.DataFrame,
    *,
    area: str,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Any:
    """Where the priorities come from, per area (Markdown)."""
    from IPython.display import Markdown

    lang = check_language(lang)
    labels, area_names = labels or {}, area_names or {}
    if priorities.empty:
        return Markdown(t("res_prio_none", lang))
    lines = []
    for name, group in priorities.groupby("area", sort=False):
        factors = ", ".join(labels.get(f, f) for f in group["factor"])
        first = group.iloc[0]
        key = "res_prio_from_team" if first["source"] == "team" else "res_prio_from_suggestion"
        wave = "" if pd.isna(first["choice_wave"]) else int(first["choice_wave"])
        lines.append(
            t(
                key,
                lang,
                area=area_names.get(name, name),
                factors=factors,
                decided=first["decided"],
                wave=wave,
            )
        )
    prefix = "- " if area == CITY else ""
    return Markdown("\n".join(prefix + line for line in lines))


def _ratings(bank: ProgrammeBank | None, lang: str) -> dict[str, str]:
    if bank is None:
        return {}
    return dict(zip(bank.ratings["evidence_rating"], bank.ratings[f"label_{lang}"], strict=True))


def matrix_table(
    matrix: pd.DataFrame,
    *,
    bank: ProgrammeBank | None = None,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Any:
    """Display copy of a gap matrix: (area,) factor, priority, programme, level, evidence,
    reach, fidelity, funding end. The area column appears when the matrix holds several areas;
    an empty cell means unknown."""
    from .display import display_table, format_pct

    lang = check_language(lang)
    labels = labels or {}
    schema = load_inventory_schema()
    levels = schema.choice_labels("prevention_levels", lang)
    ratings = _ratings(bank, lang)
    yes, no = t("res_yes", lang), t("res_no", lang)
    shown = pd.DataFrame(
        {
            t("res_col_factor", lang): matrix["factor"].map(lambda f: labels.get(f, f)),
            t("res_col_prioritised", lang): matrix["prioritised"].map({True: yes, False: no}),
            t("res_col_programme", lang): matrix["programme"].fillna(
                t("res_no_programme_cell", lang)
            ),
            t("res_col_level", lang): matrix["prevention_level"].map(levels).fillna(""),
            t("res_col_evidence", lang): matrix["evidence_rating"]
            .map(lambda r: ratings.get(r, r))
            .fillna(""),
            t("res_col_reach", lang): matrix["reach"].map(lambda v: format_pct(v, lang)),
            t("res_col_fidelity", lang): matrix["fidelity_score"].map(
                lambda v: format_pct(v, lang)
            ),
            t("res_col_funding_end", lang): matrix["funding_end"].map(
                lambda d: d.isoformat() if isinstance(d, dt.date) else ""
            ),
        }
    )
    column = t("res_col_programme", lang)
    shown = shown.assign(
        **{column: np.where(matrix["flagged"], "⚠ " + shown[column], shown[column])}
    )
    if matrix["area"].nunique() > 1:
        names = area_names or {}
        shown.insert(
            0, t("res_col_area", lang), matrix["area"].map(lambda a: names.get(a, a)).to_numpy()
        )
    return display_table(shown, lang=lang, notes=(t("res_matrix_note", lang),))


def gap_table(
    gaps: pd.DataFrame,
    *,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Any:
    """Display copy of :func:`find_gaps`: gap, (area,) explanation."""
    from .display import display_table

    lang = check_language(lang)
    if gaps.empty:
        return display_table(
            pd.DataFrame({t("res_col_gap", lang): [t("res_no_gaps", lang)]}), lang=lang
        )
    columns = {
        t("res_col_gap", lang): gaps["label"],
        t("res_col_explanation", lang): gaps["explanation"],
    }
    if gaps["area"].nunique() > 1:
        names = area_names or {}
        columns = {t("res_col_area", lang): gaps["area"].map(lambda a: names.get(a, a)), **columns}
    return display_table(pd.DataFrame(columns), lang=lang)


def suggestion_table(
    suggestions: pd.DataFrame,
    *,
    bank: ProgrammeBank | None = None,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Any:
    """Display copy of :func:`suggest_for_gaps` / :func:`suggest_programmes`."""
    from .display import display_table

    lang = check_language(lang)
    labels, names = labels or {}, area_names or {}
    if suggestions.empty:
        return display_table(
            pd.DataFrame({t("res_col_programme", lang): [t("res_no_suggestions", lang)]}), lang=lang
        )
    ratings = _ratings(bank, lang)
    schema = load_inventory_schema()
    settings = schema.choice_labels("settings", lang)
    columns = {
        t("res_col_factor", lang): suggestions["factor"].map(lambda f: labels.get(f, f)),
        t("res_col_programme", lang): suggestions["name"],
        t("res_col_evidence", lang): suggestions["evidence_rating"].map(
            lambda r: ratings.get(r, r)
        ),
        t("res_col_setting", lang): suggestions["settings"].map(
            lambda s: ", ".join(settings.get(x, x) for x in s.split(";"))
        ),
        t("res_col_ages", lang): [
            f"{a}–{b}" for a, b in zip(suggestions["age_min"], suggestions["age_max"], strict=True)
        ],
        t("res_col_caution", lang): suggestions[f"caution_{lang}"].fillna(""),
    }
    if "area" in suggestions.columns and suggestions["area"].nunique() > 1:
        columns = {
            t("res_col_area", lang): suggestions["area"].map(lambda a: names.get(a, a)),
            **columns,
        }
    return display_table(pd.DataFrame(columns), lang=lang, notes=(t("res_suggestion_note", lang),))


def gap_summary(
    gaps: pd.DataFrame, priorities: pd.DataFrame, inventory: Inventory
) -> dict[str, Any]:
    """The small results record of notebook 03 (counts by gap type, priorities, warnings)."""
    return {
        "priorities": priorities.loc[:, ["area", "factor", "kind", "source"]].to_dict("records"),
        "gaps": {g: int(gaps["gap"].eq(g).sum()) for g in GAP_TYPES},
        "gap_rows": gaps.loc[:, ["area", "gap", "factor", "programme"]].to_dict("records"),
        "inventory": {
            "file": inventory.path.name,
            "read": inventory.n_read,
            "kept": inventory.n_kept,
            "rejected": inventory.n_rejected,
        },
        "flagged_in_use": inventory.warnings.loc[
            inventory.warnings["kind"].isin(FLAGGED_KINDS), "programme"
        ].tolist(),
    }
