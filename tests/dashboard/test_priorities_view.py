"""The Prioritering dashboard starts from the problem: the priority behaviours first, then the
factors, each reason naming the research link and the local strength, as report 02 does.

The published folder is the fake one (``tests/fake_published.py``) plus a hand-made local link
table (``links.parquet``: the run file named ``alcohol_30d`` and ``truancy``) with one clear, one
unclear and one hidden link in Norra Hamnen. Report 02's reasons are computed by running the
report's own cells (taken from ``notebooks/02_factor_prioritization.ipynb``) on the same folder.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard.priorities import prioritization_view
from ctc_helpers.dashboard.widgets import find_widget
from ctc_helpers.i18n import t
from ctc_helpers.paths import NOTEBOOKS_DIR
from ctc_helpers.phases.links import LINK_COLUMNS, LINKS_FILE
from ctc_helpers.views.labels import measure_labels
from ctc_helpers.views.prioritization import explain_reasons
from ctc_helpers.views.tables import column_label
from tests.dashboard.test_views import rows_of
from tests.fake_published import write_fake_published

AREA, OTHER = "norra-hamnen", "soderdalen"
BEHAVIOURS = ("alcohol_30d", "truancy")  # the run file's default, in its order
# (factor, kind, behaviour, pct_exposed, pct_unexposed, rd, rd_low, rd_high, suppressed)
LINKS = [
    ("family_conflict", "risk", "alcohol_30d", 0.24, 0.08, 0.16, 0.07, 0.25, False),
    ("family_conflict", "risk", "truancy", 0.20, 0.12, 0.05, -0.02, 0.12, False),
    ("friends_drug_use", "risk", "alcohol_30d", 0.13, 0.10, 0.03, -0.04, 0.10, False),
    ("friends_drug_use", "risk", "truancy", None, None, None, None, None, True),
    ("family_attachment", "protective", "alcohol_30d", None, None, None, None, None, True),
    ("family_attachment", "protective", "truancy", None, None, None, None, None, True),
]


@pytest.fixture(autouse=True)
def _fresh_caches():
    dashboard_page.clear_caches()
    yield
    dashboard_page.clear_caches()


def _links_table() -> pd.DataFrame:
    rows = []
    for area in (AREA, OTHER, "all"):
        for factor, kind, behaviour, p1, p0, rd, low, high, hidden in LINKS:
            rows.append(
                {"wave": 2025, "area": area, "factor": factor, "factor_kind": kind,
                 "behaviour": behaviour, "n_exposed": None if hidden else 60.0,
                 "n_unexposed": None if hidden else 180.0, "pct_exposed": p1,
                 "pct_unexposed": p0, "rd": rd, "rd_low": low, "rd_high": high,
                 "rr": None if hidden else p1 / p0, "suppressed": hidden}
            )  # fmt: skip
    frame = pd.DataFrame(rows).reindex(columns=list(LINK_COLUMNS))
    numbers = [c for c in LINK_COLUMNS if c not in ("wave", "area", "factor", "factor_kind",
                                                     "behaviour", "suppressed")]  # fmt: skip
    return frame.astype({c: float for c in numbers})


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("priorities_view")
    folder = root / "reports" / "2025" / "data"
    fake = write_fake_published(folder, leaky=True)
    _links_table().to_parquet(folder / LINKS_FILE, index=False)
    team = root / "team" / "priorities"
    team.mkdir(parents=True)
    (team / f"{AREA}.yaml").write_text(
        "area: norra-hamnen\nwave: 2025\ndecided: 2025-11-18\n"
        "risk_factors: [family_conflict]\nprotective_factors: []\n",
        encoding="utf-8",
    )
    (team / f"{OTHER}.yaml").write_text(
        "area: soderdalen\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [family_conflict]\n"
        "protective_factors: []\npriority_behaviours: [truancy]\n",
        encoding="utf-8",
    )
    return {"reports": root / "reports", "team": root / "team", "folder": folder, "fake": fake}


@pytest.fixture
def data(site) -> dashboard_data.DashboardData:
    return dashboard_data.load_dashboard_data(site["reports"], data_dir=site["team"])


def _widget(root, css_class: str):
    found = find_widget(root, css_class)
    assert found is not None, css_class
    return found


def _plain(text: str) -> str:
    return text.replace("\u2060", "").replace("\xa0", " ").strip()


def _classes_in_order(root) -> list[str]:
    """The CSS classes of the widgets under ``root``, depth first (the order on the page)."""
    found = list(getattr(root, "_dom_classes", ()))
    for child in getattr(root, "children", ()) or ():
        found.extend(_classes_in_order(child))
    return found


def _report_02_ranked(site, *, area: str, lang: str) -> tuple[pd.DataFrame, object]:
    """Report 02's ``ranked`` and ``pub``: its own cells, run as written, up to the ranking."""
    import nbformat

    notebook = nbformat.read(NOTEBOOKS_DIR / "02_factor_prioritization.ipynb", as_version=4)
    names: dict = {}
    for cell in (c for c in notebook.cells if c.cell_type == "code"):
        exec(cell.source, names)  # noqa: S102 - the report's own cells, from the repository
        if "parameters" in cell.metadata.get("tags", []):
            names.update(area=area, wave=2025, lang=lang, data_dir=str(site["folder"]),
                         priorities_dir=str(site["team"] / "priorities"))  # fmt: skip
        if "ranked" in names:
            return names["ranked"], names["pub"]
    raise AssertionError("report 02 has no cell that ranks the factors")


