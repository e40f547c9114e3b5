"""The synthetic demo city *Exempelstad*: respondents generated from a documented latent model.

Everything the generator knows about the city (areas, schools, sizes, the latent model, planted
effects and trends, invalid questionnaires, missing answers) is read from a declarative model file,
``data/sample/synth_model.yaml``; everything it knows about the questionnaire is read from the
instrument. No item, factor, behaviour, grade or area id is written in this module.

The latent model, per respondent *i* in area *a*, grade *g* (year of schooling *y*), wave *w*:

* general risk and protection ``(R, P) ~ N((r_a, p_a), [[1, rho], [rho, 1]])`` (``rho < 0``);
* factor *f* (kind risk: ``L = R``, protective: ``L = P``)::

    eta_f = base_f + slope_f (y - y_mean) + sex_f + lambda_f L + sqrt(1 - lambda_f^2) u
            + planted(a, f, w) + trend(a, f, w)

  each item of *f* is ``eta_f + noise`` cut at the normal quantiles of its scored options (a
  reverse-scored item runs the other way);
* behaviour items follow a cumulative logit
  ``P(code >= c) = logistic(a_b(g) + b_R R + b_P P + sex_b + links + trend - tau_c)`` whose
  intercepts ``a_b(g)`` reproduce the configured prevalence by grade; ``links`` are the planted
  factor -> behaviour links (:mod:`ctc_helpers.demo.links`); a 30-day item shares the latent and the
  noise of its lifetime item (the instrument's ``pair_greater`` pairs) so that 30-day use never
  exceeds lifetime use in a valid questionnaire;
* in areas with a ``ctc_start`` year, every wave after it adds the ``ctc_effects`` shift to the
  measure's ``eta`` (factors) or logit (behaviours): the effect the evaluation should find. The
  same answers are also made without it (same draws), so the planted truth records the realised
  effect in percentage points: the share flagged with the effect minus without, same pupils;
* then item non-response, break-offs and invalid questionnaires (one rule each) are added.

Examples
--------
>>> model = load_model()
>>> model["waves"], model["city"]["name"]
([2021, 2023, 2025], 'Exempelstad')
"""

from __future__ import annotations

import hashlib
import io
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.special import expit, logit, ndtri

from ctc_helpers.config.instrument import (
    Instrument,
    RespondentSchema,
    load_instrument,
    load_respondent_schema,
)
from ctc_helpers.config.yaml_load import load_yaml
from ctc_helpers.demo.links import check_links, link_term, link_variance, links_truth
from ctc_helpers.demo.process import write_process_files
from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.paths import SAMPLE_DIR, SCHEMA_DIR
from ctc_helpers.vocab import FACTOR_KINDS

__all__ = ["DEFAULT_MODEL", "load_model", "generate_city", "write_city", "command_demo_data"]

DEFAULT_MODEL = SAMPLE_DIR / "synth_model.yaml"
_SEX_MISSING = "missing"
_FLOAT_DIGITS = 4


# --------------------------------------------------------------------------------------------
# The model file


def load_model(path: str | Path | None = None) -> dict[str, Any]:
    """Read the model file (default ``data/sample/synth_model.yaml``) and check its structure.

    Returns the parsed mapping with two extra keys: ``_path`` and ``_checksum`` (sha256).

    Raises
    ------
    ConfigError
        When the file cannot be read or a required section is missing or malformed.
    """
    path = Path(path) if path is not None else DEFAULT_MODEL
    try:
        content = path.read_bytes()
        raw = load_yaml(content.decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the model file {path}: {exc.strerror}.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name} is not a valid YAML file: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name} must contain a mapping of sections at the top level.")
    for key in ("seed", "respondents_per_wave", "waves", "areas", "participation", "sex_shares"):
        if raw.get(key) is None:
            raise ConfigError(f"{path.name}: the section {key!r} is missing.")
    return {**raw, "_path": path, "_checksum": hashlib.sha256(content).hexdigest()}


def _check_model(model: dict, instrument: Instrument, schema: RespondentSchema) -> None:
    where = Path(model["_path"]).name
    _check_areas(model, schema, where)
    _check_ids(model.get("factors") or {}, instrument.factor_ids, f"{where}: factors", "factor")
    behaviour_ids = tuple(b.id for b in instrument.behaviours)
    _check_ids(model.get("behaviours") or {}, behaviour_ids, f"{where}: behaviours", "behaviour")
    rule_ids = tuple(r.id for r in instrument.validity)
    _check_ids(model.get("invalid") or {}, rule_ids, f"{where}: invalid", "validity rule")
    unknown_sex = sorted(set(model["sex_shares"]) - {*schema.sex_codes, _SEX_MISSING})
    if unknown_sex:
        raise ConfigError(
            f"{where}: sex_shares has unknown codes {unknown_sex}; allowed:"
            f" {', '.join([*schema.sex_codes, _SEX_MISSING])}."
        )
    _check_effects(model, instrument, where)
    _check_ctc(model, instrument, where)
    _check_prevalences(model, schema, where)
    low, high = (float(model["participation"].get(k, -1)) for k in ("low", "high"))
    if not 0 < low <= high <= 1:
        raise ConfigError(
            f"{where}: participation needs 0 < low <= high <= 1, got low={low}, high={high}."
        )


def _check_ids(section: dict, known: tuple[str, ...], here: str, what: str) -> None:
    unknown = [key for key in section if key not in known]
    if unknown:
        raise ConfigError(
            f"{here} names the {what} {unknown[0]!r}, which the instrument does not have"
            f" (known: {', '.join(known)})."
        )


