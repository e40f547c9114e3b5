"""Publish: build the published folder of a wave (``reports/<wave>/data/``).

The whole city is ingested, screened, scored and aggregated once into a private cache keyed by
the checksums of the inputs (:func:`prepare_waves`); each wave's folder then holds only the
protected tables that notebooks, reports and dashboards read (see ``docs/ARCHITECTURE.md``,
"The published folder", and ``docs/PRIVACY.md``). The tables of each wave are protected together
and audited as a reader sees them (:func:`ctc_helpers.privacy.gate.protect_wave`); the step stops
with a :class:`~ctc_helpers.privacy.gate.DisclosureError` rather than publish a table from which
a hidden count could be worked out. :mod:`ctc_helpers.publish.read` reads the folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from ctc_helpers.batch.files import read_json
from ctc_helpers.config.files import read_csv_text
from ctc_helpers.config.instrument import load_respondent_schema
from ctc_helpers.config.run import RunConfig, load_run_config, run_instrument
from ctc_helpers.errors import ConfigError
from ctc_helpers.fingerprint import file_sha256
from ctc_helpers.i18n import t
from ctc_helpers.ingest.load import load_survey
from ctc_helpers.paths import PACKAGE_DIR
from ctc_helpers.phases.links import links_for_prepare  # ~0.02 s after privacy
from ctc_helpers.privacy.gate import protect_wave
from ctc_helpers.privacy.suppress import add_margins
from ctc_helpers.privacy.tables import wave_input
from ctc_helpers.survey.compare import compare_to_city, compare_waves
from ctc_helpers.survey.cutpoints import load_cutpoints
from ctc_helpers.survey.profile import aggregate, prepare_scored
from ctc_helpers.survey.screening import screening_log
from ctc_helpers.vocab import CITY

__all__ = ["PUBLISHED_FILES", "Prepared", "prepare", "prepare_waves", "read_enrolment"]


PUBLISHED_FILES = (
    "aggregates.parquet",
    "comparisons.parquet",
    "participation.parquet",
    "screening_log.parquet",
    "cutpoints.csv",
    "measures.csv",
    "run_info.json",
    "effects.parquet",  # the effect evaluation (ctc_helpers.phases.effects.tables)
    "effect_events.parquet",
    "effect_design.parquet",
)
UNKNOWN_SCHOOL = "unknown"  # school code of questionnaires without a school


@dataclass(frozen=True)
class Prepared:
    """The published folders of the prepared waves and what the run summary reports."""

    folders: dict[int, Path]
    summary: dict[str, Any]  # goes into the published manifest: no private paths
    seconds: float
    private: dict[str, str] = field(default_factory=dict)  # cache and quarantine file (console)


@functools.cache
def _code_checksum() -> str:
    """The package's code version: its version number and the checksums of its modules (read
    once per process: the code that runs is the code that was imported)."""
    digest = hashlib.sha256(metadata.version("ctc-helpers").encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(
            path.relative_to(PACKAGE_DIR).as_posix().encode() + file_sha256(path).encode()
        )
    return digest.hexdigest()


def _input_files(config: RunConfig) -> dict[str, Path]:
    files = {f"survey/{p.name}": p for p in config.survey_files}
    files.update(areas=config.areas_file, instrument=config.instrument_file)
    if config.enrolment_file:
        files["enrolment"] = config.enrolment_file
    if config.cutpoints_file:
        files["cutpoints"] = config.cutpoints_file
    return files


def _build_cache(config: RunConfig, instrument: Any, schema: Any, folder: Path) -> None:
    """Ingest every survey file once, score, aggregate and count the whole city (unsuppressed)."""

    ingested = load_survey(
        list(config.survey_files), instrument=instrument, areas=config.areas_file
    )
    frozen = load_cutpoints(config.cutpoints_file) if config.cutpoints_file else None
    if frozen is None:
        _check_baseline(config, instrument, ingested.data["wave"])
    scored, cutpoints = prepare_scored(ingested.data, instrument, cutpoints=frozen)
    areas = list(config.area_names)
    tables = {
        "scored": scored,
        "aggregates": aggregate(scored, instrument, schema, areas=areas, cutpoints=cutpoints),
        "screening_log": screening_log(scored, instrument, respondent_schema=schema),
        "participation": _participation(scored, schema, config.enrolment_file),
    }
    folder.mkdir(parents=True)
    for name, table in tables.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    cutpoints.to_csv(folder / "cutpoints.csv", index=False)
    ingested.quarantine.to_csv(folder / "quarantine.csv", index=False)
    report = json.dumps(ingested.report, indent=1, ensure_ascii=False, default=str)
    (folder / "ingest_report.json").write_text(report, encoding="utf-8")
    meta = {
        "waves": sorted(int(w) for w in scored["wave"].unique()),
        "respondents": len(scored),
        "quarantine_rows": int(ingested.report.get("rows_quarantined", 0)),
    }
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _check_baseline(config: RunConfig, instrument: Any, waves: pd.Series) -> None:
    """Stop (exit 2) when percentile cut points need a baseline wave that is not in the data.

    Raises
    ------
    ConfigError
        Naming the instrument's ``defaults: cutpoints: reference``, the run file's keys that fix
        it (``data: survey:``, ``data: cutpoints:``) and the waves present, in the run's language.
    """
    if not any(f.cutpoint.get("method") == "percentile" for f in instrument.factors):
        return
    reference = (instrument.defaults.get("cutpoints") or {}).get("reference")
    wanted = reference.get("wave") if isinstance(reference, Mapping) else None
    wanted = (
        [] if wanted is None else list(wanted) if isinstance(wanted, list | tuple) else [wanted]
    )
    present = sorted(int(w) for w in pd.unique(waves.dropna()))
    if wanted and not {int(w) for w in wanted} & set(present):
        where = f"{config.path or 'run.yaml'} ({config.instrument_file.name})"
        text = t("project_baseline_absent", config.lang, wave=wanted, present=present)
        raise ConfigError(f"{where}: {text}")


def _participation(scored: pd.DataFrame, schema: Any, enrolment_file: Path | None) -> pd.DataFrame:
    """Questionnaires by wave x area x school x grade x sex with every margin (unsuppressed).

    Returns columns ``wave, area, school, grade, sex, n`` (questionnaires), ``n_valid`` (valid
    after screening) and ``enrolled`` (rows with ``sex == "all"`` where every part is known).
    Respondents whose sex is not published (``U``, missing) count in the totals only.
    """

    total = schema.total_code
    school = scored["school"] if "school" in scored.columns else pd.Series(index=scored.index)
    leaves = (
        pd.DataFrame(
            {
                "wave": scored["wave"].astype(int),
                "area": scored["area"].astype(str),
                "school": school.astype("object").fillna(UNKNOWN_SCHOOL).astype(str),
                "grade": scored["grade"].astype(str),
                "sex": scored["sex"].astype("object").fillna("missing").astype(str),
                "n": 1,
                "n_valid": scored["valid"].astype(int),
            }
        )
        .groupby(["wave", "area", "school", "grade", "sex"])[["n", "n_valid"]]
        .sum()
        .reset_index()
    )
    dims = ("area", "school", "grade", "sex")
    table = add_margins(leaves, dims=dims, value_cols=("n", "n_valid"), by=("wave",))
    table = table[table["sex"].isin([*schema.published_sex_codes, total])].reset_index(drop=True)
    return table.assign(enrolled=_enrolled(table, enrolment_file, total=total))


def read_enrolment(path: Path, *, lang: str | None = None) -> pd.DataFrame:
    """The enrolment file (``wave, area, school, grade, enrolled``): enrolled pupils per school
    and grade, ``wave`` as int and ``enrolled`` as float.

    Raises
    ------
    ConfigError
        The file cannot be read or lacks a column, or a wave or a count is not a whole number
        of at least 0 (file, row, column and value named, in ``lang``).
    """
    columns = ["wave", "area", "school", "grade", "enrolled"]
    frame = read_csv_text(path, lang=lang)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            t("enrolment_column", lang, file=path.name, column=missing[0],
              columns=", ".join(columns))
        )  # fmt: skip
    frame = frame[columns].apply(lambda s: s.str.strip())
    for column in ("wave", "enrolled"):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() | (numbers < 0) | (numbers % 1 != 0)
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise ConfigError(
                t("enrolment_value", lang, file=path.name, row=row + 2, column=column,
                  value=repr(frame[column].iloc[row]))
            )  # fmt: skip
        frame[column] = numbers
    return frame.astype({"wave": int, "enrolled": float})


def _enrolled(table: pd.DataFrame, enrolment_file: Path | None, *, total: str) -> pd.Series:
    """Enrolled pupils of each row with ``sex == total``; NaN where any part is unknown."""

    keys = ["wave", "area", "school", "grade"]
    if enrolment_file is None:
        return pd.Series(float("nan"), index=table.index)
    enrolment = read_enrolment(enrolment_file)
    detail = table[(table[["area", "school", "grade"]] != total).all(axis=1) & (table.sex == total)]
    leaves = detail[[*keys, "n"]].merge(enrolment[[*keys, "enrolled"]], on=keys, how="left")
    # no number and nobody answered: a school outside this area or grade, i.e. zero pupils
    unknown = leaves["enrolled"].isna() & (leaves["n"] > 0)
    leaves = leaves.assign(enrolled=leaves["enrolled"].fillna(0.0), unknown=unknown.astype(int))
    sums = add_margins(
        leaves, dims=("area", "school", "grade"), value_cols=("enrolled", "unknown"), by=("wave",)
    )
    sums = sums.assign(enrolled=sums["enrolled"].where(sums["unknown"] == 0), sex=total)
    merged = table[[*keys, "sex"]].merge(
        sums[[*keys, "sex", "enrolled"]], on=[*keys, "sex"], how="left"
    )
    return pd.Series(merged["enrolled"].to_numpy(float), index=table.index)


def _cache(config: RunConfig, instrument: Any, schema: Any, checksums: Mapping[str, str]) -> Path:
    """The cache folder of these inputs and this code, built when missing."""
    payload = json.dumps({"inputs": dict(checksums), "code": _code_checksum()}, sort_keys=True)
    folder = config.cache_dir / hashlib.sha256(payload.encode()).hexdigest()[:24]
    if (folder / "meta.json").is_file():
        return folder
    building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    _build_cache(config, instrument, schema, building)
    if (folder / "meta.json").is_file():  # built meanwhile by another run
        shutil.rmtree(building)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        building.rename(folder)
    return folder


PROTECTED_TABLES = ("aggregates", "participation", "screening_log")


def _suppressed_tables(
    cache: Path, *, min_n: int, min_count: int, excluding: frozenset[str], waves: Sequence[int]
) -> dict[str, pd.DataFrame]:
    """The protected tables of the given waves. Each wave is protected and audited once per
    minimum group size and count and cached (the suppression and its audit are the slow steps);
    a wave's tables are the same in every published folder that holds it."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in PROTECTED_TABLES}
    for wave in waves:
        folder = cache / f"protected-min{min_n}-{min_count}" / str(wave)
        if not (folder / "audit.json").is_file():
            staging = folder.with_name(f"{wave}.building-{os.getpid()}")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            protected = _protect(cache, min_n=min_n, min_count=min_count, wave=wave,
                                 excluding=excluding)  # fmt: skip
            for name in PROTECTED_TABLES:
                protected.tables[name].to_parquet(staging / f"{name}.parquet", index=False)
            audit = {"wave": wave, "min_n": min_n, "min_count": min_count, **protected.stats}
            (staging / "audit.json").write_text(json.dumps(audit, default=float), encoding="utf-8")
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)
        for name in PROTECTED_TABLES:
            parts[name].append(pd.read_parquet(folder / f"{name}.parquet"))
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def _protect(cache: Path, *, min_n: int, min_count: int, wave: int, excluding: frozenset[str]):
    """Protect one wave's aggregates, participation and screening log together."""

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(cache / f"{name}.parquet", filters=[("wave", "==", wave)])

    data = wave_input(
        read("aggregates"), read("participation"), read("screening_log"),
        wave=wave, excluding=excluding,
    )  # fmt: skip
    return protect_wave(data, min_n=min_n, min_count=min_count)


