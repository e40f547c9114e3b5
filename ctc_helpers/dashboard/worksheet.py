"""The prioritisation worksheet in the Prioritering view: the team ticks its factors and
downloads the ready priorities file.

The file is made in memory in the format :mod:`ctc_helpers.config.priorities` reads, checked by
that module's own loader (:func:`~ctc_helpers.config.priorities.load_team_choices`, on a copy in
a temporary folder that is removed at once) and offered as a download link holding the content;
nothing is written beside the data. The coordinator saves it as
``<data dir>/priorities/<area_id>.yaml``.

The factors, their order and the suggestion ticked at first come from :func:`ranked_factors`,
the ranking the Prioritering view and report 02 show: it starts from the area's priority
problem behaviours (the team's, else the run file's default).
"""

from __future__ import annotations

import base64
import datetime as dt
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
import yaml

from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.dashboard.data import DashboardData
from ctc_helpers.dashboard.guard import guarded
from ctc_helpers.dashboard.markup import escape, heading_html, notice_html
from ctc_helpers.dashboard.widgets import FRAMES_CACHE, remember, tagged
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.links import ranking_inputs
from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.publish.read import previous_wave_of
from ctc_helpers.views.labels import measure_labels
from ctc_helpers.vocab import CITY, FACTOR_KINDS

__all__ = [
    "priorities_yaml",
    "check_priorities",
    "ranked_factors",
    "worksheet_link_html",
    "worksheet_box",
]

YAML_MIME = "application/x-yaml"


def priorities_yaml(
    *,
    area: str,
    wave: int,
    decided: dt.date,
    risk_factors: Sequence[str],
    protective_factors: Sequence[str] = (),
    note: str = "",
) -> str:
    """The priorities file's text (``data_schema/priorities.yaml``), keys in the schema's order.

    >>> print(priorities_yaml(area="norr", wave=2025, decided=dt.date(2025, 11, 18),
    ...                       risk_factors=["family_conflict"]), end="")
    area: norr
    wave: 2025
    decided: 2025-11-18
    risk_factors:
    - family_conflict
    protective_factors: []
    """
    content: dict[str, Any] = {
        "area": area,
        "wave": int(wave),
        "decided": decided,
        "risk_factors": list(risk_factors),
        "protective_factors": list(protective_factors),
    }
    if note.strip():
        content["note"] = note.strip()
    return yaml.safe_dump(content, allow_unicode=True, sort_keys=False)


def check_priorities(text: str, area: str, *, measures: pd.DataFrame) -> str:
    """The loader's message when ``text`` is not a valid priorities file for ``area``, else
    ``""`` (read by :func:`load_team_choices` from a temporary folder removed at once)."""
    with tempfile.TemporaryDirectory(prefix="ctc-worksheet-") as folder:
        (Path(folder) / f"{area}.yaml").write_text(text, encoding="utf-8")
        try:
            load_team_choices(folder, area, factors=measures)
        except CTCError as exc:
            return str(exc).replace(folder, "priorities")
    return ""


def worksheet_link_html(text: str, *, area: str, lang: str) -> str:
    """A download link holding the file (``<area>.yaml``) and the coordinator's instruction."""
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    link = (
        f'<a download="{escape(area)}.yaml" href="data:{YAML_MIME};charset=utf-8;base64,'
        f'{encoded}" class="ctc-download ctc-priorities-file">{escape(area)}.yaml</a>'
    )
    save = escape(t("dash_worksheet_save", lang, area_id=area))
    return (
        f'<div class="ctc-downloads">{escape(t("dash_worksheet_download", lang))} {link}</div>'
        f'<p class="ctc-note">{save}</p>'
    )


def ranked_factors(data: DashboardData, area: str, choices: Any = None) -> tuple[Any, tuple]:
    """The area's ranked factors as report 02 ranks them, and the priority behaviours used
    (the Prioritering view's tables and chart, and this worksheet's ticks and marks).

    The behaviours are the team's (``priority_behaviours`` of ``choices``), else the run file's
    default (the published link table's); the research links and the published local links
    count in the ranking and in every reason (:func:`ctc_helpers.phases.links.ranking_inputs`).
    Cached per kernel, folder, area, wave and behaviours named by the team.

    Returns
    -------
    tuple
        ``(ranked, behaviours)``: the frame of ``rank_factors`` and the behaviour ids.
    """
    published = data.published
    own = tuple(getattr(choices, "priority_behaviours", ()) or ())

    def compute() -> tuple[Any, tuple]:
        evidence = ranking_inputs(published, choices)
        ranked = rank_factors(
            published.aggregates, published.comparisons, area=area, wave=data.wave,
            previous_wave=previous_wave_of(published.aggregates, data.wave), **evidence,
        )  # fmt: skip
        return ranked, tuple(evidence["behaviours"])

    key = ("ranked", str(published.path), area, data.wave, own)
    return remember(FRAMES_CACHE, key, compute)


