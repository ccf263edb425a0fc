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
# # Evaluation against the objective, scoring and export
#
# **Decision this supports:** are these segments worth acting on, and who do we contact
# first? Segments are judged by business results, not by a clustering index alone: do
# they differ on the brief's KPIs, do they predict what customers do next, did campaigns
# work differently in each? Then every customer gets a segment, a likelihood to buy and a
# suggested action, exported for the front line.

# %% tags=["parameters"]
config = "configs/demo-retail.yaml"
run_id = ""
report_root = ""

# %%
import pandas as pd
from IPython.display import Markdown

from seglab import basis, evaluation, export, features, intake, scoring
from seglab.context import RunContext
from seglab.io import write_frame

ctx = RunContext.open(config, run_id, report_root)
opts = ctx.config.evaluation
seed = ctx.config.random_state

# %%
table = ctx.load("customer_features", stage="processed", producer="03-customer-features")
segments = ctx.load("segments", stage="processed", producer="05-clustering")
transactions = ctx.path("transactions", producer="02-data-collection")  # read by the engine, not pandas
model = scoring.load_model(ctx.paths.processed / "segmentation_model.joblib")
named = ctx.segment_names(segments)
segments = segments.drop(columns="segment").merge(named[["segment_id", "segment"]], on="segment_id")
table = table.merge(segments[["customer_id", "segment_id", "segment"]], on="customer_id")
segment_of = table.set_index("customer_id")["segment"]

# %% [markdown]
# ## KPIs per segment
# The brief's KPIs per segment, with 95% bootstrap intervals: a difference between two
# segments counts only where their intervals do not overlap.

# %%
reference = (pd.Timestamp(ctx.config.reference_date) if ctx.config.reference_date else
             ctx.load("transactions", columns=["timestamp"])["timestamp"].max().normalize() + pd.Timedelta(days=1))
cutoff = reference - pd.Timedelta(days=opts.horizon_days)
history = features.build_for_config(transactions, None, ctx.config, reference_date=cutoff).reset_index()
history_buyers = history[~history["is_prospect"]]
segment_then = pd.Series(model.predict(history_buyers).to_numpy(), index=history_buyers["customer_id"]).map(
    segments.drop_duplicates("segment_id").set_index("segment_id")["segment"])
outcomes = evaluation.outcomes_between(segment_then, history, table)  # what changed from the cutoff to today
campaigns = intake.load_campaigns(ctx.config, ctx.project)
kpis = evaluation.kpi_table(table, outcomes=outcomes.rename(columns={"segment": "segment_then"}), campaigns=campaigns,
                            n_boot=opts.n_boot, random_state=seed)
evaluation.kpi_wide(kpis)

# %% [markdown]
# ## Do the segments predict what customers do next?
# Time-split validation: customers are assigned to segments with the data up to
# **one horizon before the end** (the saved model applied to their history then), and we
# look at who bought in the following period. Lift is the segment's rate of buying again
# over the base rate; green bars have an interval that excludes 1.

# %%
lift = evaluation.segment_lift(outcomes, n_boot=opts.n_boot, random_state=seed)
evaluation.plot_lift(lift);

# %%
lift

# %%
sep = evaluation.separation(outcomes.merge(table[["customer_id", "rfm_segment"]], on="customer_id", how="left"),
                            "revenue_next", by=["segment", "rfm_segment"])
sep

# %% [markdown]
# Eta squared is the share of the variation in next-period revenue explained by each
# segmentation: compare our segments with the rule-based RFM segments.

# %% [markdown]
# ## Campaigns: response and uplift by segment
# Where a campaign had a randomised control group, uplift (treated minus control response
# rate) says in which segments the campaign actually changed behaviour.

# %%
uplift = evaluation.campaign_uplift(campaigns, segment_of, n_boot=opts.n_boot, random_state=seed) if campaigns is not None else None
uplift if uplift is not None else Markdown("No campaign table configured.")

# %% [markdown]
# ## Plain rules for the front line
# A shallow decision tree imitates the segmentation with a few readable rules, so staff can
# apply it without the model. Fidelity is the share of customers the rules put in the same
# segment as the model.

# %%
rule_columns = basis.select_columns(list(table.columns), opts.rule_features)
clustered = table.loc[table["segment_id"] > 0, [*rule_columns, "segment"]]
rules, fidelity = evaluation.surrogate_rules(clustered[rule_columns], clustered["segment"], max_depth=opts.rule_depth,
                                             random_state=seed, max_fit=opts.rule_fit_sample_size)