def _comparisons(
    aggregates: pd.DataFrame, *, wave: int, previous: int | None, areas: Sequence[str], min_n: int
) -> pd.DataFrame:
    """Each area against the city, and each area and the city against the previous wave.

    Groups: every grade (all sexes), every sex (all grades) and the total. Returns the columns of
    ``compare_to_city`` and ``compare_waves`` plus ``comparison`` (``city`` /
    ``previous_wave``) and ``reference_wave`` (the previous wave; NaN for ``city``).
    """

    table = aggregates[aggregates["wave"].isin([wave, previous])]
    by_area = dict(tuple(table.groupby("area", sort=False)))
    rows = by_area[CITY]
    groups = [(g, CITY) for g in rows["grade"].unique()]
    groups += [(CITY, s) for s in rows["sex"].unique() if s != CITY]
    frames = []
    for area in [CITY, *areas]:
        both = pd.concat([by_area[area], rows]) if area != CITY else rows
        for grade, sex in groups:
            common = {"area": area, "grade": grade, "sex": sex, "min_n": min_n}
            if area != CITY:
                versus = compare_to_city(both, wave=wave, **common)
                frames.append(versus.assign(comparison="city", reference_wave=float("nan")))
            if previous is not None:
                trend = compare_waves(by_area[area], wave=wave, previous_wave=previous, **common)
                frames.append(trend.assign(comparison="previous_wave", reference_wave=previous))
    return pd.concat(frames, ignore_index=True)


