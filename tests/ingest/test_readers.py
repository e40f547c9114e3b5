"""Tests of ctc_helpers.ingest readers, load and report: the bad-file corpus, load_survey,
write_ingest, the CLI."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from ctc_helpers.cli import main as ctc_main
from ctc_helpers.config.instrument import DEFAULT_INSTRUMENT, load_instrument
from ctc_helpers.errors import CTCError, InputFileError
from ctc_helpers.ingest import load as ingest_load
from ctc_helpers.ingest.load import load_survey
from ctc_helpers.ingest.readers import read_table
from ctc_helpers.ingest.report import IngestResult, write_ingest
from ctc_helpers.paths import SAMPLE_DIR

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
MINI = Path(__file__).resolve().parents[1] / "data" / "mini_instrument.yaml"
AREAS = BAD / "areas.csv"


def _generator():
    spec = importlib.util.spec_from_file_location("make_bad_files", BAD / "make_bad_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
# Expected canonical values of the six base rows, mapped by hand from GEN.BASE:
# grade ak7 / åk 8 / 9 / gy1 / åk 7 / gy 2; sex F / pojke / M / flicka / U / empty;
# area by id or name: Norra Hamnen x2, Södra Berget x2, Ängby x2.
BASE_GRADES = ["ak7", "ak8", "ak9", "gy1", "ak7", "gy2"]
BASE_SEXES = ["F", "M", "M", "F", "U", None]
BASE_AREAS = ["norra-hamnen"] * 2 + ["sodra-berget"] * 2 + ["angby"] * 2
BASE_WEIGHTS = [1.0, 0.8, 1.2, 1.0, 0.9, 1.1]


def _answers() -> pd.DataFrame:
    """The items of the base rows straight from the generator's ANSWERS strings."""
    rows = [[None if a == "_" else int(a) for a in line.split()] for line in GEN.ANSWERS]
    return pd.DataFrame(rows, columns=GEN.ITEMS)


def _load(name: str, **options) -> IngestResult:
    options.setdefault("instrument", load_instrument(MINI))
    options.setdefault("areas", AREAS)
    return load_survey(BAD / name, **options)


def _error(name: str, **options) -> str:
    with pytest.raises(InputFileError) as caught:
        _load(name, **options)
    return str(caught.value)