def _reasons_shown(view, lang: str) -> dict[str, str]:
    """Factor label -> the reason shown in the ranked risk and protective tables."""
    rows = rows_of(_widget(view, "ctc-wide-table-box").value)
    reasons = {}
    for header, *body in _split_tables(rows):
        at, label = (
            header.index(column_label("reason", lang)),
            header.index(column_label("measure", lang)),
        )
        reasons.update({_plain(row[label]): _plain(row[at]) for row in body})
    return reasons


def _split_tables(rows: list[list[str]]) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    for row in rows:
        if row and row[0] in (column_label("rank", "sv"), column_label("rank", "en")):
            tables.append([])
        tables[-1].append(row)
    return tables


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_behaviours_come_first_then_the_factors(data, lang):
    view = prioritization_view(data, area=AREA, lang=lang)
    assert _widget(view, "ctc-error-box").value == ""
    order = _classes_in_order(view)
    first = order.index("ctc-behaviours")
    assert first < order.index("ctc-chart") < order.index("ctc-wide-table-box")
    assert first < order.index("ctc-table-box")
    shown = _widget(view, "ctc-behaviours").value
    assert t("report_priority_behaviours", lang) in shown
    labels = measure_labels(data.published.measures, lang)
    assert shown.index(labels["alcohol_30d"]) < shown.index(labels["truancy"])  # run file order
    assert "&lt;a id" not in shown and "<a id" not in shown  # the report's anchor is left out