def _check_areas(model: dict, schema: RespondentSchema, where: str) -> None:
    columns = load_yaml((SCHEMA_DIR / "areas.yaml").read_text(encoding="utf-8"))["columns"]
    pattern = next(c["pattern"] for c in columns if c["name"] == "area_id")
    years = set(schema.grade_years.values())
    ids = [str(a.get("id", "")) for a in model["areas"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"{where}: the area id {duplicates[0]!r} is used twice.")
    for area in model["areas"]:
        here = f"{where}: area {area.get('id')!r}"
        if not re.fullmatch(pattern, str(area.get("id", ""))):
            raise ConfigError(f"{here}: the id may only contain a-z, digits and hyphens.")
        if not area.get("schools") or float(area.get("size", 0)) <= 0:
            raise ConfigError(f"{here} needs a positive 'size' and at least one school.")
        covered = {y for s in area["schools"] for y in _school_years(s, schema)}
        if covered != years:
            raise ConfigError(
                f"{here}: its schools cover the years {sorted(covered)}; every year of"
                f" {sorted(years)} needs a school."
            )


def _check_effects(model: dict, instrument: Instrument, where: str) -> None:
    areas = {a["id"] for a in model["areas"]} | {"all"}
    measures = {*instrument.factor_ids, *(b.id for b in instrument.behaviours)}
    for section, size_key in (("planted", "shift"), ("trends", "change_per_wave")):
        for entry in model.get(section) or []:
            here = f"{where}: {section}: the entry for {entry.get('measure')!r} in {entry.get('area')!r}"
            if entry.get("area") not in areas:
                raise ConfigError(
                    f"{here} names an unknown area; known: {', '.join(sorted(areas))}."
                )
            if entry.get("measure") not in measures:
                raise ConfigError(f"{here} names a measure the instrument does not have.")
            if not isinstance(entry.get(size_key), int | float):
                raise ConfigError(f"{here} needs a number {size_key!r}.")
            if not set(entry.get("waves", model["waves"])) <= set(model["waves"]):
                raise ConfigError(f"{here}: its waves must be among {model['waves']}.")


def _check_ctc(model: dict, instrument: Instrument, where: str) -> None:
    """``ctc_start`` (a year) and ``comparison_group`` of the areas, and the ``ctc_effects``."""
    for area in model["areas"]:
        here = f"{where}: area {area.get('id')!r}"
        start = area.get("ctc_start")
        if start is not None and (isinstance(start, bool) or not isinstance(start, int)):
            raise ConfigError(f"{here}: ctc_start must be a year (a whole number), got {start!r}.")
        group = area.get("comparison_group")
        if group is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", str(group)):
            raise ConfigError(
                f"{here}: comparison_group {group!r} may only contain a-z, digits and hyphens."
            )
    measures = {*instrument.factor_ids, *(b.id for b in instrument.behaviours)}
    for entry in model.get("ctc_effects") or []:
        here = f"{where}: ctc_effects: the entry for {entry.get('measure')!r}"
        if entry.get("measure") not in measures:
            raise ConfigError(f"{here} names a measure the instrument does not have.")
        if not isinstance(entry.get("shift"), int | float):
            raise ConfigError(f"{here} needs a number 'shift'.")


def _check_prevalences(model: dict, schema: RespondentSchema, where: str) -> None:
    sections = {"behaviour_defaults": model.get("behaviour_defaults") or {}}
    sections |= {f"behaviours: {k}": v for k, v in (model.get("behaviours") or {}).items()}
    for here, par in sections.items():
        points = par.get("prevalence", {})
        unknown = [g for g in points if g not in schema.grade_codes]
        if unknown:
            raise ConfigError(
                f"{where}: {here}: prevalence names the grade {unknown[0]!r}; grades:"
                f" {', '.join(schema.grade_codes)}."
            )
        bad = [p for p in points.values() if not 0 < float(p) < 1]
        if bad:
            raise ConfigError(
                f"{where}: {here}: a prevalence must lie between 0 and 1, got {bad[0]}."
            )


def _check_trend_targets(model: dict, plan: _Plan) -> None:
    """A behaviour effect must name a behaviour that leads its items (not a 30-day follower)."""
    followers = {c.behaviour: c.lead for c in plan.channels if c.lead is not None}
    leads = {c.item: c.behaviour for c in plan.channels}
    entries = [e for k in ("planted", "trends", "ctc_effects") for e in model.get(k) or []]
    for entry in entries:
        if entry["measure"] in followers:
            raise ConfigError(
                f"{Path(model['_path']).name}: the effect on {entry['measure']!r} cannot be planted"
                f" directly: its item follows {leads[followers[entry['measure']]]!r}; plant the"
                " effect there (it moves both)."
            )


def _school_years(school: dict, schema: RespondentSchema) -> list[int]:
    years = sorted(schema.grade_years.values())
    low, high = school.get("years", [years[0], years[-1]])
    return [y for y in years if low <= y <= high]


# --------------------------------------------------------------------------------------------
# The item plan: how each item of the instrument is generated (read from the instrument's rules)


@dataclass(frozen=True)
class _Channel:
    """A behaviour item generated by a cumulative logit (``lead``: its lifetime item)."""

    item: str
    behaviour: str
    min_code: int
    lead: str | None


@dataclass(frozen=True)
class _Plan:
    factor_items: dict[str, tuple[str, bool]]  # item -> (factor id, reverse)
    channels: tuple[_Channel, ...]  # leads first, then the 30-day items that follow them
    honesty: dict[str, tuple[int, ...]]  # item -> codes that make a questionnaire invalid
    fictitious: tuple[str, ...]
    noise: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]  # (30-day item, lifetime item)


def _plan_items(instrument: Instrument, model: dict) -> _Plan:
    pairs = tuple(
        (str(a), str(b))
        for rule in instrument.validity
        if rule.rule["kind"] == "pair_greater"
        for a, b in rule.rule["pairs"]
    )
    channels = _behaviour_channels(
        instrument, {**dict(pairs), **_declared_follows(instrument, model)}
    )
    in_channel = {c.item for c in channels}
    factor_items = {
        item: (f.id, reverse)
        for f in reversed(instrument.factors)
        for item, reverse in f.items
        if item not in in_channel
    }
    used = in_channel | set(factor_items)
    honesty = {
        r.rule["item"]: tuple(int(c) for c in r.rule["codes"])
        for r in instrument.validity
        if r.rule["kind"] == "code_in" and r.rule["item"] not in used
    }
    fictitious = tuple(
        i for r in instrument.validity for i in r.rule.get("items", []) if i not in used
    )
    taken = used | set(honesty) | set(fictitious)
    return _Plan(
        factor_items=factor_items,
        channels=channels,
        honesty=honesty,
        fictitious=tuple(dict.fromkeys(fictitious)),
        noise=tuple(i for i in instrument.items if i not in taken),
        pairs=pairs,
    )


def _declared_follows(instrument: Instrument, model: dict) -> dict[str, str]:
    """Items of behaviours with ``follows: <behaviour>`` -> the first item of that behaviour."""
    first_item = {b.id: b.rule["items"][0] for b in instrument.behaviours if b.rule.get("items")}
    follows = {}
    for behaviour_id, par in (model.get("behaviours") or {}).items():
        if "follows" in par:
            if par["follows"] not in first_item:
                raise ConfigError(
                    f"{Path(model['_path']).name}: behaviour {behaviour_id!r} follows"
                    f" {par['follows']!r}, which is not a behaviour with items of the instrument."
                )
            follows[first_item[behaviour_id]] = first_item[par["follows"]]
    return follows


def _behaviour_channels(instrument: Instrument, follows: dict[str, str]) -> tuple[_Channel, ...]:
    """One channel per behaviour item; single-item behaviours define their item first."""
    single = [b for b in instrument.behaviours if len(b.rule.get("items", [])) == 1]
    ordered = single + [b for b in instrument.behaviours if b not in single]
    channels: dict[str, _Channel] = {}
    for behaviour in ordered:
        min_code = int(behaviour.rule.get("min_code", 2))
        for item in behaviour.rule.get("items", []):
            if item not in channels:
                channels[item] = _Channel(item, behaviour.id, min_code, follows.get(item))
    for item, channel in list(channels.items()):
        if channel.lead is not None and channel.lead not in channels:
            channels[item] = _Channel(item, channel.behaviour, channel.min_code, None)
    leads = [c for c in channels.values() if c.lead is None]
    return tuple(leads + [c for c in channels.values() if c.lead is not None])


# --------------------------------------------------------------------------------------------
# Areas, schools, enrolment


def _areas_frame(model: dict) -> pd.DataFrame:
    municipality = model.get("city", {}).get("municipality", "Exempelstad")
    return pd.DataFrame(
        {
            "area_id": [a["id"] for a in model["areas"]],
            "name": [a["name"] for a in model["areas"]],
            "municipality": municipality,
            "ctc_start": pd.array([a.get("ctc_start") for a in model["areas"]], dtype="Int64"),
            "comparison_group": [a.get("comparison_group", "") for a in model["areas"]],
        }
    )


def _school_grades(model: dict, schema: RespondentSchema) -> pd.DataFrame:
    """One row per area x school x grade the school teaches, with the expected respondents."""
    years = schema.grade_years
    grade_weights = model.get("grade_weights") or {}
    rows = []
    for area in model["areas"]:
        for grade, year in years.items():
            schools = [s for s in area["schools"] if year in _school_years(s, schema)]
            weights = np.array([float(s.get("weight", 1.0)) for s in schools])
            for school, share in zip(schools, weights / weights.sum(), strict=True):
                rows.append(
                    {
                        "area": area["id"],
                        "school": school["name"],
                        "grade": grade,
                        "weight": float(area["size"])
                        * float(grade_weights.get(grade, 1.0))
                        * share,
                    }
                )
    return pd.DataFrame(rows)


