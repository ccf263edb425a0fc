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
# # Data collection and quality
#
# **Decision this supports:** can this data carry a segmentation, and what did cleaning
# cost? Every rule that removes rows is listed with the rows and customers it removed,
# so that nobody is surprised later by a missing customer or a smaller revenue total.
# The raw files are never changed: the cleaned table is written to this run's
# `data/interim/` folder for the next notebooks.

# %% tags=["parameters"]
config = "configs/demo-retail.yaml"
run_id = ""
report_root = ""
show_rows = 5

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from seglab import cleaning, intake, quality
from seglab.context import RunContext
from seglab.demo import ensure_demo

ctx = RunContext.open(config, run_id, report_root)
demo_folder = ensure_demo(ctx.config, ctx.project)

# %% [markdown]
# ## Reading the transactions
# Columns are mapped to roles (customer id, order id, timestamp, quantity, price) by the
# config's `data.transactions.columns`, so your own column names work unchanged. Values
# that are not numbers or dates stop the run here with the column, the count and examples.

# %%
tx, source = intake.load_transactions(ctx.config, ctx.project)
ctx.record("data.rows_read", source.rows)
ctx.record("data.source", {"location": source.location, "format": source.format, "sha256": source.sha256})
Markdown(f"Read **{source.rows:,} rows** and {len(source.columns)} columns from `{source.location}` "
         f"({source.format}). " + " ".join(source.notes))

# %%
tx.head(show_rows)

# %% [markdown]
# ## Quality before cleaning
# Types, missing values and distinct values per column, as read.

# %%
profile = quality.column_profile(tx)
quality.plot_missingness(profile);

# %%
profile.style.format({"missing_share": "{:.1%}", "missing": "{:,}", "distinct": "{:,}"})

# %% [markdown]
# A missing customer id means the line cannot be attributed to anyone; missing values in
# descriptive columns (like a product description) do no harm to segmentation.

# %% [markdown]
# ## Cleaning rules and the rows they cost
# Rules run in a fixed order, each switchable in the config's `cleaning:` section. The
# table counts rows removed by each rule *after* the rules before it, and the customers
# who lost at least one line.

# %%
cleaned = cleaning.clean_transactions(tx, ctx.config.cleaning, now=ctx.config.reference_date)
cleaning.plot_row_loss(cleaned);

# %%
cleaned.row_loss.style.format({"share_of_rows_read": "{:.2%}", "rows_removed": "{:,}", "rows_left": "{:,}",
                               "customers_affected": "{:,}"}).hide(axis="index")

# %%
Markdown(f"Kept **{cleaned.rows_kept:,} of {cleaned.rows_read:,} rows** "
         f"({cleaned.rows_kept / cleaned.rows_read:.1%}) for **{cleaned.customers:,} customers**. "
         + " ".join(cleaned.notes))

# %% [markdown]
# ### Pitfall: returns
# Dropping return lines (`returns: drop`) counts gross purchases; netting them
# (`returns: net`) gives revenue after returns. Net is closer to the value a customer
# brings; drop matches most published RFM examples. Say which you used when you quote
# revenue figures.

# %% [markdown]
# ## Quality after cleaning
# Distributions of the key numbers: heavy right tails are normal for retail (a few big
# orders), and are why later steps log-transform spend before clustering.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for ax, column in zip(axes, ["quantity", "unit_price", "amount"], strict=True):
    quality.plot_distribution(cleaned.data, column, ax=ax, sample=ctx.config.report.sample_rows,
                              random_state=ctx.config.random_state)
fig.tight_layout()

# %%
quality.numeric_summary(cleaned.data, ["quantity", "unit_price", "amount"])

# %% [markdown]
# ## Date coverage
# Segmentation needs enough history: RFM wants at least a year, lifecycle stages a few
# purchase cycles. Gaps or a sudden drop usually mean an export problem, not customers.

# %%
coverage = quality.date_coverage(cleaned.data)
span = quality.coverage_summary(cleaned.data)
quality.plot_coverage(coverage);

# %%
Markdown(f"Transactions run from **{span['first'][:10]}** to **{span['last'][:10]}** ({span['days']:,} days).")

# %% [markdown]
# ## Top categories
# The most frequent values of each descriptive column, with their share of lines and of value.

# %%
for column in quality.categorical_columns(cleaned.data):
    display(quality.top_categories(cleaned.data, column, n=ctx.config.report.top_n))

# %% [markdown]
# ## The customer table
# Customers without any purchase (prospects) stay in: lifecycle analysis needs them.
# Buyers missing from the customer table can still be segmented on behaviour, but not
# profiled on demographics.

# %%
customers, customer_source = intake.load_customers(ctx.config, ctx.project)
intake.customer_coverage(cleaned.data, customers)

# %% [markdown]
# ## Hand-off to the next notebooks

# %%
ctx.save(cleaned.data, "transactions")
if customers is not None:
    ctx.save(customers, "customers")
ctx.record("data.rows_kept", cleaned.rows_kept)
ctx.record("data.customers", cleaned.customers)
ctx.record("data.rules", cleaned.removed_by_rule())
ctx.record("data.coverage", span)
Markdown(f"Wrote the cleaned transactions to `{ctx.paths.interim}`.")