def _measures(instrument: Any) -> pd.DataFrame:
    """``Instrument.measures()`` with the labels and descriptions in Swedish and English."""
    sv, en = instrument.measures("sv"), instrument.measures("en")
    texts = ["label", "description"]
    return sv.rename(columns={c: f"{c}_sv" for c in texts}).assign(
        **{f"{c}_en": en[c].to_numpy() for c in texts}
    )


def _run_info(
    config: RunConfig,
    instrument: Any,
    cutpoints: pd.DataFrame,
    *,
    wave: int,
    previous: int | None,
    waves: Sequence[int],
    checksums: Mapping[str, str],
    key: str,
) -> dict[str, Any]:
    versions = sorted(str(v) for v in cutpoints["version"].unique())
    return {
        "prepare_key": key,
        "wave": wave,
        "previous_wave": previous,
        "waves": list(waves),
        "min_cell": config.min_cell,
        "min_count": config.min_count,
        "synthetic": config.synthetic,
        "instrument": {
            "id": instrument.id,
            "version": instrument.version,
            "title": instrument.title,
            "notice": instrument.notice,
        },
        "cutpoint_version": versions[0] if len(versions) == 1 else versions,
        "validity_rules": [
            {"id": r.id, "label": dict(r.label), "exclude": r.exclude} for r in instrument.validity
        ],
        "data_checksums": dict(checksums),
        "areas": [{"area_id": a, "name": n} for a, n in config.area_names.items()],
        **_instrument_info(instrument),
    }