def _balanced(report: dict) -> bool:
    files_ok = all(
        f["rows_read"] == f["rows_kept"] + f["rows_quarantined"] for f in report["files"]
    )
    return files_ok and report["rows_read"] == report["rows_kept"] + report["rows_quarantined"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# The corpus itself


def test_corpus_has_at_least_fifteen_kinds_and_matches_its_generator(tmp_path):
    written = GEN.main(tmp_path)
    names = sorted(p.name for p in written)
    committed = sorted(p.name for p in BAD.iterdir() if p.suffix != ".py")
    assert names == committed
    assert len(names) - 1 >= 15  # minus the area list
    for name in names:
        regenerated, stored = tmp_path / name, BAD / name
        if regenerated.read_bytes() == stored.read_bytes():
            continue
        # binary formats may differ by writer version only: compare what a reader sees
        assert name.endswith((".xlsx", ".sav", ".parquet")), name
        _assert_same_content(regenerated, stored)


def _assert_same_content(one: Path, other: Path) -> None:
    if one.suffix == ".sav":
        (a, meta_a), (b, meta_b) = pyreadstat.read_sav(one), pyreadstat.read_sav(other)
        pd.testing.assert_frame_equal(a, b)
        assert meta_a.variable_value_labels == meta_b.variable_value_labels
    elif one.suffix == ".xlsx":
        books = [openpyxl.load_workbook(p) for p in (one, other)]
        assert [b.sheetnames for b in books][0] == books[1].sheetnames
        for name in books[0].sheetnames:
            values = [list(b[name].iter_rows(values_only=True)) for b in books]
            assert values[0] == values[1]
            assert [str(b[name].merged_cells) for b in books][0] == str(books[1][name].merged_cells)
    else:  # the truncated Parquet file: both unreadable, same leading magic bytes
        for path in (one, other):
            with pytest.raises(pa.ArrowException):
                pq.read_table(path)
        assert one.read_bytes()[:4] == other.read_bytes()[:4] == b"PAR1"


# --------------------------------------------------------------------------------------------
# File-level problems: the message names the file and the offending column, row or value


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("empty.csv", {}, ["empty.csv", "är tom"]),
        ("header_only.csv", {}, ["header_only.csv", "bara kolumnnamn", "'respondent_id'"]),
        ("binary_garbage.csv", {}, ["binary_garbage.csv", "binära data"]),
        ("answers.json", {}, ["answers.json", ".json", ".csv", ".xlsx", ".sav", ".parquet"]),
        ("answers.xls", {}, ["answers.xls", "spara den som .xlsx"]),
        ("missing_column.csv", {}, ["missing_column.csv", "saknas: 'grade'", "'sex'"]),
        (
            "misspelled_columns.csv",
            {},
            ["'Grade' → 'grade'", "'respondentid' → 'respondent_id'", "misspelled_columns.csv"],
        ),
        ("duplicate_ids.csv", {}, ["duplicate_ids.csv", "'r002' (rad 3, 5 och 7)"]),
        ("wrong_type_column.csv", {}, ["wrong_type_column.csv", "kolumn wave", "'2025-03-10'"]),
        ("no_items.csv", {}, ["no_items.csv", "15 frågekolumner", "'fa_conf_1'"]),
        ("duplicate_columns.csv", {}, ["duplicate_columns.csv", "'grade'", "kolumn 5, 23"]),
        ("prose.csv", {}, ["prose.csv", "inte ut som en tabell", "Enkäten genomfördes"]),
        ("title_row.csv", {}, ["title_row.csv", "rad 1", "rad 2"]),
        ("title_row_semicolons.csv", {}, ["title_row_semicolons.csv", "rad 1", "rad 2"]),
        ("excel_named_csv.csv", {}, ["excel_named_csv.csv", "Excel (.xlsx)", "till .xlsx"]),
        ("wrong_sheet.xlsx", {"sheet": "Data"}, ["'Data'", "wrong_sheet.xlsx", "'Enkät 2025'"]),
        ("merged_header.xlsx", {}, ["merged_header.xlsx", "rad 2", "sammanslagna celler"]),
        ("truncated.parquet", {}, ["truncated.parquet", "skadad eller ofullständig"]),
        ("does_not_exist.csv", {}, ["does_not_exist.csv", "finns inte"]),
    ],
)
def test_file_level_problems_stop_with_a_clear_message(name, options, expected):
    message = _error(name, lang="sv", **options)
    for part in expected:
        assert part in message
    assert "Traceback" not in message and "pandera" not in message.lower()


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("empty.csv", {}, ["empty.csv", "is empty"]),
        ("duplicate_ids.csv", {}, ["'r002' (rows 3, 5 and 7)"]),
        (
            "wrong_sheet.xlsx",
            {"sheet": "Data"},
            ["The sheet 'Data' does not exist", "'Anteckningar'"],
        ),
        ("misspelled_columns.csv", {}, ["Did you mean", "'Grade' → 'grade'"]),
        ("merged_header.xlsx", {}, ["row 1 does not hold the column names", "row 2"]),
    ],
)
def test_file_level_messages_in_english(name, options, expected):
    message = _error(name, lang="en", **options)
    for part in expected:
        assert part in message


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(InputFileError, match="folder"):
        read_table(tmp_path, lang="en")


# --------------------------------------------------------------------------------------------
# Row-level problems: quarantined with the reason, the rest kept


