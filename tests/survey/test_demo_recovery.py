"""The engine finds what was planted in the synthetic demo city (data/sample/planted_truth.yaml).

Area effects: the planted area's share differs clearly from the rest of the city in the planted
direction, in every wave. Null pairs: areas and factors with nothing planted are rarely flagged
(about the 5 % a test at alpha 0.05 allows before Holm; Holm makes it rarer still).
"""

from __future__ import annotations

import pytest
import yaml

from ctc_helpers.paths import SAMPLE_DIR
from ctc_helpers.survey.compare import compare_to_city

TRUTH = yaml.safe_load((SAMPLE_DIR / "planted_truth.yaml").read_text(encoding="utf-8"))
LEVELS = [e for e in TRUTH["planted_effects"] if e["kind"] == "level"]
DIRECTION = {"higher": "increase", "lower": "decrease"}
LATEST = max(TRUTH["waves"])

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("effect", LEVELS, ids=lambda e: f"{e['area']}-{e['measure']}")
def test_planted_area_effects_are_found(demo_aggregates, effect):
    for wave in effect["waves"]:
        table = compare_to_city(demo_aggregates, area=effect["area"], wave=wave)
        row = table.set_index("measure").loc[effect["measure"]]
        assert row["change"] == DIRECTION[effect["direction"]], (wave, row.to_dict())
        # "with protection" falls where protection was planted lower: the sign agrees
        assert (row["diff"] > 0) == (effect["direction"] == "higher")


def test_planted_levels_cover_elevated_risk_and_depressed_protection():
    kinds = {(e["measure_kind"], e["direction"]) for e in LEVELS}
    assert {("risk", "higher"), ("protective", "lower")} <= kinds


def test_areas_without_planted_effects_are_rarely_flagged(demo_aggregates):
    pairs = TRUTH["no_planted_effect"]
    flagged = 0
    by_area: dict[str, list[str]] = {}
    for pair in pairs:
        by_area.setdefault(pair["area"], []).append(pair["factor"])
    for area, measures in by_area.items():
        table = compare_to_city(demo_aggregates, area=area, wave=LATEST).set_index("measure")
        flagged += int(table.loc[measures, "change"].isin(["increase", "decrease"]).sum())
    assert len(pairs) > 100
    assert flagged / len(pairs) <= 0.05, f"{flagged} of {len(pairs)} null pairs flagged"
