"""Write the corpus of bad (and awkward but valid) survey files used by tests/test_io.py.

Run once after changing it: ``.venv/bin/python tests/data/bad/make_bad_files.py``. The output
is deterministic (timestamps inside .xlsx and .sav files are fixed), and a test regenerates the
corpus and compares it with the committed files. The columns follow the small test instrument
``tests/data/mini_instrument.yaml`` and the area list ``areas.csv`` beside this script.

Usage: ``make_bad_files.py [OUT_DIR]`` (default: the folder of this script).
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import yaml

HERE = Path(__file__).resolve().parent
MINI = HERE.parent / "mini_instrument.yaml"
ITEMS = [item["id"] for item in yaml.safe_load(MINI.read_text(encoding="utf-8"))["items"]]
HEADER = ["respondent_id", "wave", "area", "school", "grade", "sex", "weight", *ITEMS]
# Item answers of the six base respondents (codes of the mini instrument, "" = no answer).
ANSWERS = [
    "1 2 3 2 1 4 3 1 1 1 1 1 2 1 1",
    "2 2 2 3 5 3 3 2 1 1 1 2 2 1 2",
    "3 4 1 1 2 4 4 3 2 2 1 3 3 1 1",
    "4 3 2 2 3 2 1 4 2 1 1 4 4 1 2",
    "1 1 4 4 4 1 2 1 1 1 1 1 1 1 1",
    "2 _ 3 2 2 3 _ 2 1 1 1 2 1 1 3",
]
BASE = [
    ["r001", "2025", "norra-hamnen", "Hamnskolan", "ak7", "F", "1.0"],
    ["r002", "2025", "Norra Hamnen", "Hamnskolan", "åk 8", "pojke", "0.8"],
    ["r003", "2025", "sodra-berget", "Bergsskolan", "9", "M", "1.2"],
    ["r004", "2025", "Södra Berget", "Bergsskolan", "gy1", "flicka", "1.0"],
    ["r005", "2025", "angby", "Ängbyskolan", "åk 7", "U", "0.9"],
    ["r006", "2025", "Ängby", "Ängbyskolan", "gy 2", "", "1.1"],
]
FIXED_TIME = (2025, 1, 1, 0, 0, 0)


def base_rows() -> list[list[str]]:
    """The six valid base rows: schema columns, then one answer per item."""
    return [
        row + ["" if a == "_" else a for a in answers.split()]
        for row, answers in zip(BASE, ANSWERS, strict=True)
    ]


def with_value(rows: list[list[str]], row: int, column: str, value: str) -> list[list[str]]:
    """A copy of ``rows`` with one value replaced (``row`` counts data rows from 0)."""
    copy = [list(r) for r in rows]
    copy[row][HEADER.index(column)] = value
    return copy


def csv_text(header: list[str], rows: list[list[str]], sep: str = ",") -> str:
    return "".join(sep.join(r) + "\n" for r in [header, *rows])


def write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


def frame(rows: list[list[str]] | None = None) -> pd.DataFrame:
    """The base rows as a typed table (numbers as numbers), as an Excel user would have it."""
    table = pd.DataFrame(rows or base_rows(), columns=HEADER)
    numeric = ["wave", "weight", *ITEMS]
    return table.assign(**{c: pd.to_numeric(table[c].replace("", np.nan)) for c in numeric})


# --------------------------------------------------------------------------------------------
# Deterministic binary writers


def fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip (xlsx) with fixed entry times and fixed document timestamps."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in sorted(source.infolist(), key=lambda i: i.filename):
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2025-01-01T00:00:00Z", content
                )
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, content)
    return out.getvalue()


def save_workbook(book: openpyxl.Workbook, path: Path) -> None:
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(fixed_zip(buffer.getvalue()))


def sheet_of(book: openpyxl.Workbook, title: str, table: pd.DataFrame):
    sheet = book.active
    sheet.title = title
    sheet.append(list(table.columns))
    for values in table.itertuples(index=False):
        sheet.append([None if pd.isna(v) else v for v in values])
    return sheet


def fixed_sav(path: Path) -> None:
    """Overwrite the creation date and time in the SPSS header (bytes 92-108)."""
    data = bytearray(path.read_bytes())
    data[92:109] = b"01 Jan 2500:00:00"
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------------------------
# The corpus: one function per file


def areas(out: Path) -> None:
    """The (valid) area list the corpus refers to."""
    write_text(
        out / "areas.csv",
        "area_id,name,municipality\n"
        "norra-hamnen,Norra Hamnen,Exempelstad\n"
        "sodra-berget,Södra Berget,Exempelstad\n"
        "angby,Ängby,Exempelstad\n",
    )


def empty(out: Path) -> None:
    write_text(out / "empty.csv", "")


def header_only(out: Path) -> None:
    write_text(out / "header_only.csv", csv_text(HEADER, []))


def binary_garbage(out: Path) -> None:
    rng = np.random.default_rng(2)
    (out / "binary_garbage.csv").write_bytes(rng.integers(0, 256, 600, dtype=np.uint8).tobytes())


def unsupported(out: Path) -> None:
    write_text(out / "answers.json", '{"respondent_id": "r001", "wave": 2025}\n')
    (out / "answers.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


def missing_column(out: Path) -> None:
    keep = [i for i, name in enumerate(HEADER) if name != "grade"]
    rows = [[r[i] for i in keep] for r in base_rows()]
    write_text(out / "missing_column.csv", csv_text([HEADER[i] for i in keep], rows))


def misspelled_columns(out: Path) -> None:
    names = {"grade": "Grade", "respondent_id": "respondentid"}
    write_text(
        out / "misspelled_columns.csv", csv_text([names.get(h, h) for h in HEADER], base_rows())
    )


def duplicate_ids(out: Path) -> None:
    rows = with_value(
        with_value(base_rows(), 3, "respondent_id", "r002"), 5, "respondent_id", "r002"
    )
    write_text(out / "duplicate_ids.csv", csv_text(HEADER, rows))


def code_out_of_range(out: Path) -> None:
    write_text(
        out / "code_out_of_range.csv",
        csv_text(HEADER, with_value(base_rows(), 2, "fa_conf_1", "9")),
    )


def unknown_grade(out: Path) -> None:
    write_text(
        out / "unknown_grade.csv", csv_text(HEADER, with_value(base_rows(), 1, "grade", "åk 13"))
    )


def unknown_area(out: Path) -> None:
    write_text(
        out / "unknown_area.csv", csv_text(HEADER, with_value(base_rows(), 4, "area", "Atlantis"))
    )


def text_in_item(out: Path) -> None:
    rows = with_value(base_rows(), 0, "fa_att_1", "kanske")
    rows = with_value(rows, 1, "fa_att_2", "JA!")  # an answer label: read as code 4
    write_text(out / "text_in_item.csv", csv_text(HEADER, rows))


def negative_weight(out: Path) -> None:
    write_text(
        out / "negative_weight.csv", csv_text(HEADER, with_value(base_rows(), 5, "weight", "-1.5"))
    )


def unknown_sex_and_wave(out: Path) -> None:
    rows = with_value(with_value(base_rows(), 2, "sex", "okänt"), 2, "wave", "1999")
    write_text(out / "unknown_sex_and_wave.csv", csv_text(HEADER, rows))


def missing_values(out: Path) -> None:
    rows = with_value(base_rows(), 3, "area", "")
    rows = with_value(with_value(rows, 0, "dep_1", "NA"), 1, "dep_2", "NA")
    write_text(out / "missing_values.csv", csv_text(HEADER, rows))


def wrong_type_column(out: Path) -> None:
    rows = base_rows()
    for i, row in enumerate(rows):
        row[HEADER.index("wave")] = f"2025-03-{10 + i}"
    write_text(out / "wrong_type_column.csv", csv_text(HEADER, rows))


def no_items(out: Path) -> None:
    header = HEADER[:7] + ["q1", "q2"]
    rows = [r[:7] + ["1", "2"] for r in base_rows()]
    write_text(out / "no_items.csv", csv_text(header, rows))


def duplicate_columns(out: Path) -> None:
    header = [*HEADER, "grade"]
    rows = [r + [r[HEADER.index("grade")]] for r in base_rows()]
    write_text(out / "duplicate_columns.csv", csv_text(header, rows))


def ragged_rows(out: Path) -> None:
    rows = base_rows()
    rows[1] = rows[1][:5]  # cut short
    rows[4] = rows[4] + ["extra"]  # one value too many
    write_text(out / "ragged_rows.csv", csv_text(HEADER, rows))


def prose(out: Path) -> None:
    text = (
        "Enkäten genomfördes under våren i alla skolor i kommunen.\n"
        "Eleverna svarade anonymt på frågorna under en lektion.\n"
        "Resultaten redovisas per område och årskurs.\n"
    )
    write_text(out / "prose.csv", text)


def title_row(out: Path) -> None:
    write_text(
        out / "title_row.csv", "Enkätsvar Exempelstad 2025\n" + csv_text(HEADER, base_rows())
    )


def title_row_semicolons(out: Path) -> None:
    """A title row as Swedish Excel saves it: the title, then empty cells up to the last column."""
    title = "Enkätsvar Exempelstad 2025" + ";" * (len(HEADER) - 1) + "\n"
    write_text(out / "title_row_semicolons.csv", title + csv_text(HEADER, base_rows(), sep=";"))


def cp1252(out: Path) -> None:
    """Semicolon CSV from Swedish Excel (Windows-1252): å, ä, ö must be read correctly."""
    rows = [[v.replace(".", ",") if i == 6 else v for i, v in enumerate(r)] for r in base_rows()]
    write_text(out / "cp1252.csv", csv_text(HEADER, rows, sep=";"), encoding="cp1252")


def semicolon_decimal_comma(out: Path) -> None:
    rows = [[v.replace(".", ",") if i == 6 else v for i, v in enumerate(r)] for r in base_rows()]
    rows = with_value(rows, 0, "weight", "1,25")
    write_text(out / "semicolon_decimal_comma.csv", csv_text(HEADER, rows, sep=";"))


def blank_lines_bom(out: Path) -> None:
    """UTF-8 with BOM, a blank line and a line of empty values; a bad grade below them."""
    lines = csv_text(HEADER, with_value(base_rows(), 4, "grade", "åk 5")).splitlines(keepends=True)
    lines.insert(3, "\n")
    lines.insert(5, "," * (len(HEADER) - 1) + "\n")
    write_text(out / "blank_lines_bom.csv", "\ufeff" + "".join(lines))


def utf16_tab(out: Path) -> None:
    """Excel's "Unicode text" export: UTF-16 with BOM, tab-separated."""
    write_text(out / "utf16_tab.txt", csv_text(HEADER, base_rows(), sep="\t"), encoding="utf-16")