@pytest.mark.parametrize(
    ("name", "row", "column", "value", "rule", "reason_parts"),
    [
        ("code_out_of_range.csv", 4, "fa_conf_1", "9", "invalid_code", ["'9'", "1 = NEJ!"]),
        ("unknown_grade.csv", 3, "grade", "åk 13", "unknown_grade", ["'åk 13'", "åk 7 (ak7)"]),
        ("unknown_area.csv", 6, "area", "Atlantis", "unknown_area", ["'Atlantis'", "Ängby"]),
        ("text_in_item.csv", 2, "fa_att_1", "kanske", "invalid_code", ["'kanske'", "4 = JA!"]),
        ("negative_weight.csv", 7, "weight", "-1.5", "out_of_range", ["'-1.5'", "0 eller större"]),
        ("missing_values.csv", 5, "area", "", "missing_value", ["area", "måste vara ifylld"]),
        ("blank_lines_bom.csv", 8, "grade", "åk 5", "unknown_grade", ["'åk 5'"]),
    ],
)
def test_row_problems_go_to_quarantine(name, row, column, value, rule, reason_parts):
    result = _load(name, lang="sv")
    report = result.report
    assert (report["rows_read"], report["rows_kept"], report["rows_quarantined"]) == (6, 5, 1)
    assert _balanced(report) and len(result.data) == 5
    problem = result.quarantine.iloc[0]
    assert (problem["source_file"], problem["row"], problem["column"]) == (name, row, column)
    assert (problem["value"], problem["rule"]) == (value, rule)
    for part in reason_parts:
        assert part in problem["reason"]
    assert report["quarantined_by_rule"] == {rule: 1}
    # the original row rides along (as written in the file)
    assert problem["respondent_id"] == f"r00{row - 1}" or name == "blank_lines_bom.csv"
    assert problem[column] == value


def test_one_row_with_two_problems_counts_once():
    result = _load("unknown_sex_and_wave.csv", lang="en")
    assert result.report["rows_quarantined"] == 1 and result.report["rows_kept"] == 5
    assert result.quarantine[["row", "column", "value"]].values.tolist() == [
        [4, "sex", "okänt"],
        [4, "wave", "1999"],
    ]
    assert result.report["quarantined_by_rule"] == {"unknown_sex": 1, "out_of_range": 1}
    assert "from 2000 to 2100" in result.quarantine["reason"].iloc[1]


def test_rows_with_the_wrong_number_of_values():
    result = _load("ragged_rows.csv", lang="sv")
    assert _balanced(result.report)
    assert result.report["rows_read"] == 6 and result.report["rows_quarantined"] == 2
    q = result.quarantine
    assert q["row"].tolist() == [3, 6] and set(q["rule"]) == {"malformed_row"}
    assert "5 värden" in q["reason"].iloc[0] and "22" in q["reason"].iloc[0]
    assert q["value"].iloc[0].startswith("r002,2025")
    assert result.data["respondent_id"].tolist() == ["r001", "r003", "r004", "r006"]


def test_missing_tokens_are_read_as_no_answer_and_reported():
    result = _load("missing_values.csv", lang="en")
    kept = result.data.set_index("respondent_id")
    assert pd.isna(kept.loc["r001", "dep_1"]) and pd.isna(kept.loc["r002", "dep_2"])
    assert any("'NA'" in w and "2 times" in w for w in result.report["warnings"])


def test_values_read_through_an_alias_are_counted_and_reported(tmp_path):
    """Issue 16: "10" becoming gy 1 through the default aliases is never silent."""
    table = pd.read_csv(SAMPLE_DIR / "exempelstad_2025.csv", dtype=str).head(120)
    written = table.assign(grade=["10"] * 23 + ["9"] * 4 + ["gy1"] * 50 + ["Year 9"] * 43)
    written.to_csv(tmp_path / "aliases.csv", index=False)
    result = load_survey([tmp_path / "aliases.csv"], areas=SAMPLE_DIR / "areas.csv", lang="en")
    assert result.report["rows_quarantined"] == 0
    assert result.data["grade"].astype(str).value_counts().to_dict() == {"gy1": 73, "ak9": 47}
    said = [w for w in result.report["warnings"] if "by an alias" in w]
    # counted by hand from the column written above; codes and labels ("gy1", "Year 9") are
    # the vocabulary's own spellings, not aliases
    assert sorted(said) == [
        "aliases.csv: 23 rows: grade '10' read as gy1 by an alias of the list in force"
        " (data_schema/respondents.yaml, or respondents: in the instrument). If that is wrong,"
        " give the list in the instrument or recode the value in the mapping file.",
        "aliases.csv: 4 rows: grade '9' read as ak9 by an alias of the list in force"
        " (data_schema/respondents.yaml, or respondents: in the instrument). If that is wrong,"
        " give the list in the instrument or recode the value in the mapping file.",
    ]