def _instrument_info(instrument: Any) -> dict[str, Any]:
    """What the reports need to read right for any instrument (issue 16): its vocabulary of
    grades and sexes (codes, order, labels), declared domains, languages, glossary entries and
    which parts it has (factors, behaviours, screening)."""
    schema = load_respondent_schema(instrument=instrument)
    keep = ("code", "year", "age", "label", "published")
    return {
        "respondents": {
            key: [{k: v for k, v in entry.items() if k in keep} for entry in entries]
            for key, entries in (("grades", schema.grades), ("sexes", schema.sexes))
        },
        "domains": [{"id": d, "label": dict(label)} for d, label in instrument.domains.items()],
        "languages": list(instrument.languages),
        "glossary": [dict(entry) for entry in instrument.glossary],
        "has_factors": instrument.has_factors,
        "has_behaviours": instrument.has_behaviours,
        "has_screening": instrument.has_screening,
    }


def _publish(
    config: RunConfig,
    instrument: Any,
    cache: Path,
    tables: Callable[[Sequence[int]], dict[str, pd.DataFrame]],
    *,
    wave: int,
    checksums: Mapping[str, str],
) -> Path:
    """Write ``<output>/<wave>/data/`` (reused when its key matches); returns the folder."""
    folder = config.output_dir / str(wave) / "data"
    named = f"/{','.join(config.priority_behaviours)}" if config.priority_behaviours else ""
    limits = f"{config.min_cell}/{config.min_count}"
    key = hashlib.sha256(f"{cache.name}/{limits}/{wave}{named}".encode()).hexdigest()[:24]
    info = read_json(folder / "run_info.json")
    if (
        info
        and info.get("prepare_key") == key
        and all((folder / f).is_file() for f in PUBLISHED_FILES)
    ):
        return folder
    waves = [int(w) for w in json.loads((cache / "meta.json").read_text())["waves"] if w <= wave]
    previous = max((w for w in waves if w < wave), default=None)
    published = tables(waves)
    cutpoints = pd.read_csv(cache / "cutpoints.csv", dtype={"version": str})
    comparisons = _comparisons(
        published["aggregates"], wave=wave, previous=previous,
        areas=list(config.area_names), min_n=config.min_cell,
    )  # fmt: skip
    # the effect evaluation on the private cells; it publishes only pooled estimates
    from ctc_helpers.phases.effects.tables import effect_tables_for_prepare  # ~1.1 s (scipy)

    effects = effect_tables_for_prepare(
        cache / "aggregates.parquet", config.areas_file, instrument=instrument, waves=waves,
        published=published["aggregates"],
    )  # fmt: skip
    # the local factor-behaviour links of the named behaviours, protected (phases/links.py)
    if config.priority_behaviours:
        effects = {**effects, "links": links_for_prepare(
            cache / "scored.parquet", instrument, behaviours=config.priority_behaviours,
            waves=waves, min_n=config.min_cell, aggregates=published["aggregates"],
        )}  # fmt: skip
    staging = folder.with_name(".data-staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, table in {**published, "comparisons": comparisons, **effects}.items():
        table.reset_index(drop=True).to_parquet(staging / f"{name}.parquet", index=False)
    cutpoints.to_csv(staging / "cutpoints.csv", index=False)
    _measures(instrument).to_csv(staging / "measures.csv", index=False)
    info = _run_info(
        config, instrument, cutpoints, wave=wave, previous=previous, waves=waves,
        checksums=checksums, key=key,
    )  # fmt: skip
    (staging / "run_info.json").write_text(
        json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def prepare_waves(config: RunConfig, *, waves: Sequence[int] | None = None) -> Prepared:
    """Build (or reuse) the published folders of the chosen waves (default: the run file's)."""

    start = time.perf_counter()
    instrument = run_instrument(config)  # with the run file's grades and sexes, if declared
    checksums = {name: file_sha256(path) for name, path in _input_files(config).items()}
    # one BLAS thread: the many small SVDs of the suppression slow down several-fold when
    # OpenBLAS threads compete for busy cores (measured 14 s -> 2 s for one wave)
    with threadpool_limits(limits=1, user_api="blas"):
        return _prepare(config, instrument, checksums, waves=waves, start=start)


def _prepare(
    config: RunConfig,
    instrument: Any,
    checksums: Mapping[str, str],
    *,
    waves: Sequence[int] | None,
    start: float,
) -> Prepared:
    cache = _cache(config, instrument, load_respondent_schema(instrument=instrument), checksums)
    meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
    chosen = _chosen_waves(waves or config.waves, meta["waves"])

    excluding = frozenset(r.id for r in instrument.validity if r.exclude)

    def tables(waves: Sequence[int]) -> dict[str, pd.DataFrame]:
        return _suppressed_tables(
            cache, min_n=config.min_cell, min_count=config.min_count, excluding=excluding,
            waves=waves,
        )  # fmt: skip

    folders = {
        w: _publish(config, instrument, cache, tables, wave=w, checksums=checksums) for w in chosen
    }
    summary = {
        "waves": chosen,
        "respondents": meta["respondents"],
        "quarantine_rows": meta["quarantine_rows"],
        "synthetic": config.synthetic,
    }
    private = {"quarantine_file": str(cache / "quarantine.csv"), "cache": str(cache)}
    return Prepared(
        folders=folders, summary=summary, seconds=time.perf_counter() - start, private=private
    )


def _chosen_waves(waves: Sequence[int] | None, present: Sequence[int]) -> list[int]:
    if not waves:
        return [max(present)]
    missing = [w for w in waves if w not in present]
    if missing:
        raise ConfigError(
            f"There is no survey wave {missing[0]} in the data files; waves present:"
            f" {', '.join(map(str, present))}."
        )
    return sorted(int(w) for w in waves)


def prepare(config: RunConfig | str | Path, *, wave: int | None = None) -> Path:
    """Build (or reuse) the published folder ``reports/<wave>/data/`` of a wave.

    Parameters
    ----------
    config : RunConfig or path of a run file
    wave : int, optional
        The survey year (default: the latest in the data).

    Returns
    -------
    pathlib.Path
        The published folder (see ``docs/ARCHITECTURE.md``).
    """
    config = config if isinstance(config, RunConfig) else load_run_config(config)
    prepared = prepare_waves(config, waves=None if wave is None else (int(wave),))
    return next(iter(prepared.folders.values()))
