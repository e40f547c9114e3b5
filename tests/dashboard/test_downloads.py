"""Downloads hold the shown table as numbers: read back with openpyxl and pandas.

The expected numbers come from the table the page shows (its HTML, parsed here with the standard
library and converted by hand: ``"47 %"`` is 0.47), so a download that differed from the screen
or kept numbers as text fails.
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import openpyxl
import pandas as pd
import pytest

from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import downloads, widgets
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard.priorities import prioritization_view
from ctc_helpers.dashboard.profile import profile_view
from ctc_helpers.views.tables import DisplayTable
from tests.fake_published import write_fake_published

AREA, OTHER = "norra-hamnen", "soderdalen"
FOOTNOTE_START = "– färre än 10 svar"


@pytest.fixture(autouse=True)
def _fresh_caches():
    dashboard_page.clear_caches()
    yield
    dashboard_page.clear_caches()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dashboard_data.DashboardData:
    root = tmp_path_factory.mktemp("dash_downloads")
    write_fake_published(root / "reports" / "2025" / "data", leaky=True)
    (root / "team").mkdir()
    return dashboard_data.load_dashboard_data(root / "reports", data_dir=root / "team")


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).replace("\u2060", "").replace("\xa0", " "))
            self.cell = None

    def handle_data(self, text):
        if self.cell is not None:
            self.cell.append(text)


def shown_table(view) -> pd.DataFrame:
    parser = _Rows()
    parser.feed(widgets.find_widget(view, "ctc-table-box").value)
    header, *rows = [row for row in parser.rows if row]
    return pd.DataFrame(rows, columns=header)


def files_of(view) -> dict[str, bytes]:
    markup = widgets.find_widget(view, "ctc-download-box").value
    found = re.findall(r'download="([^"]+)" href="data:[^,]+;base64,([^"]+)"', markup)
    return {name: base64.b64decode(content) for name, content in found}


def percent(cell: str) -> float | None:
    """ "47 %" -> 0.47 by hand; the hidden mark "–" -> None."""
    return None if cell == "–" else int(cell.removesuffix(" %")) / 100


def points(cell: str) -> int:
    """ "+19 (tydligt högre)" or "−1 ◦" -> the signed number."""
    return int(cell.split(" ")[0].replace("−", "-"))


def sheet_columns(sheet) -> dict[str, list]:
    header = [c.value for c in sheet[1]]
    return {name: [row[i] for row in sheet.iter_rows(min_row=2)] for i, name in enumerate(header)}


def test_excel_holds_the_shown_numbers_with_number_formats(data):
    view = profile_view(data, area=AREA, lang="sv")
    shown = shown_table(view)
    book = openpyxl.load_workbook(
        io.BytesIO(files_of(view)["omradesprofil_norra-hamnen_2025_all_all_risk.xlsx"])
    )
    cells = sheet_columns(book["Riskfaktorer"])
    rows = len(shown)
    assert [c.value for c in cells["Mått"][:rows]] == list(shown["Mått"])
    area = cells["Norra Hamnen"][:rows]
    assert [c.value for c in area] == [percent(v) for v in shown["Norra Hamnen"]]
    assert {c.number_format for c in area} == {"0%"} and {c.data_type for c in area} == {"n"}
    low, high = cells["95 % KI, nedre gräns"][:rows], cells["95 % KI, övre gräns"][:rows]
    bounds = [v.removesuffix(" %").split("–") for v in shown["95 % KI"]]
    assert [c.value for c in low] == [int(b[0]) / 100 for b in bounds]
    assert [c.value for c in high] == [int(b[1]) / 100 for b in bounds]
    answers = cells["Antal svar"][:rows]
    assert [c.value for c in answers] == [int(v.replace(" ", "")) for v in shown["Antal svar"]]
    assert all(isinstance(c.value, int) and c.number_format == "0" for c in answers)
    difference = "Skillnad mot övriga kommunen (procentenheter)"
    assert [c.value for c in cells[difference][:rows]] == [points(v) for v in shown[difference]]
    assert {c.number_format for c in cells[difference][:rows]} == {"+0;-0;0"}
    words = [c.value for c in cells[f"{difference}, bedömning"][:rows]]
    assert words == [v.split(" ", 1)[1].strip("()") for v in shown[difference]]
    notes = [c.value for c in cells["Mått"][rows:]]
    assert any(str(n).startswith("◦ ingen tydlig skillnad") for n in notes)


def test_hidden_cells_are_empty_and_the_footnote_is_kept(data):
    view = profile_view(data, area=OTHER, lang="sv")
    widgets.find_widget(view, "ctc-grade").value = "ak9"
    widgets.find_widget(view, "ctc-sex").value = "F"
    shown = shown_table(view)
    assert set(shown["Söderdalen"]) == {"–"}  # 6 girls: every share hidden
    name = "omradesprofil_soderdalen_2025_ak9_F_risk"
    files = files_of(view)
    cells = sheet_columns(openpyxl.load_workbook(io.BytesIO(files[f"{name}.xlsx"]))["Riskfaktorer"])
    assert [c.value for c in cells["Söderdalen"][: len(shown)]] == [None] * len(shown)
    notes = [c.value for c in cells["Mått"][len(shown) :]]
    assert any(str(n).startswith(FOOTNOTE_START) for n in notes)
    frame = pd.read_csv(
        io.BytesIO(files[f"{name}.csv"]), sep=";", decimal=",", encoding="utf-8-sig"
    )
    assert frame["Söderdalen"].head(len(shown)).isna().all()
    assert any(str(n).startswith(FOOTNOTE_START) for n in frame["Mått"])
    assert frame["Övriga kommunen"].head(len(shown)).isna().all()  # hidden with them


@pytest.mark.parametrize(
    ("suffix", "separator", "decimal"), [("", ";", ","), ("_international", ",", ".")]
)
def test_csv_in_swedish_and_international_convention(data, suffix, separator, decimal):
    view = profile_view(data, area=AREA, lang="sv")
    shown = shown_table(view)
    content = files_of(view)[f"omradesprofil_norra-hamnen_2025_all_all_risk{suffix}.csv"]
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows å, ä, ö
    header = content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith(f"Mått{separator}Norra Hamnen (%){separator}")
    frame = pd.read_csv(io.BytesIO(content), sep=separator, decimal=decimal, encoding="utf-8-sig")
    rows = len(shown)
    assert list(frame["Norra Hamnen (%)"].head(rows)) == [
        round(100 * percent(v)) for v in shown["Norra Hamnen"]
    ]
    difference = "Skillnad mot övriga kommunen (procentenheter)"
    assert list(frame[difference].head(rows)) == [points(v) for v in shown[difference]]
    assert list(frame["Antal svar"].head(rows)) == [int(v) for v in shown["Antal svar"]]


def test_decimals_keep_their_format_in_both_languages():
    table = DisplayTable(pd.DataFrame({"Mått": ["A", "B"], "Andel": ["5,1 %", "12,0 %"],
                                       "Medel": ["2,25", "1 234,50"]}))  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(downloads.excel_bytes({"T": table}, "sv")))
    cells = sheet_columns(book["T"])
    assert [c.value for c in cells["Andel"]] == [0.051, 0.12]
    assert {c.number_format for c in cells["Andel"]} == {"0.0%"}
    assert [c.value for c in cells["Medel"]] == [2.25, 1234.5]
    assert {c.number_format for c in cells["Medel"]} == {"0.00"}
    text = downloads.csv_bytes(table, "sv", style="sv").decode("utf-8-sig").splitlines()
    assert text[1:] == ["A;5,1;2,25", "B;12,0;1234,50"]
    english = DisplayTable(pd.DataFrame({"Share": ["5.1%", "–"], "N": ["1,234", "12"]}))
    columns = downloads.typed_columns(english, "en")
    assert [(c.kind, c.values) for c in columns] == [("pct", (0.051, None)), ("count", (1234, 12))]
    assert downloads.csv_bytes(english, "en").decode("utf-8-sig").splitlines()[1] == "5.1,1234"


def test_text_that_looks_like_a_formula_stays_text():
    table = DisplayTable(pd.DataFrame({"Program": ['=HYPERLINK("http://x")', "@SUM(A1)"],
                                       "Andel": ["10 %", "20 %"]}))  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(downloads.excel_bytes({"T": table}, "sv")))
    program = sheet_columns(book["T"])["Program"]
    assert [c.data_type for c in program] == ["s", "s"]
    assert program[0].value == '=HYPERLINK("http://x")'
    rows = downloads.csv_bytes(table, "sv").decode("utf-8-sig").splitlines()
    assert rows[1] == '"\'=HYPERLINK(""http://x"")";10' and rows[2] == "'@SUM(A1);20"


def test_file_names_keep_swedish_letters(data):
    view = prioritization_view(data, area=AREA, lang="sv")
    names = set(files_of(view))
    assert "prioritering_norra-hamnen_2025_Förslaget_och_områdesteamets_val.csv" in names
    assert "prioritering_norra-hamnen_2025_Skyddsfaktorer_i_rangordning_international.csv" in names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Område Östra Åby", "Område_Östra_Åby"),
        ("Ö\u0308", "Ö\u0308"),  # already composed letters stay; combining marks kept
        ("a/b\\c", "a_b_c"),
        ('x<y>z:"w"|q?*', "x_y_z_w_q"),
        ("../../etc/passwd", "etc_passwd"),
        ("tab\there\nnew", "tab_here_new"),
        ("NUL", "_NUL"),
        ("com1.csv", "_com1.csv"),
        ("...", "tabell"),
        ("", "tabell"),
        ("ä" * 200, "ä" * 120),
    ],
)
def test_file_name_removes_what_windows_and_macos_refuse(text, expected):
    name = downloads.file_name(text)
    assert name == expected
    assert not re.search(r'[<>:"/\\|?*\x00-\x1f]', name) and not name.endswith((".", " "))
