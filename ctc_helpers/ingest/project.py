"""The whole-project check of ``ctc validate --config RUN_FILE``: everything before anything runs.

:func:`check_project` reads the run file, the instrument, the area list and every survey file
the run would read, and checks what ties them together: the waves asked for are in the data,
the cut-point baseline wave of percentile cut points is in the data, the areas of the list have
answers, the instrument's items are columns of the survey (and a ``mapping.yaml`` beside the run
file names items and codes of the instrument), the phases asked for fit the instrument. Each
finding is either ``stop`` (``ctc run`` would stop on it) or ``change`` (the run goes on, but
its results differ from what one might expect: rows quarantined, a phase that says it has
nothing to show, an area without answers).

>>> Finding("stop", "run.yaml", "...").stops
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctc_helpers.config.instrument import Instrument, load_instrument, load_respondent_schema
from ctc_helpers.config.mapping import load_mapping, mapping_problems
from ctc_helpers.config.run import RunConfig, load_run_config
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.ingest import load as ingest_load
from ctc_helpers.ingest.load import load_survey
from ctc_helpers.ingest.report import IngestResult

__all__ = ["FACTOR_PHASES", "Finding", "check_project", "format_findings", "command_validate"]

# Phases built on risk and protective factor scales (they say so when the instrument has none).
FACTOR_PHASES = ("02_factor_prioritization", "03_gap_analysis")
MAPPING_FILE = "mapping.yaml"  # beside the run file: checked against the instrument when present


@dataclass(frozen=True)
class Finding:
    """One thing found: ``severity`` ``stop`` or ``change``, ``where`` (file), ``text``."""

    severity: str
    where: str
    text: str

    @property
    def stops(self) -> bool:
        return self.severity == "stop"


def check_project(run_file: str | Path, *, lang: str | None = None) -> list[Finding]:
    """Every problem of a project that would stop or change ``ctc run --config run_file``.

    The checks stop early only where nothing further can be read (a broken run file,
    instrument or survey file): the findings so far are returned.
    """
    lang = check_language(lang)
    run_file = Path(run_file)
    try:
        config = load_run_config(run_file)
    except CTCError as exc:
        return [Finding("stop", run_file.name, _text_of(exc, lang))]
    try:
        instrument = load_instrument(config.instrument_file)
    except CTCError as exc:
        return [Finding("stop", config.instrument_file.name, _text_of(exc, lang))]
    findings = _mapping_findings(run_file.parent / MAPPING_FILE, instrument, lang)
    findings += _phase_findings(config, instrument, lang)
    findings += _parameter_findings(config, lang)
    try:
        ingested = load_survey(
            list(config.survey_files), instrument=instrument, areas=config.areas_file, lang=lang
        )
    except CTCError as exc:
        return [*findings, Finding("stop", _files(config), _text_of(exc, lang))]
    return findings + _data_findings(config, instrument, ingested, lang)


def _text_of(exc: CTCError, lang: str) -> str:
    return exc.text(lang)


def _files(config: RunConfig) -> str:
    return ", ".join(p.name for p in config.survey_files)


def _mapping_findings(path: Path, instrument: Instrument, lang: str) -> list[Finding]:
    if not path.is_file():
        return []
    try:
        mapping = load_mapping(path)
    except CTCError as exc:
        return [Finding("stop", path.name, _text_of(exc, lang))]
    codes = {i: item.response_set.codes for i, item in instrument.items.items()}
    required = load_respondent_schema(instrument=instrument).required_columns
    problems = mapping_problems(mapping, item_codes=codes, required=required)
    return [Finding("stop", path.name, p.text(lang)) for p in problems]


def _phase_findings(config: RunConfig, instrument: Instrument, lang: str) -> list[Finding]:
    title = instrument.title[lang]
    phases = [*config.phases, *config.city_phases]
    findings = [
        Finding(
            "change",
            config.path.name if config.path else "run.yaml",
            t("project_phase_no_factors", lang, phase=phase, title=title),
        )  # fmt: skip
        for phase in phases
        if phase in FACTOR_PHASES and not instrument.has_factors
    ]
    if not instrument.has_screening:
        findings.append(
            Finding(
                "change",
                config.instrument_file.name,
                t("instrument_no_screening", lang, title=title),
            )  # fmt: skip
        )
    if instrument.missing_language(lang) or instrument.missing_language(config.lang):
        findings.append(
            Finding(
                "change",
                config.instrument_file.name,
                t("project_one_language", lang, languages=", ".join(instrument.languages)),
            )  # fmt: skip
        )
    return findings


def _parameter_findings(config: RunConfig, lang: str) -> list[Finding]:
    """Files and folders the phases are given (``*_path``/``*_file``, ``*_dir`` parameters of
    the run file) that do not exist: the phase's report would stop on them."""
    base = config.path.parent if config.path else Path.cwd()
    where = config.path.name if config.path else "run.yaml"
    findings = []
    for phase in config.phases:
        given = {**config.parameters, **config.phase_parameters.get(phase, {})}
        for key, value in given.items():
            if not isinstance(value, str) or not value:
                continue
            path = Path(value) if Path(value).is_absolute() else base / value
            wanted_dir = key.endswith("_dir")
            if not key.endswith(("_path", "_file", "_dir")) or (
                path.is_dir() if wanted_dir else path.is_file()
            ):
                continue
            scope = (
                f"phase_parameters.{phase}"
                if key in config.phase_parameters.get(phase, {})
                else "parameters"
            )
            findings.append(Finding("stop", where, t(
                "project_parameter_missing", lang, key=key, where=scope, path=str(path), phase=phase,
            )))  # fmt: skip
    return findings