def test_the_behaviours_show_their_levels_here_and_in_the_city(site, data):
    view = prioritization_view(data, area=AREA, lang="sv")
    rows = [[_plain(c) for c in row] for row in rows_of(_widget(view, "ctc-behaviours").value)]
    header, *body = rows
    assert [row[0] for row in body] == ["Druckit alkohol senaste 30 dagarna", "Skolkat"]
    table = site["fake"].aggregates_unsuppressed
    for row, behaviour in zip(body, BEHAVIOURS, strict=True):
        for column, area in ((1, AREA), (2, "all")):
            cell = table[
                table["area"].eq(area) & table["measure"].eq(behaviour)
                & table["wave"].eq(2025) & table["grade"].eq("all") & table["sex"].eq("all")
            ]  # fmt: skip
            share = float(cell["n_flagged"].iloc[0] / cell["n"].iloc[0])
            assert row[column] == f"{int(100 * share + 0.5)} %", (behaviour, area)


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("area", [AREA, OTHER])
def test_each_reason_is_report_02s_and_names_research_and_local_strength(site, data, area, lang):
    view = prioritization_view(data, area=area, lang=lang)
    ranked, pub = _report_02_ranked(site, area=area, lang=lang)
    labels = measure_labels(pub.measures, lang)
    expected = {
        _plain(labels[f]): _plain(r)
        for f, r in zip(ranked["factor"], explain_reasons(ranked, lang, measures=pub.measures),
                        strict=True)
    }  # fmt: skip
    assert _reasons_shown(view, lang) == expected
    # every reason says what research says and what the local link shows (or why it is not)
    research = (t("prio_link_research", lang, behaviours="", source="").split(" ")[0],
                t("prio_link_no_research", lang))  # fmt: skip
    local = ({"sv": "Här:", "en": "Here:"}[lang], t("prio_link_local_hidden", lang),
             t("prio_link_local_missing", lang))  # fmt: skip
    for reason in expected.values():
        assert any(text in reason for text in research), reason
        assert any(text in reason for text in local), reason


def test_the_local_strength_in_a_reason_is_the_published_link(data):
    """Norra Hamnen, family conflict and alcohol: 24 % against 8 %, adjusted +16 points
    (+7 to +25), the strongest shown link of the factor (truancy's lower limit is below 0)."""
    reasons = _reasons_shown(prioritization_view(data, area=AREA, lang="sv"), "sv")
    conflict = reasons["Konflikter i familjen"]
    assert (
        "Här: Druckit alkohol senaste 30 dagarna hos 24 % av eleverna med riskfaktorn mot 8 % av"
        " övriga; justerat för årskurs och kön +16 procentenheter (+7 till +25)."
    ) in conflict
    assert "ingen tydlig skillnad i Druckit alkohol" in reasons["Vänner som använder droger"]
    assert "Det lokala sambandet visas inte" in reasons["Anknytning till familjen"]


def test_the_teams_own_behaviours_replace_the_run_files(data):
    view = prioritization_view(data, area=OTHER, lang="sv")
    rows = rows_of(_widget(view, "ctc-behaviours").value)
    assert [_plain(row[0]) for row in rows[1:]] == ["Skolkat"]
    reasons = _reasons_shown(view, "sv")
    assert "Druckit alkohol" not in " ".join(reasons.values())
    assert "Forskning kopplar faktorn till Skolkat" in reasons["Konflikter i familjen"]


def test_without_behaviours_the_view_says_so_and_ranks_as_before(site, tmp_path):
    folder = tmp_path / "reports" / "2025" / "data"
    write_fake_published(folder)
    (tmp_path / "team").mkdir()
    data = dashboard_data.load_dashboard_data(tmp_path / "reports", data_dir=tmp_path / "team")
    view = prioritization_view(data, area=AREA, lang="en")
    assert "No priority problem behaviours are named" in _widget(view, "ctc-behaviours").value
    reasons = _reasons_shown(view, "en")
    assert reasons and not any("Research links" in r for r in reasons.values())
    assert _widget(view, "ctc-error-box").value == ""


def test_the_behaviour_table_downloads_first(data):
    import base64
    import io
    import re

    box = _widget(prioritization_view(data, area=AREA, lang="en"), "ctc-download-box").value
    found = re.findall(r'download="([^"]+\.csv)" href="data:[^,]+,([^"]+)"', box)
    own = [(name, content) for name, content in found if "_svensk" not in name]  # en: ","
    assert len(own) == 4  # the behaviours, the choice and the two rankings
    assert "priorityproblembehaviours" in re.sub(r"[^a-z]", "", own[0][0].lower())
    found = own
    frame = pd.read_csv(io.BytesIO(base64.b64decode(found[0][1])), encoding="utf-8-sig", dtype=str)
    assert frame.iloc[:2, 0].tolist() == ["Alcohol, past 30 days", "Truancy"]
