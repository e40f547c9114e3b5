"""The programme bank (``data_schema/programme_bank.yaml``): tested programmes with their
evidence ratings, the factors and outcomes they target, and programmes flagged because
evaluations found no effect or harm. :func:`load_programme_bank` reads and validates it (plus
any local additions) and :class:`ProgrammeBank` finds a programme by id, name or alias.

The files are described by the pydantic models :class:`BankFile` (the bank) and
:class:`ProgrammeFile` (a user's own programmes); every problem of a file is reported at once,
naming the file, the programme id, the key and the value. Checks across files (an id or a name
used twice) follow once every file is valid.

Part of the resource and gap analysis; the overview is in :mod:`ctc_helpers.phases.gaps.inputs`.

>>> bank = load_programme_bank()
>>> bank.match("Studiebesök på anstalt")
'scared_straight'
>>> bank.programme("scared_straight")["flagged"]
True
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainValidator,
    ValidationInfo,
    model_validator,
)

from ctc_helpers.config.fields import FileModel, Text, Texts, choice, id_text, nonempty_list, whole
from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.inventory import (
    DEFAULT_BANK,
    EFFECTS,
    FLAGGED_EFFECTS,
    FLAGGED_RATINGS,
    ID_PATTERN,
    TAGS,
    InventorySchema,
    behaviour_ids,
    factor_kinds,
    load_inventory_schema,
    normalise,
)
from ctc_helpers.config.messages import ConfigFileError, Problem, check, key_path, raise_problems
from ctc_helpers.config.messages import problem as config_problem
from ctc_helpers.i18n import check_language
from ctc_helpers.paths import resolve_path

__all__ = [
    "ProgrammeBank",
    "BankFile",
    "ProgrammeFile",
    "load_programme_bank",
]


# --------------------------------------------------------------------------------------------
# The files as models (the validation context holds the vocabularies entries are checked against)


@dataclass
class _Vocabulary:
    factors: dict[str, str]  # factor id -> kind (default instrument and the one given)
    behaviours: set[str]
    schema: InventorySchema
    user_file: bool = False  # a user's programme file (override: true allowed)
    ratings: dict[str, tuple[int, bool]] | None = None  # rating -> (rank, tested), once known
    groups: set[str] | None = None  # outcome groups, once known


def _known_id(value: Any, known: Any, what: str) -> str:
    if not isinstance(value, str) or value not in known:
        close = difflib.get_close_matches(str(value), sorted(known), n=1)
        if close:
            raise config_problem(f"cfg_bank_unknown_{what}_close", close=close[0])
        raise config_problem(f"cfg_bank_unknown_{what}")
    return value


def _factor(value: Any, info: ValidationInfo) -> str:
    return _known_id(value, info.context.factors, "factor")


def _behaviour(value: Any, info: ValidationInfo) -> str:
    return _known_id(value, info.context.behaviours, "behaviour")


FactorId = Annotated[str, PlainValidator(_factor)]
BehaviourId = Annotated[str, PlainValidator(_behaviour)]


class Rating(FileModel):
    id: Text
    rank: whole()
    tested: bool
    label: Texts
    description: Texts


def _ratings_complete(ratings: list[Rating], info: ValidationInfo) -> list[Rating]:
    ids = [r.id for r in ratings]
    needed = sorted({"not_rated", *FLAGGED_RATINGS} - set(ids))
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if needed or twice:
        raise config_problem("cfg_bank_ratings", needed=needed or "-", twice=twice or "-")
    info.context.ratings = {r.id: (r.rank, r.tested) for r in ratings}
    return ratings


class OutcomeGroup(FileModel):
    id: Text
    behaviours: Annotated[list[BehaviourId], BeforeValidator(nonempty_list)]
    label: Texts


def _note_groups(raw: Any, info: ValidationInfo) -> Any:
    if isinstance(raw, list):
        ids = [g.get("id") for g in raw if isinstance(g, dict)]
        info.context.groups = {i for i in ids if isinstance(i, str)}
    return nonempty_list(raw)


def _group(value: Any, info: ValidationInfo) -> str:
    groups = info.context.groups
    if not isinstance(value, str) or (groups is not None and value not in groups):
        raise config_problem("cfg_choice", allowed=sorted(groups or ()))
    return value


class FactorOutcome(FileModel):
    outcomes: Annotated[
        list[Annotated[str, PlainValidator(_group)]], BeforeValidator(nonempty_list)
    ]
    tag: choice(TAGS)


def _rating(value: Any, info: ValidationInfo) -> str:
    ratings = info.context.ratings
    if not isinstance(value, str) or (ratings is not None and value not in ratings):
        raise config_problem("cfg_choice", allowed=tuple(ratings or ()))
    return value


def _vocabulary(name: str):
    def check(value: Any, info: ValidationInfo) -> str:
        allowed = info.context.schema.choice_ids(name)
        if value not in allowed:
            raise config_problem("cfg_choice", allowed=allowed)
        return value

    return Annotated[str, PlainValidator(check)]


def _one_or_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else nonempty_list(value)


def _ages(value: Any) -> tuple[int, int]:
    whole_numbers = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    )
    if not whole_numbers or len(value) != 2 or not 0 <= value[0] <= value[1] <= 30:
        raise config_problem("cfg_bank_ages")
    return int(value[0]), int(value[1])


def _names(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise config_problem("cfg_bank_aliases")
    return [v.strip() for v in value]


class Tags(FileModel):
    rating: choice(TAGS)
    factors: choice(TAGS)


class ProgrammeEntry(FileModel):
    """One programme; ``override`` only in a user's own file."""

    id: id_text(ID_PATTERN, key="cfg_bank_id")
    name: Text
    aliases: Annotated[list[str], BeforeValidator(_names)] = []
    setting: Annotated[list[_vocabulary("settings")], BeforeValidator(_one_or_list)]
    prevention_level: Annotated[
        list[_vocabulary("prevention_levels")], BeforeValidator(_one_or_list)
    ]
    ages: Annotated[tuple[int, int], PlainValidator(_ages)]
    factors: list[FactorId]
    behaviours: list[BehaviourId] = []
    evidence_rating: Annotated[str, PlainValidator(_rating)]
    evidence_source: Text
    tags: Tags
    effect: choice(EFFECTS) = "positive"
    effect_evidence: Texts | None = None
    effect_source: Text | None = None
    caution: Texts | None = None
    description: Texts
    override: bool = False

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> ProgrammeEntry:
        if self.override and not info.context.user_file:
            raise config_problem("cfg_bank_override_in_bank")
        expected = FLAGGED_RATINGS.get(self.evidence_rating, "positive")
        if self.effect != expected:
            raise config_problem("cfg_bank_effect", effect=self.effect, rating=self.evidence_rating)
        if not self.factors and not self.behaviours:
            raise config_problem("cfg_bank_no_target")
        if self.effect in FLAGGED_EFFECTS:
            missing = [k for k in ("effect_evidence", "effect_source") if getattr(self, k) is None]
            if missing:
                raise config_problem("cfg_bank_flagged", key=missing[0])
        return self