def _data_findings(
    config: RunConfig, instrument: Instrument, ingested: IngestResult, lang: str
) -> list[Finding]:
    data, where = ingested.data, _files(config)
    waves = sorted(int(w) for w in data["wave"].dropna().unique())
    findings = []
    absent = [w for w in (config.waves or ()) if w not in waves]
    if absent:
        findings.append(Finding("stop", config.path.name if config.path else "run.yaml",
                                t("project_waves_absent", lang, waves=absent, present=waves)))  # fmt: skip
    findings += _cutpoint_findings(config, instrument, waves, lang)
    quarantined = int(ingested.report.get("rows_quarantined", 0))
    if quarantined:
        findings.append(Finding("change", where,
                                t("project_quarantined", lang, n=quarantined, rows=len(data) + quarantined)))  # fmt: skip
    listed = set(config.area_names)
    silent = sorted(listed - set(data["area"].astype(str)))
    if silent:
        findings.append(Finding("change", config.areas_file.name,
                                t("project_areas_without_answers", lang, areas=silent)))  # fmt: skip
    missing_items = [i for i in instrument.item_ids if i not in data.columns]
    if missing_items:
        findings.append(Finding("change", where,
                                t("project_items_absent", lang, items=missing_items)))  # fmt: skip
    return findings


def _cutpoint_findings(
    config: RunConfig, instrument: Instrument, waves: list[int], lang: str
) -> list[Finding]:
    percentile = [f.id for f in instrument.factors if f.cutpoint.get("method") == "percentile"]
    if not percentile or config.cutpoints_file is not None:
        return []
    reference = (instrument.defaults.get("cutpoints") or {}).get("reference")
    where = config.instrument_file.name
    if not isinstance(reference, Mapping):
        return [Finding("stop", where, t("project_no_baseline", lang, factors=percentile[:5]))]
    wanted = _as_list(reference.get("wave"))
    if wanted and not set(wanted) & set(waves):
        return [Finding("stop", where,
                        t("project_baseline_absent", lang, wave=wanted, present=waves))]  # fmt: skip
    return []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def format_findings(findings: list[Finding], *, lang: str | None = None) -> str:
    """The findings as lines for the terminal: what stops the run first, then what changes it."""
    lang = check_language(lang)
    if not findings:
        return t("project_clean", lang)
    ordered = sorted(findings, key=lambda f: not f.stops)
    lines = [t(f"project_{f.severity}", lang, where=f.where, text=f.text) for f in ordered]
    stops = sum(f.stops for f in findings)
    return "\n".join([*lines, "", t("project_summary", lang, stops=stops,
                                     changes=len(findings) - stops)])  # fmt: skip


def command_validate(args) -> int:
    """``ctc validate --config RUN_FILE`` (whole project) or ``ctc validate FILE ...`` (files).

    Exit 2 when something would stop ``ctc run``, else 0 (the findings are printed).
    """
    if getattr(args, "config", None) is None:
        return ingest_load.command_validate(args)  # looked up at call time
    findings = check_project(args.config, lang=args.lang)
    print(format_findings(findings, lang=args.lang))
    return 2 if any(f.stops for f in findings) else 0
