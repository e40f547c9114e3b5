"""Resource limits of the readers: the column limit, and memory that grows linearly with columns.

The 10,000-column CSV of issue 15 (1 MB) used 7.3 GB and 28 s before; it must now be refused
with a clear message within 5 s and under 1 GB. Peak memory is measured in a fresh interpreter
(its ``VmHWM``), so that this test process's own memory does not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest

from ctc_helpers.errors import ConfigError, InputFileError
from ctc_helpers.ingest.columns import DEFAULT_MAX_COLUMNS, column_limit, frame_from_arrow
from ctc_helpers.ingest.load import load_survey
from ctc_helpers.ingest.readers import read_table

ROOT = Path(__file__).resolve().parents[2]


def _wide_csv(path: Path, columns: int, rows: int = 50, *, name_width: int = 0) -> Path:
    """``columns`` columns named c0, c1 ... (padded to ``name_width``), every value "1"."""
    names = [f"c{i}".ljust(name_width, "x") for i in range(columns)]
    row = ";".join(["1"] * columns)
    path.write_text(";".join(names) + "\n" + "\n".join([row] * rows) + "\n", encoding="utf-8")
    return path


_HEAD = """
import json, resource, time
start = time.perf_counter()
from ctc_helpers.errors import InputFileError
from ctc_helpers.ingest.load import load_survey
from ctc_helpers.ingest.readers import read_table
messages = []
"""
# Peak memory of this interpreter only: VmHWM belongs to the address space made by exec, whereas
# ru_maxrss survives execve and so reports the (possibly large) pytest worker that started it.
_TAIL = """
def peak_kb():
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "messages": messages,
    "seconds": time.perf_counter() - start,
    "peak_mb": peak_kb() / 1024,
}))
"""


def _in_child(body: str) -> dict:
    """Run ``body`` in a fresh interpreter without CTC_MAX_COLUMNS (it appends to
    ``messages``); returns the messages, seconds (imports included) and peak memory in MB."""
    env = {k: v for k, v in os.environ.items() if k != "CTC_MAX_COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-c", _HEAD + textwrap.dedent(body) + _TAIL],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# The 10,000-column file of issue 15


def test_ten_thousand_column_csv_is_refused_quickly_in_little_memory(tmp_path):
    path = _wide_csv(tmp_path / "bred.csv", 10_000)
    assert path.stat().st_size > 1_000_000  # the 1 MB file of the issue
    body = f"""
        for lang in ("sv", "en"):
            try:
                load_survey({str(path)!r}, lang=lang)
            except InputFileError as error:
                messages.append(str(error))
    """
    figures = _in_child(body)
    print(f"10,000 columns refused in {figures['seconds']:.2f} s, peak {figures['peak_mb']:.0f} MB")
    assert figures["peak_mb"] < 1024
    swedish, english = figures["messages"]
    assert swedish.startswith("Filen bred.csv har 10000 kolumner, fler än gränsen på 2000")
    assert english.startswith("The file bred.csv has 10000 columns, more than the limit of 2000")
    assert "CTC_MAX_COLUMNS" in swedish and "CTC_MAX_COLUMNS" in english


def test_wide_csv_memory_grows_linearly_with_columns(tmp_path):
    """4,000 text columns took about 1.2 GB with a cost that grew with the square of the
    columns (pyarrow's to_pandas with ArrowDtype); built column by column it is ~150 MB."""
    path = _wide_csv(tmp_path / "bred.csv", 4_000)
    body = f"""
        frame, info = read_table({str(path)!r}, max_columns=5000)
        messages.append(f"{{frame.shape[0]}}x{{frame.shape[1]}}")
    """
    figures = _in_child(body)
    print(f"4,000 columns read in {figures['seconds']:.2f} s, peak {figures['peak_mb']:.0f} MB")
    assert figures["messages"] == ["50x4000"]
    assert figures["peak_mb"] < 500


# --------------------------------------------------------------------------------------------
# Where the limit comes from


def test_limit_defaults_to_two_thousand(monkeypatch):
    monkeypatch.delenv("CTC_MAX_COLUMNS", raising=False)
    assert column_limit() == DEFAULT_MAX_COLUMNS == 2000
    assert column_limit(7) == 7


def test_limit_from_keyword_and_environment(tmp_path, monkeypatch):
    path = _wide_csv(tmp_path / "enkät.csv", 30, rows=3)
    monkeypatch.delenv("CTC_MAX_COLUMNS", raising=False)
    assert read_table(path)[0].shape == (3, 30)
    with pytest.raises(InputFileError) as caught:
        read_table(path, max_columns=20, lang="en")
    assert str(caught.value).startswith(
        "The file enkät.csv has 30 columns, more than the limit of 20"
    )
    monkeypatch.setenv("CTC_MAX_COLUMNS", "20")
    with pytest.raises(InputFileError, match="Filen enkät.csv har 30 kolumner"):
        read_table(path)
    assert read_table(path, max_columns=30)[0].shape == (3, 30)  # the keyword wins


@pytest.mark.parametrize("value", ["abc", "0", "-5", "2.5"])
def test_bad_limit_in_environment_names_the_variable_and_value(tmp_path, monkeypatch, value):
    path = _wide_csv(tmp_path / "enkät.csv", 3, rows=2)
    monkeypatch.setenv("CTC_MAX_COLUMNS", value)
    with pytest.raises(ConfigError) as caught:
        read_table(path)
    assert "(CTC_MAX_COLUMNS)" in str(caught.value) and f"'{value}'" in str(caught.value)
    assert str(caught.value).startswith("Gränsen för antalet kolumner")


def test_bad_limit_keyword_is_refused_in_english():
    with pytest.raises(ConfigError, match=r"\(max_columns\) must be a whole number.*'0'"):
        column_limit(0, lang="en")


def test_load_survey_passes_the_limit_on(tmp_path):
    path = _wide_csv(tmp_path / "enkät.csv", 30, rows=3)
    with pytest.raises(InputFileError, match="has 30 columns, more than the limit of 10"):
        load_survey(path, max_columns=10, lang="en")


# --------------------------------------------------------------------------------------------
# The header is counted before the data is parsed


def test_csv_header_is_counted_before_the_rows_are_read(tmp_path):
    """Rows of three values under a 30-name header would be refused as ragged; the limit is
    checked first, on the header alone."""
    path = tmp_path / "enkät.csv"
    header = ";".join(f"q{i}" for i in range(30))
    path.write_text(header + "\n" + "a;b;c\n" * 20, encoding="utf-8")
    with pytest.raises(InputFileError, match="does not look like a table"):
        read_table(path, lang="en")
    with pytest.raises(InputFileError, match="has 30 columns, more than the limit of 29"):
        read_table(path, max_columns=29, lang="en")


def test_header_longer_than_the_sniffed_sample_is_read_whole(tmp_path):
    """A 3,000-column header of 30-character names (about 90 KB) used to be cut at 64 KB, so
    every row looked ragged."""
    path = _wide_csv(tmp_path / "bred.csv", 3_000, rows=4, name_width=30)
    frame, info = read_table(path, max_columns=3_000, lang="en")
    assert frame.shape == (4, 3_000)
    assert frame.columns[-1] == "c2999".ljust(30, "x")
    assert info["malformed_rows"] == []
    with pytest.raises(InputFileError, match="has 3000 columns, more than the limit of 2000"):
        read_table(path, lang="en")


def test_parquet_excel_and_spss_have_the_limit_too(tmp_path):
    frame = pd.DataFrame({f"q{i}": [1.0, 2.0] for i in range(30)}, index=[5, 6])
    parquet = tmp_path / "enkät.parquet"
    frame.to_parquet(parquet)  # the index is stored as a 31st column, which does not count
    assert len(pq.read_schema(parquet).names) == 31
    assert read_table(parquet, max_columns=30)[0].shape == (2, 30)
    excel = tmp_path / "enkät.xlsx"
    book = openpyxl.Workbook()
    for row in [list(frame.columns), *frame.values.tolist()]:
        book.active.append(row)
    book.save(excel)
    spss = tmp_path / "enkät.sav"
    pyreadstat.write_sav(frame.reset_index(drop=True), str(spss))
    for path in (parquet, excel, spss):
        with pytest.raises(InputFileError) as caught:
            read_table(path, max_columns=29, lang="en")
        assert f"The file {path.name} has 30 columns, more than the limit of 29" in str(
            caught.value
        )


# --------------------------------------------------------------------------------------------
# Arrow tables to frames


def test_frame_from_arrow_equals_pyarrow_conversion():
    table = pa.table(
        {
            "text": pa.array(["a", None, "c"]),
            "codes": pa.array([1, 2, None], type=pa.int8()),
            "area": pa.array(["n", "s", "n"]).dictionary_encode(),
            "when": pa.array(np.array(["2025-01-01", "2025-02-01", "NaT"], dtype="M8[s]")),
        }
    )
    expected = table.to_pandas(
        types_mapper=lambda t: None if pa.types.is_dictionary(t) else pd.ArrowDtype(t)
    )
    pd.testing.assert_frame_equal(frame_from_arrow(table), expected)
    assert isinstance(frame_from_arrow(table)["area"].dtype, pd.CategoricalDtype)
