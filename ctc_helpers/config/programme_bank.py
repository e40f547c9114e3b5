"""The programme bank (``data_schema/programme_bank.yaml``): tested programmes with their
evidence ratings, the factors and outcomes they target, and programmes flagged because
evaluations found no effect or harm. :func:`load_programme_bank` reads and validates it (plus
any local additions) and :class:`ProgrammeBank` finds a programme by id, name or alias.

Part of the resource and gap analysis; the overview is in :mod:`ctc_helpers.phases.gaps.inputs`.

>>> bank = load_programme_bank()
>>> bank.match("Studiebesök på anstalt")
'scared_straight'
>>> bank.programme("scared_straight")["flagged"]
True
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.config.inventory import (
    _ID,
    DEFAULT_BANK,
    EFFECTS,
    FLAGGED_EFFECTS,
    FLAGGED_RATINGS,
    TAGS,
    InventorySchema,
    _behaviour_ids,
    _factor_kinds,
    _norm,
    _read_yaml,
    _texts,
    load_inventory_schema,
)
from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import check_language
from ctc_helpers.paths import resolve_path

__all__ = [
    "ProgrammeBank",
    "load_programme_bank",
]


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
    return [resolve_path(p) for p in items if str(p).strip()]


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
