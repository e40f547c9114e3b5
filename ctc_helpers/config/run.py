"""The run configuration of ``ctc run`` (``reports/run.yaml``), validated on load.

The run file says which survey files, area list, enrolment file and instrument to use, which
waves, areas and phase notebooks to report, the minimum cell size, the language, the number of
workers, the time limit per notebook and per-area overrides. Adding an area, a wave or a phase is
an edit of the YAML file (or of the area list), never a code change.

Relative paths are resolved against the folder that holds the run file. Every problem is raised
as a :class:`~ctc_helpers.errors.ConfigError` whose message names the key and the value.

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
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ctc_helpers.config.instrument import load_areas
from ctc_helpers.config.yaml_load import load_yaml
from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import LANGUAGES, check_language
from ctc_helpers.paths import REPORTS_DIR
from ctc_helpers.vocab import CITY

__all__ = [
    "CITY",
    "STANDARD_PARAMETERS",
    "AreaOverride",
    "Job",
    "RunConfig",
    "check_parameters",
    "load_run_config",
    "plan_jobs",
    "run_config_from_dict",
]

STAMP = ".{phase}.build.json"  # beside each report: key, status and timing of its last build
# Parameters the runner passes to every phase notebook (the notebooks' `parameters` cell).
STANDARD_PARAMETERS = ("area", "wave", "lang", "data_dir", "min_cell", "output_dir")
PATH_SUFFIXES = ("_dir", "_file", "_path")  # extra parameters resolved like paths

_TOP_KEYS = {
    "data": "input files (survey, areas, enrolment, instrument, cutpoints) and 'synthetic'",
    "output": "reports folder",
    "cache": "private cache folder (row-level data)",
    "notebooks": "folder of the phase notebooks",
    "waves": "'latest' or a list of survey years",
    "areas": "'all' or a list of area ids",
    "city": "also report the whole municipality (true/false)",
    "phases": "ordered list of phase notebook names",
    "min_cell": "minimum cell size",
    "lang": "report language",
    "workers": "parallel workers (null = one per core)",
    "timeout": "seconds allowed per notebook",
    "kernel": "Jupyter kernel name",
    "parameters": "extra parameters for every notebook",
    "phase_parameters": "extra parameters per phase",
    "overrides": "per-area settings",
}
_DATA_KEYS = ("survey", "areas", "enrolment", "instrument", "cutpoints", "synthetic")
_OVERRIDE_KEYS = ("enabled", "phases", "timeout", "min_cell", "parameters")


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
    enrolment_file: Path | None = None
    cutpoints_file: Path | None = None
    synthetic: bool = False  # the data are invented (demo city): every report says so
    waves: tuple[int, ...] | None = None  # None: the latest wave in the data
    areas: tuple[str, ...] | None = None  # None: every area of the area list
    include_city: bool = True
    min_cell: int = 10
    lang: str = "sv"
    workers: int | None = None  # None: one per core
    timeout: int = 900
    kernel: str = "ctc"
    parameters: dict[str, Any] = field(default_factory=dict)
    phase_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    overrides: dict[str, AreaOverride] = field(default_factory=dict)
    area_names: dict[str, str] = field(default_factory=dict)  # area_id -> name (area list)
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
# Loading


def load_run_config(path: str | Path | None = None) -> RunConfig:
    """Read and validate a run file (default ``reports/run.yaml``).

    Parameters
    ----------
    path
        The YAML run file. Relative paths inside it are resolved against its folder.

    Raises
    ------
    ConfigError
        The file cannot be read, or a key has a value that cannot be used; the message names the
        key, the value and what is allowed.
    """
    path = Path(path) if path is not None else REPORTS_DIR / "run.yaml"
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read the run file {path}: {exc.strerror}.") from None
    try:
        raw = load_yaml(content.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The run file {path} is not valid YAML: {exc}") from None
    config = run_config_from_dict(raw, base_dir=path.resolve().parent, where=path.name)
    return _with(config, path=path.resolve(), checksum=hashlib.sha256(content).hexdigest())


def run_config_from_dict(raw: Any, *, base_dir: Path, where: str = "run.yaml") -> RunConfig:
    """Validate a run configuration given as a mapping (the parsed YAML).

    ``base_dir`` is the folder relative paths are resolved against; ``where`` names the source in
    messages.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the run file must be a mapping of keys to values.")
    _check_keys(raw, _TOP_KEYS, where)
    data = _section(raw, "data", where)
    _check_keys(data, _DATA_KEYS, f"{where}: data")
    base_dir = Path(base_dir)
    areas_file = _existing(
        base_dir, _required(data, "areas", f"{where}: data"), "data.areas", where
    )
    area_names = _area_names(areas_file)
    notebooks_dir = _folder(base_dir, raw.get("notebooks", "../notebooks"), "notebooks", where)
    phases = _phases(raw.get("phases"), notebooks_dir, "phases", where)
    min_cell = _positive_int(raw.get("min_cell", 10), "min_cell", where)
    return RunConfig(
        survey_files=_survey_files(base_dir, _required(data, "survey", f"{where}: data"), where),
        areas_file=areas_file,
        instrument_file=_existing(
            base_dir,
            data.get("instrument", "../data_schema/instrument.yaml"),
            "data.instrument",
            where,
        ),
        enrolment_file=_optional_file(base_dir, data.get("enrolment"), "data.enrolment", where),
        cutpoints_file=_optional_file(base_dir, data.get("cutpoints"), "data.cutpoints", where),
        synthetic=_bool(data.get("synthetic", False), "data.synthetic", where),
        output_dir=_resolve(base_dir, raw.get("output", "."), "output", where),
        cache_dir=_resolve(base_dir, raw.get("cache", "../.ctc/cache"), "cache", where),
        notebooks_dir=notebooks_dir,
        phases=phases,
        waves=_waves(raw.get("waves", "latest"), "waves", where),
        areas=_areas(raw.get("areas", "all"), {**area_names, CITY: "city"}, "areas", where),
        include_city=_bool(raw.get("city", True), "city", where),
        min_cell=min_cell,
        lang=_choice(raw.get("lang", "sv"), LANGUAGES, "lang", where),
        workers=_optional_positive_int(raw.get("workers"), "workers", where),
        timeout=_positive_int(raw.get("timeout", 900), "timeout", where),
        kernel=_text(raw.get("kernel", "ctc"), "kernel", where),
        parameters=_parameters(raw.get("parameters"), base_dir, "parameters", where),
        phase_parameters=_phase_parameters(raw.get("phase_parameters"), phases, base_dir, where),
        overrides=_overrides(raw.get("overrides"), area_names, phases, min_cell, base_dir, where),
        area_names=area_names,
    )


