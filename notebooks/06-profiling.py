# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: seglab
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Profiling and naming the segments
#
# **Decision this supports:** who is in each segment, what sets them apart, and what do
# we do with them? Segments become profiles that sales and service staff can use: size and
# value share, how each segment differs from the average customer (index 100 = average),
# a draft name, and a persona card with a suggested action for the brief's objective.

# %% tags=["parameters"]
config = "configs/demo-retail.yaml"
run_id = ""
report_root = ""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from seglab import basis, profiling, scoring
from seglab.context import RunContext

ctx = RunContext.open(config, run_id, report_root)
opts = ctx.config.profiling

# %%
table = ctx.load("customer_features", stage="processed", producer="03-customer-features")
segments = ctx.load("segments", stage="processed", producer="05-clustering")
table = table.merge(segments[["customer_id", "segment_id"]], on="customer_id")
factor_scores = ctx.load("factor_scores", stage="processed", optional=True)
factor_names = ctx.results().get("factors", {}).get("names", {})
if factor_scores is not None:
    table = table.merge(factor_scores.drop(columns="survey_status"), on="customer_id", how="left")
profile = profiling.segment_profile(table, segment_col="segment_id", value_col="monetary")

# %% [markdown]
# ## Size and value
# A segment worth a separate treatment is *substantial*: it holds enough customers or
# enough value. The value index compares the segment's average value with the average customer.

# %%
profiling.plot_size_value(profile);

# %%
profile.sizes.style.format({"customer_share": "{:.1%}", "revenue_share": "{:.1%}", "revenue": "{:,.0f}",
                            "avg_value": "{:,.0f}", "value_index": "{:.0f}"})

# %% [markdown]
# ## What sets the segments apart
# Effect sizes say how strongly each variable differs between segments: eta squared for
# numbers, Cramer's V for categories (small, medium, large after Cohen). With thousands of
# customers almost every difference is "significant"; the effect size says whether it matters.

# %%
distinct = profiling.distinguishing_features(table, segment_col="segment_id", top_n=None)
distinct.head(15)

# %%
basis_vars = basis.select_columns(list(table.columns), ctx.config.clustering.basis)
profiling.plot_index_heatmap(profile, basis_vars);

# %% [markdown]
# Read across a row: red cells are well above the average customer (index > 100), blue
# cells below. This is the segment's fingerprint.

# %%
profiling.plot_snake(profile, basis_vars);

# %% [markdown]
# ## Names and personas
# Draft names are built from each segment's strongest differences; override them in the
# config (`profiling.names: {1: "...", 2: "..."}`) once the team agrees on better ones.

# %%
names = profiling.draft_names(profile, overrides=opts.names)
pd.Series(names, name="name").rename_axis("segment_id").to_frame()

# %% [markdown]
# What each segment does differently from the average customer, in plain words:

# %%
profiling.segment_highlights(profile, top_n=opts.top_n)

# %%
cards = profiling.persona_cards(profile, names, factor_names=factor_names, objective=ctx.config.brief.objective)
for card in cards.values():
    display(Markdown(profiling.persona_markdown(card)))

# %%
clustered_ids = [s for s in profile.sizes.index if s != 0]
fig, axes = plt.subplots(1, len(clustered_ids), figsize=(3.4 * len(clustered_ids), 3.6),
                         subplot_kw={"projection": "polar"}, squeeze=False)
for ax, seg in zip(axes[0], clustered_ids, strict=True):
    profiling.plot_radar(profile, seg, basis_vars[:8], ax=ax)
    ax.set_title(names[seg], fontsize=8)
fig.tight_layout()

# %% [markdown]
# ### Pitfall: profiles describe, they do not explain
# A segment that is 62% female was not *built* on gender; the difference is a description
# that helps reach the segment. Check a persona with the people who talk to these
# customers before it drives a campaign.

# %%
named = pd.DataFrame({"segment_id": list(names), "segment": list(names.values()),
                      "action": [cards[s]["action"] for s in names]})
ctx.save(named, "segment_names", stage="processed")
scoring.name_model(ctx.paths.processed / "segmentation_model.joblib", names)
ctx.record("profiling.names", {str(k): v for k, v in names.items()})
ctx.record("profiling.top_features", distinct["variable"].head(5).tolist())
named
