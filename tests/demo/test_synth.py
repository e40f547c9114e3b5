"""The synthetic demo city: byte-identical regeneration, planted truth vs data, sanity, errors.

Expected values are recomputed from the raw committed CSV files with plain pandas, reading the
rules from the instrument; nothing here calls the generator's own summaries.
"""

from __future__ import annotations

import hashlib
import types

import numpy as np
import pandas as pd
import pytest
import yaml

from ctc_helpers.config.instrument import load_areas
from ctc_helpers.demo import synth
from ctc_helpers.errors import ConfigError
from ctc_helpers.paths import SAMPLE_DIR

MODEL = yaml.safe_load((SAMPLE_DIR / "synth_model.yaml").read_text(encoding="utf-8"))
PREFIX = MODEL["city"]["file_prefix"]
WAVES = MODEL["waves"]
HEAD = ["respondent_id", "wave", "area", "school", "grade", "sex"]
PROCESS = yaml.safe_load((SAMPLE_DIR / "process_model.yaml").read_text(encoding="utf-8"))
PROCESS_FILES = [  # process/<area>/: a checklist per year, then the plan (ctc_helpers.demo.process)
    name
    for area in PROCESS["areas"]
    for name in [
        *[f"process/{area['area']}/checklist_{y}.yaml" for y in PROCESS["years"]],
        *[f"process/{p['area']}/implementation_plan.yaml" for p in PROCESS["plans"]
          if p["area"] == area["area"]],
    ]
]  # fmt: skip


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_wave(wave: int) -> pd.DataFrame:
    return pd.read_csv(
        SAMPLE_DIR / f"{PREFIX}_{wave}.csv",
        dtype={"respondent_id": str, "area": str, "school": str, "grade": str, "sex": str},
        keep_default_na=False,
        na_values=[""],
    )


@pytest.fixture(scope="module")
def waves() -> dict[int, pd.DataFrame]:
    return {wave: _read_wave(wave) for wave in WAVES}


