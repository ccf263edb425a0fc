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
#   seglab:
#     requires:
#     - data.survey
# ---

# %% [markdown]
# # Factor analysis of survey items
#
# **Decision this supports:** which few underlying needs and attitudes explain the answers
# to a long questionnaire? Many survey items measure the same thing in different words.
# Factor analysis reduces them to a handful of interpretable factors (for example *price
# sensitivity* or *sustainability*) whose scores can feed needs-based or psychographic
# segmentation (the *tandem* approach: factors first, clusters on the factor scores).

# %% tags=["parameters"]
config = "configs/demo-retail.yaml"
run_id = ""
report_root = ""

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown

from seglab import factors, intake
from seglab.context import RunContext

ctx = RunContext.open(config, run_id, report_root)
settings = ctx.config.factors

# %% [markdown]
# ## The survey
# One row per respondent, one column per item (answers on a 1-5 agreement scale).

# %%
survey, source = intake.load_survey(ctx.config, ctx.project)
Markdown(f"**{len(survey):,} respondents** answered **{survey.shape[1]} items** "
         f"(`{source.location}`); {survey.isna().mean().mean():.1%} of answers are missing.")

# %% [markdown]
# ## Screening the items
# Before any factor is extracted: respondents who skipped too many items are dropped,
# remaining gaps are filled with the item's median, items that (nearly) everyone answers
# the same way are dropped, and reverse-keyed items ("I *don't* care about ...") are
# recoded so that a high answer always means more of the same thing.

# %%
items, screening = factors.screen_items(
    survey, reverse=ctx.config.data.survey.reverse_items, scale=settings.scale,
    max_missing_share=settings.max_missing_share, max_item_missing_share=settings.max_item_missing_share,
)
screening.actions

# %%
Markdown(f"Kept **{len(items):,} respondents** and **{items.shape[1]} items**. "
         + (f"Items with a negative item-total correlation (reverse-keyed but not listed in the "
            f"config?): {', '.join(screening.flagged_items)}." if screening.flagged_items else
            "No item runs against the others after recoding."))

# %% [markdown]
# ## Is the data suitable for factor analysis?
# The Kaiser-Meyer-Olkin measure (KMO) says how much of the items' correlation is shared;
# below 0.5 factor analysis is not worth doing, above 0.8 it is good. Bartlett's test
# checks that the items are correlated at all (a small p-value is what we want).

# %%
adequacy = factors.kmo(items)
sphericity = factors.bartlett(items)
Markdown(f"KMO = **{adequacy.overall:.3f}** ({adequacy.verdict}); Bartlett's chi-square = "
         f"{sphericity['chi2']:,.0f} on {int(sphericity['dof'])} degrees of freedom, p = {sphericity['p_value']:.2g}. "
         + (f"Items under {adequacy.threshold}: {', '.join(adequacy.per_item.index[adequacy.per_item['flag']])}."
            if adequacy.per_item["flag"].any() else "No single item falls under 0.5."))

# %%
adequacy.per_item.sort_values("kmo")

# %% [markdown]
# ## How many factors?
# Several rules, side by side. **Horn's parallel analysis** keeps the factors whose
# eigenvalue beats what random data of the same size gives (its 95th percentile);
# **Velicer's MAP** is the check. Kaiser's "eigenvalue above 1" is shown because people
# ask for it, but it over-extracts with many items.

# %%
suggestion = factors.suggest_n_factors(items, n_iter=settings.n_iter, stop_early=settings.stop_early,
                                       random_state=ctx.config.random_state)
factors.plot_scree(suggestion.parallel);

# %% [markdown]
# Read the scree plot from the left: factors whose observed eigenvalue (dots) lies above
# the random line are real structure; the elbow usually sits where the lines cross.

# %%
Markdown(f"The random lines come from **{suggestion.parallel.n_iter_run} {suggestion.parallel.method} "
         f"data sets**" + (f" (of at most {settings.n_iter}): the draws stopped early because the "
                           f"decision was settled, every deciding eigenvalue lying more than "
                           f"{factors.SETTLED_MARGIN_SD:g} random standard deviations from its "
                           f"threshold, so more random data could not change it."
                           if suggestion.parallel.stopped_early else "."))

# %%
suggestion.table

