"""Who did CTC from when, and whom they are compared with: the design of the effect evaluation.

The area list (``data_schema/areas.yaml``) may carry two optional columns:

``ctc_start``
    the year the area started working with CTC (empty: a comparison area, *jämförelseområde*).
    A survey counts as *after* the start when its year is later than the start year; a survey in
    the start year itself counts as *before* (CTC needs years before factors can move).
``comparison_group``
    a name (a-z, digits, hyphens). When any area has one, CTC areas are compared only with the
    comparison areas of their own group, and the randomisation inference shuffles CTC status
    only within groups (as the matched pairs of the US trial). Areas without a group are then
    left out.

:func:`build_design` turns the list into a :class:`Design` for one evaluation (all groups, or
one group): the areas in it, their start year, their group, and every area left out with a
reason code (:data:`EXCLUSION_REASONS`). Numbers and codes only; :mod:`ctc_helpers.views.effects`
turns them into words.

Examples
--------
>>> areas = pd.DataFrame({"area": ["a", "b", "c", "d"], "ctc_start": [2022, None, 2022, None],
...                       "comparison_group": ""})
>>> design = build_design(areas, waves=[2021, 2023, 2025])
>>> design.ctc_areas, design.comparison_areas, design.n_assignments
(('a', 'c'), ('b', 'd'), 6)
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import load_areas
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import t
from ctc_helpers.vocab import TOTAL

__all__ = [
    "ALL_GROUPS",
    "COMPARISON",
    "EXCLUSION_REASONS",
    "Design",
    "load_design",
    "build_design",
    "design_groups",
    "design_table",
    "assignments",
]

ALL_GROUPS = TOTAL  # the evaluation of every comparison group together
COMPARISON = -1  # start code of a comparison area in an assignment
EXCLUSION_REASONS = (
    "no_group",  # groups are used and the area has none
    "no_survey_before_start",  # a CTC area without any survey before its start
    "no_survey_after_start",  # a CTC area without any survey after its start (yet)
    "too_few_waves",  # a comparison area with answers in fewer than two waves
    "hidden",  # the area's totals are not shown in the published tables (too few answers)
    "group_without_ctc",  # nobody in the area's group started CTC
    "group_without_comparison",  # every area of the group started CTC
)
_GROUP_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Design:
    """The areas of one evaluation and who did CTC from when.

    ``starts`` maps every included area to its start year (``None``: comparison area);
    ``strata`` to its comparison group (``""`` when groups are not used); ``excluded`` maps
    each area left out to a reason code of :data:`EXCLUSION_REASONS`.
    """

    group: str
    waves: tuple[int, ...]
    starts: dict[str, int | None]
    strata: dict[str, str]
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(self.starts)

    @property
    def ctc_areas(self) -> tuple[str, ...]:
        return tuple(a for a, s in self.starts.items() if s is not None)

    @property
    def comparison_areas(self) -> tuple[str, ...]:
        return tuple(a for a, s in self.starts.items() if s is None)

    @property
    def estimable(self) -> bool:
        """At least one CTC area and one comparison area are left."""
        return bool(self.ctc_areas) and bool(self.comparison_areas)

    @property
    def n_assignments(self) -> int:
        """Number of distinct ways CTC status (with its start years) can fall on the areas,
        shuffled within comparison groups: the randomisation inference's reference set."""
        total = 1
        for stratum in dict.fromkeys(self.strata.values()):
            labels = [self.starts[a] for a in self.areas if self.strata[a] == stratum]
            counts = pd.Series([COMPARISON if s is None else s for s in labels]).value_counts()
            total *= math.factorial(len(labels)) // math.prod(
                math.factorial(int(c)) for c in counts
            )
        return total

    @property
    def first_start(self) -> int | None:
        starts = [s for s in self.starts.values() if s is not None]
        return min(starts) if starts else None

    def waves_before(self, area: str) -> tuple[int, ...]:
        start = self.starts[area]
        return self.waves if start is None else tuple(w for w in self.waves if w <= start)

    def waves_after(self, area: str) -> tuple[int, ...]:
        start = self.starts[area]
        return () if start is None else tuple(w for w in self.waves if w > start)


# --------------------------------------------------------------------------------------------
# Reading the area list


