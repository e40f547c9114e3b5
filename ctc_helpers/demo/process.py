"""The demo city's CTC process: yearly milestone checklists and implementation plans (synthetic).

Everything the generator knows about how the process went is in a declarative model file,
``data/sample/process_model.yaml``: the years, and per CTC area the year each phase starts, the
highest score some milestones reach (``cap``), scores set by hand (``set``) and the comments the
team wrote; the implementation plans are written there as they are. The milestones come from the
default checklist (``data_schema/checklist.yaml``). No area or milestone id is written here.

Rules, per area (one random stream per area, so adding an area changes no other area's files):
every year each milestone of a started phase gains ``gain`` points (drawn), up to 4 or its cap;
milestones of phases not yet started score 0; a ``set`` score replaces the drawn one; a share
``skip_share`` of the due milestones (never a steering-group criterion) is left unassessed. A
score carries the date it was last changed and, from 1 up, what it rests on (``basis``).

:func:`write_process_files` writes ``process/<area>/checklist_<year>.yaml`` and
``process/<area>/implementation_plan.yaml`` and reads every file back with the loaders of
:mod:`ctc_helpers.config.checklist` and :mod:`ctc_helpers.config.implementation_plan`, so the
demo files are always valid. The output is byte for byte the same for the same model.

Examples
--------
>>> model = load_process_model()
>>> [a["area"] for a in model["areas"]]
['norra-hamnen', 'solvik', 'stenkulla']
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ctc_helpers.config.checklist import (
    ChecklistDefinition,
    checklist_path,
    load_checklist,
    load_checklist_definition,
)
from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.implementation_plan import (
    implementation_plan_path,
    load_implementation_plan,
)
from ctc_helpers.errors import ConfigError
from ctc_helpers.paths import SAMPLE_DIR

__all__ = [
    "DEFAULT_PROCESS_MODEL",
    "PROCESS_FOLDER",
    "load_process_model",
    "generate_checklists",
    "write_process_files",
]

DEFAULT_PROCESS_MODEL = SAMPLE_DIR / "process_model.yaml"
PROCESS_FOLDER = "process"
_HEADER = (
    "# SYNTHETIC demo data (Exempelstad, an invented municipality): {what}.\n"
    "# Written by ctc_helpers.demo.process from data/sample/process_model.yaml; regenerate\n"
    "# it with `ctc demo-data` instead of editing it. Format: data_schema/{schema}.yaml.\n"
)


def load_process_model(
    path: str | Path | None = None, *, definition: ChecklistDefinition | None = None
) -> dict[str, Any]:
    """Read the process model and check its ids against the checklist.

    Raises
    ------
    ConfigError
        A key is missing, or a phase or milestone id is not in the checklist (the message names
        the model file, the area and the id).
    """
    path = Path(path) if path is not None else DEFAULT_PROCESS_MODEL
    model, _ = read_yaml_file(path, what="schema")
    definition = definition or load_checklist_definition()
    for key in ("seed", "years", "assessed", "gain", "skip_share", "basis", "areas", "plans"):
        if key not in model:
            raise ConfigError(f"{path.name}: the key {key!r} is missing.")
    phases = {p.number for p in definition.phases}
    known = set(definition.milestone_ids)
    for area in model["areas"]:
        where = f"{path.name}: areas[{area.get('area')}]"
        if set(area.get("phase_start") or {}) != phases:
            raise ConfigError(
                f"{where}.phase_start must give a year for each phase {sorted(phases)}."
            )
        for key in ("cap", "set", "comments"):
            unknown = sorted(set(area.get(key) or {}) - known)
            if unknown:
                raise ConfigError(
                    f"{where}.{key} names {unknown[0]!r}, which is not a milestone of the "
                    f"checklist; milestones: {', '.join(definition.milestone_ids)}."
                )
    return model


def _assessed(model: dict, year: int, rng: np.random.Generator) -> dt.date:
    when = model["assessed"]
    return dt.date(year, int(when["month"]), int(when["day"]) - int(rng.integers(0, 5)))


def _area_checklists(model: dict, spec: dict, definition: ChecklistDefinition, index: int):
    """The checklist of each year of one area, as the dicts written to the files."""
    rng = np.random.default_rng([int(model["seed"]), index])
    low, high = (int(g) for g in model["gain"])
    state = dict.fromkeys(definition.milestone_ids, 0)
    changed: dict[str, dt.date | None] = dict.fromkeys(definition.milestone_ids)
    cap, fixed, comments = spec.get("cap") or {}, spec.get("set") or {}, spec.get("comments") or {}
    files = {}
    for year in model["years"]:
        assessed = _assessed(model, year, rng)
        items = []
        for milestone in definition.milestones:
            gain, draw = int(rng.integers(low, high + 1)), float(rng.random())
            when = dt.date(year, int(rng.integers(1, assessed.month)), int(rng.integers(1, 29)))
            started = year >= int(spec["phase_start"][milestone.phase])
            score = min(cap.get(milestone.id, definition.max_score), state[milestone.id] + gain)
            score = (fixed.get(milestone.id) or {}).get(year, score if started else 0)
            if score != state[milestone.id]:
                state[milestone.id], changed[milestone.id] = score, when
            comment = (comments.get(milestone.id) or {}).get(year)
            skip = started and draw < float(model["skip_share"]) and not milestone.steering_group
            items.append(_item(model, milestone, score, changed[milestone.id], comment, skip))
        files[year] = {
            "area": spec["area"],
            "year": year,
            "assessed": assessed,
            "assessed_by": model["assessed_by"],
            "milestones": items,
        }
    return files


def _item(model, milestone, score: int, date: dt.date | None, comment: str | None, skip: bool):
    if skip:
        return {"id": milestone.id, "score": None, "comment": "Inte bedömd i år."}
    item: dict[str, Any] = {"id": milestone.id, "score": score}
    if score > 0 and date is not None:
        item["date"] = date
        kind = "steering_group" if milestone.steering_group else "team"
        item["basis"] = model["basis"][kind].format(date=date.isoformat())
    if comment:
        item["comment"] = comment
    return item


def generate_checklists(
    model: dict, definition: ChecklistDefinition
) -> dict[tuple[str, int], dict[str, Any]]:
    """Every checklist of the model: ``(area, year) -> the file's content``.

    >>> model = load_process_model()
    >>> files = generate_checklists(model, load_checklist_definition())
    >>> scores = {i["id"]: i["score"] for i in files[("stenkulla", 2025)]["milestones"]}
    >>> scores["steering-group-meets"], scores["steering-group-mandate"]
    (1, 2)
    """
    files = {}
    for index, spec in enumerate(model["areas"]):
        for year, content in _area_checklists(model, spec, definition, index).items():
            files[(spec["area"], year)] = content
    return files


def _dump(data: dict, *, what: str, schema: str) -> bytes:
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return (_HEADER.format(what=what, schema=schema) + body).encode("utf-8")


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def write_process_files(out_dir: str | Path, model_path: str | Path | None = None) -> list[Path]:
    """Write the demo process folder ``<out_dir>/process/`` and return the files, in order.

    Per area of the model: ``checklist_<year>.yaml`` for each year, then (for the areas with a
    plan) ``implementation_plan.yaml``. Each file is read back with its loader.

    Raises
    ------
    ConfigError
        The model is not valid (:func:`load_process_model`), or a file written is not valid
        (a ``ConfigFileError`` naming the file, the key and the value).
    """
    folder = Path(out_dir) / PROCESS_FOLDER
    definition = load_checklist_definition()
    model = load_process_model(model_path, definition=definition)
    written = []
    plans = {plan["area"]: plan for plan in model["plans"]}
    for (area, year), content in generate_checklists(model, definition).items():
        path = _write(checklist_path(folder, area, year),
                      _dump(content, what=f"checklist {year}", schema="checklist"))  # fmt: skip
        load_checklist(path, definition=definition, area=area, year=year)
        written.append(path)
        if year == model["years"][-1] and area in plans:
            path = _write(
                implementation_plan_path(folder, area),
                _dump(plans[area], what="implementation plan", schema="implementation_plan"),
            )
            load_implementation_plan(path, area=area)
            written.append(path)
    return written
