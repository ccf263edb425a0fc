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
# # Clustering: finding the segments, how many, and how stable
#
# **Decision this supports:** how many segments does this customer base really hold, and
# can we trust them? Customers are grouped on the *basis* variables named in the config
# (how they buy and what they spend on); the number of segments is chosen by several
# criteria voting, not by a single elbow plot; and every segment's stability is measured
# by refitting on resampled data. Every customer ends up in exactly one segment.

# %% tags=["parameters"]
config = "configs/demo-retail.yaml"
run_id = ""
report_root = ""

# %%
from IPython.display import Markdown

from seglab import basis, clustering, preprocessing, scoring, selection
from seglab.context import RunContext

ctx = RunContext.open(config, run_id, report_root)
opts = ctx.config.clustering
seed = ctx.config.random_state

# %% [markdown]
# ## Basis and descriptors
# **Basis variables** define the segments: customers are grouped by them. **Descriptors**
# (age, region, device, lifecycle stage...) are only *profiled* afterwards, to describe
# and reach the segments. Keeping them apart avoids segments that merely restate
# demographics. Prospects have no purchase history to cluster on: they form their own group.

# %%
table = ctx.load("customer_features", stage="processed", producer="03-customer-features")
population = basis.split_population(table, opts.basis, opts.categorical)
Markdown(f"Clustering **{len(population.clustered):,} customers** on **{len(population.basis)} basis variables**: "
         + ", ".join(f"`{c}`" for c in population.basis) + f". {len(population.excluded):,} prospects are "
         "kept aside as segment 0 (no purchase in the window).")

# %% [markdown]
# ### Near-duplicate basis variables
# Two variables that say the same thing count twice in the distance between customers.

# %%
duplicates = preprocessing.correlation_check(population.clustered, population.numeric, threshold=0.9)
duplicates if len(duplicates) else Markdown("No pair of basis variables correlates above 0.9.")

# %% [markdown]
# ## Preparing the basis
# Spend and frequency are heavily skewed: a few big customers would dominate the distances.
# Each variable's skew is handled on its own (log or Yeo-Johnson), extreme values are capped
# (winsorised) and everything is put on the same scale. The same fitted steps are reused
# to score new customers later.

# %%
prep = preprocessing.BasisPreprocessor(
    numeric=population.numeric, categorical=population.categorical, skew=opts.skew,
    winsorize=opts.winsorize, categorical_weight=opts.categorical_weight,
)
X = prep.fit_transform(population.clustered)
prep.report_

# %% [markdown]
# ## Is there group structure at all?
# The Hopkins statistic compares distances in the data with distances in random data:
# about 0.5 means no structure (any segmentation would be an arbitrary cut), near 1 means
# clear groups.

# %%
clusterable = selection.clusterability(X, sample_size=min(opts.silhouette_sample, len(X)), random_state=seed)
Markdown(f"Hopkins statistic **{clusterable.hopkins:.2f}** (p = {clusterable.p_value:.2g}, {clusterable.sample_size:,} "
         f"probes among {clusterable.n_samples:,} customers{' sampled' if clusterable.n_samples < len(X) else ''}): {clusterable.reading}. Skewed data also scores high, so read it together with the "
         "stability figures below.")

# %% [markdown]
# ## How many segments?
# Each criterion votes for a number of segments; numbers whose smallest segment falls
# under the brief's minimum share are not eligible. Statistics that need all pairs of
# customers run on a random sample (sizes below).

