"""The effect evaluation's tables in the published folder, computed inside the prepare step.

The evaluation needs the grade x sex cells of every area and wave, which the published tables
hide where groups are small. So the prepare step (:func:`ctc_helpers.publish.build.prepare`)
runs :func:`build_effect_tables` on the *private* cells of its cache and writes only what
reveals no small group:

``effects.parquet``        one row per evaluation (``group``: ``all`` or a comparison group) and
                           measure: the estimate, intervals, p-values, the changes of both arms,
                           the checks, the minimum detectable effect, and the number of areas
                           and pupils behind it (:data:`~.evaluate.ESTIMATE_COLUMNS`)
``effect_events.parquet``  the event study: ``group, measure`` and
                           :data:`~.checks.EVENT_COLUMNS`
``effect_design.parquet``  who did CTC from when and who was left out, and why
                           (:func:`~.design.design_table`)

Every number is an estimate pooled over areas, grades and sexes, or a count of areas and
pupils summed over whole areas and waves. Areas whose totals the published tables hide (too few
answers) are left out of every evaluation, so no estimate rests on a group the suppression
hides. :func:`read_effect_tables` reads the three files back for notebooks and dashboards.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import t
from ctc_helpers.phases.effects.checks import EVENT_COLUMNS
from ctc_helpers.phases.effects.design import (
    Design,
    build_design,
    design_groups,
    design_table,
    load_design,
)
from ctc_helpers.phases.effects.evaluate import ESTIMATE_COLUMNS, Settings, evaluate_effects
from ctc_helpers.vocab import TOTAL

__all__ = [
    "EFFECT_FILES",
    "DESIGN_COLUMNS",
    "build_effect_tables",
    "effect_tables_for_prepare",
    "hidden_areas",
    "read_effect_tables",
]

EFFECT_FILES = {
    "effects": "effects.parquet",
    "effect_events": "effect_events.parquet",
    "effect_design": "effect_design.parquet",
}
DESIGN_COLUMNS = (
    "group", "area", "ctc_start", "comparison_group", "role", "reason", "waves_before",
    "waves_after",
)  # fmt: skip
_COLUMNS = {
    "effects": ESTIMATE_COLUMNS,
    "effect_events": ("group", "measure", *EVENT_COLUMNS),
    "effect_design": DESIGN_COLUMNS,
}


def hidden_areas(published: pd.DataFrame | None) -> set[str]:
    """Areas whose group is hidden in some wave: every measure of their total row (all grades,
    all sexes) is suppressed. A measure held back only because few pupils gave the answer (the
    minimum count) does not hide the area; the other measures of its group are shown. Read from
    ``suppressed``, never from blanks."""
    if published is None or published.empty:
        return set()
    totals = published.loc[
        published["area"].ne(TOTAL) & published["grade"].eq(TOTAL) & published["sex"].eq(TOTAL)
    ]
    every = totals.groupby(["area", "wave"])["suppressed"].agg(lambda s: bool(s.astype(bool).all()))
    return set(every[every].index.get_level_values("area").astype(str))


def build_effect_tables(
    aggregates: pd.DataFrame,
    areas: pd.DataFrame,
    *,
    measures: pd.DataFrame,
    published: pd.DataFrame | None = None,
    waves: Sequence[int] | None = None,
    settings: Settings | None = None,
) -> dict[str, pd.DataFrame]:
    """The three effect tables of every evaluation the area list allows.

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Unsuppressed tidy aggregates (the prepare step's cache) or published ones.
    areas : pandas.DataFrame
        :func:`~.design.load_design`.
    measures : pandas.DataFrame
        ``measure, measure_kind, group`` of the measures to evaluate, in order.
    published : pandas.DataFrame, optional
        The published (suppressed) aggregates: areas whose totals they hide are left out.
    waves : sequence of int, optional
        Survey years to use (default: all in ``aggregates``).
    settings : Settings, optional
        Permutations, bootstrap draws, significance level, power and seed.

    Returns
    -------
    dict
        ``effects``, ``effect_events``, ``effect_design`` (see the module docstring); empty
        tables with their columns when no area has a CTC start.
    """
    waves = sorted(int(w) for w in (waves or aggregates["wave"].unique()))
    rows = aggregates.loc[aggregates["wave"].isin(waves)]
    answered = rows["area"].ne(TOTAL) & (pd.to_numeric(rows["n"], errors="coerce") > 0)
    present = rows.loc[answered, ["area", "wave"]].drop_duplicates()
    hidden = hidden_areas(published)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in EFFECT_FILES}
    done: dict[tuple, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for group in design_groups(areas):
        design = build_design(areas, waves=waves, group=group, present=present, hidden=hidden)
        parts["effect_design"].append(design_table(design, areas))
        if not design.estimable:
            continue
        key = _design_key(design)
        if key not in done:
            result = evaluate_effects(rows, design, measures=measures, settings=settings)
            done[key] = (result.estimates, result.events)
        estimates, events = done[key]
        parts["effects"].append(estimates.assign(group=group))
        parts["effect_events"].append(events.assign(group=group))
    return {name: _frame(frames, _COLUMNS[name]) for name, frames in parts.items()}


def _design_key(design: Design) -> tuple:
    return tuple(sorted(design.starts.items(), key=lambda kv: kv[0])), tuple(
        sorted(design.strata.items())
    )


def _frame(frames: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table.reindex(columns=list(columns))


def effect_tables_for_prepare(
    aggregates_path: str | Path,
    areas_file: str | Path,
    *,
    instrument,
    waves: Sequence[int],
    published: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """:func:`build_effect_tables` as the prepare step calls it: the cache's private aggregates
    of the given waves, the area list's design and the instrument's measures."""
    filters = [("wave", "in", [int(w) for w in waves])]
    aggregates = pd.read_parquet(aggregates_path, filters=filters)
    measures = instrument.measures()[["measure", "measure_kind", "group"]]
    return build_effect_tables(
        aggregates, load_design(areas_file), measures=measures, published=published, waves=waves
    )


def read_effect_tables(folder: str | Path, *, lang: str | None = None) -> dict | None:
    """The three effect tables of a published folder, or ``None`` when it has none (a folder
    written before the effect evaluation existed).

    Raises
    ------
    InputFileError
        If a file cannot be read or lacks a column; the message names the file and column.
    """
    folder = Path(folder)
    paths = {name: folder / file for name, file in EFFECT_FILES.items()}
    if not all(path.is_file() for path in paths.values()):
        return None
    tables = {}
    for name, path in paths.items():
        try:
            table = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise InputFileError(f"{path}: {exc}") from None
        missing = [c for c in _COLUMNS[name] if c not in table.columns]
        if missing:
            raise InputFileError(
                t("effects_error_file_column", lang, file=str(path), column=missing[0])
            )
        tables[name] = table
    return tables