# --------------------------------------------------------------------------------------------
# Awkward but valid files are read correctly


@pytest.mark.parametrize(
    ("name", "options", "encoding", "delimiter"),
    [
        ("cp1252.csv", {}, "cp1252", ";"),
        ("semicolon_decimal_comma.csv", {}, "utf-8", ";"),
        ("utf16_tab.txt", {}, "utf-16", "\t"),
        ("wrong_sheet.xlsx", {"sheet": "Enkät 2025"}, None, None),
    ],
)
def test_valid_variants_give_the_same_table(name, options, encoding, delimiter):
    result = _load(name, **options)
    data = result.data
    assert result.report["rows_quarantined"] == 0 and len(data) == 6
    file = result.report["files"][0]
    assert file.get("encoding") == encoding and file.get("delimiter") == delimiter
    assert data["grade"].astype(str).tolist() == BASE_GRADES
    assert data["sex"].astype(object).where(data["sex"].notna(), None).tolist() == BASE_SEXES
    assert data["area"].astype(str).tolist() == BASE_AREAS
    assert data["school"].astype(str).tolist()[4] == "Ängbyskolan"  # å/ä/ö decoded correctly
    weights = BASE_WEIGHTS if name != "semicolon_decimal_comma.csv" else [1.25, *BASE_WEIGHTS[1:]]
    np.testing.assert_allclose(data["weight"].to_numpy(), weights)
    expected = _answers()
    for item in GEN.ITEMS:
        assert data[item].tolist() == [pd.NA if pd.isna(v) else v for v in expected[item]]


def test_compact_types_follow_the_architecture(respondent_schema, mini_instrument):
    data = _load("cp1252.csv").data
    assert list(data.columns) == [
        "respondent_id",
        "wave",
        "area",
        "school",
        "grade",
        "sex",
        "weight",
        *mini_instrument.items,
    ]
    assert str(data["respondent_id"].dtype) == "string"
    assert data["wave"].dtype == np.int16
    assert data["grade"].cat.ordered
    assert data["grade"].cat.categories.tolist() == list(respondent_schema.grade_codes)
    assert data["area"].cat.categories.tolist() == ["norra-hamnen", "sodra-berget", "angby"]
    assert data["sex"].cat.categories.tolist() == list(respondent_schema.sex_codes)
    assert isinstance(data["school"].dtype, pd.CategoricalDtype)
    assert all(str(data[i].dtype) == "Int8" for i in mini_instrument.items)
    assert isinstance(data.index, pd.RangeIndex)


def test_spss_value_labels_decide_the_codes():
    result = _load("value_labels.sav", lang="en")
    data = result.data
    assert result.report["rows_quarantined"] == 0
    # SPSS sex codes 2, 1, 1, 2, 2, missing with 1 = Pojke, 2 = Flicka
    assert data["sex"].astype(object).where(data["sex"].notna(), None).tolist() == [
        "F",
        "M",
        "M",
        "F",
        "F",
        None,
    ]
    assert data["grade"].astype(str).tolist() == ["ak7", "ak8", "ak8", "ak7", "ak7", "ak8"]
    # fa_conf_3 was stored as code - 1 with the labels of the codes: back to the base answers
    assert data["fa_conf_3"].tolist() == _answers()["fa_conf_3"].tolist()
    assert data["honesty"].tolist() == [1, pd.NA, 1, 2, 1, 3]  # 99 is user-missing in SPSS
    warnings = " ".join(result.report["warnings"])
    assert "fa_conf_3, grade, sex" in warnings and "honesty" in warnings