def load_design(path: str | Path, *, lang: str | None = None) -> pd.DataFrame:
    """Read the CTC start years and comparison groups of an area list.

    Parameters
    ----------
    path : str or Path
        The area list (CSV, ``data_schema/areas.yaml``).
    lang : str, optional
        Language of error messages (``"sv"`` default, ``"en"``).

    Returns
    -------
    pandas.DataFrame
        ``area, name, ctc_start, comparison_group``: ``ctc_start`` as nullable ``Int64``
        (``<NA>``: comparison area), ``comparison_group`` as text (``""``: none). Without the
        optional columns every area is a comparison area in one group.

    Raises
    ------
    InputFileError
        If a start year is not a year, or a group is named ``all`` or has other characters than
        a-z, digits and hyphens; the message names the file, row, column and value.
    """
    path = Path(path)
    areas = load_areas(path)
    starts = areas.get("ctc_start", pd.Series("", index=areas.index)).fillna("").astype(str)
    groups = areas.get("comparison_group", pd.Series("", index=areas.index)).fillna("")
    return pd.DataFrame(
        {
            "area": areas["area_id"].astype(str),
            "name": areas["name"].astype(str),
            "ctc_start": pd.array(
                [_start_year(v, path.name, i + 2, lang) for i, v in enumerate(starts)],
                dtype="Int64",
            ),
            "comparison_group": [
                _group_name(str(v).strip(), path.name, i + 2, lang) for i, v in enumerate(groups)
            ],
        }
    )


def _start_year(value: str, file: str, row: int, lang: str | None) -> int | None:
    text = value.strip()
    if not text:
        return None
    year = int(text) if re.fullmatch(r"\d{4}", text) else None
    if year is None or not 1900 <= year <= 2200:
        raise InputFileError(t("effects_error_start", lang, file=file, row=row, value=text))
    return year


def _group_name(value: str, file: str, row: int, lang: str | None) -> str:
    if value and (value == ALL_GROUPS or not _GROUP_PATTERN.fullmatch(value)):
        raise InputFileError(t("effects_error_group", lang, file=file, row=row, value=value))
    return value


def design_groups(areas: pd.DataFrame) -> tuple[str, ...]:
    """The evaluations an area list allows: ``"all"`` and each named comparison group."""
    named = [g for g in dict.fromkeys(areas["comparison_group"]) if g]
    return (ALL_GROUPS, *named)


# --------------------------------------------------------------------------------------------
# One evaluation


def build_design(
    areas: pd.DataFrame,
    *,
    waves: Iterable[int],
    group: str = ALL_GROUPS,
    present: pd.DataFrame | None = None,
    hidden: Iterable[str] = (),
    lang: str | None = None,
) -> Design:
    """The design of one evaluation: included areas, start years, groups and exclusions.

    Parameters
    ----------
    areas : pandas.DataFrame
        :func:`load_design` (columns ``area, ctc_start, comparison_group``).
    waves : iterable of int
        Survey years of the evaluation.
    group : str, default "all"
        ``"all"`` or one comparison group.
    present : pandas.DataFrame, optional
        ``area, wave`` pairs with answers; areas without enough waves before and after their
        start are left out. Default: every area answered in every wave.
    hidden : iterable of str
        Areas whose totals the published tables hide; left out so that no estimate rests on a
        group too small to show.
    lang : str, optional
        Language of the error message.

    Raises
    ------
    ValueError
        If ``group`` is neither ``"all"`` nor a group of the list.
    """
    groups = design_groups(areas)
    if group not in groups:
        raise ValueError(
            t("effects_error_unknown_group", lang, group=group, groups=", ".join(groups))
        )
    waves = tuple(sorted(int(w) for w in waves))
    uses_groups = len(groups) > 1
    chosen = areas if group == ALL_GROUPS else areas.loc[areas["comparison_group"].eq(group)]
    answered = _answered_waves(chosen["area"], waves, present)
    hidden = set(hidden)
    starts, strata, excluded = {}, {}, {}
    for row in chosen.itertuples(index=False):
        start = None if pd.isna(row.ctc_start) else int(row.ctc_start)
        reason = _exclusion(start, answered[row.area], row.comparison_group, uses_groups)
        reason = "hidden" if row.area in hidden else reason
        if reason:
            excluded[row.area] = reason
        else:
            starts[row.area] = start
            strata[row.area] = row.comparison_group
    return _drop_one_sided_groups(Design(group, waves, starts, strata, excluded))


def _answered_waves(
    areas: pd.Series, waves: tuple[int, ...], present: pd.DataFrame | None
) -> dict[str, tuple[int, ...]]:
    if present is None:
        return {a: waves for a in areas}
    pairs = present.loc[present["wave"].isin(waves)]
    by_area = pairs.groupby("area")["wave"].agg(lambda w: tuple(sorted(set(int(x) for x in w))))
    return {a: by_area.get(a, ()) for a in areas}


def _exclusion(start: int | None, answered: tuple[int, ...], group: str, uses: bool) -> str:
    if uses and not group:
        return "no_group"
    if start is None:
        return "" if len(answered) >= 2 else "too_few_waves"
    if not any(w <= start for w in answered):
        return "no_survey_before_start"
    if not any(w > start for w in answered):
        return "no_survey_after_start"
    return ""


