"""The whole-project check of ``ctc validate --config RUN_FILE``: everything before anything runs.

:func:`check_project` reads the run file, the instrument, the area list and every survey file
the run would read, and checks what ties them together: the waves asked for are in the data,
the cut-point baseline wave of percentile cut points is in the data, the areas of the list have
answers, the instrument's items are columns of the survey (and a ``mapping.yaml`` beside the run
file names items and codes of the instrument), the phases asked for fit the instrument. The area
teams' files each report would read (priorities, goal chains, the programme inventory and the
user's programme bank, given as phase parameters) are read as that report reads them, for every
area and phase of the run. Each finding is either ``stop`` (``ctc run`` would stop on it, or a
report of it would fail) or ``change`` (the run goes on, but its results differ from what one
might expect: rows quarantined, a phase that says it has nothing to show, an area without
answers, inventory rows not used, a team file named for no area).

>>> Finding("stop", "run.yaml", "...").stops
True
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.config.goal_chain import load_area_goal_chain
from ctc_helpers.config.instrument import Instrument, load_instrument, load_respondent_schema
from ctc_helpers.config.inventory import FlaggedProgrammeWarning
from ctc_helpers.config.mapping import load_mapping, mapping_problems
from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.config.programme_bank import load_programme_bank
from ctc_helpers.config.run import Job, RunConfig, load_run_config, plan_jobs, run_instrument
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.ingest import load as ingest_load
from ctc_helpers.ingest.load import load_survey
from ctc_helpers.ingest.report import IngestResult
from ctc_helpers.phases.area_selection import load_readiness
from ctc_helpers.phases.gaps.inventory import load_inventory
from ctc_helpers.phases.process import load_process, process_areas
from ctc_helpers.publish.build import read_enrolment
from ctc_helpers.vocab import CITY

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
        own = load_instrument(config.instrument_file)
    except CTCError as exc:
        return [Finding("stop", config.instrument_file.name, _text_of(exc, lang))]
    instrument = run_instrument(config)  # the run file's grades and sexes win
    findings = _mapping_findings(run_file.parent / MAPPING_FILE, instrument, lang)
    findings += _phase_findings(config, instrument, lang)
    findings += _parameter_findings(config, lang)
    findings += _team_findings(config, instrument, lang)
    findings += _enrolment_findings(config, lang)
    try:
        ingested = load_survey(
            list(config.survey_files), instrument=instrument, areas=config.areas_file, lang=lang
        )
    except CTCError as exc:
        return [*findings, Finding("stop", _files(config), _text_of(exc, lang))]
    findings += _vocabulary_findings(config, own, ingested, lang)
    return findings + _data_findings(config, instrument, ingested, lang)


def _enrolment_findings(config: RunConfig, lang: str) -> list[Finding]:
    """The enrolment file, read as the prepare step reads it (a bad count stops the run)."""
    path = config.enrolment_file
    if not path or not Path(path).is_file():  # a missing file is named by the run file's check
        return []
    try:
        read_enrolment(Path(path), lang=lang)
    except CTCError as exc:
        return [Finding("stop", Path(path).name, _text_of(exc, lang))]
    return []


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


# --------------------------------------------------------------------------------------------
# The area teams' files, read as each report reads them

# Phase parameters through which a report reads the area teams' files (paths from the run file).
TEAM_PARAMETERS = (
    "priorities_dir",
    "goal_chain_dir",
    "inventory_path",
    "programme_bank_path",
    "readiness_file",
    "process_dir",
)
# City reports that read every area's priorities instead of all.yaml (gaps, effects).
READS_EVERY_AREA = ("03_gap_analysis", "05_effect_evaluation")
_PARAMETER_LINE = re.compile(r"^(\w+)\s*[:=]", re.M)
EVERY_YEAR = 9999  # read every checklist when the run's wave is not known yet
_SHOWN_PROBLEMS = 3  # inventory problems quoted in a finding; the rest are counted


@cache
def notebook_parameters(notebook: Path) -> frozenset[str]:
    """The parameter names of a phase template (its cell tagged ``parameters``); none when the
    notebook cannot be read (the run file's check reports a missing notebook)."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return frozenset()
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    source = "".join("".join(c.get("source", [])) for c in tagged)
    return frozenset(_PARAMETER_LINE.findall(source))


@dataclass(frozen=True)
class _Team:
    """What the reports check the teams' files against: the instrument's measures (as the
    published ``measures.csv``) and the area list (as ``Published.areas``)."""

    measures: pd.DataFrame
    areas: pd.DataFrame
    lang: str
    schema: Any = None  # the grade and sex codes in force (RespondentSchema)


def _team_findings(config: RunConfig, instrument: Instrument, lang: str) -> list[Finding]:
    """Every team file a report of the run would read, read as that report reads it: a file
    that would make a report fail stops (naming the reports), rejected inventory rows and files
    named for no area change the results."""
    try:
        jobs = plan_jobs(config, waves=list(config.waves or (0,))[-1:], lang=config.lang)
    except CTCError as exc:
        return [Finding("stop", _run_name(config), _text_of(exc, lang))]
    names = config.area_names
    team = _Team(
        measures=instrument.measures(),
        areas=pd.DataFrame({"area_id": list(names), "name": list(names.values())}),
        lang=lang,
        schema=load_respondent_schema(instrument=instrument),
    )
    outcomes: dict[tuple[str, ...], list[Finding]] = {}
    readers: dict[tuple[str, ...], list[str]] = {}
    for job in jobs:
        for key, reads in _team_reads(job, config):
            if key not in outcomes:
                outcomes[key] = reads(team)
            readers.setdefault(key, []).append(f"{job.phase} ({job.area})")
    findings = [
        _with_readers(finding, readers[key], lang)
        for key, found in outcomes.items()
        for finding in found
    ]
    return list(dict.fromkeys(findings)) + _unread_team_files(config, jobs, lang)


def _team_reads(job: Job, config: RunConfig) -> list[tuple[tuple[str, ...], Callable]]:
    """The team files one report reads: (key, reader) pairs, the key naming file and area."""
    given = {
        k: v
        for k, v in job.parameters.items()
        if k in TEAM_PARAMETERS and k in notebook_parameters(job.notebook)
        and isinstance(v, str) and v.strip()
    }  # fmt: skip
    reads = []
    if "priorities_dir" in given:
        folder = given["priorities_dir"]
        every = job.area == CITY and job.phase in READS_EVERY_AREA
        areas = list(config.area_names) if every else [job.area]
        reads += [
            (("priorities", folder, a), partial(_read_priorities, folder=folder, area=a))
            for a in dict.fromkeys(areas)
        ]
    if "goal_chain_dir" in given:
        folder = given["goal_chain_dir"]
        reads.append(
            (
                ("goal_chain", folder, job.area),
                partial(_read_goal_chain, folder=folder, area=job.area),
            )
        )
    # a file that does not exist is reported once, by _parameter_findings
    bank = given.get("programme_bank_path", "")
    if bank and Path(bank).is_file():
        reads.append((("bank", bank), partial(_read_bank, path=bank)))
    path = given.get("inventory_path", "")
    if path and Path(path).is_file():
        reads.append((("inventory", path, bank), partial(_read_inventory, path=path, bank=bank)))
    if "process_dir" in given:  # checklists and plans, with the goal chains they link to
        folder, chains = given["process_dir"], given.get("goal_chain_dir", "")
        wave = job.wave or EVERY_YEAR  # waves "latest": known once the data is read
        reads += [  # the city's report reads every area that has a folder
            (
                ("process", folder, chains, area, str(wave)),
                partial(_read_process, folder=folder, area=area, wave=wave, chains=chains),
            )
            for area in process_areas(folder, job.area, config.area_names)
        ]
    ready = given.get("readiness_file", "")
    if ready and job.area == CITY and Path(ready).is_file():  # report 01 reads it for the city
        reads.append((("readiness", ready), partial(_read_readiness, path=ready)))
    return reads


def _stop_on_error(read: Callable[[], Any], where: str, lang: str) -> list[Finding]:
    try:
        read()
    except CTCError as exc:
        return [Finding("stop", where, _text_of(exc, lang))]
    return []


def _read_priorities(team: _Team, *, folder: str, area: str) -> list[Finding]:
    read = partial(load_team_choices, folder, area, factors=team.measures)
    return _stop_on_error(read, f"{Path(folder).name}/{area}.yaml", team.lang)


def _read_goal_chain(team: _Team, *, folder: str, area: str) -> list[Finding]:
    read = partial(
        load_area_goal_chain,
        folder,
        area,
        instrument=team.measures,
        respondent_schema=team.schema,
    )
    return _stop_on_error(read, f"{Path(folder).name}/{area}.yaml", team.lang)


def _read_process(team: _Team, *, folder: str, area: str, wave: int, chains: str) -> list[Finding]:
    read = partial(
        load_process, folder, area, wave=wave, known_areas=list(team.areas["area_id"]),
        goal_chain_dir=chains, measures=team.measures, respondent_schema=team.schema,
    )  # fmt: skip
    return _stop_on_error(read, f"{Path(folder).name}/{area}", team.lang)


def _read_readiness(team: _Team, *, path: str) -> list[Finding]:
    read = partial(load_readiness, path, areas=list(team.areas["area_id"]), lang=team.lang)
    return _stop_on_error(read, Path(path).name, team.lang)


def _read_bank(team: _Team, *, path: str) -> list[Finding]:
    read = partial(load_programme_bank, extra=path, instrument=team.measures)
    return _stop_on_error(read, Path(path).name, team.lang)


def _read_inventory(team: _Team, *, path: str, bank: str) -> list[Finding]:
    try:
        programmes = load_programme_bank(extra=bank, instrument=team.measures)
        with warnings.catch_warnings():  # flagged programmes are shown in report 03
            warnings.simplefilter("ignore", FlaggedProgrammeWarning)
            inventory = load_inventory(
                path, bank=programmes, areas=team.areas, instrument=team.measures,
                lang=team.lang, warn=False,
            )  # fmt: skip
    except CTCError as exc:
        return [Finding("stop", Path(path).name, _text_of(exc, team.lang))]
    return _rejected_rows(inventory, team.lang)


def _rejected_rows(inventory: Any, lang: str) -> list[Finding]:
    problems = inventory.problems
    if problems.empty:
        return []
    rejected = int(problems["row"].nunique())
    quoted = " ".join(problems["message"].head(_SHOWN_PROBLEMS))
    more = len(problems) - _SHOWN_PROBLEMS
    text = t(
        "project_inventory_rows_rejected", lang, file=inventory.path.name, rejected=rejected,
        rows=inventory.n_read, problems=quoted + (f" (+{more})" if more > 0 else ""),
    )  # fmt: skip
    return [Finding("change", inventory.path.name, text)]


def _with_readers(finding: Finding, readers: list[str], lang: str) -> Finding:
    """A team-file finding with the reports that read the file (a stop names them)."""
    if not finding.stops:
        return finding
    jobs = ", ".join(dict.fromkeys(readers))
    text = t("project_team_file_stops", lang, text=finding.text, jobs=jobs)
    return Finding("stop", finding.where, text)


def _unread_team_files(config: RunConfig, jobs: list[Job], lang: str) -> list[Finding]:
    """Files of the priorities and goal-chain folders named for no area: never read."""
    folders = {
        job.parameters[k]
        for job in jobs
        for k in ("priorities_dir", "goal_chain_dir")
        if k in notebook_parameters(job.notebook) and str(job.parameters.get(k) or "").strip()
    }
    known = [*config.area_names, CITY]
    return [
        Finding(
            "change",
            f"{Path(folder).name}/{path.name}",
            t(
                "project_team_file_unread",
                lang,
                file=path.name,
                folder=folder,
                areas_file=config.areas_file.name,
                known=", ".join(config.area_names),
            ),
        )  # fmt: skip
        for folder in sorted(folders)
        if Path(folder).is_dir()
        for path in sorted(Path(folder).glob("*.yaml"))
        if path.stem not in known
    ]


def _run_name(config: RunConfig) -> str:
    return config.path.name if config.path else "run.yaml"


def _vocabulary_findings(
    config: RunConfig, own: Instrument, ingested: IngestResult, lang: str
) -> list[Finding]:
    """Grades or sexes declared both by the run file and by the instrument, differently: which
    list is in force, and the survey's values only the instrument's list knows (quarantined)."""
    findings = []
    quarantine = ingested.quarantine
    for key, column in (("grades", "grade"), ("sexes", "sex")):
        run_codes = [str(e["code"]) for e in config.vocabulary.get(key, ())]
        own_codes = [str(e["code"]) for e in own.vocabulary.get(key, ())]
        if not run_codes or not own_codes or run_codes == own_codes:
            continue
        where = _run_name(config)
        names = {"key": key, "run": where, "instrument": config.instrument_file.name}
        findings.append(Finding("change", where, t(
            "project_vocabulary_replaced", lang, codes=", ".join(run_codes),
            instrument_codes=", ".join(own_codes), **names,
        )))  # fmt: skip
        known = set(own_codes) - set(run_codes)
        rows = quarantine.loc[
            quarantine["column"].eq(column) & quarantine["value"].astype(str).isin(known)
        ]
        if not rows.empty:
            findings.append(Finding("change", _files(config), t(
                "project_vocabulary_data", lang, column=column,
                n=len(rows.drop_duplicates(["source_file", "row"])),
                values=", ".join(sorted(set(rows["value"].astype(str)))), **names,
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