def _team_choices(data: DashboardData, area: str) -> Any:
    """The team's recorded choice, or None (no file, or a file that is not valid: the view
    above says what is wrong with it)."""
    try:
        return load_team_choices(
            data.data_dir / "priorities", area, factors=data.published.measures
        )
    except CTCError:
        return None


def _boxes(
    data: DashboardData, area: str, lang: str
) -> dict[str, list[tuple[str, widgets.Checkbox]]]:
    choices = _team_choices(data, area)
    ranked, _ = ranked_factors(data, area, choices)
    labels = measure_labels(data.published.measures, lang)
    # ticked at first: the team's recorded choice when its file is valid, else the suggestion
    suggested = set(ranked.loc[ranked["suggested"], "factor"])
    ticked = set(choices.factors) if choices is not None else suggested
    marker = t("dash_worksheet_suggested", lang)
    boxes: dict[str, list[tuple[str, widgets.Checkbox]]] = {}
    for kind in FACTOR_KINDS:
        rows = ranked.loc[ranked["kind"].eq(kind)]
        boxes[kind] = [
            (
                row.factor,
                tagged(
                    widgets.Checkbox(
                        value=row.factor in ticked,
                        description=f"{labels.get(row.factor, row.factor)}"
                        + (f" {marker}" if row.suggested else ""),
                        indent=False,
                        layout=widgets.Layout(width="auto"),
                    ),
                    f"ctc-factor-{row.factor}",
                ),
            )
            for row in rows.itertuples(index=False)
        ]
    return boxes


def worksheet_box(data: DashboardData, area: widgets.Dropdown, lang: str | None = None):
    """The worksheet under the Prioritering view, following the ``area`` selector.

    Returns
    -------
    ipywidgets.VBox (class ``ctc-worksheet``)
        Title and instruction, a checkbox per ranked risk and protective factor (the team's
        recorded choice, else the suggestion, ticked), the date of the decision, a note, and
        the download link of the checked file (or the loader's message saying what is wrong).
    """
    lang = check_language(lang)
    title = widgets.HTML(
        heading_html(t("dash_worksheet_title", lang), 3)
        + f"<p>{escape(t('dash_worksheet_intro', lang))}</p>"
    )
    columns = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap", grid_gap="24px"))
    decided = widgets.DatePicker(value=dt.date.today(), description=t("dash_worksheet_decided",
                                 lang), style={"description_width": "initial"})  # fmt: skip
    note = widgets.Textarea(description=t("dash_worksheet_note", lang),
                            style={"description_width": "initial"},
                            layout=widgets.Layout(width="32em"))  # fmt: skip
    result = tagged(widgets.HTML(), "ctc-worksheet-file")
    error = tagged(widgets.HTML(), "ctc-worksheet-error")
    state: dict[str, Any] = {"boxes": {}}

    def make_file(_change: Any = None) -> None:
        boxes = state["boxes"]
        if not boxes:
            result.value = notice_html(t("dash_worksheet_city", lang))
            return
        chosen = {k: [f for f, b in v if b.value] for k, v in boxes.items()}
        text = priorities_yaml(
            area=area.value, wave=data.wave, decided=decided.value or dt.date.today(),
            risk_factors=chosen["risk"], protective_factors=chosen["protective"],
            note=note.value,
        )  # fmt: skip
        problem = check_priorities(text, area.value, measures=data.published.measures)
        result.value = (
            notice_html(t("dash_worksheet_invalid", lang, problem=problem), kind="warning")
            if problem
            else worksheet_link_html(text, area=area.value, lang=lang)
        )

    handler = guarded(make_file, error, lang)

    def fill(_change: Any = None) -> None:
        state["boxes"] = {} if area.value == CITY else _boxes(data, area.value, lang)
        columns.children = [
            widgets.VBox([widgets.HTML(heading_html(t(f"dash_worksheet_{kind}", lang), 4)),
                          *(b for _, b in boxes)])
            for kind, boxes in state["boxes"].items()
        ]  # fmt: skip
        for _, box in (pair for boxes in state["boxes"].values() for pair in boxes):
            box.observe(handler, names="value")
        handler()

    area.observe(guarded(fill, error, lang), names="value")
    decided.observe(handler, names="value")
    note.observe(handler, names="value")
    fill()
    return tagged(widgets.VBox([title, error, columns, decided, note, result]), "ctc-worksheet")
