"""The run configuration of ``ctc run`` (``reports/run.yaml``), validated on load.

The run file says which survey files, area list, enrolment file and instrument to use, which
waves, areas and phase notebooks to report, the minimum cell size, the language, the number of
workers, the time limit per notebook and per-area overrides. Adding an area, a wave or a phase is
an edit of the YAML file (or of the area list), never a code change.

The file is described by the pydantic model :class:`RunFile`. Relative paths are resolved against
the folder that holds the run file. Its fields are checked in the order they are declared, and
the validators of ``data.areas``, ``notebooks``, ``phases`` and ``min_cell`` note what later keys
are checked against (the area ids, the notebooks, the phases, the run's minimum cell) in the
validation context. The extra notebook parameters are then checked against the types the phase
notebooks declare (:mod:`ctc_helpers.config.notebook_params`). Every problem found is raised at
once as a :class:`~ctc_helpers.config.messages.ConfigFileError` naming the key and the value.

Examples
--------
>>> from ctc_helpers.paths import REPORTS_DIR
>>> config = load_run_config(REPORTS_DIR / "run.yaml")  # doctest: +SKIP
>>> config.phases  # doctest: +SKIP
('01_survey_analysis', '02_factor_prioritization')
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, ValidationInfo

from ctc_helpers.config.fields import FileModel, Text, choice, nonempty_list, whole
from ctc_helpers.config.files import parse_yaml, read_bytes
from ctc_helpers.config.instrument import Instrument, load_areas, load_instrument
from ctc_helpers.config.instrument_file import Vocabulary
from ctc_helpers.config.messages import ConfigFileError, Problem, check, problem, raise_problems
from ctc_helpers.config.notebook_params import check_parameter_types
from ctc_helpers.i18n import LANGUAGES, check_language
from ctc_helpers.paths import REPORTS_DIR
from ctc_helpers.vocab import CITY

__all__ = [
    "CITY",
    "STAMP",
    "STANDARD_PARAMETERS",
    "AreaOverride",
    "Job",
    "RunConfig",
    "RunFile",
    "load_run_config",
    "plan_jobs",
    "run_instrument",
    "run_config_from_dict",
]

STAMP = ".{phase}.build.json"  # beside each report: key, status and timing of its last build
# Parameters the runner passes to every phase notebook (the notebooks' `parameters` cell).
STANDARD_PARAMETERS = ("area", "wave", "lang", "data_dir", "min_cell", "output_dir")
PATH_SUFFIXES = ("_dir", "_file", "_path")  # extra parameters resolved like paths


@dataclass(frozen=True)
class AreaOverride:
    """Settings of one area that differ from the run's defaults (``None`` = use the default)."""

    enabled: bool = True
    phases: tuple[str, ...] | None = None
    timeout: int | None = None
    min_cell: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration. Build it with :func:`load_run_config`."""

    survey_files: tuple[Path, ...]
    areas_file: Path
    instrument_file: Path
    output_dir: Path
    cache_dir: Path
    notebooks_dir: Path
    phases: tuple[str, ...]
    city_phases: tuple[str, ...] = ()  # phases reported for the whole municipality only
    enrolment_file: Path | None = None
    cutpoints_file: Path | None = None
    synthetic: bool = False  # the data are invented (demo city): every report says so
    waves: tuple[int, ...] | None = None  # None: the latest wave in the data
    areas: tuple[str, ...] | None = None  # None: every area of the area list
    include_city: bool = True
    min_cell: int = 10
    min_count: int = 5  # fewest pupils with an answer a shown value may reveal (privacy)
    priority_behaviours: tuple[str, ...] = ()  # default problems named first; local links of these
    lang: str = "sv"
    workers: int | None = None  # None: one per core
    timeout: int = 900
    kernel: str = "ctc"
    parameters: dict[str, Any] = field(default_factory=dict)
    phase_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    overrides: dict[str, AreaOverride] = field(default_factory=dict)
    area_names: dict[str, str] = field(default_factory=dict)  # area_id -> name (area list)
    vocabulary: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)  # grades, sexes
    path: Path | None = None
    checksum: str = ""

    @property
    def worker_count(self) -> int:
        """Parallel workers: the configured number or one per available core."""
        return self.workers or _cpu_count()

    def notebook_path(self, phase: str) -> Path:
        """The template notebook of a phase."""
        return self.notebooks_dir / f"{phase}.ipynb"

    def override(self, area: str) -> AreaOverride:
        """The overrides of an area (defaults when it has none)."""
        return self.overrides.get(area, AreaOverride())


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --------------------------------------------------------------------------------------------
# The run file as a model (validators in the order the fields are checked)


@dataclass
class _Seen:
    """The validation context: the run file's folder and what earlier fields established."""

    base_dir: Path
    notebooks_dir: Path | None = None
    areas_file: str = ""
    area_names: dict[str, str] | None = None
    phases: tuple[str, ...] | None = None
    min_cell: int | None = None