def _with(config: RunConfig, **changes: Any) -> RunConfig:
    return replace(config, **changes)


# --------------------------------------------------------------------------------------------
# Validation of single keys (each message names the key and the value)


def _check_keys(raw: dict, allowed: dict | tuple, where: str) -> None:
    unknown = [key for key in raw if key not in allowed]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}. Allowed keys: {', '.join(allowed)}."
        )


def _section(raw: dict, key: str, where: str) -> dict:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key!r} must be a mapping, got {value!r}.")
    return value


def _required(raw: dict, key: str, where: str) -> Any:
    if raw.get(key) in (None, "", []):
        raise ConfigError(f"{where}: the key {key!r} is required.")
    return raw[key]


def _text(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key!r} must be a non-empty text, got {value!r}.")
    return value.strip()


def _resolve(base_dir: Path, value: Any, key: str, where: str) -> Path:
    path = Path(os.path.expanduser(_text(value, key, where)))
    return (path if path.is_absolute() else base_dir / path).resolve()


def _existing(base_dir: Path, value: Any, key: str, where: str) -> Path:
    path = _resolve(base_dir, value, key, where)
    if not path.is_file():
        raise ConfigError(f"{where}: {key} {value!r} does not exist (looked for {path}).")
    return path


def _optional_file(base_dir: Path, value: Any, key: str, where: str) -> Path | None:
    return None if value is None else _existing(base_dir, value, key, where)


def _folder(base_dir: Path, value: Any, key: str, where: str) -> Path:
    path = _resolve(base_dir, value, key, where)
    if not path.is_dir():
        raise ConfigError(f"{where}: {key} {value!r} is not a folder (looked for {path}).")
    return path


def _survey_files(base_dir: Path, value: Any, where: str) -> tuple[Path, ...]:
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError(
            f"{where}: data.survey must be a file pattern or a list of them, got {value!r}."
        )
    files: list[Path] = []
    for pattern in patterns:
        full = str(_resolve(base_dir, pattern, "data.survey", where))
        matches = sorted(Path(p) for p in glob.glob(full))
        if not matches:
            raise ConfigError(
                f"{where}: data.survey {pattern!r} matches no file (looked for {full}). For the"
                " demo city, run `ctc demo-data` first."
            )
        files += [m for m in matches if m not in files]
    return tuple(files)