def _enrolment(
    model: dict, schema: RespondentSchema, n_per_wave: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Enrolment and respondents per wave x area x school x grade.

    Returns ``enrolment`` (``wave, area, school, grade, enrolled``) and ``counts`` (the same keys
    plus ``respondents``).
    """
    cells = _school_grades(model, schema)
    low, high = float(model["participation"]["low"]), float(model["participation"]["high"])
    expected = cells["weight"] / cells["weight"].sum() * n_per_wave / ((low + high) / 2)
    noise_sd = float(model.get("enrolment_noise_sd", 0.08))
    base_rng = _rng(seed, 0)
    base = expected * np.exp(base_rng.normal(0.0, noise_sd, len(cells)))
    frames = []
    for wave in model["waves"]:
        rng = _rng(seed, 1, wave)
        enrolled = np.maximum(np.rint(base * np.exp(rng.normal(0.0, noise_sd / 2, len(cells)))), 1)
        rate = rng.uniform(low, high, len(cells))
        frames.append(
            cells[["area", "school", "grade"]].assign(
                wave=int(wave),
                enrolled=enrolled.astype(int),
                respondents=rng.binomial(enrolled.astype(int), rate),
            )
        )
    counts = pd.concat(frames, ignore_index=True)[
        ["wave", "area", "school", "grade", "enrolled", "respondents"]
    ]
    return counts.drop(columns="respondents"), counts


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *keys])))


# --------------------------------------------------------------------------------------------
# One wave: people, latents, items


@dataclass(frozen=True)
class _Context:
    model: dict
    instrument: Instrument
    schema: RespondentSchema
    plan: _Plan
    wave: int
    wave_index: int


def _people(counts: pd.DataFrame, ctx: _Context, rng: np.random.Generator) -> pd.DataFrame:
    """Respondents of one wave with area, school, grade, sex and the latent R and P."""
    cells = counts[counts["wave"] == ctx.wave]
    people = cells.loc[cells.index.repeat(cells["respondents"]), ["area", "school", "grade"]]
    people = people.reset_index(drop=True)
    shares = ctx.model["sex_shares"]
    codes = list(shares)
    probs = np.array([float(shares[c]) for c in codes])
    sex = np.array(codes, dtype=object)[rng.choice(len(codes), len(people), p=probs / probs.sum())]
    sex[sex == _SEX_MISSING] = None
    area_shift = {a["id"]: a for a in ctx.model["areas"]}
    latent = ctx.model.get("latent") or {}
    rho = float(latent.get("correlation", -0.4))
    draws = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], len(people))
    return people.assign(
        sex=sex,
        year=people["grade"].map(ctx.schema.grade_years).astype(float),
        R=draws[:, 0]
        + people["area"].map(lambda a: float(area_shift[a].get("risk", 0.0))).to_numpy()
        + _sex_effect(sex, latent.get("risk_sex")),
        P=draws[:, 1]
        + people["area"].map(lambda a: float(area_shift[a].get("protection", 0.0))).to_numpy()
        + _sex_effect(sex, latent.get("protection_sex")),
    )


def _sex_effect(sex: np.ndarray, effects: dict | None) -> np.ndarray:
    effects = effects or {}
    return np.array([float(effects.get(s, 0.0)) if s is not None else 0.0 for s in sex])


def _shift(ctx: _Context, measure: str, areas: pd.Series) -> np.ndarray:
    """Planted level effects, planted trends and the CTC effect of a measure, per respondent
    (latent units)."""
    total = _ctc_shift(ctx, measure, areas)
    for entry in ctx.model.get("planted") or []:
        if entry["measure"] == measure and ctx.wave in entry.get("waves", ctx.model["waves"]):
            total += float(entry["shift"]) * _in_area(areas, entry["area"])
    for entry in ctx.model.get("trends") or []:
        if entry["measure"] == measure:
            step = float(entry["change_per_wave"]) * ctx.wave_index
            total += step * _in_area(areas, entry["area"])
    return total


def _ctc_shift(ctx: _Context, measure: str, areas: pd.Series) -> np.ndarray:
    """The CTC effect of a measure per respondent: its shift in areas whose CTC started before
    this wave (zero elsewhere)."""
    size = sum(
        float(e["shift"]) for e in ctx.model.get("ctc_effects") or [] if e["measure"] == measure
    )
    started = {
        a["id"]
        for a in ctx.model["areas"]
        if a.get("ctc_start") is not None and ctx.wave > a["ctc_start"]
    }
    return size * areas.isin(started).to_numpy(dtype=float)


def _in_area(areas: pd.Series, area: str) -> np.ndarray:
    return np.ones(len(areas)) if area == "all" else (areas == area).to_numpy(dtype=float)


def _factor_items(
    people: pd.DataFrame, ctx: _Context, rng: np.random.Generator
) -> tuple[dict, dict]:
    """Ordinal answers to every factor item from the factor's latent score, the answers of the
    items a CTC effect moved as they would have been without it (same draws), and each factor's
    own deviation per pupil (``eta`` minus its base, grade and sex terms; for planted links)."""
    defaults = ctx.model.get("factor_defaults") or {}
    options = ctx.model.get("items") or {}
    mean_year = float(np.mean(list(ctx.schema.grade_years.values())))
    answers, without, deviations = {}, {}, {}
    for factor in ctx.instrument.factors:
        items = [
            (i, rev) for i, rev in factor.items if ctx.plan.factor_items.get(i) == (factor.id, rev)
        ]
        if not items:
            continue
        par = {**defaults, **(ctx.model.get("factors") or {}).get(factor.id, {})}
        loading = float(par.get("loading", 0.7))
        general = people["R"] if factor.kind == "risk" else people["P"]
        own = rng.standard_normal(len(people))
        shift = _shift(ctx, factor.id, people["area"])
        eta = (
            float(par.get(f"{factor.kind}_base", par.get("base", 0.0)))
            + float(par.get("grade_slope", 0.0)) * (people["year"].to_numpy() - mean_year)
            + _sex_effect(people["sex"].to_numpy(), par.get("sex"))
            + loading * general.to_numpy()
            + np.sqrt(1 - loading**2) * own
            + shift
        )
        deviations[factor.id] = loading * general.to_numpy() + np.sqrt(1 - loading**2) * own + shift
        ctc = _ctc_shift(ctx, factor.id, people["area"])
        eta_without = eta - ctc if ctc.any() else None
        for item, reverse in items:
            answers[item], cf = _ordinal(
                eta, ctx.instrument.items[item].response_set, reverse, options, rng, eta_without
            )
            if cf is not None:
                without[item] = cf
    return answers, without, deviations


def _ordinal(
    eta, response_set, reverse: bool, options: dict, rng, eta_without=None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Cut ``eta + noise`` at normal quantiles of the scored options; map ranks to codes.

    With ``eta_without`` the same noise also gives the codes of that score (else ``None``).
    """
    noise_sd = float(options.get("noise_sd", 0.85))
    scored = sorted(
        (s, c)
        for c, s in zip(response_set.codes, response_set.scores, strict=True)
        if s is not None
    )
    k = len(scored)
    cuts = np.sqrt(1 + noise_sd**2) * ndtri(np.arange(1, k) / k)
    noise = noise_sd * rng.standard_normal(len(eta))
    options_codes = np.array([c for _, c in scored], dtype=float)

    def to_codes(score: np.ndarray) -> np.ndarray:
        rank = np.searchsorted(cuts, score + noise)
        return options_codes[k - 1 - rank if reverse else rank]

    codes = to_codes(eta)
    without = None if eta_without is None else to_codes(eta_without)
    unscored = [
        c for c, s in zip(response_set.codes, response_set.scores, strict=True) if s is None
    ]
    if unscored:
        dont_know = rng.random(len(eta)) < float(options.get("dont_know", 0.03))
        replacement = rng.choice(unscored, int(dont_know.sum()))
        codes[dont_know] = replacement
        if without is not None:
            without[dont_know] = replacement
    return codes, without


def _behaviour_params(ctx: _Context, behaviour: str) -> dict:
    defaults = ctx.model.get("behaviour_defaults") or {}
    return {**defaults, **(ctx.model.get("behaviours") or {}).get(behaviour, {})}


def _prevalence(points: dict, years: pd.Series, schema: RespondentSchema) -> np.ndarray:
    """Prevalence by respondent, logit-linear between the configured grades (flat outside)."""
    known = sorted((schema.grade_years[g], float(p)) for g, p in points.items())
    xs, ys = zip(*known, strict=True)
    return expit(np.interp(years.to_numpy(), xs, logit(np.array(ys))))


def _attenuation(par: dict, rho: float, links: float = 0.0) -> float:
    """Factor ``k`` with ``E[logistic(k * logit(p) + X)] ~= p`` for the spread of X (probit approx.);
    ``links``: the variance the planted links add (:func:`~ctc_helpers.demo.links.link_variance`)."""
    b_r, b_p = float(par.get("risk", 1.0)), float(par.get("protection", -0.5))
    sex = np.array([float(v) for v in (par.get("sex") or {}).values()] or [0.0])
    var = b_r**2 + b_p**2 + 2 * rho * b_r * b_p + float(par.get("shared", 0.0)) ** 2
    var += float(np.mean(sex**2)) / 2 + links
    return float(np.sqrt(1 + np.pi * var / 8))


def _behaviour_items(
    people: pd.DataFrame, ctx: _Context, rng: np.random.Generator, deviations: dict
) -> tuple[dict, dict]:
    """Answers to the behaviour items: cumulative logits; 30-day items follow their lifetime item.
    Also the answers of the items a CTC effect moved as they would have been without it.
    ``deviations``: each factor's own deviation per pupil (the planted links use them)."""
    rho = float((ctx.model.get("latent") or {}).get("correlation", -0.4))
    shared = {}
    latent, answers, latent_without, without = {}, {}, {}, {}
    for channel in ctx.plan.channels:
        # a follower uses its lead's latent, spread and thresholds, so it never exceeds the lead
        lead = _lead_of(ctx, channel)
        par = _behaviour_params(ctx, lead.behaviour)
        k = _attenuation(par, rho, link_variance(par, ctx.model, ctx.instrument))
        item = ctx.instrument.items[channel.item]
        if channel.lead is None:
            if channel.behaviour not in shared:
                shared[channel.behaviour] = float(par.get("shared", 0.0)) * rng.standard_normal(
                    len(people)
                )
            p = _prevalence(par["prevalence"], people["year"], ctx.schema)
            z = (
                k * logit(p)
                + float(par.get("risk", 1.0)) * people["R"].to_numpy()
                + float(par.get("protection", -0.5)) * people["P"].to_numpy()
                + _sex_effect(people["sex"].to_numpy(), par.get("sex"))
                + shared[channel.behaviour]
                + link_term(par, deviations)
                + _shift(ctx, channel.behaviour, people["area"])
                + rng.logistic(size=len(people))
            )
            ctc = _ctc_shift(ctx, channel.behaviour, people["area"])
            z_without = z - ctc if ctc.any() else None
        else:
            gap = k * _follow_gap(ctx, channel, people["year"])
            z = latent[channel.lead] - gap
            lead_without = latent_without.get(channel.lead)
            z_without = None if lead_without is None else lead_without - gap
        latent[channel.item] = z
        step = float(par.get("frequency_step", 1.2))
        cuts = step * (np.arange(1, len(item.response_set.codes)) - (lead.min_code - 1))
        answers[channel.item] = 1.0 + np.searchsorted(cuts, z)
        if z_without is not None:
            latent_without[channel.item] = z_without
            without[channel.item] = 1.0 + np.searchsorted(cuts, z_without)
    return answers, without


def _lead_of(ctx: _Context, channel: _Channel) -> _Channel:
    if channel.lead is None:
        return channel
    return next(c for c in ctx.plan.channels if c.item == channel.lead)


def _follow_gap(ctx: _Context, channel: _Channel, years: pd.Series) -> np.ndarray:
    """Logit gap between the lifetime prevalence and the 30-day prevalence (never negative)."""
    lead = _lead_of(ctx, channel)
    lead_par = _behaviour_params(ctx, lead.behaviour)
    p_life = _prevalence(lead_par["prevalence"], years, ctx.schema)
    own = (ctx.model.get("behaviours") or {}).get(channel.behaviour, {})
    if "prevalence" in own:
        p_month = _prevalence(own["prevalence"], years, ctx.schema)
    else:
        share = float((ctx.model.get("behaviour_defaults") or {}).get("thirty_day_share", 0.4))
        p_month = p_life * share
    return np.maximum(logit(p_life) - logit(np.minimum(p_month, p_life)), 0.0)


def _other_items(n: int, ctx: _Context, rng: np.random.Generator) -> dict:
    """Validity-only items (fictitious drug: never; honesty: honest codes) and unmapped items."""
    answers = {item: np.ones(n) for item in ctx.plan.fictitious}
    weights = (ctx.model.get("validity_items") or {}).get("honest_weights", [0.6, 0.3, 0.1])
    for item, invalid in ctx.plan.honesty.items():
        allowed = [c for c in ctx.instrument.items[item].response_set.codes if c not in invalid]
        w = np.array(weights[: len(allowed)], dtype=float)
        answers[item] = np.array(allowed[: len(w)], dtype=float)[
            rng.choice(len(w), n, p=w / w.sum())
        ]
    for item in ctx.plan.noise:
        scored = [c for c, s in zip(*_codes_scores(ctx, item), strict=True) if s is not None]
        answers[item] = rng.choice(np.array(scored, dtype=float), n)
    return answers


def _codes_scores(ctx: _Context, item: str) -> tuple[tuple, tuple]:
    response_set = ctx.instrument.items[item].response_set
    return response_set.codes, response_set.scores


# --------------------------------------------------------------------------------------------
# Validity rules (used to keep valid questionnaires valid and to count what was realised)


def _rule_flags(rule: dict, items: pd.DataFrame, instrument: Instrument) -> np.ndarray:
    """Boolean flag per row for one validity or behaviour rule (missing answers never flag)."""
    kind = rule["kind"]
    if kind in ("any_at_least", "count_at_least"):
        hits = (items[rule["items"]] >= rule["min_code"]).sum(axis=1)
        return (hits >= int(rule.get("min_count", 1))).to_numpy()
    if kind == "sum_at_least":
        scores = pd.DataFrame(
            {
                i: instrument.items[i].response_set.score_lookup()[_code_index(items[i])]
                for i in rule["items"]
            }
        )
        enough = scores.notna().sum(axis=1) >= int(rule["min_items"])
        return (enough & (scores.sum(axis=1) >= float(rule["threshold"]))).to_numpy()
    if kind == "code_in":
        return items[rule["item"]].isin(rule["codes"]).to_numpy()
    if kind == "pair_greater":
        return np.any([(items[a] > items[b]).to_numpy() for a, b in rule["pairs"]], axis=0)
    answered = items[list(instrument.factor_item_ids)].notna().mean(axis=1)
    return (answered < float(rule["share"])).to_numpy()


def _code_index(values: pd.Series) -> np.ndarray:
    return values.fillna(0).to_numpy(dtype=int)


# The answer matrix during generation: float codes (NaN = missing), one column per item in
# instrument order. An "edit" is (item, row indices, new values); _apply returns a changed copy.


def _apply(values: np.ndarray, columns: dict[str, int], edits: list) -> np.ndarray:
    changed = values.copy()
    for item, rows, new in edits:
        changed[rows, columns[item]] = new
    return changed


def _keep_valid(values: np.ndarray, ctx: _Context) -> np.ndarray:
    """Cap chance exaggeration: rules on behaviour items must not fire on genuine answers."""
    columns = _columns(ctx)
    channel_items = {c.item for c in ctx.plan.channels}
    for rule in (r.rule for r in ctx.instrument.validity):
        items = rule.get("items", [])
        if rule["kind"] in ("any_at_least", "count_at_least") and set(items) <= channel_items:
            values = _apply(values, columns, _cap_edits(values, columns, rule))
    everyone = np.arange(len(values))
    return _apply(values, columns, _pair_edits(values, columns, ctx.plan.pairs, everyone))


def _columns(ctx: _Context) -> dict[str, int]:
    return {item: j for j, item in enumerate(ctx.instrument.item_ids)}


def _cap_edits(values: np.ndarray, columns: dict[str, int], rule: dict) -> list:
    """Keep at most ``min_count - 1`` items at or above the flagging code; lower the rest."""
    high = values[:, [columns[i] for i in rule["items"]]] >= rule["min_code"]
    excess = high & (np.cumsum(high, axis=1) > int(rule.get("min_count", 1)) - 1)
    return [
        (item, np.flatnonzero(excess[:, j]), rule["min_code"] - 1)
        for j, item in enumerate(rule["items"])
    ]


def _pair_edits(values: np.ndarray, columns: dict[str, int], pairs, rows: np.ndarray) -> list:
    """Raise a lifetime answer to the 30-day answer where the 30-day answer is higher."""
    edits = []
    for month, life in pairs:
        m, life_values = values[rows, columns[month]], values[rows, columns[life]]
        bad = m > life_values
        edits.append((life, rows[bad], m[bad]))
    return edits


def _missing(shape: tuple[int, int], model: dict, rng: np.random.Generator) -> np.ndarray:
    """Item non-response rising along the questionnaire, plus break-offs (all later items empty):
    True where an answer is left empty."""
    par = model.get("missing") or {}
    n, k = shape
    rate = np.linspace(float(par.get("item_start", 0.01)), float(par.get("item_end", 0.05)), k)
    blank = rng.random((n, k)) < rate
    breaks = rng.random(n) < float(par.get("breakoff_share", 0.02))
    start = rng.uniform(float(par.get("breakoff_earliest", 0.1)), 1.0, n) * k
    return blank | (breaks[:, None] & (np.arange(k)[None, :] >= start[:, None]))


def _too_few(values: np.ndarray, ctx: _Context) -> np.ndarray:
    """Rows below the share of answered factor items of a ``min_answered_share`` rule."""
    shares = [
        float(r.rule["share"])
        for r in ctx.instrument.validity
        if r.rule["kind"] == "min_answered_share"
    ]
    factor_columns = [_columns(ctx)[i] for i in ctx.instrument.factor_item_ids]
    answered = (~np.isnan(values[:, factor_columns])).mean(axis=1)
    return answered < max(shares, default=0.0)


def _inject_invalid(
    values: np.ndarray, risk: np.ndarray, ctx: _Context, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, int]]:
    """Make the configured share of questionnaires invalid, one validity rule each.

    Respondents are drawn with weights ``exp(0.5 R)`` among those not already invalid.
    """
    rules = {r.id: r.rule for r in ctx.instrument.validity}
    columns = _columns(ctx)
    taken = _too_few(values, ctx)
    weight = np.exp(0.5 * risk)
    injected = {}
    for rule_id, share in (ctx.model.get("invalid") or {}).items():
        pool = np.flatnonzero(~taken)
        size = min(int(round(float(share) * len(values))), len(pool))
        rows = np.sort(rng.choice(pool, size, replace=False, p=weight[pool] / weight[pool].sum()))
        rule = rules[rule_id]
        values = _apply(
            values, columns, _INJECT[rule["kind"]](values, columns, rows, rule, ctx, rng)
        )
        if rule["kind"] != "pair_greater":
            values = _apply(values, columns, _pair_edits(values, columns, ctx.plan.pairs, rows))
        taken[rows] = True
        injected[rule_id] = size
    return values, injected