# %%
factory = basis.SegmenterFactory(method=opts.method)
k_max = min(opts.k_max, ctx.config.brief.max_segments)
consensus = selection.consensus_k(
    X, k_range=range(opts.k_min, k_max + 1), make_model=factory, random_state=seed, sample_size=opts.sample_size,
    silhouette_sample=opts.silhouette_sample, n_bootstrap=max(5, opts.n_bootstrap // 4),
    min_share=ctx.config.brief.min_segment_share,
)
selection.plot_criteria(consensus);

# %%
consensus.table

# %%
consensus.votes

# %%
n_segments = opts.k or consensus.recommended_k
Markdown(f"**{n_segments} segments.** "
         + (f"Fixed in the config (`clustering.k`); the criteria recommend {consensus.recommended_k}."
            if opts.k else consensus.reason)
         + " " + selection.describe_sampling(consensus.sampled))

# %% [markdown]
# ### A hierarchical view (on a sample)
# Ward's hierarchical clustering of a sample of customers: long vertical lines before a
# merge mean well-separated groups; the dashed line cuts the tree at the chosen number.

# %%
clustering.plot_dendrogram(X, n_clusters=n_segments, max_samples=2_000, random_state=seed);

# %% [markdown]
# ## The segments
# The final model is fitted on everyone (or a large sample, then everyone assigned). Segments
# are numbered by average value, so segment 1 is the most valuable on every rerun.

# %%
model = clustering.Segmenter(n_clusters=n_segments, method=opts.method, random_state=seed,
                             fit_sample_size=opts.fit_sample_size)
model.fit(X, order_by=population.clustered[opts.order_by].to_numpy())
Markdown(" ".join(model.notes_))

# %%
clustering.plot_segment_sizes(model.labels_ + 1);

# %%
selection.plot_projection(X, model.labels_ + 1, sample_size=opts.silhouette_sample, random_state=seed);

# %% [markdown]
# The map projects the basis onto its two main directions (PCA) for a sample of customers:
# overlapping clouds are normal in two dimensions; what matters is the stability below.

# %%
selection.plot_silhouette(X, model.labels_ + 1, sample_size=opts.silhouette_sample, random_state=seed);

# %% [markdown]
# Each bar is a customer: long bars sit well inside their segment, bars below zero would
# fit a neighbouring segment better.

# %%
segment_means = population.clustered[population.numeric].assign(segment=model.labels_ + 1).groupby("segment").mean()
segment_means.style.format(precision=2).background_gradient(axis=0, cmap="RdBu_r")

# %% [markdown]
# ## Stability
# Refit on bootstrap resamples and see whether each segment comes back (Jaccard similarity
# with its best match). Reading: under 0.5 the segment dissolves, 0.6-0.75 doubtful,
# 0.75 and more stable, 0.85 and more highly stable.

# %%
stability = selection.bootstrap_stability(X, factory, n_segments, n_bootstrap=opts.n_bootstrap, random_state=seed,
                                          sample_size=opts.sample_size, labels=model.labels_ + 1)
selection.plot_stability(stability);

# %%
stability.table

# %%
seed_agreement = selection.seed_ari(X[: opts.sample_size], factory, n_segments, seeds=tuple(range(seed, seed + 5)))
halves = selection.split_half(X[: opts.sample_size], factory, n_segments, random_state=seed)
Markdown(f"Agreement between solutions from 5 different seeds (adjusted Rand index): **{seed_agreement[0]:.2f}**; "
         f"split-half replication (fit on one half, predict the other): **{halves:.2f}**. "
         "1 means identical segmentations; above 0.8 the segments are reproducible.")

# %% [markdown]
# ## Hand-off
# Every customer gets exactly one segment: 1..k for clustered customers, 0 for prospects.

# %%
segments = basis.assignments(population, model.labels_)
ctx.save(segments, "segments", stage="processed")
scoring.save_model(scoring.SegmentationModel(prep, model, population.numeric, population.categorical),
                   ctx.paths.processed / "segmentation_model.joblib", training=population.clustered)
segments.groupby(["segment_id", "segment"]).size().to_frame("customers")

# %% [markdown]
# ## Teaching check: the planted segments
# The demo data was generated from known segments. The analysis above never read them;
# here we compare. (With your own data this section is skipped.)

# %%
truth = ctx.load_truth()
ari_truth = basis.ari_vs_truth(segments, truth) if truth is not None else None
Markdown(f"Adjusted Rand index against the planted segments: **{ari_truth:.2f}** (1 = identical)."
         if ari_truth is not None else "No ground truth configured.")

# %%
ctx.record("clustering.k", int(n_segments))
ctx.record("clustering.method", model.algorithm_)
ctx.record("clustering.sizes", {str(k): int(v) for k, v in segments["segment_id"].value_counts().sort_index().items()})
ctx.record("clustering.silhouette", round(float(consensus.table.loc[n_segments, "silhouette"]), 4))
ctx.record("clustering.stability", {str(s): round(float(j), 3) for s, j in stability.table["mean_jaccard"].items()})
ctx.record("clustering.hopkins", round(float(clusterable.hopkins), 3))
ctx.record("clustering.recommended_k", int(consensus.recommended_k))
if ari_truth is not None:
    ctx.record("clustering.ari_vs_truth", round(float(ari_truth), 4))
