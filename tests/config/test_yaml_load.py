"""Limits of YAML reading (ctc_helpers.config.yaml_load) and the messages of config.files."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.config.yaml_load import (
    MAX_ALIAS_VALUES,
    MAX_YAML_BYTES,
    YamlDuplicateKeyError,
    YamlLimitError,
    check_aliases,
    load_yaml,
)
from ctc_helpers.paths import SCHEMA_DIR

HEADER = "area: norra-hamnen\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [family_conflict]\n"


def alias_bomb(levels: int = 10, width: int = 9) -> str:
    """A priorities file with a 'billion laughs' note: each level lists the previous one
    ``width`` times, so the note expands to ``width**levels`` texts."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return HEADER + "\n".join(lines) + f"\nnote: *l{levels - 1}\n"


def test_the_bomb_is_small_and_would_expand_enormously() -> None:
    text = alias_bomb()
    assert 600 < len(text.encode()) < 800  # about the 700 bytes of the file of issue 15
    assert 9**10 == 3_486_784_401  # texts the note would hold


def test_an_alias_bomb_file_is_refused_fast_and_without_memory(tmp_path: Path) -> None:
    path = tmp_path / "norra-hamnen.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ConfigFileError) as error:
        read_yaml_file(path, what="priorities")
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # By hand: a level's list counts itself and its items, l0 = 10, l1 = 1 + 9 * 10 = 91,
    # l2 = 820, l3 = 7381. Aliases add 9 * 10 (l1) + 9 * 91 (l2) + 9 * 820 (l3) = 8289; the
    # first alias of l4 (line 9, after the 4 header lines) adds 7381 more: 15670 > 10,000.
    assert seconds < 1.0
    assert peak < 2_000_000  # bytes allocated while reading: nothing was expanded
    assert error.value.text("en") == (
        f"norra-hamnen.yaml: the YAML anchors and aliases (&name … *name) would add more than"
        f" {MAX_ALIAS_VALUES} values (reading stopped at line 9). Write the values out instead"
        " of repeating aliases in several levels."
    )
    assert error.value.text("sv").startswith("norra-hamnen.yaml: YAML-ankarna och aliasen")


def test_counting_matches_a_hand_count() -> None:
    # &a is a list of 3 values plus the list itself: 4 values; each *a adds 4, *b adds 1 + 2*4
    text = "a: &a [1, 2, 3]\nb: &b [*a, *a]\nc: *b\nd: *a\n"
    assert check_aliases(text) == 4 + 4 + 9 + 4
    assert load_yaml(text)["c"] == [[1, 2, 3], [1, 2, 3]]
    with pytest.raises(YamlLimitError) as error:
        check_aliases(text, limit=16)
    assert (error.value.kind, error.value.amount, error.value.line) == ("aliases", 17, 3)


def test_moderate_reuse_of_a_block_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "common: &common {priorities_dir: p, inventory_path: i.csv}\n"
        "phase_parameters:\n  a: *common\n  b: *common\nname: 'R&D'\n",
        encoding="utf-8",
    )
    raw, _ = read_yaml_file(path, what="run_file")
    assert raw["phase_parameters"]["b"] == {"priorities_dir": "p", "inventory_path": "i.csv"}
    assert raw["name"] == "R&D"


def test_an_alias_inside_its_own_block_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a\n  b: *a\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        read_yaml_file(path, what="goal_chain")
    assert error.value.text("en") == (
        "loop.yaml, line 2: an alias refers to the block it stands in (*name inside &name);"
        " that cannot be read."
    )


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"a: 1\n" + b"#" * MAX_YAML_BYTES)
    with pytest.raises(ConfigFileError) as error:
        read_yaml_file(path, what="run_file")
    assert error.value.text("en") == (
        "huge.yaml is 5 MB; a file you edit may be at most 5 MB. Check that it is the right file."
    )
    small = tmp_path / "small.yaml"
    small.write_text("a: 1\nb: 2\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        read_yaml_file(small, what="run_file", max_bytes=5)
    assert error.value.text("sv") == (
        "small.yaml är 0 MB; en fil som du redigerar får vara högst 0 MB. Kontrollera att det är"
        " rätt fil."
    )
    with pytest.raises(YamlLimitError) as error:
        load_yaml("a: " + "x" * 20, max_bytes=10)
    assert (error.value.kind, error.value.amount, error.value.limit) == ("size", 23, 10)


def test_syntax_encoding_and_unreadable_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        read_yaml_file(bad, what="glossary")
    assert error.value.text("en").startswith("bad.yaml is not valid YAML (line 2, column 1): ")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("a: Söder\n".encode("latin-1"))
    with pytest.raises(ConfigFileError) as error:
        read_yaml_file(latin, what="glossary")
    assert (
        error.value.text("en") == "latin.yaml is not UTF-8 text (byte 5); save the file as UTF-8."
    )
    with pytest.raises(ConfigFileError) as error:
        read_yaml_file(tmp_path, what="glossary")
    assert (
        error.value.text("en")
        == f"Cannot read the glossary {tmp_path}: it is a folder, not a file."
    )
    assert (
        error.value.text("sv")
        == f"Kan inte läsa ordlistan {tmp_path}: det är en mapp, inte en fil."
    )


def test_a_key_written_twice_is_refused_naming_both_lines(tmp_path: Path) -> None:
    """YAML's own rule (the last one wins) would silently drop the first list of factors."""
    path = tmp_path / "norra-hamnen.yaml"
    path.write_text(HEADER + "note: bra\nrisk_factors: [low_commitment]\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        read_yaml_file(path, what="priorities")
    assert error.value.text("sv").startswith(
        "norra-hamnen.yaml, rad 6: nyckeln 'risk_factors' står två gånger i samma del av filen"
        " (första gången på rad 4)."
    )
    assert "line 6: the key 'risk_factors' stands twice" in error.value.text("en")
    with pytest.raises(YamlDuplicateKeyError) as nested:  # inside a list item, flow style too
        load_yaml("goals:\n  - id: a\n    level: long\n  - {id: b, id: c}\n")
    assert (nested.value.key, nested.value.line, nested.value.first_line) == ("id", 4, 4)
    # a block merged in with "<<" may be overridden key by key; the same key in two
    # different mappings is fine
    merged = load_yaml("base: &b {level: long, id: x}\ngoal:\n  <<: *b\n  id: y\nother: {id: x}\n")
    assert merged["goal"] == {"level": "long", "id": "y"} and merged["other"] == {"id": "x"}


def test_the_shipped_files_are_within_the_limits() -> None:
    for path in sorted(SCHEMA_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert len(text.encode()) < MAX_YAML_BYTES / 10, path.name
        assert check_aliases(text) < MAX_ALIAS_VALUES, path.name
        assert load_yaml(text) == yaml.safe_load(text), path.name  # and no key written twice