def _top(ctx: _Context, item: str) -> int:
    return ctx.instrument.item_max_code(item)


def _inject_any(values, columns, rows, rule, ctx, rng) -> list:
    """One item of the rule at its flagging code (a third of them one code higher)."""
    pick = rng.choice(len(rule["items"]), len(rows))
    bump = (rng.random(len(rows)) < 0.3).astype(int)
    return [
        (item, rows[pick == j], np.minimum(rule["min_code"] + bump[pick == j], _top(ctx, item)))
        for j, item in enumerate(rule["items"])
    ]


def _inject_count(values, columns, rows, rule, ctx, rng) -> list:
    """``min_count`` items of the rule at or above the flagging code (exaggeration)."""
    chosen = np.argsort(rng.random((len(rows), len(rule["items"]))), axis=1)[
        :, : int(rule["min_count"])
    ]
    edits = []
    for j, item in enumerate(rule["items"]):
        these = rows[(chosen == j).any(axis=1)]
        edits.append((item, these, rng.integers(rule["min_code"], _top(ctx, item) + 1, len(these))))
    return edits


def _inject_sum(values, columns, rows, rule, ctx, rng) -> list:
    return [(item, rows, _top(ctx, item)) for item in rule["items"]]


def _inject_code(values, columns, rows, rule, ctx, rng) -> list:
    return [(rule["item"], rows, rng.choice(rule["codes"], len(rows)))]