def _area_names(areas_file: Path) -> dict[str, str]:
    areas = load_areas(areas_file)
    return dict(zip(areas["area_id"], areas["name"], strict=True))


def _phases(value: Any, notebooks_dir: Path, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise ConfigError(
            f"{where}: {key!r} must be a non-empty list of notebook names, got {value!r}."
        )
    if len(set(value)) != len(value):
        twice = next(p for p in value if value.count(p) > 1)
        raise ConfigError(f"{where}: {key!r} lists the phase {twice!r} twice.")
    for phase in value:
        notebook = notebooks_dir / f"{phase}.ipynb"
        if not notebook.is_file():
            raise ConfigError(
                f"{where}: {key!r} names the phase {phase!r}, but its notebook {notebook} does not"
                " exist. Remove the phase from the list or add the notebook."
            )
    return tuple(value)


def _waves(value: Any, key: str, where: str) -> tuple[int, ...] | None:
    if value == "latest" or value is None:
        return None
    values = [value] if isinstance(value, int) else value
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: {key!r} must be 'latest' or a list of years, got {value!r}.")
    for wave in values:
        if isinstance(wave, bool) or not isinstance(wave, int) or not 1900 <= wave <= 2200:
            raise ConfigError(f"{where}: {key!r} contains {wave!r}, which is not a survey year.")
    return tuple(sorted(set(values)))


def _areas(value: Any, area_names: dict[str, str], key: str, where: str) -> tuple[str, ...] | None:
    if value == "all" or value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: {key!r} must be 'all' or a list of area ids, got {value!r}.")
    for area in value:
        _known_area(area, area_names, key, where)
    return tuple(dict.fromkeys(value))


def _known_area(area: Any, area_names: dict[str, str], key: str, where: str) -> str:
    if area not in area_names:
        raise ConfigError(
            f"{where}: {key!r} names the area {area!r}, which is not in the area list. Known"
            f" areas: {', '.join(area_names)}."
        )
    return area


def _bool(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key!r} must be true or false, got {value!r}.")
    return value


def _positive_int(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: {key!r} must be a whole number of at least 1, got {value!r}.")
    return value


def _optional_positive_int(value: Any, key: str, where: str) -> int | None:
    return None if value is None else _positive_int(value, key, where)


def _choice(value: Any, allowed: tuple[str, ...], key: str, where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: {key!r} must be one of {', '.join(allowed)}, got {value!r}.")
    return value


def _parameters(value: Any, base_dir: Path, key: str, where: str) -> dict[str, Any]:
    """Extra notebook parameters; names ending in _dir/_file/_path are resolved as paths."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key!r} must be a mapping of names to values, got {value!r}.")
    result = {}
    for name, item in value.items():
        if name in STANDARD_PARAMETERS:
            raise ConfigError(
                f"{where}: {key!r} sets {name!r}, which the runner sets itself; use the run"
                f" file's own key for it."
            )
        if not isinstance(item, str | int | float | bool | list | dict | None):
            raise ConfigError(
                f"{where}: {key}.{name} has the value {item!r}, which cannot be passed to a"
                " notebook (use text, numbers, true/false, lists or mappings)."
            )
        is_path = isinstance(item, str) and str(name).endswith(PATH_SUFFIXES)
        result[str(name)] = (
            str(_resolve(base_dir, item, f"{key}.{name}", where)) if is_path else item
        )
    return result


def _phase_parameters(
    value: Any, phases: tuple[str, ...], base_dir: Path, where: str
) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'phase_parameters' must be a mapping, got {value!r}.")
    for phase in value:
        if phase not in phases:
            raise ConfigError(
                f"{where}: 'phase_parameters' names the phase {phase!r}, which is not in"
                f" 'phases' ({', '.join(phases)})."
            )
    return {
        phase: _parameters(params, base_dir, f"phase_parameters.{phase}", where)
        for phase, params in value.items()
    }


def _overrides(
    value: Any,
    area_names: dict[str, str],
    phases: tuple[str, ...],
    min_cell: int,
    base_dir: Path,
    where: str,
) -> dict[str, AreaOverride]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'overrides' must be a mapping of area ids, got {value!r}.")
    allowed = {**area_names, CITY: "city"}
    return {
        _known_area(area, allowed, "overrides", where): _override(
            settings, phases, min_cell, base_dir, f"overrides.{area}", where
        )
        for area, settings in value.items()
    }


def _area_phases(value: Any, run_phases: tuple[str, ...], key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: {key}.phases must be a non-empty list, got {value!r}.")
    for phase in value:
        if phase not in run_phases:
            raise ConfigError(
                f"{where}: {key}.phases names the phase {phase!r}, which is not in 'phases'"
                f" ({', '.join(run_phases)})."
            )
    return tuple(value)


def _override(
    raw: Any, run_phases: tuple[str, ...], min_cell: int, base_dir: Path, key: str, where: str
) -> AreaOverride:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {key!r} must be a mapping, got {raw!r}.")
    _check_keys(raw, _OVERRIDE_KEYS, f"{where}: {key}")
    area_min_cell = _optional_positive_int(raw.get("min_cell"), f"{key}.min_cell", where)
    if area_min_cell is not None and area_min_cell < min_cell:
        raise ConfigError(
            f"{where}: {key}.min_cell is {area_min_cell}, below the run's min_cell {min_cell}; the"
            " published tables are suppressed at the run's value, so an area can only raise it."
        )
    phases = raw.get("phases")
    return AreaOverride(
        enabled=_bool(raw.get("enabled", True), f"{key}.enabled", where),
        phases=None if phases is None else _area_phases(phases, run_phases, key, where),
        timeout=_optional_positive_int(raw.get("timeout"), f"{key}.timeout", where),
        min_cell=area_min_cell,
        parameters=_parameters(raw.get("parameters"), base_dir, f"{key}.parameters", where),
    )


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
            raise ConfigError(
                f"There is no area {area!r} in the area list {config.areas_file.name}. Known"
                f" areas: {', '.join(config.area_names)} (and {CITY!r} for the whole city)."
            )
    with_city = [CITY] if config.include_city and not areas else []
    chosen = [*with_city, *chosen]
    return [a for a in dict.fromkeys(chosen) if config.override(a).enabled]


def _selected_phases(config: RunConfig, area: str, phases: Sequence[str] | None) -> list[str]:
    if phases:
        unknown = [p for p in phases if p not in config.phases]
        if unknown:
            raise ConfigError(
                f"There is no phase {unknown[0]!r} in the run file. Phases:"
                f" {', '.join(config.phases)}."
            )
    area_phases = config.override(area).phases or config.phases
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


def check_parameters(jobs: Iterable[Job]) -> None:
    """Refuse any parameter that a job's notebook does not declare in its ``parameters`` cell.

    The names a notebook declares are those ``papermill.inspect_notebook`` reads, since papermill
    only warns about unknown parameters: a misspelt name would silently be ignored.

    Raises
    ------
    ConfigError
        Naming the parameter, the notebook and the parameters it declares.
    """
    import papermill

    declared: dict[Path, dict] = {}
    for job in jobs:
        if job.notebook not in declared:
            declared[job.notebook] = _inspect(papermill, job.notebook)
        known = declared[job.notebook]
        unknown = [name for name in job.parameters if name not in known]
        if unknown:
            raise ConfigError(_unknown_message(job.notebook, unknown[0], known))


def notebook_defaults(notebook: Path) -> dict[str, Any]:
    """The default values of a notebook's parameters cell (those that are plain literals).

    Raises
    ------
    ConfigError
        If papermill cannot read the notebook.
    """
    import ast

    import papermill

    defaults = {}
    for name, info in _inspect(papermill, notebook).items():
        try:
            defaults[name] = ast.literal_eval(info.get("default") or "")
        except (ValueError, SyntaxError):
            continue
    return defaults


def _inspect(papermill: Any, notebook: Path) -> dict:
    try:
        return papermill.inspect_notebook(str(notebook))
    except (ValueError, OSError) as exc:  # no kernelspec, not a notebook, unreadable
        raise ConfigError(f"Papermill cannot read the notebook {notebook}: {exc}") from None


def _unknown_message(notebook: Path, name: str, known: Iterable[str]) -> str:
    source = _parameters_source(notebook)
    if source is None:
        return (
            f"The notebook {notebook.name} has no cell tagged 'parameters'; the batch cannot pass"
            f" it {name!r}."
        )
    for number, line in enumerate(source.splitlines(), 1):
        if re.match(rf"\s*{re.escape(name)}\s*(:[^=]*)?=", line):
            return (
                f"Papermill cannot read line {number} of the parameters cell of {notebook.name}:"
                f" {line.strip()!r}. Write one assignment per line, with no '=' in the comment."
            )
    return (
        f"The notebook {notebook.name} has no parameter {name!r} (its parameters:"
        f" {', '.join(known) or 'none'}). Remove {name!r} from the run file or add it to the"
        " notebook's parameters cell."
    )


def _parameters_source(notebook: Path) -> str | None:
    """The source of the cell tagged ``parameters`` (None when there is none)."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else source
    return None
