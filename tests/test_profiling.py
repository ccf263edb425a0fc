"""Tests of seglab.profiling: hand-computed tables, effect sizes, names, personas, plots."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from scipy import stats
from scipy.stats.contingency import association

from seglab import profiling as P
from seglab.errors import InputDataError

# --------------------------------------------------------------------------------------
# Hand-computed values on tiny frames
# --------------------------------------------------------------------------------------


@pytest.fixture
def tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": list("abcdef"),
            "segment_id": [1, 1, 2, 2, 2, 0],
            "monetary": [10.0, 30.0, 20.0, 20.0, 50.0, 0.0],
            "frequency": [1, 3, 2, 2, 4, 0],
            "score": [-1.0, 1.0, 0.5, -0.5, 0.0, 0.0],  # mean 0, negative values
            "gender": ["female", "male", "female", "female", "male", None],
        }
    )


def test_sizes_by_hand(tiny):
    sizes = P.segment_profile(tiny).sizes
    assert list(sizes.index) == [0, 1, 2]
    assert sizes["n"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(sizes["customer_share"], [1 / 6, 2 / 6, 3 / 6])
    np.testing.assert_allclose(sizes["revenue"], [0, 40, 90])
    np.testing.assert_allclose(sizes["revenue_share"], [0, 40 / 130, 90 / 130])
    np.testing.assert_allclose(sizes["avg_value"], [0, 20, 30])
    overall = 130 / 6  # all six customers, the prospect included
    np.testing.assert_allclose(sizes["value_index"], [0, 20 / overall * 100, 30 / overall * 100])


def test_numeric_index_is_mean_over_overall_mean(tiny):
    num = P.segment_profile(tiny).numeric.set_index(["segment", "variable"])
    row = num.loc[(2, "frequency")]
    assert row["mean"] == pytest.approx(8 / 3)
    assert row["median"] == 2
    assert row["overall_mean"] == pytest.approx(12 / 6)
    assert row["index"] == pytest.approx((8 / 3) / 2 * 100)
    assert num.loc[(1, "monetary"), "index"] == pytest.approx(20 / (130 / 6) * 100)
    # sd uses ddof=1 over all customers
    sd = np.std([1, 3, 2, 2, 4, 0], ddof=1)
    assert row["std_diff"] == pytest.approx((8 / 3 - 2) / sd)
    # a variable with negative values (mean 0) gets no ratio index
    assert num.xs("score", level="variable")["index"].isna().all()


def test_index_guard_zero_overall_mean():
    t = pd.DataFrame({"segment_id": [1, 2], "monetary": [1.0, 2.0], "zero": [0.0, 0.0]})
    num = P.segment_profile(t).numeric
    assert num.loc[num["variable"] == "zero", "index"].isna().all()


def test_categorical_shares_by_hand(tiny):
    cat = P.segment_profile(tiny).categorical.set_index(["segment", "variable", "level"])
    row = cat.loc[(2, "gender", "female")]
    assert row["n"] == 2
    assert row["share"] == pytest.approx(2 / 3)
    assert row["overall_share"] == pytest.approx(3 / 6)
    assert row["index"] == pytest.approx((2 / 3) / (3 / 6) * 100)
    assert cat.loc[(0, "gender", "(missing)"), "share"] == 1.0
    # ids are not variables by default
    assert "customer_id" not in set(cat.index.get_level_values("variable"))


def test_default_variables_and_value_col_always_numeric(tiny):
    prof = P.segment_profile(tiny, numeric=["frequency"], categorical=[])
    assert prof.numeric_vars == ["monetary", "frequency"]
    assert prof.categorical.empty


def test_errors_name_the_problem(tiny):
    with pytest.raises(InputDataError, match="nope"):
        P.segment_profile(tiny, numeric=["nope"])
    bad = tiny.assign(segment_id=[1, None, 2, 2, 2, 0])
    with pytest.raises(InputDataError, match="1 missing labels out of 6"):
        P.segment_profile(bad)


def test_eta_squared_by_hand():
    # groups A = [1, 3] (mean 2), B = [4, 5, 6] (mean 5), C = [8] (mean 8); grand mean 27/6 = 4.5
    # SS_total   = 3.5^2 + 1.5^2 + 0.5^2 + 0.5^2 + 1.5^2 + 3.5^2 = 12.25+2.25+.25+.25+2.25+12.25 = 29.5
    # SS_between = 2*(2-4.5)^2 + 3*(5-4.5)^2 + 1*(8-4.5)^2      = 12.5 + 0.75 + 12.25          = 25.5
    # SS_within  = (1+1) + (1+0+1) + 0 = 4 = 29.5 - 25.5; F = (25.5/2) / (4/3) = 9.5625
    t = pd.DataFrame({"segment_id": list("AABBBC"), "x": [1.0, 3, 4, 5, 6, 8]})
    out = P.distinguishing_features(t, "segment_id", numeric=["x"], categorical=[])
    row = out.iloc[0]
    assert row["measure"] == "eta_squared"
    assert row["effect_size"] == pytest.approx(25.5 / 29.5)
    assert row["p_value"] == pytest.approx(stats.f.sf(9.5625, 2, 3))
    assert row["strength"] == "large"


def test_cramers_v_by_hand_and_scipy():
    # 2x2 counts [[10, 20], [30, 40]]: V = |ad - bc| / sqrt(r1 r2 c1 c2)
    #   = |400 - 600| / sqrt(30 * 70 * 40 * 60) = 200 / sqrt(5_040_000) = 0.08909
    rows = [("a", "x")] * 10 + [("a", "y")] * 20 + [("b", "x")] * 30 + [("b", "y")] * 40
    t = pd.DataFrame(rows, columns=["seg", "var"])
    out = P.distinguishing_features(t, "seg", numeric=[], categorical=["var"])
    v = out.iloc[0]["effect_size"]
    assert v == pytest.approx(200 / math.sqrt(5_040_000))
    assert v == pytest.approx(association(np.array([[10, 20], [30, 40]]), method="cramer"))
    assert out.iloc[0]["strength"] == "negligible"
    # a 3 x 3 table against scipy (no Yates correction anywhere)
    rng = np.random.default_rng(0)
    t3 = pd.DataFrame({"seg": rng.integers(0, 3, 400), "var": rng.choice(list("pqr"), 400)})
    t3.loc[t3["seg"] == 2, "var"] = "p"
    v3 = P.distinguishing_features(t3, "seg", numeric=[], categorical=["var"]).iloc[0]
    table = pd.crosstab(t3["seg"], t3["var"]).to_numpy()
    assert v3["effect_size"] == pytest.approx(association(table, method="cramer"))
    assert v3["p_value"] == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)


@pytest.mark.parametrize(
    ("value", "measure", "label"),
    [
        (0.009, "eta_squared", "negligible"),
        (0.01, "eta_squared", "small"),
        (0.06, "eta_squared", "medium"),
        (0.14, "eta_squared", "large"),
        (0.29, "cramers_v", "small"),
        (0.3, "cramers_v", "medium"),
        (0.5, "cramers_v", "large"),
        (np.nan, "cramers_v", "n/a"),
    ],
)
def test_effect_strength_cohen(value, measure, label):
    assert P.effect_strength(value, measure) == label


def test_distinguishing_sorted_by_strength_then_size():
    rng = np.random.default_rng(1)
    seg = np.repeat([1, 2, 3], 200)
    t = pd.DataFrame(
        {
            "segment_id": seg,
            "strong": seg * 5.0 + rng.normal(size=600),
            "noise": rng.normal(size=600),
            "cat": np.where(seg == 1, "u", rng.choice(["u", "v"], 600)),
        }
    )
    out = P.distinguishing_features(t, top_n=None)
    assert out["variable"].tolist()[0] == "strong"
    assert out["variable"].tolist()[-1] == "noise"
    assert len(P.distinguishing_features(t, top_n=2)) == 2


def test_highlights_plain_words():
    # 50 + 50 customers: 62% vs 40% female -> 51% overall; frequency 6 vs 14 -> overall 10
    t = pd.DataFrame(
        {
            "segment_id": [1] * 50 + [2] * 50,
            "monetary": [190.0] * 50 + [10.0] * 50,
            "frequency": [6] * 50 + [14] * 50,
            "gender": ["female"] * 31 + ["male"] * 19 + ["female"] * 20 + ["male"] * 30,
        }
    )
    h = P.segment_highlights(P.segment_profile(t), top_n=3)
    texts = h.loc[h["segment"] == 1, "text"].tolist()
    assert "spends 90% more than average" in texts
    assert "buys 40% less often than average" in texts
    assert "62% female vs 51% overall" in texts
    assert h.loc[h["segment"] == 1, "rank"].tolist() == [1, 2, 3]
    # ratio form above 2x
    t2 = pd.DataFrame({"segment_id": [1] + [2] * 9, "monetary": [320.0] + [680 / 9] * 9})
    h2 = P.segment_highlights(P.segment_profile(t2), top_n=1)
    assert h2.loc[h2["segment"] == 1, "text"].item() == "spends 3.2x the average"


# --------------------------------------------------------------------------------------
# Counting on integer codes equals pandas' own crosstab and groupby
# --------------------------------------------------------------------------------------

N_MIXED = 400


def _segments(kind: str) -> pd.Series:
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 4, N_MIXED)
    if kind == "int":
        values = pd.Series(labels)
    elif kind == "str":
        values = pd.Series([f"s{v}" for v in labels], dtype="str")
    elif kind == "object":
        values = pd.Series([f"s{v}" for v in labels], dtype=object)
    elif kind == "categorical":  # unused categories 9 and 7, order not sorted
        values = pd.Series(pd.Categorical(labels, categories=[9, 3, 1, 7, 0, 2]))
    else:  # "missing": float labels, some NaN (distinguishing_features accepts them)
        values = pd.Series(np.where(rng.random(N_MIXED) < 0.1, np.nan, labels))
    return values.rename("segment_id")


def _variables() -> dict[str, pd.Series]:
    rng = np.random.default_rng(12)
    text = rng.choice(np.array(["north", "south", "east", None], dtype=object), N_MIXED)
    flags = rng.random(N_MIXED) < 0.4
    gaps = rng.random(N_MIXED) < 0.15
    return {
        "str": pd.Series(text, dtype="str"),
        "string": pd.Series(text, dtype="string"),
        "object": pd.Series(text, dtype=object),
        "categorical": pd.Series(
            pd.Categorical(text, categories=["west", "south", "north", "east"])
        ),
        "ordered": pd.Series(
            pd.Categorical(text, categories=["south", "north", "east"], ordered=True)
        ),
        "bool": pd.Series(flags),
        "boolean": pd.Series(pd.array(np.where(gaps, None, flags), dtype="boolean")),
        "object_bool": pd.Series(np.where(gaps, None, flags), dtype=object),
        "float": pd.Series(np.where(gaps, np.nan, rng.integers(1, 4, N_MIXED) * 0.5)),
        "all_missing": pd.Series([None] * N_MIXED, dtype="str"),
        "literal_missing": pd.Series(np.where(gaps, "(missing)", text), dtype="str"),
    }


@pytest.mark.parametrize("seg_kind", ["int", "str", "object", "categorical", "missing"])
@pytest.mark.parametrize("var_kind", list(_variables()))
def test_crosstab_on_codes_equals_pandas_crosstab(seg_kind, var_kind):
    seg = _segments(seg_kind)
    x = _variables()[var_kind].rename("v")
    if seg_kind == "missing" and var_kind == "object":  # a level seen only without a segment
        x = x.astype(object).where(seg.notna() | (np.arange(N_MIXED) % 2 == 0), "only_unsegmented")
    reference = pd.crosstab(seg, x.astype(object).where(x.notna(), "(missing)"))
    got = P._crosstab(*P._segment_codes(seg), x)
    pd.testing.assert_frame_equal(got, reference, check_exact=True)


def test_crosstab_on_codes_without_any_segment():
    seg = pd.Series([np.nan] * 4, name="segment_id")
    x = pd.Series(list("abab"), name="v")
    reference = pd.crosstab(seg, x.astype(object))
    assert P._crosstab(*P._segment_codes(seg), x).shape == reference.shape == (0, 0)
    t = pd.DataFrame({"segment_id": seg, "monetary": [1.0, 2, 3, 4], "v": x})
    out = P.distinguishing_features(t, top_n=None)
    assert out["effect_size"].isna().all()
    assert (out["strength"] == "n/a").all()


@pytest.mark.parametrize("seg_kind", ["int", "str", "categorical", "missing"])
def test_segment_codes_and_split_equal_groupby(seg_kind):
    seg = _segments(seg_kind)
    x = pd.Series(np.random.default_rng(13).normal(size=N_MIXED))
    codes, segments = P._segment_codes(seg)
    grouped = x.groupby(seg, sort=True)
    pd.testing.assert_index_equal(segments, grouped.size().index)
    reference = [g.to_numpy() for _, g in grouped]
    got = [g for g in P._split_by_segment(x.to_numpy(), codes, len(segments)) if len(g)]
    assert len(got) == len(reference)
    for a, b in zip(got, reference, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seg_kind", ["int", "str", "categorical"])
def test_profile_tables_equal_pandas_reference(seg_kind):
    """segment_profile and distinguishing_features against plain groupby / crosstab."""
    seg = _segments(seg_kind)
    rng = np.random.default_rng(14)
    value = pd.Series(rng.gamma(2.0, 50.0, N_MIXED))
    score = pd.Series(np.where(rng.random(N_MIXED) < 0.2, np.nan, rng.normal(size=N_MIXED)))
    table = pd.DataFrame({"segment_id": seg, "monetary": value, "score": score})
    cat_vars = ["str", "categorical", "boolean", "bool"]
    for var in cat_vars:
        table[var] = _variables()[var]
    prof = P.segment_profile(table, numeric=["score"], categorical=cat_vars)

    grouped = table["monetary"].groupby(seg, sort=True)
    sizes = pd.DataFrame({"n": grouped.size(), "revenue": grouped.sum()}).rename_axis("segment")
    pd.testing.assert_frame_equal(prof.sizes[["n", "revenue"]], sizes, check_exact=True)
    by_var = prof.numeric.set_index("segment").groupby("variable")
    for var in ["monetary", "score"]:
        g = table[var].groupby(seg, sort=True)
        got = by_var.get_group(var)
        for stat, ref in (("mean", g.mean()), ("median", g.median()), ("n_valid", g.count())):
            np.testing.assert_array_equal(got[stat].to_numpy(), ref.to_numpy())

    out = P.distinguishing_features(table, numeric=["score"], categorical=cat_vars, top_n=None)
    out = out.set_index("variable")
    for var in cat_vars:
        level = table[var].astype(object).where(table[var].notna(), "(missing)")
        counts = pd.crosstab(seg, level)
        n = counts.sum(axis=1)
        shares = prof.categorical[prof.categorical["variable"] == var]
        expected_n = counts.stack().to_numpy()
        np.testing.assert_array_equal(shares["n"].to_numpy(), expected_n)
        np.testing.assert_array_equal(
            shares["share"].to_numpy(), counts.div(n, axis=0).stack().to_numpy()
        )
        chi2, p, _, _ = stats.chi2_contingency(counts.to_numpy(), correction=False)
        v = math.sqrt(chi2 / (counts.to_numpy().sum() * (min(counts.shape) - 1)))
        assert out.loc[var, "effect_size"] == v
        assert out.loc[var, "p_value"] == p
    ok = table["score"].notna()
    groups = [g.to_numpy() for _, g in table.loc[ok, "score"].groupby(seg[ok], sort=True)]
    assert out.loc["score", "p_value"] == stats.f_oneway(*groups).pvalue


# --------------------------------------------------------------------------------------
# Draft names on a planted tiny profile
# --------------------------------------------------------------------------------------


def _naming_table() -> pd.DataFrame:
    """Segment 1 high-value loyal fashion/app; 2 lapsed one-time; 3 and 4 identical-ish."""
    rows = []
    spec = {
        # seg: (n, monetary, frequency, recency, fashion share, outlet share, app share)
        0: (10, 0.0, 0, np.nan, np.nan, np.nan, np.nan),
        1: (10, 1000.0, 20, 10.0, 0.9, 0.05, 0.9),
        2: (10, 30.0, 1, 900.0, 0.2, 0.2, 0.2),
        3: (10, 100.0, 4, 100.0, 0.2, 0.5, 0.1),
        4: (10, 100.0, 4, 100.0, 0.1, 0.6, 0.2),
    }
    for s, (n, m, f, r, fa, ou, app) in spec.items():
        for _ in range(n):
            rows.append(
                {
                    "segment_id": s,
                    "monetary": m,
                    "frequency": f,
                    "recency_days": r,
                    "share_fashion": fa,
                    "share_outlet": ou,
                    "share_channel_app": app,
                    "share_channel_store": None if np.isnan(app) else 1 - app,
                }
            )
    return pd.DataFrame(rows)


def test_draft_names_rules_and_uniqueness():
    prof = P.segment_profile(_naming_table())
    names = P.draft_names(prof)
    assert names[0] == P.PROSPECT_NAME
    assert names[1] == "High-value loyal fashion app buyers"
    assert names[2].startswith("Lapsed one-time")
    assert len(set(names.values())) == len(names)  # 3 and 4 would collide
    assert names[3] != names[4]
    assert names == P.draft_names(prof)  # deterministic
    custom = P.draft_names(prof, overrides={2: "Win-back list"}, rules={"high_value": 1e9})
    assert custom[2] == "Win-back list"
    assert not custom[1].startswith("High-value")
    with pytest.raises(InputDataError, match="unknown naming rules"):
        P.draft_names(prof, rules={"hi": 1})


# --------------------------------------------------------------------------------------
# Planted demo data
# --------------------------------------------------------------------------------------


def _slug(v: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", v.lower()).strip("_")


@pytest.fixture(scope="module")
def demo_table() -> pd.DataFrame:
    from seglab.datasets import make_retail

    d = make_retail(n_customers=5000, n_lines=100_000, random_state=1)
    end = pd.Timestamp("2025-07-01")
    tx = d.transactions
    tx = tx[
        tx["customer_id"].notna()
        & (tx["quantity"] > 0)
        & (tx["unit_price"] > 0)
        & (tx["timestamp"] < end)
    ].assign(amount=lambda x: x["quantity"] * x["unit_price"])
    g = tx.groupby("customer_id")
    cust = pd.DataFrame(
        {
            "monetary": g["amount"].sum(),
            "frequency": g["order_id"].nunique(),
            "recency_days": (end - g["timestamp"].max()).dt.days,
        }
    )
    cust["avg_order_value"] = cust["monetary"] / cust["frequency"]
    for col, prefix in (("category", "share_"), ("channel", "share_channel_")):
        wide = tx.pivot_table(
            index="customer_id", columns=col, values="amount", aggfunc="sum", fill_value=0
        )
        wide = wide.div(wide.sum(axis=1), axis=0).rename(columns=lambda c, p=prefix: p + _slug(c))
        cust = cust.join(wide)
    table = d.customers.merge(d.truth, on="customer_id").merge(
        cust, left_on="customer_id", right_index=True, how="left"
    )
    table[["monetary", "frequency"]] = table[["monetary", "frequency"]].fillna(0)
    return table


@pytest.fixture(scope="module")
def demo_profile(demo_table) -> P.Profile:
    return P.segment_profile(demo_table, segment_col="segment", prospect="Prospect")


def test_demo_vip_has_highest_value(demo_profile):
    sizes = demo_profile.sizes
    assert sizes["revenue_share"].idxmax() == "VIP loyalists"
    assert sizes["value_index"].idxmax() == "VIP loyalists"
    assert sizes["revenue_share"].sum() == pytest.approx(1.0)
    assert sizes.loc["Prospect", "revenue"] == 0


def test_demo_names(demo_profile, demo_table):
    names = P.draft_names(demo_profile)
    assert "High-value" in names["VIP loyalists"]
    assert re.search(r"lapsed|one-time", names["Lapsed one-timers"], re.IGNORECASE)
    assert names["Prospect"] == P.PROSPECT_NAME
    assert len(set(names.values())) == len(names)
    shuffled = demo_table.sample(frac=1.0, random_state=3)
    again = P.draft_names(P.segment_profile(shuffled, segment_col="segment", prospect="Prospect"))
    assert again == names


def test_demo_distinguishing_features(demo_table):
    behaviour = ["recency_days", "frequency", "monetary", "avg_order_value", "age"]
    descriptors = ["gender", "income_band", "region", "preferred_device", "member"]
    out = P.distinguishing_features(demo_table, "segment", behaviour, descriptors, top_n=None)
    assert {"monetary", "frequency"} & set(out["variable"].head(3))
    assert out.loc[out["variable"] == "region", "strength"].item() == "negligible"
    assert out["p_value"].between(0, 1).all()


# --------------------------------------------------------------------------------------
# Persona cards
# --------------------------------------------------------------------------------------

PARTS = ("who", "how_they_buy", "what_they_need", "how_to_reach", "action")


def test_persona_cards_have_five_parts(demo_profile):
    names = P.draft_names(demo_profile)
    cards = P.persona_cards(demo_profile, names)
    assert set(cards) == set(demo_profile.segments)
    for card in cards.values():
        for part in PARTS:
            assert card[part], (card["name"], part)
        md = P.persona_markdown(card)
        assert md.startswith(f"### {card['name']}")
        for title in (
            "Who they are",
            "How they buy",
            "What they need",
            "How to reach them",
            "Suggested action",
        ):
            assert f"**{title}**" in md
    assert cards["Prospect"]["segment_type"] == "prospect"
    assert cards["VIP loyalists"]["segment_type"] == "high_value"
    assert cards["Lapsed one-timers"]["segment_type"] == "lapsed"


def test_action_depends_on_objective(demo_profile):
    names = P.draft_names(demo_profile)
    actions = {
        obj: P.persona_cards(demo_profile, names, objective=obj)["VIP loyalists"]["action"]
        for obj in P.OBJECTIVES
    }
    assert len(set(actions.values())) == len(P.OBJECTIVES)
    assert actions["retention"] == P.ACTIONS["retention"]["high_value"]
    with pytest.raises(InputDataError, match="objective"):
        P.persona_cards(demo_profile, names, objective="world domination")


def test_lapsed_high_value_gets_win_back_call():
    t = pd.DataFrame(
        {
            "segment_id": [1] * 5 + [2] * 10,
            "monetary": [500.0] * 5 + [100.0] * 10,
            "recency_days": [900.0] * 5 + [30.0] * 10,  # index 900 / 320 x 100 = 281
            "F1": [1.0] * 5 + [-0.5] * 10,  # overall mean 0, sd 0.74
        }
    )
    prof = P.segment_profile(t)
    cards = P.persona_cards(prof, P.draft_names(prof), factor_names={"F1": "price sensitivity"})
    assert cards[1]["segment_type"] == "lapsed_high_value"
    assert cards[1]["action"] == "win-back call with a personal offer"
    assert cards[1]["what_they_need"][0].startswith("price sensitivity (F1): +1.4 SD")


# --------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------

VARS = ["monetary", "frequency", "recency_days", "avg_order_value", "share_fashion"]


def test_plots_return_axes(demo_profile):
    assert isinstance(P.plot_snake(demo_profile, VARS), Axes)
    assert isinstance(P.plot_index_heatmap(demo_profile, VARS), Axes)
    ax = P.plot_size_value(demo_profile)
    assert isinstance(ax, Axes)
    assert len(ax.patches) == 2 * len(demo_profile.segments)
    radar = P.plot_radar(demo_profile, "VIP loyalists", VARS)
    assert isinstance(radar, Axes)
    assert radar.name == "polar"
    with pytest.raises(InputDataError, match="not numeric variables"):
        P.plot_snake(demo_profile, ["nope"])