def _inject_pair(values, columns, rows, rule, ctx, rng) -> list:
    """30-day answer above the lifetime answer; lifetime mostly 'never'."""
    pick = rng.choice(len(rule["pairs"]), len(rows))
    keep_life = rng.random(len(rows)) < 0.3
    bump = (rng.random(len(rows)) < 0.3).astype(int)
    edits = []
    for j, (month, life) in enumerate(rule["pairs"]):
        mine = pick == j
        current = values[rows[mine], columns[life]]
        top = _top(ctx, month)
        keep = keep_life[mine] & ~np.isnan(current) & (current < top)
        new_life = np.where(keep, current, min(ctx.instrument.items[life].response_set.codes))
        edits += [
            (life, rows[mine], new_life),
            (month, rows[mine], np.minimum(new_life + 1 + bump[mine], top)),
        ]
    return edits


def _inject_breakoff(values, columns, rows, rule, ctx, rng) -> list:
    """Break off within the first 5-30 % of the questionnaire."""
    stop = rng.uniform(0.05, 0.3, len(rows)) * len(columns)
    return [(item, rows[stop <= j], np.nan) for item, j in columns.items()]


_INJECT = {
    "any_at_least": _inject_any,
    "count_at_least": _inject_count,
    "sum_at_least": _inject_sum,
    "code_in": _inject_code,
    "pair_greater": _inject_pair,
    "min_answered_share": _inject_breakoff,
}


# --------------------------------------------------------------------------------------------
# Assembling a wave and the city


@dataclass(frozen=True)
class _Wave:
    frame: pd.DataFrame  # the respondents as written
    injected: dict[str, int]
    without: pd.DataFrame | None  # the same rows without the CTC effect (None: no effect here)


def _generate_wave(counts: pd.DataFrame, ctx: _Context, seed: int) -> _Wave:
    rng = _rng(seed, 2, ctx.wave)
    people = _people(counts, ctx, rng)
    factor_answers, factor_without, deviations = _factor_items(people, ctx, rng)
    behaviour_answers, behaviour_without = _behaviour_items(people, ctx, rng, deviations)
    answers = {**factor_answers, **behaviour_answers, **_other_items(len(people), ctx, rng)}
    moved = {**factor_without, **behaviour_without}
    values = np.column_stack([answers[i] for i in ctx.instrument.item_ids])
    values_without = np.column_stack([moved.get(i, answers[i]) for i in ctx.instrument.item_ids])
    blank = _missing(values.shape, ctx.model, rng)
    values = np.where(blank, np.nan, _keep_valid(values, ctx))
    values_without = np.where(blank, np.nan, _keep_valid(values_without, ctx))
    values, injected = _inject_invalid(values, people["R"].to_numpy(), ctx, rng)
    order = rng.permutation(len(people))
    frame = _respondent_frame(people, values, ctx).iloc[order].reset_index(drop=True)
    prefix = str((ctx.model.get("city") or {}).get("id_prefix", "EX"))
    ids = [f"{prefix}{ctx.wave}-{i:05d}" for i in range(1, len(frame) + 1)]
    without = None
    if moved:
        without = _respondent_frame(people, values_without, ctx).iloc[order]
        without = without.reset_index(drop=True).assign(respondent_id=ids)
    return _Wave(frame.assign(respondent_id=ids), injected, without)


def _respondent_frame(people: pd.DataFrame, values: np.ndarray, ctx: _Context) -> pd.DataFrame:
    head = pd.DataFrame(
        {
            "respondent_id": "",
            "wave": np.full(len(people), ctx.wave, dtype="int16"),
            "area": people["area"].to_numpy(),
            "school": people["school"].to_numpy(),
            "grade": people["grade"].to_numpy(),
            "sex": people["sex"].to_numpy(),
        }
    )
    items = pd.DataFrame(
        {
            item: pd.array(np.round(values[:, j]), dtype="Int8")
            for j, item in enumerate(ctx.instrument.item_ids)
        }
    )
    return pd.concat([head, items], axis=1)


def _settings(model: dict, respondents_per_wave: int | None, seed: int | None) -> tuple[int, int]:
    n = int(
        respondents_per_wave if respondents_per_wave is not None else model["respondents_per_wave"]
    )
    if n < 1:
        raise ValueError(f"respondents_per_wave must be a positive number, got {n}.")
    return n, int(seed if seed is not None else model["seed"])