def _resolved(value: Any, info: ValidationInfo) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise problem("cfg_text")
    path = Path(os.path.expanduser(value.strip()))
    return (path if path.is_absolute() else info.context.base_dir / path).resolve()


def _existing_file(value: Any, info: ValidationInfo) -> Path:
    path = _resolved(value, info)
    if not path.is_file():
        raise problem("cfg_file_missing", looked=str(path))
    return path


def _area_list(value: Any, info: ValidationInfo) -> Path:
    path = _existing_file(value, info)
    areas = load_areas(path)
    info.context.areas_file = path.name
    info.context.area_names = dict(zip(areas["area_id"], areas["name"], strict=True))
    return path


def _survey_pattern(value: Any, info: ValidationInfo) -> tuple[Path, ...]:
    full = str(_resolved(value, info))
    matches = tuple(sorted(Path(p) for p in glob.glob(full)))
    if not matches:
        raise problem("cfg_survey_no_match", looked=full)
    return matches


def _one_or_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else nonempty_list(value)


def _flatten(groups: list[tuple[Path, ...]]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(p for group in groups for p in group))


def _notebooks_folder(value: Any, info: ValidationInfo) -> Path:
    path = _resolved(value, info)
    if not path.is_dir():
        raise problem("cfg_folder_missing", looked=str(path))
    info.context.notebooks_dir = path
    return path


def _phase(value: Any, info: ValidationInfo) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("cfg_text")
    folder = info.context.notebooks_dir
    if folder is not None and not (folder / f"{value}.ipynb").is_file():
        raise problem("cfg_phase_no_notebook", notebook=str(folder / f"{value}.ipynb"))
    return value


def _phases_list(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise problem("cfg_phases_list")
    return value


def _record_phases(phases: list[str], info: ValidationInfo) -> tuple[str, ...]:
    twice = [p for p in phases if phases.count(p) > 1]
    if twice:
        raise problem("cfg_phase_twice", phase=twice[0])
    info.context.phases = tuple(phases)
    return tuple(phases)


def _run_phase(value: Any, info: ValidationInfo) -> str:
    phases = info.context.phases
    if phases is not None and value not in phases:
        raise problem("cfg_phase_not_in_run", phases=phases)
    return value


def _latest_or_years(value: Any) -> Any:
    if value in ("latest", None):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, list) or not value:
        raise problem("cfg_waves")
    return value


def _all_or_list(value: Any) -> Any:
    if value in ("all", None):
        return None
    if not isinstance(value, list) or not value:
        raise problem("cfg_areas")
    return value


def _known_area(value: Any, info: ValidationInfo, *, city: bool = False) -> str:
    names = info.context.area_names
    if names is not None and value not in names and not (city and value == CITY):
        key = "cfg_override_area" if city else "cfg_unknown_area"
        raise problem(key, file=info.context.areas_file, known=list(names))
    return value


def _override_area(value: Any, info: ValidationInfo) -> str:
    return _known_area(value, info, city=True)


def _record_min_cell(value: int, info: ValidationInfo) -> int:
    info.context.min_cell = value
    return value


