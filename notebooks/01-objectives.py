# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
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
# # Objectives: what the segmentation is for
#
# **Decision this supports:** agree on *why* we segment before touching data. The
# objective decides which customers matter, which KPIs will judge the segments later
# (notebook 07 comes back to them), and which segmentation models are worth building.
# Segments are judged by business results, not by a clustering index alone.

# %% tags=["parameters"]
config = "configs/demo-retail.yaml"
run_id = ""
report_root = ""

# %%
from IPython.display import Markdown

from seglab import objectives
from seglab.context import RunContext

ctx = RunContext.open(config, run_id, report_root)

# %% [markdown]
# ## The brief
# The brief lives in the config file (section `brief:`), so that everyone who runs this
# analysis again works towards the same goal.

# %%
objectives.brief_table(ctx.config)

# %% [markdown]
# Read it as a contract: the **objective** names the business question, the **KPIs** are
# the numbers each segment will be scored on, and the **minimum segment share** is the
# smallest group marketing is willing to treat separately (a segment must be *substantial*).

# %%
Markdown(objectives.brief_markdown(ctx.config))

# %% [markdown]
# ## Objectives and the KPIs they imply
# Each objective comes with a few KPIs. If the brief leaves one out, the check above says so.

# %%
objectives.objectives_table()

# %% [markdown]
# ## The catalogue of segmentation models
# Marketing teams ask for these models by name. Each groups customers by something
# different, and each has a known weakness that the analysis should guard against.

# %%
objectives.catalogue()

# %% [markdown]
# ### Pitfall: a model the data cannot support
# Demographic and firmographic segments assume that people or firms who look alike
# need the same things; tiers hide different needs inside a tier. Start with what the
# data supports now (behaviour and value from the billing system need nothing else),
# and refine later. Never wait for perfect data.

# %% [markdown]
# ## What your data supports right now
# The configured columns are checked against the data each model needs.

# %%
feasible = objectives.feasibility(ctx.config)
objectives.plot_feasibility(ctx.config);

# %% [markdown]
# Green cells are data you have, red cells data you lack; rows marked `*` are in the
# brief. A model with a red cell cannot be built until that data is collected.

# %%
feasible[["model", "feasible", "missing", "in_brief"]]

# %%
ctx.record("brief.objective", ctx.config.brief.objective)
ctx.record("brief.models", ctx.config.brief.models)
ctx.record("brief.feasible_models", feasible.index[feasible["feasible"]].tolist())
ctx.record("brief.infeasible_requested", feasible.index[feasible["in_brief"] & ~feasible["feasible"]].tolist())