@pytest.fixture(scope="module")
def truth() -> dict:
    return yaml.safe_load((SAMPLE_DIR / "planted_truth.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    return synth.write_city(out)


# --------------------------------------------------------------------------------------------
# Plain-pandas versions of the instrument's rules (independent of ctc_helpers.demo.synth)


def _flag(rule: dict, items: pd.DataFrame, instrument) -> pd.Series:
    kind = rule["kind"]
    if kind == "any_at_least":
        return (items[rule["items"]] >= rule["min_code"]).any(axis=1)
    if kind == "count_at_least":
        return (items[rule["items"]] >= rule["min_code"]).sum(axis=1) >= rule["min_count"]
    if kind == "code_in":
        return items[rule["item"]].isin(rule["codes"])
    if kind == "pair_greater":
        return pd.concat([items[a] > items[b] for a, b in rule["pairs"]], axis=1).any(axis=1)
    if kind == "sum_at_least":
        scores = pd.DataFrame(
            {
                i: items[i].map(dict(enumerate(instrument.items[i].response_set.scores, 1)))
                for i in rule["items"]
            }
        )
        return (scores.notna().sum(axis=1) >= rule["min_items"]) & (
            scores.sum(axis=1) >= rule["threshold"]
        )
    if kind == "min_answered_share":
        answered = items[list(instrument.factor_item_ids)].notna().mean(axis=1)
        return answered < rule["share"]
    raise AssertionError(f"rule kind {kind} not covered by the test")


def _invalid(frame: pd.DataFrame, instrument) -> pd.Series:
    flags = [_flag(r.rule, frame, instrument) for r in instrument.validity if r.exclude]
    return pd.concat(flags, axis=1).any(axis=1)


def _item_scores(frame: pd.DataFrame, factor, instrument) -> pd.DataFrame:
    """Scored item values of a factor, reversed items turned (high = more of the factor)."""
    columns = {}
    for item, reverse in factor.items:
        rs = instrument.items[item].response_set
        scores = dict(zip(rs.codes, rs.scores, strict=True))
        lo, hi = rs.min_score, rs.max_score
        values = frame[item].map(scores).astype(float)
        columns[item] = (lo + hi - values) if reverse else values
    return pd.DataFrame(columns)


def _standardised_difference(frame: pd.DataFrame, area: str, factor, instrument) -> float:
    """(mean score in the area - mean elsewhere) / SD of the score, valid rows only."""
    score = _item_scores(frame, factor, instrument).mean(axis=1)
    inside = frame["area"] == area
    return (score[inside].mean() - score[~inside].mean()) / score.std()


# --------------------------------------------------------------------------------------------
# (1) Regeneration is byte for byte identical to the committed files


def test_regenerating_gives_the_committed_files_byte_for_byte(regenerated):
    out = regenerated[0].parent
    names = [p.relative_to(out).as_posix() for p in regenerated]
    assert names == [
        "areas.csv",
        *[f"{PREFIX}_{w}.csv" for w in WAVES],
        "enrolment.csv",
        "planted_truth.yaml",
        "README.md",
        *PROCESS_FILES,
    ]
    for name in names:
        assert _sha256(out / name) == _sha256(SAMPLE_DIR / name), name


def test_other_seed_gives_other_data_and_same_seed_same_data(default_instrument):
    a = synth.generate_city(instrument=default_instrument, respondents_per_wave=400, seed=11)
    b = synth.generate_city(instrument=default_instrument, respondents_per_wave=400, seed=11)
    c = synth.generate_city(instrument=default_instrument, respondents_per_wave=400, seed=12)
    key = f"{PREFIX}_{WAVES[0]}"
    pd.testing.assert_frame_equal(a[key], b[key])
    assert not a[key].equals(c[key])
    assert set(a) == {*[f"{PREFIX}_{w}" for w in WAVES], "areas", "enrolment", "planted_truth"}


# --------------------------------------------------------------------------------------------
# (2) The planted truth matches the data


def test_truth_counts_respondents_per_wave_and_area(waves, truth):
    for wave, frame in waves.items():
        assert truth["respondents"][wave] == len(frame)
        counts = frame["area"].value_counts()
        for area in truth["areas"]:
            assert area["respondents"][wave] == counts.get(area["area"], 0), area["area"]


def test_truth_invalid_counts_match_the_rules_recomputed(waves, truth, default_instrument):
    for wave, frame in waves.items():
        realised = truth["invalid"]["realised"][wave]
        for rule in default_instrument.validity:
            assert realised[rule.id] == int(_flag(rule.rule, frame, default_instrument).sum())
        excluded = _invalid(frame, default_instrument)
        assert realised["any_excluding_rule"] == int(excluded.sum())
        for rule_id, injected in truth["invalid"]["injected"][wave].items():
            # every injected questionnaire is caught by its rule; chance cases were capped
            assert realised[rule_id] == injected, (wave, rule_id)
            share = MODEL["invalid"][rule_id]
            assert injected == round(share * len(frame))


def test_planted_level_effects_show_in_the_latest_wave(waves, truth, default_instrument):
    latest = waves[max(WAVES)]
    valid = latest[~_invalid(latest, default_instrument)]
    levels = [e for e in truth["planted_effects"] if e["kind"] == "level"]
    assert len(levels) >= 6
    for effect in levels:
        factor = default_instrument.factor(effect["measure"])
        d = _standardised_difference(valid, effect["area"], factor, default_instrument)
        # size 0.5-0.6 SD on the latent; item means must move clearly in the planted direction
        expected_sign = 1 if effect["direction"] == "higher" else -1
        assert expected_sign * d > 0.25, (effect["area"], effect["measure"], d)
        assert np.sign(effect["size"]) == expected_sign


def test_planted_trends_show_between_first_and_last_wave(waves, truth, default_instrument):
    first, last = (waves[w][~_invalid(waves[w], default_instrument)] for w in (WAVES[0], WAVES[-1]))
    trends = [e for e in truth["planted_effects"] if e["kind"] == "trend"]
    assert {e["measure_kind"] for e in trends} >= {"behaviour", "risk", "protective"}
    assert any(e["also_moves"] for e in trends)
    behaviours = {b.id: b for b in default_instrument.behaviours}
    for effect in trends:
        sign = 1 if effect["direction"] == "higher" else -1

        def level(frame, effect=effect):
            inside = frame if effect["area"] == "all" else frame[frame["area"] == effect["area"]]
            if effect["measure"] in behaviours:
                return _flag(behaviours[effect["measure"]].rule, inside, default_instrument).mean()
            factor = default_instrument.factor(effect["measure"])
            return _item_scores(inside, factor, default_instrument).mean(axis=1).mean()

        change = level(last) - level(first)
        assert sign * change > 0.03, (effect["measure"], effect["area"], change)
        for follower in effect["also_moves"]:  # e.g. 30-day use moves with lifetime use
            change = level(last, {**effect, "measure": follower}) - level(
                first, {**effect, "measure": follower}
            )
            assert sign * change > 0.01, (follower, change)


def test_no_effect_pairs_are_close_to_the_rest_of_the_city(waves, truth, default_instrument):
    latest = waves[max(WAVES)]
    valid = latest[~_invalid(latest, default_instrument)]
    planted = {(e["area"], e["measure"]) for e in truth["planted_effects"]}
    planted_factors = {e["measure"] for e in truth["planted_effects"]}
    shifted = {e["area"] for e in truth["area_effects"]}
    pairs = truth["no_planted_effect"]
    assert len(pairs) > 100
    sizes = valid["area"].value_counts()
    differences = []
    for pair in pairs:
        assert (pair["area"], pair["factor"]) not in planted
        assert pair["factor"] not in planted_factors and pair["area"] not in shifted
        if sizes[pair["area"]] >= 500:  # small areas are too noisy for a fixed bound
            factor = default_instrument.factor(pair["factor"])
            differences.append(
                _standardised_difference(valid, pair["area"], factor, default_instrument)
            )
    # planted effects give > 0.25 SD; chance differences of areas with >= 1,000 pupils stay small
    assert max(abs(d) for d in differences) < 0.15


def _factor_flags(frame: pd.DataFrame, factor, instrument, cut: float | None) -> pd.Series:
    """At risk / with protection: mean item score above the cut point (NaN below min_items)."""
    scores = _item_scores(frame, factor, instrument)
    score = scores.mean(axis=1).where(scores.notna().sum(axis=1) >= factor.min_items)
    return (score > cut).astype(float).where(score.notna())


@pytest.fixture(scope="module")
def with_and_without_ctc(tmp_path_factory, default_instrument):
    """A small city generated twice with the same seed: with the CTC effects and without."""
    model = yaml.safe_load((SAMPLE_DIR / "synth_model.yaml").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("no_ctc") / "no_ctc.yaml"
    text = yaml.safe_dump({**model, "ctc_effects": []}, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")  # same key order: sex_shares' order fixes the draws
    common = {"instrument": default_instrument, "respondents_per_wave": 3000}
    return synth.generate_city(**common), synth.generate_city(path, **common)


def test_ctc_effects_change_only_the_ctc_areas_after_their_start(with_and_without_ctc):
    city, plain = with_and_without_ctc
    starts = {a["id"]: a["ctc_start"] for a in MODEL["areas"] if a.get("ctc_start")}
    assert set(starts) == set(city["planted_truth"]["ctc"]["starts"])
    for wave in WAVES:
        a, b = city[f"{PREFIX}_{wave}"], plain[f"{PREFIX}_{wave}"]
        after = a["area"].map(lambda x, w=wave: x in starts and w > starts[x])
        pd.testing.assert_frame_equal(a.loc[~after], b.loc[~after])
        changed = (a.loc[after] != b.loc[after]) & a.loc[after].notna()
        columns = set(changed.columns[changed.any()])
        assert (columns != set()) == bool(after.any()), wave
        # the items of the measures with a CTC effect (and of the 30-day and binge items that
        # follow lifetime drinking), nothing else
        assert columns <= {
            "alc_life",
            "alc_30d",
            "alc_binge",
            "sc_grades",
            "sc_grades_rel",
            "fa_reward_1",
            "fa_reward_2",
            "fa_reward_3",
            "fa_reward_4",
        }, columns


def test_realised_ctc_effects_match_a_city_generated_without_them(
    with_and_without_ctc, default_instrument
):
    """The truth's realised effect (share flagged with minus without) recomputed from a second
    city generated without ctc_effects, with plain pandas rules and first-wave cut points."""
    city, plain = with_and_without_ctc
    truth = city["planted_truth"]["ctc"]
    starts = truth["starts"]
    first = city[f"{PREFIX}_{WAVES[0]}"]
    first = first[~_invalid(first, default_instrument)]
    behaviours = {b.id: b for b in default_instrument.behaviours}
    moved = set(truth["realised"])
    assert {e["measure"] for e in truth["effects"]} <= moved
    for measure in [*default_instrument.factor_ids, *behaviours]:
        diffs, counts = 0.0, 0
        for wave in WAVES[1:]:
            a, b = city[f"{PREFIX}_{wave}"], plain[f"{PREFIX}_{wave}"]
            rows = a["area"].map(lambda x, w=wave: x in starts and w > starts[x])
            rows &= ~_invalid(a, default_instrument)
            if measure in behaviours:
                rule = behaviours[measure].rule
                fa = _flag(rule, a, default_instrument).astype(float)[rows]
                fb = _flag(rule, b, default_instrument).astype(float)[rows]
            else:
                factor = default_instrument.factor(measure)
                reference = _item_scores(first, factor, default_instrument)
                score = reference.mean(axis=1).where(
                    reference.notna().sum(axis=1) >= factor.min_items
                )
                cut = score.quantile(factor.cutpoint["flag"] / 100)
                fa = _factor_flags(a, factor, default_instrument, cut)[rows]
                fb = _factor_flags(b, factor, default_instrument, cut)[rows]
            known = fa.notna()
            diffs += float((fa - fb)[known].sum())
            counts += int(known.sum())
        realised = diffs / counts
        if measure in moved:
            assert truth["realised"][measure]["all"] == pytest.approx(realised, abs=1e-4), measure
        else:
            assert realised == 0, measure
    # the effects were planted in the direction of less risk and more protection
    assert truth["realised"]["alcohol_lifetime"]["all"] < -0.02
    assert truth["realised"]["academic_failure"]["all"] < -0.03
    assert truth["realised"]["family_rewards_prosocial"]["all"] > 0.03
    assert set(truth["null_outcomes"]).isdisjoint(moved)
    assert "antisocial_peers" not in truth["null_outcomes"]  # a trend in one comparison area


# --------------------------------------------------------------------------------------------
# (3) Sanity of the generated files


def test_columns_codes_and_ids_follow_the_schemas(waves, default_instrument, respondent_schema):
    areas = load_areas(SAMPLE_DIR / "areas.csv")
    assert len(areas) >= 8
    ids = pd.concat([f["respondent_id"] for f in waves.values()])
    assert ids.is_unique
    for wave, frame in waves.items():
        assert list(frame.columns) == HEAD + list(default_instrument.item_ids)
        assert (frame["wave"] == wave).all()
        assert set(frame["area"]) == set(areas["area_id"])
        assert set(frame["grade"]) == set(respondent_schema.grade_codes)
        assert set(frame["sex"].dropna()) == set(respondent_schema.sex_codes)
        assert 0 < frame["sex"].isna().mean() < 0.03
        for item in default_instrument.item_ids:
            codes = set(default_instrument.items[item].response_set.codes)
            assert set(frame[item].dropna().astype(int)) <= codes, item


def test_share_invalid_and_missing_answers_are_plausible(waves, default_instrument):
    items = list(default_instrument.item_ids)
    for frame in waves.values():
        assert 0.03 <= _invalid(frame, default_instrument).mean() <= 0.05
        missing = frame[items].isna()
        assert 0.02 < missing.to_numpy().mean() < 0.08
        # non-response rises towards the end of the questionnaire
        assert missing[items[-20:]].to_numpy().mean() > 2 * missing[items[:20]].to_numpy().mean()


def test_small_areas_have_grade_sex_cells_below_ten(waves, truth):
    sizes = {a["area"]: a["respondents"][max(WAVES)] for a in truth["areas"]}
    small = sorted(sizes, key=sizes.get)[:2]
    assert sizes[small[0]] < 100 and sizes[small[1]] < 200
    assert len(set(sizes.values())) == len(sizes)  # different sizes
    for frame in waves.values():
        cells = (
            frame[frame["area"].isin(small) & frame["sex"].isin(["F", "M"])]
            .groupby(["area", "grade", "sex"])
            .size()
            .unstack(fill_value=0)
        )
        for area in small:
            assert (cells.loc[area] < 10).to_numpy().any(), area
        assert (cells.loc[small[0]] < 10).to_numpy().mean() >= 0.75


def test_valid_questionnaires_never_report_more_30_day_than_lifetime_use(waves, default_instrument):
    pairs = [
        pair
        for rule in default_instrument.validity
        if rule.rule["kind"] == "pair_greater"
        for pair in rule.rule["pairs"]
    ]
    assert pairs
    for frame in waves.values():
        valid = frame[~_invalid(frame, default_instrument)]
        for month, life in pairs:
            assert not (valid[month] > valid[life]).any(), (month, life)


def test_use_rises_with_grade_and_depends_on_sex(waves, default_instrument, respondent_schema):
    frame = waves[WAVES[0]]
    valid = frame[~_invalid(frame, default_instrument)]
    behaviours = {b.id: b for b in default_instrument.behaviours}
    grades = list(respondent_schema.grade_codes)
    lifetime = _flag(behaviours["alcohol_lifetime"].rule, valid, default_instrument)
    by_grade = lifetime.groupby(valid["grade"]).mean().reindex(grades)
    assert by_grade.is_monotonic_increasing
    assert by_grade[grades[1]] < 0.3 and by_grade[grades[-1]] > 0.6
    month = _flag(behaviours["alcohol_30d"].rule, valid, default_instrument)
    assert month.mean() < lifetime.mean()
    violence = _flag(behaviours["violence_any"].rule, valid, default_instrument)
    by_sex = violence.groupby(valid["sex"]).mean()
    assert by_sex["M"] > 1.5 * by_sex["F"]


def test_risk_and_protection_are_negatively_related(waves, default_instrument):
    frame = waves[WAVES[0]]
    risk = default_instrument.factor("family_conflict")
    protection = default_instrument.factor("family_attachment")
    r = _item_scores(frame, risk, default_instrument).mean(axis=1)
    p = _item_scores(frame, protection, default_instrument).mean(axis=1)
    assert r.corr(p) < -0.1


def test_reverse_scored_items_run_the_other_way(waves, default_instrument):
    frame = waves[WAVES[0]]
    factor = next(f for f in default_instrument.factors if len({rev for _, rev in f.items}) == 2)
    normal = next(i for i, rev in factor.items if not rev)
    reverse = next(i for i, rev in factor.items if rev)
    assert frame[normal].corr(frame[reverse]) < -0.1


def test_enrolment_and_participation(waves):
    enrolment = pd.read_csv(SAMPLE_DIR / "enrolment.csv")
    assert list(enrolment.columns) == ["wave", "area", "school", "grade", "enrolled"]
    for wave, frame in waves.items():
        answered = frame.groupby(["area", "school", "grade"]).size().rename("n").reset_index()
        merged = enrolment[enrolment["wave"] == wave].merge(answered, how="left").fillna(0)
        assert (merged["n"] <= merged["enrolled"]).all()
        assert 0.75 <= merged["n"].sum() / merged["enrolled"].sum() <= 0.85
        assert frame.groupby("area")["school"].nunique().between(1, 3).all()


def test_readme_and_truth_are_labelled_synthetic(truth):
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "SYNTETISKA" in readme
    assert truth["synthetic"] is True
    assert "$" not in readme.replace("$$", "")  # every template field was filled


# --------------------------------------------------------------------------------------------
# Any instrument: the generator reads items, factors and rules from the instrument


def _mini_model(tmp_path, change=None):
    """The demo model cut down to the ids of tests/data/mini_instrument.yaml."""
    model = yaml.safe_load((SAMPLE_DIR / "synth_model.yaml").read_text(encoding="utf-8"))
    model["factors"] = {"perceived_availability_drugs": {"grade_slope": 0.2}}
    model["behaviours"] = {
        "alcohol_lifetime": {"prevalence": {"ak6": 0.1, "gy2": 0.7}},
        "any_drug_30d": {"prevalence": {"ak6": 0.03, "gy2": 0.4}},
    }
    model["planted"] = [{"area": "solvik", "measure": "family_conflict", "shift": 0.8}]
    model["trends"] = [{"area": "all", "measure": "alcohol_lifetime", "change_per_wave": -0.3}]
    model["invalid"] = {"fictitious_drug": 0.01, "dishonest": 0.01, "inconsistent": 0.01}
    model["ctc_effects"] = [{"measure": "alcohol_lifetime", "shift": -0.4}]
    if change is not None:
        change(model)
    path = tmp_path / "mini_model.yaml"
    path.write_text(yaml.safe_dump(model, allow_unicode=True), encoding="utf-8")
    return path


def test_generates_any_instrument(tmp_path, mini_instrument):
    city = synth.generate_city(
        _mini_model(tmp_path), instrument=mini_instrument, respondents_per_wave=3000
    )
    frame = city[f"{PREFIX}_{WAVES[-1]}"]
    assert list(frame.columns) == HEAD + list(mini_instrument.item_ids)
    items = frame[list(mini_instrument.item_ids)].astype("float64")
    # the reverse-scored item of family conflict runs against the others
    assert items["fa_conf_1"].corr(items["fa_conf_3"]) < -0.1
    # "vet inte" (unscored option 5) is used, a little
    assert 0 < (items["cn_avail_1"] == 5).mean() < 0.1
    truth = city["planted_truth"]
    assert truth["invalid"]["injected"][WAVES[-1]] == {
        "fictitious_drug": round(0.01 * len(frame)),
        "dishonest": round(0.01 * len(frame)),
        "inconsistent": round(0.01 * len(frame)),
    }
    fictitious = (items["fict_life"] >= 2).sum()
    assert fictitious == truth["invalid"]["realised"][WAVES[-1]]["fictitious_drug"]
    factor = mini_instrument.factor("family_conflict")
    assert _standardised_difference(frame, "solvik", factor, mini_instrument) > 0.3
    no_effect = {(p["area"], p["factor"]) for p in truth["no_planted_effect"]}
    assert ("centrum", "family_attachment") in no_effect
    assert not any(f == "family_conflict" for _, f in no_effect)


# --------------------------------------------------------------------------------------------
# Error paths


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m["factors"].update(no_such_factor={}), ["no_such_factor", "factor"]),
        (lambda m: m["behaviours"].update(no_such_use={}), ["no_such_use", "behaviour"]),
        (lambda m: m["invalid"].update(no_such_rule=0.01), ["no_such_rule", "validity rule"]),
        (
            lambda m: m["planted"].append(
                {"area": "atlantis", "measure": "family_conflict", "shift": 1}
            ),
            ["atlantis", "unknown area"],
        ),
        (
            lambda m: m["planted"].append({"area": "solvik", "measure": "family_conflict"}),
            ["family_conflict", "shift"],
        ),
        (
            lambda m: m["trends"].append(
                {"area": "all", "measure": "nothing", "change_per_wave": 0.1}
            ),
            ["nothing", "measure"],
        ),
        (
            lambda m: m["behaviours"]["alcohol_lifetime"].update(prevalence={"ak13": 0.5}),
            ["ak13", "grade"],
        ),
        (
            lambda m: m["behaviours"]["alcohol_lifetime"].update(prevalence={"ak6": 1.5}),
            ["1.5", "between 0 and 1"],
        ),
        (lambda m: m["participation"].update(low=0.9, high=0.5), ["participation", "low=0.9"]),
        (lambda m: m["sex_shares"].update(X=0.1), ["X", "sex_shares"]),
        (lambda m: m["areas"][0].update(id="Centrum Öst"), ["Centrum Öst", "a-z"]),
        (lambda m: m["areas"][1].update(id="centrum"), ["centrum", "twice"]),
        (
            lambda m: m["areas"][0].update(schools=[{"name": "Bara låg", "years": [6, 9]}]),
            ["centrum", "[6, 7, 8, 9]", "needs a school"],
        ),
        (
            lambda m: m["trends"].append(
                {"area": "all", "measure": "any_drug_30d", "change_per_wave": 0.1}
            ),
            ["any_drug_30d", "follows"],
        ),
        (
            lambda m: m["behaviours"].update(any_drug_30d={"follows": "snowboarding"}),
            ["snowboarding", "follows"],
        ),
        (lambda m: m["areas"][1].update(ctc_start="2022"), ["norra-hamnen", "ctc_start", "year"]),
        (lambda m: m["areas"][1].update(comparison_group="Stad X"), ["Stad X", "a-z"]),
        (
            lambda m: m["ctc_effects"].append({"measure": "nothing", "shift": 0.1}),
            ["ctc_effects", "nothing"],
        ),
        (lambda m: m["ctc_effects"].append({"measure": "alcohol_lifetime"}), ["shift"]),
        (
            lambda m: m["ctc_effects"].append({"measure": "any_drug_30d", "shift": 0.1}),
            ["any_drug_30d", "follows"],
        ),
    ],
)
def test_model_errors_name_the_offending_entry(tmp_path, mini_instrument, change, words):
    path = _mini_model(tmp_path, change)
    with pytest.raises(ConfigError) as error:
        synth.generate_city(path, instrument=mini_instrument, respondents_per_wave=100)
    for word in words:
        assert word in str(error.value)
    assert "mini_model.yaml" in str(error.value)


def test_unreadable_or_incomplete_model_files(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read the model file .*nowhere.yaml"):
        synth.load_model(tmp_path / "nowhere.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.yaml is not a valid YAML file"):
        synth.load_model(broken)
    listed = tmp_path / "listed.yaml"
    listed.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="listed.yaml must contain a mapping"):
        synth.load_model(listed)
    partial = tmp_path / "partial.yaml"
    partial.write_text("seed: 1\nwaves: [2021]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="partial.yaml: the section 'respondents_per_wave'"):
        synth.load_model(partial)


def test_respondents_must_be_positive(default_instrument):
    with pytest.raises(ValueError, match="respondents_per_wave must be a positive number, got 0"):
        synth.generate_city(instrument=default_instrument, respondents_per_wave=0)


# --------------------------------------------------------------------------------------------
# Command line


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("sv", f"Skrev {7 + len(PROCESS_FILES)} filer med den syntetiska demostaden"),
        ("en", f"Wrote {7 + len(PROCESS_FILES)} files of the"),
    ],
)
def test_command_demo_data_writes_and_reports(tmp_path, capsys, lang, expected):
    args = types.SimpleNamespace(
        out=tmp_path / lang, seed=5, respondents=300, lang=lang, instrument=None
    )
    assert synth.command_demo_data(args) == 0
    printed = capsys.readouterr().out
    assert expected in printed and str(tmp_path / lang) in printed
    assert "planted_truth.yaml" in printed
    frame = pd.read_csv(tmp_path / lang / f"{PREFIX}_{WAVES[0]}.csv")
    assert 250 < len(frame) < 350
    truth = yaml.safe_load((tmp_path / lang / "planted_truth.yaml").read_text(encoding="utf-8"))
    assert truth["seed"] == 5 and truth["respondents_per_wave_target"] == 300