def _area_min_cell(value: int | None, info: ValidationInfo) -> int | None:
    run = info.context.min_cell
    if value is not None and run is not None and value < run:
        raise problem("cfg_area_min_cell", run=run)
    return value


def _parameter_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise problem("cfg_bad_key")
    if value in STANDARD_PARAMETERS:
        raise problem("cfg_param_standard")
    return value


def _parameter_value(value: Any) -> Any:
    if not isinstance(value, str | int | float | bool | list | dict | None):
        raise problem("cfg_param_value")
    return value


def _paths_resolved(values: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    """Names ending in _dir, _file or _path with a text value are paths from the run file."""
    return {
        name: str(_resolved(value, info))
        if isinstance(value, str) and value.strip() and name.endswith(PATH_SUFFIXES)
        else value
        for name, value in values.items()
    }


def _none_is_empty(value: Any) -> Any:
    return {} if value is None else value


Positive = whole(minimum=1)
ResolvedPath = Annotated[Path, PlainValidator(_resolved)]
ExistingFile = Annotated[Path, PlainValidator(_existing_file)]
RunPhase = Annotated[str, PlainValidator(_run_phase)]
Parameters = Annotated[
    dict[
        Annotated[str, PlainValidator(_parameter_name)],
        Annotated[Any, PlainValidator(_parameter_value)],
    ],
    BeforeValidator(_none_is_empty),
    AfterValidator(_paths_resolved),
]


class DataFiles(FileModel):
    """``data:`` the input files."""

    survey: Annotated[
        list[Annotated[tuple[Path, ...], PlainValidator(_survey_pattern)]],
        BeforeValidator(_one_or_list),
        AfterValidator(_flatten),
    ]
    areas: Annotated[Path, PlainValidator(_area_list)]
    enrolment: ExistingFile | None = None
    instrument: ExistingFile = Field("../data_schema/instrument.yaml", validate_default=True)
    cutpoints: ExistingFile | None = None
    synthetic: bool = False


class AreaOverrideFile(FileModel):
    """``overrides.<area>:`` settings of one area."""

    enabled: bool = True
    phases: Annotated[list[RunPhase] | None, BeforeValidator(_phases_list)] = None
    timeout: Positive | None = None
    min_cell: Annotated[Positive | None, AfterValidator(_area_min_cell)] = None
    parameters: Parameters = {}


class RunFile(FileModel):
    """The run file, key by key (checked in this order)."""

    data: DataFiles
    output: ResolvedPath = Field(".", validate_default=True)
    cache: ResolvedPath = Field("../.ctc/cache", validate_default=True)
    notebooks: Annotated[Path, PlainValidator(_notebooks_folder)] = Field(
        "../notebooks", validate_default=True
    )
    phases: Annotated[
        list[Annotated[str, PlainValidator(_phase)]],
        BeforeValidator(_phases_list),
        AfterValidator(_record_phases),
    ]
    waves: Annotated[
        list[whole(minimum=1900, maximum=2200, key="cfg_survey_year")] | None,
        BeforeValidator(_latest_or_years),
    ] = None
    areas: Annotated[
        list[Annotated[str, PlainValidator(_known_area)]] | None, BeforeValidator(_all_or_list)
    ] = None
    city: bool = True
    city_phases: list[RunPhase] = []
    min_cell: Annotated[Positive, AfterValidator(_record_min_cell)] = Field(
        10, validate_default=True
    )
    min_count: Positive = 5
    priority_behaviours: list[Text] = []
    lang: choice(LANGUAGES) = "sv"
    workers: Positive | None = None
    timeout: Positive = 900
    kernel: Text = "ctc"
    respondents: Vocabulary | None = None  # the survey's grades/sexes; win over the instrument's
    parameters: Parameters = {}
    phase_parameters: Annotated[dict[RunPhase, Parameters], BeforeValidator(_none_is_empty)] = {}
    overrides: Annotated[
        dict[Annotated[str, PlainValidator(_override_area)], AreaOverrideFile],
        BeforeValidator(_none_is_empty),
    ] = {}


# --------------------------------------------------------------------------------------------
# Loading


def load_run_config(path: str | Path | None = None) -> RunConfig:
    """Read and validate a run file (default ``reports/run.yaml``).

    Parameters
    ----------
    path
        The YAML run file. Relative paths inside it are resolved against its folder.

    Raises
    ------
    ConfigFileError
        The file cannot be read, or keys have values that cannot be used; the message lists
        every such key with its value and what is allowed.
    """
    path = Path(path) if path is not None else REPORTS_DIR / "run.yaml"
    content = read_bytes(path, what="run_file")
    raw = parse_yaml(content, name=path.name)
    config = run_config_from_dict(raw, base_dir=path.resolve().parent, where=path.name)
    return replace(config, path=path.resolve(), checksum=hashlib.sha256(content).hexdigest())


def run_config_from_dict(raw: Any, *, base_dir: Path, where: str = "run.yaml") -> RunConfig:
    """Validate a run configuration given as a mapping (the parsed YAML).

    ``base_dir`` is the folder relative paths are resolved against; ``where`` names the source in
    messages.
    """
    seen = _Seen(base_dir=Path(base_dir))
    model, problems = check(RunFile, raw, context=seen)
    raise_problems(where, [*problems, *_parameter_type_problems(raw, seen)])
    return RunConfig(
        survey_files=model.data.survey,
        areas_file=model.data.areas,
        instrument_file=model.data.instrument,
        enrolment_file=model.data.enrolment,
        cutpoints_file=model.data.cutpoints,
        synthetic=model.data.synthetic,
        output_dir=model.output,
        cache_dir=model.cache,
        notebooks_dir=model.notebooks,
        phases=model.phases,
        city_phases=tuple(model.city_phases),
        waves=None if model.waves is None else tuple(sorted(set(model.waves))),
        areas=None if model.areas is None else tuple(dict.fromkeys(model.areas)),
        include_city=model.city,
        min_cell=model.min_cell,
        min_count=model.min_count,
        priority_behaviours=tuple(dict.fromkeys(model.priority_behaviours)),
        lang=model.lang,
        workers=model.workers,
        timeout=model.timeout,
        kernel=model.kernel,
        parameters=model.parameters,
        phase_parameters=model.phase_parameters,
        overrides={
            area: AreaOverride(
                enabled=o.enabled,
                phases=None if o.phases is None else tuple(o.phases),
                timeout=o.timeout,
                min_cell=o.min_cell,
                parameters=o.parameters,
            )
            for area, o in model.overrides.items()
        },
        area_names=seen.area_names or {},
        vocabulary=_vocabulary(model.respondents),
    )


def _vocabulary(model: Vocabulary | None) -> dict[str, tuple[dict[str, Any], ...]]:
    found = {} if model is None else {"grades": model.grades, "sexes": model.sexes}
    return {
        key: tuple({**e.model_dump(exclude_unset=True), "label": e.label.as_dict()} for e in items)
        for key, items in found.items()
        if items
    }


def run_instrument(config: RunConfig) -> Instrument:
    """The run's instrument: ``data: instrument:``, its grades and/or sexes replaced by those of
    the run file's ``respondents:`` when it declares them (the run file's win, key by key)."""
    instrument = load_instrument(config.instrument_file)
    if not config.vocabulary:
        return instrument
    return replace(instrument, vocabulary={**instrument.vocabulary, **config.vocabulary})


def _parameter_type_problems(raw: Any, seen: _Seen) -> list[Problem]:
    """Extra parameters whose phase notebooks declare another type (see notebook_params)."""
    if seen.phases is None or seen.notebooks_dir is None or not isinstance(raw, dict):
        return []
    phases = seen.phases
    given = [("parameters", raw.get("parameters"), phases)]
    given += [
        (f"phase_parameters.{phase}", values, [phase])
        for phase, values in _mapping(raw.get("phase_parameters")).items()
    ]
    for area, settings in _mapping(raw.get("overrides")).items():
        settings = _mapping(settings)
        own = settings.get("phases")
        area_phases = own if isinstance(own, list) and set(own) <= set(phases) else phases
        given.append((f"overrides.{area}.parameters", settings.get("parameters"), area_phases))
    notebooks = {p: seen.notebooks_dir / f"{p}.ipynb" for p in phases}
    usable = [(path, _mapping(values), ps) for path, values, ps in given]
    return check_parameter_types(usable, notebooks)


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _no_such(key: str, **values: Any) -> ConfigFileError:
    return ConfigFileError("", [Problem("", key, values)])


# --------------------------------------------------------------------------------------------
# Jobs


@dataclass(frozen=True)
class Job:
    """One report to build: a phase notebook for one area (``all`` = the city) and wave."""

    area: str
    wave: int
    phase: str
    notebook: Path
    parameters: dict[str, Any]
    timeout: int
    output_dir: Path

    @property
    def ipynb(self) -> Path:
        return self.output_dir / f"{self.phase}.ipynb"

    @property
    def html(self) -> Path:
        return self.output_dir / f"{self.phase}.html"

    @property
    def stamp(self) -> Path:
        return self.output_dir / STAMP.format(phase=self.phase)


def _job_parameters(
    config: RunConfig, *, area: str, wave: int, phase: str, lang: str, data_dir: Path
) -> dict[str, Any]:
    """The notebook parameters of one job: the standard ones, then the run file's extras."""
    override = config.override(area)
    return {
        "area": area,
        "wave": int(wave),
        "lang": lang,
        "data_dir": str(data_dir),
        "min_cell": int(override.min_cell or config.min_cell),
        "output_dir": str(config.output_dir / str(wave) / area),
        **config.parameters,
        **config.phase_parameters.get(phase, {}),
        **override.parameters,
    }


def _selected_areas(config: RunConfig, areas: Sequence[str] | None) -> list[str]:
    """Areas to report: the argument, else the run file's list, else all; the city first."""
    chosen = list(areas) if areas else list(config.areas or config.area_names)
    known = {**config.area_names, CITY: "city"}
    for area in chosen:
        if area not in known:
            raise _no_such(
                "cfg_run_no_area",
                area=area,
                file=config.areas_file.name,
                known=list(config.area_names),
            )
    with_city = [CITY] if config.include_city and not areas else []
    chosen = [*with_city, *chosen]
    return [a for a in dict.fromkeys(chosen) if config.override(a).enabled]


def _selected_phases(config: RunConfig, area: str, phases: Sequence[str] | None) -> list[str]:
    if phases:
        unknown = [p for p in phases if p not in config.phases]
        if unknown:
            raise _no_such("cfg_run_no_phase", phase=unknown[0], phases=config.phases)
    area_phases = config.override(area).phases or config.phases
    if area != CITY:
        area_phases = [p for p in area_phases if p not in config.city_phases]
    return [p for p in config.phases if p in area_phases and (not phases or p in phases)]


def plan_jobs(
    config: RunConfig,
    *,
    waves: Iterable[int],
    areas: Sequence[str] | None = None,
    phases: Sequence[str] | None = None,
    timeout: int | None = None,
    lang: str | None = None,
) -> list[Job]:
    """Every report of the run, wave by wave, the city first, phases in the run file's order."""
    lang = check_language(lang or config.lang)
    jobs = []
    for wave in waves:
        data_dir = config.output_dir / str(wave) / "data"
        for area in _selected_areas(config, areas):
            for phase in _selected_phases(config, area, phases):
                params = _job_parameters(
                    config, area=area, wave=wave, phase=phase, lang=lang, data_dir=data_dir
                )
                jobs.append(
                    Job(
                        area=area,
                        wave=int(wave),
                        phase=phase,
                        notebook=config.notebook_path(phase),
                        parameters=params,
                        timeout=int(timeout or config.override(area).timeout or config.timeout),
                        output_dir=config.output_dir / str(wave) / area,
                    )
                )
    return jobs