def generate_city(
    model_path: str | Path | None = None,
    *,
    instrument: Instrument | None = None,
    respondents_per_wave: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Generate the synthetic city described by a model file.

    Parameters
    ----------
    model_path
        The model file (default ``data/sample/synth_model.yaml``).
    instrument
        The instrument whose items are generated (default: ``load_instrument()``).
    respondents_per_wave, seed
        Override the values of the model file.

    Returns
    -------
    dict
        ``"<prefix>_<wave>"`` per wave: the respondent frame with columns ``respondent_id, wave,
        area, school, grade, sex`` and then one ``Int8`` column per item in instrument order
        (``<NA>`` = missing); ``"areas"``: ``area_id, name, municipality``; ``"enrolment"``:
        ``wave, area, school, grade, enrolled``; ``"planted_truth"``: a mapping (see
        :func:`write_city`).
    """
    model = load_model(model_path)
    instrument = instrument if instrument is not None else load_instrument()
    schema = load_respondent_schema()
    _check_model(model, instrument, schema)
    n, seed = _settings(model, respondents_per_wave, seed)
    plan = _plan_items(instrument, model)
    _check_trend_targets(model, plan)
    check_links(
        model,
        instrument,
        followers={c.behaviour: c.lead for c in plan.channels if c.lead is not None},
        leading={c.behaviour for c in plan.channels if c.lead is None},
    )
    enrolment, counts = _enrolment(model, schema, n, seed)
    generated = {
        int(wave): _generate_wave(
            counts, _Context(model, instrument, schema, plan, int(wave), index), seed
        )
        for index, wave in enumerate(model["waves"])
    }
    waves = {wave: g.frame for wave, g in generated.items()}
    injected = {wave: g.injected for wave, g in generated.items()}
    without = {wave: g.without for wave, g in generated.items() if g.without is not None}
    prefix = _file_prefix(model)
    truth = _planted_truth(model, instrument, plan, waves, injected, seed=seed, n=n)
    truth["ctc"] = _ctc_truth(model, instrument, plan, waves, without)
    return {
        **{f"{prefix}_{wave}": frame for wave, frame in waves.items()},
        "areas": _areas_frame(model),
        "enrolment": enrolment,
        "planted_truth": truth,
    }


def _file_prefix(model: dict) -> str:
    return str((model.get("city") or {}).get("file_prefix", "exempelstad"))


# --------------------------------------------------------------------------------------------
# The planted truth


def _planted_truth(model, instrument, plan, waves, injected, *, seed: int, n: int) -> dict:
    kinds = {f.id: f.kind for f in instrument.factors} | {
        b.id: "behaviour" for b in instrument.behaviours
    }
    effects = [_effect_entry(e, "level", model, kinds) for e in model.get("planted") or []]
    effects += [_effect_entry(e, "trend", model, kinds) for e in model.get("trends") or []]
    effects = [{**e, "also_moves": _followers(plan, e["measure"])} for e in effects]
    return {
        "synthetic": True,
        "city": (model.get("city") or {}).get("name", "Exempelstad"),
        "model_file": Path(model["_path"]).name,
        "model_sha256": model["_checksum"],
        "instrument": {
            "id": instrument.id,
            "version": instrument.version,
            "sha256": instrument.checksum,
        },
        "seed": seed,
        "respondents_per_wave_target": n,
        "waves": [int(w) for w in model["waves"]],
        "respondents": {w: int(len(f)) for w, f in waves.items()},
        "areas": _area_truth(model, waves),
        "area_effects": [
            {
                "area": a["id"],
                "risk": _num(a.get("risk", 0.0)),
                "protection": _num(a.get("protection", 0.0)),
            }
            for a in model["areas"]
            if a.get("risk", 0.0) or a.get("protection", 0.0)
        ],
        "planted_effects": effects,
        "no_planted_effect": _no_effect_pairs(model, instrument),
        "links": links_truth(model, instrument, lambda b: _followers(plan, b)),
        "invalid": _invalid_truth(model, instrument, waves, injected),
        "missing_item_share": {
            w: _num(f[list(instrument.item_ids)].isna().to_numpy().mean()) for w, f in waves.items()
        },
    }


def _followers(plan: _Plan, behaviour: str) -> list[str]:
    """Behaviours whose items follow the items of ``behaviour`` (they move with it)."""
    leads = {c.item for c in plan.channels if c.behaviour == behaviour and c.lead is None}
    return sorted({c.behaviour for c in plan.channels if c.lead in leads} - {behaviour})


def _num(value: float) -> float:
    return round(float(value), _FLOAT_DIGITS)


def _effect_entry(entry: dict, kind: str, model: dict, kinds: dict) -> dict:
    size = float(entry["shift"] if kind == "level" else entry["change_per_wave"])
    measure_kind = kinds[entry["measure"]]
    return {
        "kind": kind,
        "area": entry["area"],
        "measure": entry["measure"],
        "measure_kind": measure_kind,
        "waves": [int(w) for w in entry.get("waves", model["waves"])],
        "direction": "higher" if size > 0 else "lower",
        "size": _num(size),
        "unit": "logit" if measure_kind == "behaviour" else "sd",
        "per": "wave" if kind == "trend" else "all listed waves",
        "note": str(entry.get("note", "")),
    }


def _area_truth(model: dict, waves: dict) -> list[dict]:
    return [
        {
            "area": a["id"],
            "name": a["name"],
            "schools": len(a["schools"]),
            "respondents": {w: int((f["area"] == a["id"]).sum()) for w, f in waves.items()},
        }
        for a in model["areas"]
    ]


def _no_effect_pairs(model: dict, instrument: Instrument) -> list[dict]:
    """Area x factor pairs expected to match the city: no general area effect, and a factor that
    has no planted effect, trend or CTC effect anywhere (an effect in one area moves the city
    mean too)."""
    effects = [e for k in ("planted", "trends", "ctc_effects") for e in model.get(k) or []]
    planted_factors = {e["measure"] for e in effects}
    return [
        {"area": a["id"], "factor": f}
        for a in model["areas"]
        if not (a.get("risk", 0.0) or a.get("protection", 0.0))
        for f in instrument.factor_ids
        if f not in planted_factors
    ]


def _ctc_truth(model, instrument, plan, waves, without) -> dict:
    """Who started CTC when, the planted CTC effects, what they realised in the data (share
    flagged with the effect minus without it, same pupils and answers otherwise), and the
    measures CTC did not move (the evaluation's null outcomes)."""
    kinds = {f.id: f.kind for f in instrument.factors} | {
        b.id: "behaviour" for b in instrument.behaviours
    }
    effects = [
        {
            "measure": e["measure"],
            "measure_kind": kinds[e["measure"]],
            "shift": _num(e["shift"]),
            "unit": "logit" if kinds[e["measure"]] == "behaviour" else "sd",
            "note": str(e.get("note", "")),
            "also_moves": _followers(plan, e["measure"]),
        }
        for e in model.get("ctc_effects") or []
    ]
    realised = _realised_ctc(model, instrument, waves, without)
    moved = {m for m, by_wave in realised.items() if by_wave["all"] != 0}
    trended = {e["measure"] for e in model.get("trends") or []}
    effect_kinds = {kinds[e["measure"]] for e in effects}
    groups: dict[str, list[str]] = {}
    for area in model["areas"]:
        if area.get("comparison_group"):
            groups.setdefault(area["comparison_group"], []).append(area["id"])
    return {
        "note": (
            "realised: share flagged in the CTC areas after their start (valid questionnaires,"
            " cut points of the first wave) with the effect minus without it; the same pupils"
            " and answers otherwise."
        ),
        "starts": {a["id"]: a["ctc_start"] for a in model["areas"] if a.get("ctc_start")},
        "comparison_groups": groups,
        "effects": effects,
        "realised": {m: realised[m] for m in realised if m in moved},
        "moved_composites": [c.id for c in instrument.composites if c.kind in effect_kinds],
        "null_outcomes": [m for m in kinds if m not in moved and m not in trended],
        "not_parallel": [
            {"measure": e["measure"], "area": e["area"], "note": str(e.get("note", ""))}
            for e in model.get("trends") or []
            if e["area"] != "all"
        ],
    }


def _realised_ctc(model, instrument, waves, without) -> dict[str, dict]:
    """Per factor and behaviour: realised CTC effect by wave after the start and pooled."""
    started = {a["id"]: a["ctc_start"] for a in model["areas"] if a.get("ctc_start")}
    first = waves[min(waves)]
    reference = _factor_scores(_valid_rows(first, instrument), instrument)
    cuts = _cut_values(reference, instrument)
    sums: dict[str, dict] = {}
    for wave, moved in sorted(without.items()):
        frame = waves[wave]
        after = frame["area"].map(lambda a, w=wave: a in started and w > started[a])
        rows = frame.loc[after & _valid_mask(frame, instrument)]
        actual = _measure_flags(rows, instrument, cuts)
        counter = _measure_flags(moved.loc[rows.index], instrument, cuts)
        for measure in actual.columns:
            known = actual[measure].notna()
            diff = float((actual[measure] - counter[measure])[known].sum())
            entry = sums.setdefault(measure, {"diff": 0.0, "n": 0, "by_wave": {}})
            entry["diff"] += diff
            entry["n"] += int(known.sum())
            entry["by_wave"][wave] = _num(diff / known.sum()) if known.any() else 0.0
    return {
        m: {"all": _num(e["diff"] / e["n"]) if e["n"] else 0.0, **e["by_wave"]}
        for m, e in sums.items()
    }


def _invalid_truth(model, instrument, waves, injected) -> dict:
    realised = {}
    for wave, frame in waves.items():
        items = frame[list(instrument.item_ids)].astype("float64")
        flags = {r.id: _rule_flags(r.rule, items, instrument) for r in instrument.validity}
        excluded = np.any([flags[r.id] for r in instrument.validity if r.exclude], axis=0)
        realised[wave] = {
            **{rule: int(flag.sum()) for rule, flag in flags.items()},
            "any_excluding_rule": int(excluded.sum()),
            "share_excluded": _num(excluded.mean()),
        }
    return {
        "target_shares": {k: _num(v) for k, v in (model.get("invalid") or {}).items()},
        "injected": injected,
        "realised": realised,
        "note": (
            "injected: questionnaires made invalid on purpose, one rule each; realised: flags of"
            " each rule recomputed from the written files (a questionnaire can break several"
            " rules; break-offs add to the too-few-answers rule)."
        ),
    }


# --------------------------------------------------------------------------------------------
# Writing the files


def write_city(
    out_dir: str | Path | None = None,
    model_path: str | Path | None = None,
    *,
    instrument: Instrument | None = None,
    respondents_per_wave: int | None = None,
    seed: int | None = None,
) -> list[Path]:
    """Generate the city and write its files; returns the paths written, in writing order.

    Files: ``areas.csv``, ``<prefix>_<wave>.csv`` per wave (UTF-8, comma, integer codes, empty =
    missing), ``enrolment.csv``, ``planted_truth.yaml`` and ``README.md``. The output is byte for
    byte the same for the same model, instrument, size and seed.
    """
    out = Path(out_dir) if out_dir is not None else SAMPLE_DIR
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(model_path)
    instrument = instrument if instrument is not None else load_instrument()
    city = generate_city(
        model["_path"], instrument=instrument, respondents_per_wave=respondents_per_wave, seed=seed
    )
    written = [_write_csv(city["areas"], out / "areas.csv")]
    prefix = _file_prefix(model)
    written += [
        _write_csv(city[f"{prefix}_{w}"], out / f"{prefix}_{w}.csv") for w in model["waves"]
    ]
    written.append(_write_csv(city["enrolment"], out / "enrolment.csv"))
    written.append(_write_text(_yaml_text(city["planted_truth"]), out / "planted_truth.yaml"))
    readme = _readme(model, instrument, city)
    written.append(_write_text(readme, out / "README.md"))
    written += write_process_files(out)  # process/: checklists and implementation plans
    return written


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return _write_text(buffer.getvalue(), path)


def _write_text(text: str, path: Path) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def _yaml_text(data: dict) -> str:
    header = "# SYNTHETIC planted truth of the demo city (written by ctc_helpers.demo.synth).\n"
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return header + body


# --------------------------------------------------------------------------------------------
# README (template beside the model file, filled with realised figures)


def _readme(model: dict, instrument: Instrument, city: dict) -> str:
    template_path = Path(model["_path"]).parent / model.get("readme_template", "README.template.md")
    template = string.Template(template_path.read_text(encoding="utf-8"))
    prefix = _file_prefix(model)
    summary = _summarise({int(w): city[f"{prefix}_{w}"] for w in model["waves"]}, instrument)
    truth = city["planted_truth"]
    return template.substitute(
        notice_sv=t("synthetic_notice", "sv"),
        notice_en=t("synthetic_notice", "en"),
        seed=truth["seed"],
        instrument=f"{instrument.id} {instrument.version}",
        **_model_figures(model),
        respondents=_md_table(_respondents_table(truth)),
        invalid=_md_table(_invalid_table(truth)),
        behaviours=_md_table(_behaviour_table(summary, instrument)),
        by_sex=_md_table(_sex_table(summary, instrument)),
        risk_ranges=_md_table(_factor_range_table(summary, instrument)),
        planted=_md_table(_planted_table(summary, truth)),
        ctc=_md_table(_ctc_table(truth)),
        links=_md_table(_links_table(summary, truth, instrument)),
        last_wave=max(summary),
    )


def _model_figures(model: dict) -> dict[str, str]:
    """Parameters of the model file quoted in the README (percentages without the % sign)."""
    latent, items = model.get("latent") or {}, model.get("items") or {}
    missing, defaults = model.get("missing") or {}, model.get("factor_defaults") or {}
    honest = (model.get("validity_items") or {}).get("honest_weights", [])
    return {
        "rho": f"{float(latent.get('correlation', -0.4)):g}",
        "loading": f"{float(defaults.get('loading', 0.7)):g}",
        "noise_sd": f"{float(items.get('noise_sd', 0.85)):g}",
        "dont_know": _as_pct(items.get("dont_know", 0.03)),
        "participation_low": _as_pct(model["participation"]["low"]),
        "participation_high": _as_pct(model["participation"]["high"]),
        "item_start": _as_pct(missing.get("item_start", 0.01)),
        "item_end": _as_pct(missing.get("item_end", 0.05)),
        "breakoff_share": _as_pct(missing.get("breakoff_share", 0.02)),
        "breakoff_earliest": _as_pct(missing.get("breakoff_earliest", 0.1)),
        "sex_missing": _as_pct(model["sex_shares"].get(_SEX_MISSING, 0.0)),
        "invalid_share": _as_pct(sum(float(v) for v in (model.get("invalid") or {}).values())),
        "honest_weights": "/".join(_as_pct(w) for w in honest),
    }


def _as_pct(share: float) -> str:
    return f"{100 * float(share):g}"


def _md_table(frame: pd.DataFrame) -> str:
    cells = frame.astype(str)
    header = [str(c) for c in cells.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


def _respondents_table(truth: dict) -> pd.DataFrame:
    rows = [
        {"area": a["area"], "name": a["name"], "schools": a["schools"], **a["respondents"]}
        for a in truth["areas"]
    ]
    total = {"area": "all", "name": "", "schools": sum(a["schools"] for a in truth["areas"])}
    return pd.DataFrame([*rows, {**total, **truth["respondents"]}])


def _invalid_table(truth: dict) -> pd.DataFrame:
    realised = truth["invalid"]["realised"]
    return pd.DataFrame([{"wave": wave, **counts} for wave, counts in realised.items()])


# Figures of the first and the last wave for the README: valid questionnaires only, factors
# flagged at the first wave's percentile cut points (a simple stand-in for the scoring modules,
# kept here so that the committed README does not change when those modules change).


@dataclass(frozen=True)
class _WaveSummary:
    wave: int
    groups: pd.DataFrame  # area, grade, sex of the valid questionnaires
    flags: pd.DataFrame  # 1.0 / 0.0 / NaN per factor and behaviour


def _summarise(waves: dict[int, pd.DataFrame], instrument: Instrument) -> dict[int, _WaveSummary]:
    chosen = tuple(dict.fromkeys((min(waves), max(waves))))
    valid = {w: _valid_rows(waves[w], instrument) for w in chosen}
    cuts = _cut_values(_factor_scores(valid[min(waves)], instrument), instrument)
    return {
        wave: _WaveSummary(
            wave,
            valid[wave][["area", "grade", "sex"]],
            _measure_flags(valid[wave], instrument, cuts),
        )
        for wave in chosen
    }


def _cut_values(reference: pd.DataFrame, instrument: Instrument) -> pd.Series:
    """Percentile cut point of every factor in the reference scores (the first wave)."""
    return pd.Series(
        {f.id: reference[f.id].quantile(f.cutpoint["flag"] / 100) for f in instrument.factors}
    )


def _measure_flags(rows: pd.DataFrame, instrument: Instrument, cuts: pd.Series) -> pd.DataFrame:
    """1.0 / 0.0 / NaN per factor (score above the cut point) and behaviour rule."""
    items = rows[list(instrument.item_ids)].astype("float64")
    behaviours = pd.DataFrame(
        {b.id: _rule_flags(b.rule, items, instrument).astype(float) for b in instrument.behaviours},
        index=items.index,
    )
    scores = _factor_scores(rows, instrument)
    factors = (scores > cuts).astype(float).where(scores.notna())
    return pd.concat([factors, behaviours], axis=1)


def _valid_mask(frame: pd.DataFrame, instrument: Instrument) -> pd.Series:
    items = frame[list(instrument.item_ids)].astype("float64")
    flags = [_rule_flags(r.rule, items, instrument) for r in instrument.validity if r.exclude]
    return pd.Series(~np.any(flags, axis=0) if flags else True, index=frame.index)


def _valid_rows(frame: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    return frame.loc[_valid_mask(frame, instrument)]


def _factor_scores(valid: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Mean item score per factor (reverse-scored items reversed), NaN below ``min_items``."""
    scores = {}
    for factor in instrument.factors:
        values = np.column_stack(
            [
                instrument.items[i].response_set.score_lookup(reverse=rev)[_code_index(valid[i])]
                for i, rev in factor.items
            ]
        )
        answered = (~np.isnan(values)).sum(axis=1)
        total = np.nansum(values, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / answered
        scores[factor.id] = np.where(answered >= factor.min_items, mean, np.nan)
    return pd.DataFrame(scores, index=valid.index)


def _percent(shares: pd.Series) -> dict[str, str]:
    return {k: ("" if np.isnan(v) else f"{100 * v:.0f}") for k, v in shares.items()}


def _behaviour_table(summary: dict, instrument: Instrument) -> pd.DataFrame:
    """Share flagged by each behaviour rule by grade (%), first and last wave."""
    grades = list(load_respondent_schema().grade_codes)
    rows = []
    for s in summary.values():
        by_grade = s.flags.groupby(s.groups["grade"]).mean().reindex(grades)
        for behaviour in instrument.behaviours:
            rows.append(
                {"wave": s.wave, "behaviour": behaviour.id, **_percent(by_grade[behaviour.id])}
            )
    return pd.DataFrame(rows)


def _sex_table(summary: dict, instrument: Instrument) -> pd.DataFrame:
    """Share flagged by each behaviour rule by published sex code (%), last wave."""
    sexes = list(load_respondent_schema().published_sex_codes)
    last = summary[max(summary)]
    by_sex = last.flags.groupby(last.groups["sex"]).mean().reindex(sexes)
    return pd.DataFrame(
        [
            {"wave": last.wave, "behaviour": b.id, **_percent(by_sex[b.id])}
            for b in instrument.behaviours
        ]
    )


def _factor_range_table(summary: dict, instrument: Instrument) -> pd.DataFrame:
    """Share flagged per factor by grade (%): min-median-max over the factors of each kind."""
    grades = list(load_respondent_schema().grade_codes)
    rows = []
    for s in summary.values():
        by_grade = 100 * s.flags.groupby(s.groups["grade"]).mean().reindex(grades)
        for kind in FACTOR_KINDS:
            shares = by_grade[[f.id for f in instrument.factors_of(kind)]]
            spans = [
                f"{lo:.0f}-{mid:.0f}-{hi:.0f}"
                for lo, mid, hi in zip(
                    shares.min(axis=1), shares.median(axis=1), shares.max(axis=1), strict=True
                )
            ]
            rows.append({"wave": s.wave, "kind": kind, **dict(zip(grades, spans, strict=True))})
    return pd.DataFrame(rows)


def _planted_table(summary: dict, truth: dict) -> pd.DataFrame:
    """Planted effects with what the data show: area vs elsewhere (last wave), or first -> last."""
    first, last = summary[min(summary)], summary[max(summary)]
    rows = []
    for effect in truth["planted_effects"]:
        measure, area = effect["measure"], effect["area"]
        inside = _in_group(last, area)
        if effect["kind"] == "level":
            realised = (
                f"{last.wave}: {_pct(last.flags[measure][inside])} in the area,"
                f" {_pct(last.flags[measure][~inside])} elsewhere"
            )
        else:
            before = _pct(first.flags[measure][_in_group(first, area)])
            realised = f"{first.wave}: {before} -> {last.wave}: {_pct(last.flags[measure][inside])}"
        keys = ("kind", "area", "measure", "direction", "size", "unit")
        entry = {k: effect[k] for k in keys} | {"also_moves": ", ".join(effect["also_moves"])}
        rows.append({**entry, "realised (share flagged)": realised})
    return pd.DataFrame(rows)


def _links_table(summary: dict, truth: dict, instrument: Instrument) -> pd.DataFrame:
    """Planted and unplanted links with the crude shares of the last wave (at risk / not) and
    the behaviour's general-latent baseline (median ratio over its unplanted risk factors)."""
    flags = summary[max(summary)].flags
    risk = [f.id for f in instrument.factors_of(FACTOR_KINDS[0])]
    planted = truth["links"]["planted"]
    rows = []
    for kind, entries in (("planted", planted), ("unplanted", truth["links"]["unplanted"])):
        for e in entries:
            linked = {p["factor"] for p in planted if p["behaviour"] == e["behaviour"]}
            at_risk, without = _crude_shares(flags, e["factor"], e["behaviour"], e["factor_kind"])
            baseline = np.median(
                [
                    np.divide(*_crude_shares(flags, f, e["behaviour"]))
                    for f in risk
                    if f not in linked
                ]
            )
            rows.append(
                {"link": kind, "behaviour": e["behaviour"], "factor": e["factor"],
                 "coefficient": e.get("coefficient", ""), "at risk": _as_percent(at_risk),
                 "not at risk": _as_percent(without), "ratio": f"{at_risk / without:.1f}",
                 "baseline ratio": f"{baseline:.1f}"}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _crude_shares(
    flags: pd.DataFrame, factor: str, behaviour: str, kind: str = FACTOR_KINDS[0]
) -> tuple[float, float]:
    """Share with the behaviour among pupils at risk on the factor (for a protective factor:
    without its protection) and among the others."""
    known = flags[[factor, behaviour]].dropna()
    exposed = known[factor] == (1.0 if kind == FACTOR_KINDS[0] else 0.0)
    return float(known.loc[exposed, behaviour].mean()), float(known.loc[~exposed, behaviour].mean())


def _as_percent(share: float) -> str:
    return f"{100 * share:.1f} %"


def _ctc_table(truth: dict) -> pd.DataFrame:
    """The planted CTC effects and what they realised (percentage points, pooled and by wave)."""
    ctc = truth["ctc"]
    kinds = {e["measure"]: e for e in ctc["effects"]}
    rows = []
    for measure, realised in ctc["realised"].items():
        effect = kinds.get(measure)
        planted = f"{effect['shift']:+g} {effect['unit']}" if effect else "(follows)"
        by_wave = ", ".join(f"{w}: {100 * v:+.1f}" for w, v in realised.items() if w != "all")
        rows.append(
            {"measure": measure, "planted": planted,
             "realised (pp, all waves after start)": f"{100 * realised['all']:+.1f}",
             "by wave": by_wave}
        )  # fmt: skip
    return pd.DataFrame(rows)


def _in_group(summary: _WaveSummary, area: str) -> pd.Series:
    areas = summary.groups["area"]
    return pd.Series(True, index=areas.index) if area == "all" else areas == area


def _pct(flags: pd.Series) -> str:
    return f"{100 * flags.mean():.0f} %"


# --------------------------------------------------------------------------------------------
# Command line


def command_demo_data(args) -> int:
    """``ctc demo-data [--out DIR] [--seed N] [--respondents N]``: regenerate the demo city."""
    lang = check_language(getattr(args, "lang", None))
    model = load_model(DEFAULT_MODEL)
    messages = model.get("messages") or {}
    out = Path(args.out) if getattr(args, "out", None) is not None else SAMPLE_DIR
    written = write_city(
        out,
        DEFAULT_MODEL,
        instrument=load_instrument(getattr(args, "instrument", None)),
        respondents_per_wave=getattr(args, "respondents", None),
        seed=getattr(args, "seed", None),
    )
    print(text_of(messages["written"], lang).format(n=len(written), out=out))
    for path in written:
        print(f"  {path.name}  ({path.stat().st_size} B)")
    print(t("synthetic_notice", lang))
    return 0