# %%
n_factors = settings.n_factors or suggestion.n_factors
Markdown(f"**Number of factors: {n_factors}**. "
         + (f"Fixed in the config (`factors.n_factors`); the rules suggest {suggestion.n_factors}."
            if settings.n_factors else f"Chosen by the rules: {suggestion.reason}."))

# %% [markdown]
# ## The factors
# Loadings are the correlations of each item with each factor (after rotation). Small
# loadings are blanked so that each factor's items stand out; an item loading on two
# factors is flagged as a cross-loading.

# %%
model = factors.FactorModel(
    n_factors=n_factors, method=settings.method,
    rotation=None if settings.rotation == "none" else settings.rotation, scores=settings.scores,
).fit(items)
names = factors.name_factors(model, names=settings.names)
factors.plot_loading_heatmap(model, threshold=settings.loading_threshold);

# %%
factors.loading_table(model, threshold=settings.loading_threshold).style.format(precision=2, na_rep="")

# %%
fig, axes = plt.subplots(-(-n_factors // 2), 2, figsize=(11, 4.5 * -(-n_factors // 2)), squeeze=False)
for ax, factor in zip(axes.flat[:n_factors], model.loadings_.columns, strict=True):
    factors.plot_factor_loadings(model, factor, ax=ax, threshold=settings.loading_threshold)
    ax.set_title(f"{factor}: {names[factor]}", fontsize=9)
for ax in axes.flat[n_factors:]:
    ax.set_axis_off()
fig.tight_layout()

# %% [markdown]
# Draft names come from each factor's top items; write better ones into the config
# (`factors.names: {F1: price sensitivity, ...}`) once you have read the items.

# %%
names.to_frame()

# %% [markdown]
# ### Variance explained

# %%
model.variance_.style.format("{:.3f}")

# %% [markdown]
# ### Correlations between factors
# Orthogonal rotations (varimax) keep factors uncorrelated, so this is the identity;
# oblique rotations (promax, oblimin) let them correlate, and then the loadings above are
# pattern coefficients.

# %%
model.factor_corr_.style.format("{:.2f}")

# %% [markdown]
# Factors rarely explain most of the variance of single survey items: 40-60% is typical.
# What matters is that each factor is interpretable and reliable.

# %% [markdown]
# ## Reliability of each factor's scale
# Cronbach's alpha and McDonald's omega say how consistently a factor's items measure
# the same thing: 0.7 or more is the usual bar for a scale, 0.6 is acceptable for a short one.

# %%
reliability = factors.reliability_table(model, items, threshold=settings.loading_threshold)
reliability

# %% [markdown]
# Alpha with each item left out: an item whose removal *raises* its scale's alpha
# (`improves`) measures something else; reword it or drop it from the scale.

# %%
factors.alpha_if_deleted_table(model, items, threshold=settings.loading_threshold).style.format(
    {"loading": "{:.2f}", "alpha": "{:.3f}", "alpha_if_deleted": "{:.3f}"})

# %% [markdown]
# ## Correlations ordered by factor
# Blocks of strong correlation along the diagonal are the factors; strong correlations
# off the blocks would mean the factors overlap.

# %%
factors.plot_correlation_heatmap(model, threshold=settings.loading_threshold);

# %% [markdown]
# ### Pitfall: factor scores are estimates
# Scores are estimated for each respondent from their answers (regression method by
# default). Customers who did not answer the survey have no score: they are kept with the
# flag `no survey`, never dropped, so later steps can say who the factors describe.

# %%
scores = factors.score_table(model.transform(items), ctx.customer_ids(), survey.index)
ctx.save(scores.reset_index(), "factor_scores", stage="processed")
ctx.save(model.loadings_.rename_axis("item").reset_index(), "factor_loadings", stage="processed")
scores["survey_status"].value_counts().to_frame("customers")

# %%
ctx.record("factors.n_factors", int(n_factors))
ctx.record("factors.names", names.to_dict())
ctx.record("factors.kmo", round(float(adequacy.overall), 4))
ctx.record("factors.bartlett_p", float(sphericity["p_value"]))
ctx.record("factors.alpha", reliability["alpha"].round(4).to_dict())
ctx.record("factors.variance_explained", model.variance_["proportion_var"].round(4).to_dict())
ctx.record("factors.respondents", int(len(items)))
Markdown(f"Wrote factor scores for {len(scores):,} customers to `{ctx.paths.processed}`.")
