"""The mapping file applied to the example's SPSS export, checked against pyreadstat directly."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyreadstat
import pytest

from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.config.mapping import load_mapping
from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.ingest.mapping import map_export
from ctc_helpers.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "data" / "examples" / "behaviours_only"


@pytest.fixture(scope="module")
def instrument():
    return load_instrument(EXAMPLE / "instrument.yaml")


@pytest.fixture(scope="module")
def raw():
    frame, meta = pyreadstat.read_sav(str(EXAMPLE / "export.sav"))
    return frame, meta


def _expected(column: pd.Series, *, offset=0, missing=(), reverse_top=0) -> list:
    """By hand: missing codes -> None, then + offset, then reversed on 1..top."""
    out = []
    for v in column:
        if pd.isna(v) or int(v) in missing:
            out.append(None)
            continue
        code = int(v) + offset
        out.append(reverse_top + 1 - code if reverse_top else code)
    return out


def test_every_row_kept_and_codes_translated(instrument, raw):
    frame, _ = raw
    before = hashlib.sha256((EXAMPLE / "export.sav").read_bytes()).hexdigest()
    mapped = map_export(EXAMPLE / "export.sav", EXAMPLE / "mapping.yaml", instrument, lang="en")
    assert hashlib.sha256((EXAMPLE / "export.sav").read_bytes()).hexdigest() == before
    assert len(mapped.data) == len(frame) == 600
    assert mapped.clean, mapped.problems
    got = [None if pd.isna(v) else int(v) for v in mapped.data["alk_30"]]
    assert got == _expected(frame["F12"], offset=1, missing=(8, 9))
    got = [None if pd.isna(v) else int(v) for v in mapped.data["trivs"]]
    assert got == _expected(frame["F5"], missing=(8,), reverse_top=4)
    grades = {7.0: "ak7", 9.0: "ak9", 11.0: "gy2"}
    assert mapped.data["grade"].tolist() == [grades[g] for g in frame["arskurs"]]


def test_code_table_carries_spss_labels(instrument, raw):
    frame, _ = raw
    mapped = map_export(EXAMPLE / "export.sav", EXAMPLE / "mapping.yaml", instrument, lang="en")
    f12 = mapped.codes.loc[mapped.codes["source"].eq("F12")].set_index("code")
    assert f12.loc["8", "label"] == "Vet ej"
    assert f12.loc["8", "mapped_to"] == "<missing>"
    assert f12.loc["0", "mapped_to"] == "1"
    assert f12.loc["0", "n"] == int((frame["F12"] == 0).sum())


def test_uncovered_code_is_reported_with_its_label_and_kept(tmp_path, instrument):
    text = (EXAMPLE / "mapping.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "mapping.yaml"
    broken.write_text(text.replace("{0: 1, 1: 2}, missing: [8, 9]", "{0: 1, 1: 2}"), "utf-8")
    mapped = map_export(EXAMPLE / "export.sav", broken, instrument, lang="en")
    assert len(mapped.data) == 600
    joined = "\n".join(mapped.problems)
    assert "column F20 (cannabis): the code 8 (label: Vet ej;" in joined
    assert "code 9 (label: Vill inte svara;" in joined
    assert (mapped.data["cannabis"] == 8).any()  # passed on unchanged for ingest to report


def test_mapping_file_errors_name_the_key(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text("items:\n  alk: {from: F1, codes: {0: 1}, offset: 1}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as info:
        load_mapping(path)
    assert "items.alk" in info.value.text("en")
    assert "either codes: or offset:" in info.value.text("en")


def test_zero_based_codes_in_the_instrument_point_to_the_mapping(tmp_path):
    text = (EXAMPLE / "instrument.yaml").read_text(encoding="utf-8")
    path = tmp_path / "instrument.yaml"
    path.write_text(text.replace('{code: 1, score: 0, sv: "nej"}', '{code: 0, score: 0, sv: "nej"}')
                    .replace('{code: 2, score: 1, sv: "ja"}', '{code: 1, score: 1, sv: "ja"}'),
                    encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigFileError) as info:
        load_instrument(path)
    assert "response_sets.yesno.options: the codes start at 0 ([0, 1])" in info.value.text("en")
    assert "mapping file" in info.value.text("en")