def _drop_one_sided_groups(design: Design) -> Design:
    """Leave out groups without CTC areas or without comparison areas (nothing to compare)."""
    starts, strata, excluded = dict(design.starts), dict(design.strata), dict(design.excluded)
    for stratum in dict.fromkeys(design.strata.values()):
        if not stratum:  # no named groups: the design is simply not estimable
            continue
        members = [a for a in design.areas if design.strata[a] == stratum]
        has_ctc = any(design.starts[a] is not None for a in members)
        has_comparison = any(design.starts[a] is None for a in members)
        if not (has_ctc and has_comparison):
            reason = "group_without_ctc" if not has_ctc else "group_without_comparison"
            for area in members:
                excluded[area] = reason
                del starts[area], strata[area]
    return Design(design.group, design.waves, starts, strata, excluded)


def design_table(design: Design, areas: pd.DataFrame) -> pd.DataFrame:
    """One row per area of the evaluation's scope.

    Returns columns ``group, area, ctc_start`` (Int64), ``comparison_group``, ``role``
    (``ctc``, ``comparison`` or ``excluded``), ``reason`` (code; ``""`` when included),
    ``waves_before`` and ``waves_after`` (number of surveys before and after the start).
    """
    scope = [*design.areas, *design.excluded]
    rows = areas.set_index("area").loc[scope]
    role = [
        "excluded"
        if a in design.excluded
        else ("ctc" if design.starts[a] is not None else "comparison")
        for a in scope
    ]
    return pd.DataFrame(
        {
            "group": design.group,
            "area": scope,
            "ctc_start": rows["ctc_start"].to_numpy(),
            "comparison_group": rows["comparison_group"].to_numpy(),
            "role": role,
            "reason": [design.excluded.get(a, "") for a in scope],
            "waves_before": [
                len(design.waves_before(a)) if a in design.starts else 0 for a in scope
            ],
            "waves_after": [len(design.waves_after(a)) if a in design.starts else 0 for a in scope],
        }
    ).astype({"ctc_start": "Int64"})


# --------------------------------------------------------------------------------------------
# The randomisation inference's reference set


def assignments(
    design: Design, *, n_permutations: int = 1000, seed: int = 0
) -> tuple[np.ndarray, bool]:
    """Ways CTC status (with its start years) could have fallen on the areas of the design.

    Start labels are shuffled among the areas of each comparison group. When the design allows
    at most ``n_permutations`` distinct assignments, all of them are listed (an exact test);
    otherwise ``n_permutations`` are drawn at random (uniformly, with replacement).

    Returns
    -------
    starts : numpy.ndarray
        Shape ``(P, n_areas)``: the start year of each area (columns in ``design.areas`` order)
        under each assignment, :data:`COMPARISON` for a comparison area. In an exact list the
        first row is the observed assignment.
    exact : bool
        Whether every assignment is listed.
    """
    labels = np.array([COMPARISON if s is None else s for s in design.starts.values()])
    strata = np.array(list(design.strata.values()))
    blocks = [np.flatnonzero(strata == s) for s in dict.fromkeys(strata)]
    if design.n_assignments <= n_permutations:
        return _all_assignments(labels, blocks), True
    rng = np.random.default_rng(seed)
    drawn = np.tile(labels, (n_permutations, 1))
    for block in blocks:
        order = rng.permuted(np.tile(block, (n_permutations, 1)), axis=1)
        drawn[:, block] = labels[order]
    return drawn, False


def _all_assignments(labels: np.ndarray, blocks: Sequence[np.ndarray]) -> np.ndarray:
    per_block = [_arrangements(labels[block]) for block in blocks]
    rows = []
    for combo in itertools.product(*per_block):
        row = np.empty_like(labels)
        for block, values in zip(blocks, combo, strict=True):
            row[block] = values
        rows.append(row)
    table = np.array(rows)
    observed = np.flatnonzero((table == labels).all(axis=1))[0]
    return np.concatenate([table[[observed]], np.delete(table, observed, axis=0)])


def _arrangements(labels: np.ndarray) -> list[tuple]:
    """Distinct orderings of a multiset of labels (positions chosen label by label)."""
    values, counts = np.unique(labels, return_counts=True)
    results: list[tuple] = []

    def place(free: tuple[int, ...], k: int, current: dict[int, int]) -> None:
        if k == len(values):
            results.append(tuple(current[i] for i in range(len(labels))))
            return
        for chosen in itertools.combinations(free, int(counts[k])):
            rest = tuple(i for i in free if i not in chosen)
            place(rest, k + 1, {**current, **dict.fromkeys(chosen, values[k])})

    place(tuple(range(len(labels))), 0, {})
    return results