def wrong_sheet(out: Path) -> None:
    book = openpyxl.Workbook()
    sheet_of(book, "Enkät 2025", frame())
    book.create_sheet("Anteckningar")["A1"] = "Inga anteckningar"
    save_workbook(book, out / "wrong_sheet.xlsx")


def merged_header(out: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["Enkät Exempelstad 2025"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(HEADER)
    for values in frame().itertuples(index=False):
        sheet.append([None if pd.isna(v) else v for v in values])
    save_workbook(book, out / "merged_header.xlsx")


def excel_named_csv(out: Path) -> None:
    book = openpyxl.Workbook()
    sheet_of(book, "Data", frame())
    save_workbook(book, out / "excel_named_csv.csv")


def truncated_parquet(out: Path) -> None:
    buffer = io.BytesIO()
    frame().to_parquet(buffer, index=False)
    data = buffer.getvalue()
    (out / "truncated.parquet").write_bytes(data[: len(data) // 2])


def value_labels_sav(out: Path) -> None:
    """SPSS file with value labels: labels (not codes) decide where they name an option.

    - items keep the instrument's codes and labels, except ``fa_conf_3``, coded 0-3 with the
      labels of codes 1-4 (read through the labels);
    - ``sex`` is coded 1 = Pojke, 2 = Flicka (the reverse of the bare-code aliases);
    - ``grade`` is coded 7 and 8 with labels ``åk 7``/``åk 8``;
    - 99 in ``honesty`` is an SPSS user-missing code (read as no answer).
    """
    table = frame().drop(columns=["weight"])
    table = table.assign(
        sex=[2.0, 1.0, 1.0, 2.0, 2.0, np.nan],
        grade=[7.0, 8.0, 8.0, 7.0, 7.0, 8.0],
        fa_conf_3=table["fa_conf_3"] - 1,
        honesty=[1.0, 99.0, 1.0, 2.0, 1.0, 3.0],
    )
    agree = {1: "NEJ!", 2: "nej", 3: "ja", 4: "JA!"}
    labels = {item: agree for item in ("fa_conf_1", "fa_conf_2", "fa_att_1", "fa_att_2")}
    labels["fa_conf_3"] = {code - 1: text for code, text in agree.items()}
    labels["sex"] = {1: "Pojke", 2: "Flicka"}
    labels["grade"] = {7: "åk 7", 8: "åk 8"}
    labels["honesty"] = {1: "mycket ärlig", 2: "ärlig för det mesta", 99: "vill inte svara"}
    path = out / "value_labels.sav"
    pyreadstat.write_sav(
        table, path, variable_value_labels=labels, missing_ranges={"honesty": [99]}
    )
    fixed_sav(path)


WRITERS = [
    areas,
    empty,
    header_only,
    binary_garbage,
    unsupported,
    missing_column,
    misspelled_columns,
    duplicate_ids,
    code_out_of_range,
    unknown_grade,
    unknown_area,
    text_in_item,
    negative_weight,
    unknown_sex_and_wave,
    missing_values,
    wrong_type_column,
    no_items,
    duplicate_columns,
    ragged_rows,
    prose,
    title_row,
    title_row_semicolons,
    cp1252,
    semicolon_decimal_comma,
    blank_lines_bom,
    utf16_tab,
    wrong_sheet,
    merged_header,
    excel_named_csv,
    truncated_parquet,
    value_labels_sav,
]


def main(out: Path = HERE) -> list[Path]:
    """Write every file of the corpus into ``out``; returns the files of the corpus."""
    out.mkdir(parents=True, exist_ok=True)
    for writer in WRITERS:
        writer(out)
    return sorted(p for p in out.iterdir() if p.is_file() and p.suffix != ".py")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for written in main(target):
        print(written.name)