fitted_on = len(clustered) if opts.rule_fit_sample_size is None else min(len(clustered), opts.rule_fit_sample_size)
Markdown(f"Rules reproduce the segmentation for **{fidelity:.0%}** of customers"
         + (f" (the tree learnt from a random sample of {fitted_on:,} of {len(clustered):,}; the counts and the "
            "fidelity cover everyone)" if fitted_on < len(clustered) else "") + ".\n\n"
         + "\n".join(f"- **{seg}**: " + "; or ".join(r) for seg, r in rules.items()))

# %% [markdown]
# ## Likelihood to buy
# A model trained on an earlier period (features at one horizon before the cutoff, outcome
# in the next horizon) is tested *out of time* on the cutoff above: the AUC says how well
# it ranks who buys next (0.5 = coin toss), the calibration plot whether its probabilities
# can be read as rates.

# %%
earlier = cutoff - pd.Timedelta(days=opts.horizon_days)
train_table = features.build_for_config(transactions, None, ctx.config, reference_date=earlier,
                                        shares=features.needs_shares(opts.likelihood_features)).reset_index()
train_table = train_table[~train_table["is_prospect"]]
train_outcomes = evaluation.outcomes_between(pd.Series(0, index=train_table["customer_id"]), train_table, history)
likelihood = evaluation.likelihood_to_buy(train_table, train_outcomes, opts.likelihood_features, random_state=seed)
quality = evaluation.evaluate_out_of_time(likelihood, history_buyers, outcomes)
evaluation.plot_calibration(quality.calibration);

# %%
trained_on = likelihood.meta["n_train"]
Markdown(f"Out-of-time AUC **{quality.auc:.2f}**; predicted and observed rates agree in rank across deciles "
         f"(Spearman {quality.rank_correlation:.2f}). Trained on {trained_on:,} customers"
         + (f" sampled from {likelihood.meta['n_available']:,}." if trained_on < likelihood.meta["n_available"] else "."))

# %% [markdown]
# ## Scorecard: are these good segments?

# %%
results = ctx.results()
shares = table["segment_id"].value_counts(normalize=True)
card = evaluation.scorecard({
    "basis_available": 1.0, "assigned_share": float(table["segment_id"].notna().mean()),
    "min_segment_share": float(shares.drop(index=0, errors="ignore").min()),
    "min_share": ctx.config.brief.min_segment_share,
    "silhouette": results.get("clustering", {}).get("silhouette"),
    "max_eta2": float(sep["eta_squared"].max()) if "eta_squared" in sep else None,
    "min_jaccard": min(results.get("clustering", {}).get("stability", {"x": None}).values() or [None]),
    "reachable_share": float(table.filter(like="share_channel_").notna().any(axis=1).mean()) if table.filter(like="share_channel_").shape[1] else None,
    "rule_fidelity": float(fidelity),
})
card

# %% [markdown]
# ## Export for the front line
# One row per customer (segment, RFM segment, lifecycle stage, value tier, likelihood to
# buy), as CSV and Parquet in this run's folder and as table `segment_assignments` in the
# run's DuckDB database; plus a ranked call list per segment.

# %%
table["likelihood"] = likelihood.predict_proba(table)
assignments = table[["customer_id", "segment_id", "segment", "rfm_segment", "lifecycle_stage", "value_tier",
                     "likelihood"]]
written = export.export_assignments(assignments, ctx.run_id, ctx.paths.report / "exports",
                                    duckdb_path=ctx.paths.processed / "seglab.duckdb")
calls = export.action_list(table, dict(zip(named["segment_id"], named["action"], strict=True)), score_col="likelihood",
                           segment_col="segment_id", missing="drop")
ctx.save(calls, "action_list", stage="processed")
write_frame(calls, ctx.paths.report / "exports" / "action_list.csv")
calls.groupby("segment_id").head(3)

# %%
ctx.record("evaluation.scorecard", card["status"].to_dict())
ctx.record("evaluation.kpis", kpis.reset_index().astype({c: "string" for c in kpis.reset_index().select_dtypes("category").columns}).to_dict(orient="records"))
ctx.record("evaluation.time_split_lift", lift["lift"].round(3).to_dict())
ctx.record("scoring.auc", round(float(quality.auc), 4))
ctx.record("evaluation.rule_fidelity", round(float(fidelity), 4))
Markdown("Exports: " + ", ".join(f"`{p.name}`" for p in written.values()))