def test_excel_numbers_and_row_numbers(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(GEN.HEADER)
    rows = GEN.frame().itertuples(index=False)
    sheet.append([None if pd.isna(v) else v for v in next(rows)])
    sheet.append([])  # a blank row keeps the numbering of the rows below
    bad = list(next(rows))
    bad[GEN.HEADER.index("fa_conf_2")] = 12
    sheet.append([None if pd.isna(v) else v for v in bad])
    book.save(tmp_path / "enkät.xlsx")
    result = load_survey(tmp_path / "enkät.xlsx", instrument=load_instrument(MINI), areas=AREAS)
    assert result.quarantine[["row", "column", "value"]].values.tolist() == [[4, "fa_conf_2", "12"]]
    assert result.data["wave"].tolist() == [2025]
    assert result.report["files"][0]["sheet"] == "Sheet"
    assert result.report["files"][0]["blank_rows"] == 1


def test_parquet_round_trip_keeps_everything(tmp_path):
    written = write_ingest(_load("cp1252.csv"), tmp_path / "out")
    again = load_survey(written["respondents"], instrument=load_instrument(MINI), areas=AREAS)
    original = _load("cp1252.csv").data
    pd.testing.assert_frame_equal(again.data, original, check_categorical=False)
    assert again.data["grade"].cat.categories.tolist() == original["grade"].cat.categories.tolist()


# --------------------------------------------------------------------------------------------
# Several files


def test_several_files_are_combined(tmp_path):
    rows = GEN.base_rows()
    second = [[f"s{r[0][1:]}", "2023", *r[2:]] for r in rows]
    second[0][GEN.HEADER.index("school")] = "Nya skolan"
    (tmp_path / "wave_2025.csv").write_text(GEN.csv_text(GEN.HEADER, rows), encoding="utf-8")
    (tmp_path / "wave_2023.csv").write_text(GEN.csv_text(GEN.HEADER, second), encoding="utf-8")
    result = load_survey(
        [tmp_path / "wave_2025.csv", tmp_path / "wave_2023.csv"],
        instrument=load_instrument(MINI),
        areas=AREAS,
    )
    assert len(result.data) == 12 and _balanced(result.report)
    assert result.data["wave"].tolist() == [2025] * 6 + [2023] * 6
    assert isinstance(result.data["school"].dtype, pd.CategoricalDtype)
    assert set(result.data["school"].cat.categories) == {
        "Hamnskolan",
        "Bergsskolan",
        "Ängbyskolan",
        "Nya skolan",
    }
    assert [f["file"] for f in result.report["files"]] == ["wave_2025.csv", "wave_2023.csv"]


def test_ids_must_be_unique_across_files(tmp_path):
    rows = GEN.base_rows()
    (tmp_path / "a.csv").write_text(GEN.csv_text(GEN.HEADER, rows), encoding="utf-8")
    (tmp_path / "b.csv").write_text(GEN.csv_text(GEN.HEADER, rows[3:]), encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        load_survey(
            [tmp_path / "a.csv", tmp_path / "b.csv"],
            instrument=load_instrument(MINI),
            areas=AREAS,
            lang="en",
        )
    message = str(caught.value)
    # by hand: r004 is row 5 of a.csv and row 2 of b.csv
    assert "3 ids" in message and "'r004' (a.csv row 5, b.csv row 2)" in message


def test_weight_in_some_files_only(tmp_path):
    rows = GEN.base_rows()
    keep = [i for i, h in enumerate(GEN.HEADER) if h != "weight"]
    unweighted = [[r[i] for i in keep] for r in rows]
    (tmp_path / "a.csv").write_text(GEN.csv_text(GEN.HEADER, rows), encoding="utf-8")
    (tmp_path / "b.csv").write_text(
        GEN.csv_text([GEN.HEADER[i] for i in keep], [[f"b{v[0]}", *v[1:]] for v in unweighted]),
        encoding="utf-8",
    )
    with pytest.raises(InputFileError, match="'a.csv'.*'b.csv'"):
        load_survey(
            [tmp_path / "a.csv", tmp_path / "b.csv"], instrument=load_instrument(MINI), areas=AREAS
        )


def test_unknown_columns_and_absent_items_are_warnings(tmp_path):
    header = [h for h in GEN.HEADER if h != "honesty"] + ["kommentar"]
    rows = [
        [v for h, v in zip(GEN.HEADER, r, strict=True) if h != "honesty"] + ["bra"]
        for r in GEN.base_rows()
    ]
    (tmp_path / "f.csv").write_text(GEN.csv_text(header, rows), encoding="utf-8")
    result = load_survey(
        tmp_path / "f.csv", instrument=load_instrument(MINI), areas=AREAS, lang="en"
    )
    assert result.report["rows_kept"] == 6
    warnings = " ".join(result.report["warnings"])
    assert "kommentar" in warnings and "honesty" in warnings
    assert result.data["honesty"].isna().all() and "kommentar" not in result.data


def test_an_entirely_empty_optional_column_counts_as_absent(tmp_path):
    rows = [r[:6] + [""] + r[7:] for r in GEN.base_rows()]  # weight column without values
    (tmp_path / "f.csv").write_text(GEN.csv_text(GEN.HEADER, rows), encoding="utf-8")
    result = load_survey(
        tmp_path / "f.csv", instrument=load_instrument(MINI), areas=AREAS, lang="en"
    )
    assert result.report["rows_kept"] == 6 and "weight" not in result.data
    assert any("weight" in w and "empty" in w for w in result.report["warnings"])


# --------------------------------------------------------------------------------------------
# Raw files are never modified; writing the result


def test_raw_files_are_never_modified(tmp_path):
    before = {p.name: _digest(p) for p in BAD.iterdir()}
    for path in BAD.iterdir():
        if path.suffix == ".py":
            continue
        try:
            result = load_survey(path, instrument=load_instrument(MINI), areas=AREAS)
            write_ingest(result, tmp_path / path.stem)
        except CTCError:
            pass  # the file-level problems are asserted above; here only the bytes matter
    assert {p.name: _digest(p) for p in BAD.iterdir()} == before


def test_write_ingest_files(tmp_path):
    result = _load("code_out_of_range.csv", lang="sv")
    written = write_ingest(result, tmp_path / "ut")
    assert {p.name for p in written.values()} == {
        "respondents.parquet",
        "quarantine.csv",
        "ingest_report.json",
        "ingest_report.txt",
    }
    stored = pd.read_parquet(written["respondents"])
    ids = result.data["respondent_id"].dtype  # Parquet keeps "string", not its Arrow storage
    pd.testing.assert_frame_equal(stored.astype({"respondent_id": ids}), result.data)
    raw = written["quarantine"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    quarantine = pd.read_csv(written["quarantine"], sep=";", encoding="utf-8-sig", dtype=str)
    assert list(quarantine.columns[:6]) == ["fil", "rad", "kolumn", "värde", "regel", "orsak"]
    assert quarantine.loc[0, ["rad", "kolumn", "värde"]].tolist() == ["4", "fa_conf_1", "9"]
    report = json.loads(written["report_json"].read_text(encoding="utf-8"))
    assert (report["rows_read"], report["rows_kept"], report["rows_quarantined"]) == (6, 5, 1)
    text = written["report_txt"].read_text(encoding="utf-8")
    assert "Rader lästa: 6, godkända: 5, i karantän: 1" in text
    assert "code_out_of_range.csv, rad 4, kolumn fa_conf_1: värdet '9'" in text


def test_write_ingest_refuses_to_overwrite_an_input(tmp_path):
    source = tmp_path / "respondents.parquet"
    write_ingest(_load("cp1252.csv"), tmp_path / "first")
    source.write_bytes((tmp_path / "first" / "respondents.parquet").read_bytes())
    result = load_survey(source, instrument=load_instrument(MINI), areas=AREAS, lang="en")
    before = _digest(source)
    with pytest.raises(InputFileError, match="overwrite"):
        write_ingest(result, tmp_path)
    assert _digest(source) == before


# --------------------------------------------------------------------------------------------
# Command line


def _cli(*args: str) -> list[str]:
    return [*args, "--instrument", str(MINI), "--areas", str(AREAS)]


def test_cli_validate_clean_file_exits_0(capsys):
    code = ctc_main(_cli("validate", str(BAD / "cp1252.csv"), "--lang", "en"))
    out = capsys.readouterr().out
    assert code == 0
    assert "Rows read: 6, kept: 6, quarantined: 0" in out and "No problems found" in out


def test_cli_validate_with_problems_exits_1(capsys):
    code = ctc_main(_cli("validate", str(BAD / "code_out_of_range.csv")))
    out = capsys.readouterr().out
    assert code == 1
    assert "code_out_of_range.csv, rad 4, kolumn fa_conf_1: värdet '9'" in out
    assert "(tillåtna: 1 = NEJ!, 2 = nej, 3 = ja, 4 = JA!, eller tomt)" in out


def test_cli_file_level_problem_exits_2_without_traceback(capsys):
    code = ctc_main(_cli("validate", str(BAD / "missing_column.csv"), "--lang", "en"))
    captured = capsys.readouterr()
    assert code == 2
    assert "missing_column.csv" in captured.err and "'grade'" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_cli_ingest_writes_the_folder(tmp_path, capsys):
    out = tmp_path / "ingested"
    code = ctc_main(_cli("ingest", str(BAD / "unknown_area.csv"), "--out", str(out)))
    assert code == 1  # rows were quarantined (tests/test_cli.py: --allow-quarantine gives 0)
    assert (out / "respondents.parquet").is_file() and (out / "quarantine.csv").is_file()
    assert str(out) in capsys.readouterr().out


def test_cli_missing_area_list_asks_for_areas(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(ingest_load, "DEFAULT_AREAS", tmp_path / "areas.csv")
    code = ctc_main(["validate", str(BAD / "cp1252.csv"), "--instrument", str(MINI)])
    err = capsys.readouterr().err
    assert code == 2 and "--areas" in err and str(tmp_path / "areas.csv") in err


# --------------------------------------------------------------------------------------------
# The default instrument


@pytest.mark.skipif(not DEFAULT_INSTRUMENT.exists(), reason="default instrument not written yet")
def test_ingest_with_the_default_instrument(tmp_path, rng):
    instrument = load_instrument()
    n = 40
    table = pd.DataFrame(
        {
            "respondent_id": [f"x{i}" for i in range(n)],
            "wave": 2025,
            "area": "angby",
            "grade": rng.choice(["åk 7", "åk 9", "gy 1"], n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    items = {item.id: rng.choice(item.response_set.codes, n) for item in instrument.items.values()}
    table = pd.concat([table, pd.DataFrame(items)], axis=1)
    first = next(iter(instrument.items.values()))
    table.loc[7, first.id] = max(first.response_set.codes) + 1
    table.to_csv(tmp_path / "full.csv", index=False)
    result = load_survey(tmp_path / "full.csv", instrument=instrument, areas=AREAS, lang="en")
    assert result.report["rows_read"] == n and result.report["rows_quarantined"] == 1
    assert result.quarantine[["row", "column"]].values.tolist() == [[9, first.id]]
    kept = result.data.drop(columns=["respondent_id", "wave", "area", "school", "grade", "sex"])
    expected = table.drop(index=7)[list(instrument.items)].reset_index(drop=True)
    assert (kept.astype("int64").to_numpy() == expected.to_numpy()).all()


_DEMO_WAVES = sorted((SAMPLE_DIR).glob("exempelstad_*.csv"))


@pytest.mark.skipif(not _DEMO_WAVES, reason="demo city not generated")
def test_the_demo_city_ingests_without_quarantine():
    result = load_survey(_DEMO_WAVES, areas=SAMPLE_DIR / "areas.csv", lang="en")
    expected_rows = sum(len(pd.read_csv(p, usecols=["respondent_id"])) for p in _DEMO_WAVES)
    assert result.report["rows_read"] == expected_rows == len(result.data)
    assert result.report["rows_quarantined"] == 0
    assert sorted(result.data["wave"].unique()) == sorted(
        pd.concat([pd.read_csv(p, usecols=["wave"]) for p in _DEMO_WAVES])["wave"].unique()
    )


# --------------------------------------------------------------------------------------------
# Property: nothing but an IngestResult or a CTCError, and no row is lost

_SUFFIXES = (".csv", ".xlsx", ".parquet", ".sav")
_TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")  # the formats _write_random writes
_CELLS = st.one_of(
    st.none(),
    st.integers(-300, 3000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["1", "2", "åk 7", "F", "angby", "Ängby", "NA", "", "2025", ";", '"', "\n"]),
)
_COLUMNS = st.lists(
    st.one_of(st.sampled_from(GEN.HEADER), st.text(min_size=0, max_size=6)),
    min_size=1,
    max_size=9,
)


_MINI_INSTRUMENT = load_instrument(MINI)
_AREA_LIST = pd.read_csv(AREAS)


def _check_outcome(path: Path) -> None:
    try:
        result = load_survey(path, instrument=_MINI_INSTRUMENT, areas=_AREA_LIST, lang="en")
    except CTCError:
        return
    assert isinstance(result, IngestResult)
    assert _balanced(result.report)
    assert len(result.data) == result.report["rows_kept"]
    rejected = result.quarantine[["source_file", "row"]].drop_duplicates()
    assert len(rejected) == result.report["rows_quarantined"]


@pytest.mark.parametrize("name", ["value_labels.sav", "wrong_sheet.xlsx", "cp1252.csv"])
@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_cut_off_files_never_crash(tmp_path, name, share):
    data = (BAD / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: int(len(data) * share)])
    _check_outcome(path)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=400), suffix=st.sampled_from(_SUFFIXES))
def test_random_bytes_never_crash(tmp_path, content, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(content)
    _check_outcome(path)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    columns=_COLUMNS,
    data=st.data(),
    suffix=st.sampled_from(_TABLE_SUFFIXES),
    separator=st.sampled_from([",", ";"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_random_tables_never_crash_or_lose_rows(
    tmp_path, columns, data, suffix, separator, encoding
):
    rows = data.draw(
        st.lists(st.lists(_CELLS, min_size=len(columns), max_size=len(columns)), max_size=6)
    )
    table = pd.DataFrame(rows, columns=range(len(columns)), dtype=object)
    table.columns = columns
    path = tmp_path / f"table{suffix}"
    try:
        _write_random(table, path, separator, encoding)
    except (ValueError, TypeError, UnicodeEncodeError, pa.ArrowException, IllegalCharacterError):
        return  # the writer cannot represent this table; nothing to read
    _check_outcome(path)


_VALID_CELLS = {
    "wave": st.sampled_from(["2025", "2023", 2021, 2025.0]),
    "area": st.sampled_from(["angby", "Norra Hamnen", "SÖDRA BERGET"]),
    "school": st.text(max_size=5),
    "grade": st.sampled_from(["åk 7", "ak8", 9, "gy 2"]),
    "sex": st.sampled_from(["F", "pojke", "", None]),
    "weight": st.sampled_from(["1.0", 0.5, "1,5"]),
}


def _near_valid_cell(column: str):
    valid = _VALID_CELLS.get(column, st.sampled_from(["1", "2", "3", 4, "", None, "JA!"]))
    return st.one_of(valid, valid, valid, _CELLS)  # about one value in four is garbage


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(), suffix=st.sampled_from(_TABLE_SUFFIXES), separator=st.sampled_from([",", ";"])
)
def test_nearly_valid_tables_keep_every_row_accounted_for(tmp_path, data, suffix, separator):
    n = data.draw(st.integers(1, 12))
    columns = {
        name: [data.draw(_near_valid_cell(name)) for _ in range(n)] for name in GEN.HEADER[1:]
    }
    table = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(n)], **columns}, dtype=object)
    path = tmp_path / f"near{suffix}"
    try:
        _write_random(table, path, separator, "utf-8")
    except (ValueError, TypeError, UnicodeEncodeError, pa.ArrowException, IllegalCharacterError):
        return
    _check_outcome(path)


def _write_random(table: pd.DataFrame, path: Path, separator: str, encoding: str) -> None:
    if path.suffix == ".csv":
        path.write_bytes(table.to_csv(index=False, sep=separator).encode(encoding))
    elif path.suffix == ".parquet":
        table.astype(str).where(table.notna(), None).to_parquet(path, index=False)
    else:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append([str(c) for c in table.columns])
        for values in table.itertuples(index=False):
            sheet.append([v if isinstance(v, int | float | str) else None for v in values])
        book.save(path)
