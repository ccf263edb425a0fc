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
# # Customer features: RFM, lifecycle stages and value tiers
#
# **Decision this supports:** who are our customers in terms of *behaviour and value*?
# Transactions become one row per customer (per account in B2B): how recently, how often
# and how much they buy, what and where they buy. From these come the rule-based
# segmentations marketing teams already use, RFM segments, lifecycle stages and value
# tiers, which later notebooks use both as segmentation inputs and as a yardstick.

# %% tags=["parameters"]
config = "configs/demo-retail.yaml"
run_id = ""
report_root = ""

# %%
from IPython.display import Markdown, display

from seglab import features, lifecycle, rfm, value
from seglab.context import RunContext

ctx = RunContext.open(config, run_id, report_root)
opts = ctx.config.features

# %% [markdown]
# ## One row per customer
# Built by the data engine straight from notebook 02's cleaned Parquet file, so the lines
# never pass through pandas and tens of millions of them fit: the embedded DuckDB by
# default, a Spark cluster with `engine: spark` in the config (same expression, same
# result). Customers without a purchase (prospects) stay in.

# %%
transactions = ctx.path("transactions", producer="02-data-collection")  # the engine reads the file
customer_master = ctx.path("customers", optional=True)
table = features.build_for_config(transactions, customer_master, ctx.config)
buyers = table[~table["is_prospect"]]
Markdown(f"**{len(table):,} customers**, of whom **{len(buyers):,} bought** in the window "
         f"and {int(table['is_prospect'].sum()):,} are prospects. Monetary value is **{opts.monetary}** "
         f"({'returns subtracted' if opts.monetary == 'net' else 'purchases only'}).")

# %%
table.head()

# %%
buyers[["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
        "mean_interpurchase_days", "return_share"]].describe(percentiles=[0.1, 0.5, 0.9]).T

# %% [markdown]
# Frequency is usually dominated by one-time buyers and monetary value by a long tail of
# big spenders: medians say more than means here.

# %% [markdown]
# ## RFM scores
# Each customer gets a 1-5 score for **R**ecency (5 = bought most recently), **F**requency
# and **M**onetary value, by quantiles. Customers with the same value always get the same
# score, so when many customers share a value (most bought once), some scores stay empty;
# the table shows the actual edges of each score.

# %%
scores = rfm.rfm_scores(table, bins=opts.rfm_bins, method=opts.rfm_method, cuts=opts.rfm_cuts)
scores.report

# %%
assignment = rfm.assign_rfm_segments(scores, segment_map=opts.rfm_segments,
                                     min_share=ctx.config.brief.min_segment_share)
rfm.plot_rfm_grid(scores, value="monetary");

# %% [markdown]
# Read the grid as a map: recent, frequent customers sit top right; each cell's colour is
# the average monetary value. The named segments below are regions of this map.

# %%
segment_table = rfm.segment_summary(assignment.segments, scores.scores["monetary"])
rfm.plot_segment_bars(assignment.segments, scores.scores["monetary"]);

# %%
segment_table.style.format({"customer_share": "{:.1%}", "revenue_share": "{:.1%}", "revenue": "{:,.0f}",
                            "avg_monetary": "{:,.0f}", "value_index": "{:.0f}"})

# %%
Markdown("\n".join(f"- {w}" for w in assignment.warnings) if assignment.warnings
         else "Every RFM segment reaches the brief's minimum share.")

# %% [markdown]
# The **value index** is the segment's average value over the overall average x 100:
# 200 means twice the average customer. Segments under the brief's minimum share are too
# small to treat separately: merge them or use fewer score levels (`features.rfm_bins`).

# %% [markdown]
# ## Lifecycle stages
# Where each customer is in their relationship with us. Thresholds come from the config
# or, by default, from this customer base's own buying rhythm.

# %%
stages = lifecycle.lifecycle_stages(table, thresholds=opts.lifecycle_thresholds,
                                    reference_date=ctx.config.reference_date)
Markdown(f"Thresholds: {stages.rule}.")

# %%
lifecycle.plot_lifecycle_funnel(stages.stages);

# %%
stages.counts.style.format({"share": "{:.1%}"})

# %% [markdown]
# *At risk* and *lapsed* customers are the natural targets of a retention brief:
# they bought regularly and have gone quiet for longer than their usual rhythm.

# %% [markdown]
# ## Value tiers and the Pareto curve
# How concentrated is revenue? The curve shows the share of revenue brought by the top
# x% of customers.

# %%
tiers = value.value_tiers(table, method=opts.value_method, abc=opts.abc, tiers=opts.value_tiers,
                          basis=opts.value_basis)
pareto = value.pareto_summary(table)
value.plot_pareto(table);

# %%
pareto.style.format({"top_share": "{:.0%}", "revenue_share": "{:.1%}", "revenue": "{:,.0f}"})

# %%
tiers["tier"].value_counts().to_frame("customers")

# %% [markdown]
# ## Forward value: what each customer may bring next
# Expected orders in the next period from a (modified) BG/NBD model, fitted on the
# customer base (on a random sample of 100,000 buyers in larger bases): each customer buys at their own rate until they quietly drop out, so a
# long silence from a once-regular buyer lowers their chance of still being active
# (`p_alive`). Times the expected spend per order (the customer's average shrunk towards
# the base's). It ranks customers well; it ignores seasonality, so treat totals as rough.

# %%
forward = value.forward_value(table, horizon_days=opts.forward_horizon_days, random_state=ctx.config.random_state)
fitted_on = f"a random sample of {forward.params['fit_rows']:,}" if forward.params["fit_rows"] < len(buyers) else "all"
display(Markdown(f"Models fitted on {fitted_on} of {len(buyers):,} buyers; every buyer is scored."))
forward.values.sort_values("forward_value", ascending=False).head(10)

# %% [markdown]
# ## Hand-off
# The customer table with its RFM segment, lifecycle stage, value tier and forward value
# goes to `data/processed/` for the clustering and profiling notebooks.

# %%
customer_features = features.attach(
    table, scores.scores[["R", "F", "M", "RFM"]], rfm_segment=assignment.segments,
    lifecycle_stage=stages.stages.astype("string"), value_tier=tiers["tier"],
    forward_value=forward.values["forward_value"],
)
ctx.save(customer_features.reset_index(), "customer_features", stage="processed")
ctx.record("features.customers", len(table))
ctx.record("features.buyers", len(buyers))
ctx.record("rfm.customers", int(assignment.segments.notna().sum()))
ctx.record("rfm.segments", assignment.segments.value_counts().to_dict())
ctx.record("lifecycle.stages", stages.stages.value_counts().to_dict())
ctx.record("lifecycle.thresholds", stages.thresholds)
ctx.record("value.top20_revenue_share", round(float(pareto.loc[pareto["top_share"] == 0.2, "revenue_share"].iloc[0]), 4))
ctx.record("value.forward_total", round(float(forward.values["forward_value"].sum()), 2))
Markdown(f"Wrote {len(customer_features):,} customers to `{ctx.paths.processed}`.")