Programmes = Annotated[list[ProgrammeEntry], BeforeValidator(nonempty_list)]


class BankFile(FileModel):
    """The programme bank (checked in this order: ratings and groups before the programmes)."""

    version: str | int | float = ""
    evidence_ratings: Annotated[
        list[Rating], BeforeValidator(nonempty_list), AfterValidator(_ratings_complete)
    ]
    outcome_groups: Annotated[list[OutcomeGroup], BeforeValidator(_note_groups)]
    factor_outcomes: dict[FactorId, FactorOutcome]
    programmes: Programmes


class ProgrammeFile(FileModel):
    """A user's own programmes, added to the bank (``override: true`` replaces an entry)."""

    version: str | int | float = ""
    programmes: Programmes


# --------------------------------------------------------------------------------------------
# The bank


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
        key = normalise(name)
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
    ConfigFileError
        A file cannot be read or entries are not valid; the message lists every problem with the
        file, the programme id, the key and the value.
    """
    path = Path(path) if path is not None else DEFAULT_BANK
    raw, _ = read_yaml_file(path, what="programme_bank")
    vocab = _Vocabulary(
        factors={**factor_kinds(None), **factor_kinds(instrument)},
        behaviours=behaviour_ids(None) | behaviour_ids(instrument),
        schema=load_inventory_schema(),
    )
    bank, problems = check(BankFile, raw, context=vocab)
    raise_problems(path.name, problems or _twice(bank.programmes))
    entries = [_row(p, path, vocab) for p in bank.programmes]
    files = [path]
    for extra_path in _extra_paths(extra):
        extra_raw, _ = read_yaml_file(extra_path, what="programme_file")
        own = replace(vocab, user_file=True)
        mine, problems = check(ProgrammeFile, extra_raw, context=own)
        raise_problems(extra_path.name, problems or _twice(mine.programmes))
        rows = [_row(p, extra_path, vocab) for p in mine.programmes]
        entries = _merge_entries(entries, rows, extra_raw)
        files.append(extra_path)
    return ProgrammeBank(
        programmes=pd.DataFrame(entries),
        ratings=_ratings_frame(bank.evidence_ratings),
        outcome_groups=pd.DataFrame(
            [
                {
                    "group": g.id,
                    "behaviours": tuple(g.behaviours),
                    "label_sv": g.label.sv,
                    "label_en": g.label.en,
                }  # fmt: skip
                for g in bank.outcome_groups
            ]
        ),
        factor_outcomes=pd.DataFrame(
            [
                {"factor": factor, "group": group, "tag": entry.tag}
                for factor, entry in bank.factor_outcomes.items()
                for group in entry.outcomes
            ],
            columns=["factor", "group", "tag"],
        ),
        names=_name_index(entries),
        version=str(bank.version),
        files=tuple(files),
    )


def _extra_paths(extra: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if extra is None or (isinstance(extra, str) and not extra.strip()):
        return []
    items = [extra] if isinstance(extra, str | Path) else list(extra)
    return [resolve_path(p) for p in items if str(p).strip()]


def _twice(programmes: list[ProgrammeEntry]) -> list[Problem]:
    ids = [p.id for p in programmes]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    return [Problem("programmes", "cfg_id_twice", {"id": twice[0]})] if twice else []


def _ratings_frame(ratings: list[Rating]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "evidence_rating": r.id,
                "rank": r.rank,
                "tested": r.tested,
                "label_sv": r.label.sv,
                "label_en": r.label.en,
                "description_sv": r.description.sv,
                "description_en": r.description.en,
            }
            for r in ratings
        ]
    )


def _row(entry: ProgrammeEntry, path: Path, vocab: _Vocabulary) -> dict[str, Any]:
    rank, tested = vocab.ratings[entry.evidence_rating]
    evidence = entry.effect_evidence
    caution = entry.caution
    return {
        "programme_id": entry.id,
        "name": entry.name,
        "aliases": tuple(entry.aliases),
        "settings": tuple(entry.setting),
        "prevention_levels": tuple(entry.prevention_level),
        "age_min": entry.ages[0],
        "age_max": entry.ages[1],
        "factors": tuple(dict.fromkeys(entry.factors)),
        "behaviours": tuple(dict.fromkeys(entry.behaviours)),
        "evidence_rating": entry.evidence_rating,
        "evidence_rank": int(rank),
        "tested": bool(tested),
        "evidence_source": entry.evidence_source,
        "rating_tag": entry.tags.rating,
        "factors_tag": entry.tags.factors,
        "effect": entry.effect,
        "flagged": entry.effect in FLAGGED_EFFECTS,
        "effect_evidence_sv": evidence.sv if evidence else "",
        "effect_evidence_en": evidence.en if evidence else "",
        "effect_source": entry.effect_source or "",
        "caution_sv": caution.sv if caution else "",
        "caution_en": caution.en if caution else "",
        "description_sv": entry.description.sv,
        "description_en": entry.description.en,
        "override": entry.override,
        "source_file": path.name,
    }


def _merge_entries(base: list[dict], extra: list[dict], raw: Any) -> list[dict]:
    merged = {e["programme_id"]: e for e in base}
    problems = []
    for number, entry in enumerate(extra):
        old = merged.get(entry["programme_id"])
        if old is not None and not entry["override"]:
            path = key_path(("programmes", number, "id"), raw)
            problems.append(
                Problem(
                    path, "cfg_bank_id_in_bank", {"bank": old["source_file"]}, entry["programme_id"]
                )
            )
        merged[entry["programme_id"]] = entry
    raise_problems(extra[0]["source_file"] if extra else "", problems)
    return list(merged.values())


def _name_index(entries: list[dict]) -> dict[str, str]:
    index: dict[str, str] = {}
    for entry in entries:
        for name in (entry["programme_id"], entry["name"], *entry["aliases"]):
            key, owner = normalise(name), entry["programme_id"]
            if index.get(key, owner) != owner:
                raise ConfigFileError(
                    entry["source_file"],
                    [
                        Problem(
                            "",
                            "cfg_bank_name_taken",
                            {"name": name, "owner": owner, "other": index[key]},
                        )
                    ],  # fmt: skip
                )
            index[key] = owner
    return index
