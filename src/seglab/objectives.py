"""Segmentation objectives, their KPIs, the catalogue of segmentation models and a feasibility check."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from seglab.config import Config


@dataclass(frozen=True)
class Objective:
    """What a segmentation is for and how it will be judged."""

    key: str
    title: str
    question: str
    kpis: tuple[str, ...]
    models: tuple[str, ...]


OBJECTIVES: dict[str, Objective] = {
    o.key: o
    for o in (
        Objective(
            "retention",
            "Retain customers (reduce churn)",
            "Which customers are drifting away, and which of them are worth winning back?",
            ("churn_rate", "retention_rate", "revenue_share"),
            ("lifecycle", "value_based", "behavioural"),
        ),
        Objective(
            "growth",
            "Grow sales (upsell and cross-sell)",
            "Which customers could buy more, or more categories, and what should we offer them?",
            ("average_order_value", "purchase_frequency", "revenue_share"),
            ("behavioural", "needs_based", "value_based"),
        ),
        Objective(
            "high_value",
            "Find the most valuable customers",
            "Who brings most of the value, what do they have in common, and how do we keep them?",
            ("revenue_share", "margin", "ltv_cac"),
            ("value_based", "tiering", "behavioural"),
        ),
        Objective(
            "acquisition",
            "Acquire look-alike customers",
            "Which profiles of today's best customers can marketing target among prospects?",
            ("response_rate", "ltv_cac", "customer_count"),
            ("demographic", "firmographic", "geographic", "technographic"),
        ),
        Objective(
            "cost_to_serve",
            "Cut the cost to serve",
            "Which customers need which service level and channel, so that effort matches value?",
            ("cost_to_serve", "margin", "revenue_share"),
            ("value_based", "technographic", "tiering"),
        ),
        Objective(
            "personalisation",
            "Personalise campaigns and content",
            "Which needs, attitudes and channels differ between customers, so that each gets a fitting message?",
            ("response_rate", "average_order_value", "retention_rate"),
            ("psychographic", "needs_based", "behavioural", "technographic"),
        ),
    )
}

KPI_TEXT = {
    "revenue_share": "share of revenue each segment brings (value share)",
    "churn_rate": "share of a segment's customers who stop buying in the next period",
    "retention_rate": "share of customers still buying in the next period",
    "response_rate": "share of targeted customers who responded to a campaign",
    "average_order_value": "revenue per order",
    "purchase_frequency": "orders per customer per period",
    "margin": "gross margin per customer (needs cost data)",
    "ltv_cac": "lifetime value over acquisition cost (healthy B2B: above 3)",
    "customer_count": "number of customers in the segment (reach)",
    "cost_to_serve": "service and delivery cost per customer (needs cost data)",
}


@dataclass(frozen=True)
class SegmentationModel:
    """One segmentation model of the catalogue in DOMAIN.md."""

    key: str
    name: str
    groups_by: str
    needs: tuple[str, ...]
    strengths: str
    weaknesses: str


#: Data kinds a model can need; see :func:`available_data`.
DATA_KINDS = {
    "transactions": "purchase history (the transaction table)",
    "demographic": "customer demographics (age, gender, income, ...)",
    "geographic": "customer location (country, region, city)",
    "technographic": "devices and channels used",
    "firmographic": "company size, industry, revenue, technology used",
    "survey": "survey answers (attitudes, needs, benefits sought)",
    "history_1y": "at least a year of transactions (to see occasions and seasons)",
}

MODELS: dict[str, SegmentationModel] = {
    m.key: m
    for m in (
        SegmentationModel(
            "demographic",
            "Demographic",
            "who they are: age, gender, income, education, family",
            ("demographic",),
            "easy to get and to act on in media buying",
            "assumes needs follow demographics, which they often do not",
        ),
        SegmentationModel(
            "geographic",
            "Geographic",
            "where they are: country, region, city",
            ("geographic",),
            "simple; matches sales territories and logistics",
            "location rarely explains why people buy",
        ),
        SegmentationModel(
            "behavioural",
            "Behavioural",
            "how they buy and use: frequency, basket, categories, channel",
            ("transactions",),
            "built from facts in the billing system; predicts upsell and churn",
            "tells what customers do, not why",
        ),
        SegmentationModel(
            "psychographic",
            "Psychographic",
            "values, attitudes, interests, lifestyle",
            ("survey",),
            "explains motives; shapes messages and creative",
            "needs surveys; hard to assign non-respondents",
        ),
        SegmentationModel(
            "value_based",
            "Value-based (RFM, lifetime value)",
            "how much value they bring: spend, frequency, lifetime value",
            ("transactions",),
            "focuses effort where the money is; RFM needs only billing data",
            "existing customers only; silent about needs",
        ),
        SegmentationModel(
            "technographic",
            "Technographic",
            "devices, channels, comfort with technology",
            ("technographic",),
            "picks the channel that reaches each customer",
            "channel use changes quickly",
        ),
        SegmentationModel(
            "needs_based",
            "Needs-based",
            "problems they want solved, what they want",
            ("survey",),
            "directly actionable for product and offer design",
            "needs are hard to define and hard to hand to sales",
        ),
        SegmentationModel(
            "firmographic",
            "Firmographic (B2B)",
            "company size, industry, location, technology used",
            ("firmographic",),
            "the B2B standard; easy to find in CRM and public data",
            "assumes firms of a size or sector share needs, which may not be so",
        ),
        SegmentationModel(
            "lifecycle",
            "Lifecycle stage",
            "where they are: prospect, new, active, at risk, lapsed, churned",
            ("transactions",),
            "times messages (welcome, win-back) to the customer's stage",
            "stages say little about what to offer",
        ),
        SegmentationModel(
            "benefit",
            "Benefit sought",
            "the main benefit they look for (price, quality, convenience)",
            ("survey",),
            "aligns offer and message with what customers value",
            "benefits overlap; needs survey data",
        ),
        SegmentationModel(
            "occasion",
            "Occasion",
            "when and why they buy: holidays, events, seasons",
            ("transactions", "history_1y"),
            "times campaigns to buying moments",
            "one customer has many occasions",
        ),
        SegmentationModel(
            "tiering",
            "Tiering by fit (ABM short list)",
            "fit with business goals: a short list of high-potential accounts",
            ("transactions",),
            "focuses sales effort on the few accounts that matter",
            "tiers hide differing needs within a tier",
        ),
        SegmentationModel(
            "maturity",
            "Customer maturity",
            "how aware the customer is of the problem the product solves",
            ("survey",),
            "matches education vs. sales content to the customer",
            "maturity is easy to misjudge",
        ),
    )
}


def available_data(config: Config, coverage_days: int | None = None) -> dict[str, bool]:
    """Which data kinds the configured inputs provide.

    Parameters
    ----------
    config : Config
    coverage_days : int, optional
        Days between first and last transaction, when known (for occasion-based models).
    """
    d = config.data
    tx_roles = {k for k, v in d.transactions.columns.model_dump().items() if v}
    desc = d.customers.descriptors if d.customers else {}
    return {
        "transactions": True,
        "demographic": bool(desc.get("demographic")),
        "geographic": bool(desc.get("geographic"))
        or any(
            re.search(r"country|region|city|state|postcode|zip", c, re.I)
            for c in d.transactions.descriptors
        ),
        "technographic": bool(desc.get("technographic")) or bool(tx_roles & {"device", "channel"}),
        "firmographic": bool(desc.get("firmographic")),
        "survey": d.survey is not None,
        "history_1y": coverage_days is None or coverage_days >= 365,
    }


def feasibility(config: Config, coverage_days: int | None = None) -> pd.DataFrame:
    """Which segmentation models the data supports now, and what is missing for the others.

    Returns
    -------
    pandas.DataFrame
        One row per model: name, data needed, whether it is feasible, what is missing,
        and whether the brief asks for it.
    """
    have = available_data(config, coverage_days)
    rows = []
    for m in MODELS.values():
        missing = [DATA_KINDS[k] for k in m.needs if not have[k]]
        rows.append(
            {
                "model": m.name,
                "key": m.key,
                "needs": "; ".join(DATA_KINDS[k] for k in m.needs),
                "feasible": not missing,
                "missing": "; ".join(missing),
                "in_brief": m.key in config.brief.models,
            }
        )
    return pd.DataFrame(rows).set_index("key")


def brief_problems(config: Config, coverage_days: int | None = None) -> list[str]:
    """Plain-language problems with the brief: requested models the data cannot support."""
    table = feasibility(config, coverage_days)
    bad = table[table["in_brief"] & ~table["feasible"]]
    return [
        f"The brief asks for {r.model} segmentation, but the data lacks: {r.missing}."
        for r in bad.itertuples()
    ]


def catalogue() -> pd.DataFrame:
    """The catalogue of segmentation models as a table (for the objectives notebook)."""
    return pd.DataFrame(
        [
            {
                "model": m.name,
                "groups customers by": m.groups_by,
                "strengths": m.strengths,
                "known weaknesses": m.weaknesses,
            }
            for m in MODELS.values()
        ]
    ).set_index("model")


def brief_table(config: Config) -> pd.DataFrame:
    """The brief as a two-column table for reports."""
    b = config.brief
    obj = OBJECTIVES[b.objective]
    rows = [
        ("Objective", obj.title),
        ("Question", obj.question),
        (
            "Business",
            "B2B (accounts, several contacts per account)"
            if b.business == "b2b"
            else "B2C (individual customers)",
        ),
        ("KPIs", "; ".join(f"{k}: {KPI_TEXT[k]}" for k in b.kpis)),
        ("Minimum segment share", f"{b.min_segment_share:.0%}"),
        ("Maximum number of segments", str(b.max_segments)),
        ("Segmentation models", ", ".join(MODELS[m].name for m in b.models)),
    ]
    if b.description:
        rows.insert(0, ("Brief", b.description))
    return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")


def kpi_gaps(config: Config) -> list[str]:
    """KPIs the objective usually implies that the brief does not list."""
    obj = OBJECTIVES[config.brief.objective]
    return [k for k in obj.kpis if k not in config.brief.kpis]


def plot_feasibility(config: Config, coverage_days: int | None = None, ax=None):
    """Matrix of segmentation models x data kinds: what each needs and what the data has."""
    import matplotlib.pyplot as plt
    import numpy as np

    have = available_data(config, coverage_days)
    kinds = list(DATA_KINDS)
    models = list(MODELS.values())
    ax = ax or plt.subplots(figsize=(8, 5))[1]
    grid = np.full((len(models), len(kinds)), np.nan)
    for i, m in enumerate(models):
        for j, k in enumerate(kinds):
            if k in m.needs:
                grid[i, j] = 1.0 if have[k] else 0.0
    ax.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=-0.3, vmax=1.3, aspect="auto")
    for i in range(len(models)):
        for j in range(len(kinds)):
            if not np.isnan(grid[i, j]):
                ax.text(
                    j, i, "have" if grid[i, j] else "missing", ha="center", va="center", fontsize=7
                )
    ax.set_xticks(range(len(kinds)), [k.replace("_", " ") for k in kinds], rotation=30, ha="right")
    ax.set_yticks(
        range(len(models)),
        [m.name + (" *" if m.key in config.brief.models else "") for m in models],
    )
    ax.set_title("Data each segmentation model needs (* = in the brief)")
    return ax


def brief_markdown(config: Config, coverage_days: int | None = None) -> str:
    """Plain-language verdict on the brief, as Markdown for the report."""
    obj = OBJECTIVES[config.brief.objective]
    lines = [f"**Objective:** {obj.title}. *{obj.question}*", ""]
    gaps = kpi_gaps(config)
    if gaps:
        lines.append(
            "- KPIs this objective usually needs that the brief does not list: "
            + ", ".join(f"`{k}`" for k in gaps)
            + "."
        )
    problems = brief_problems(config, coverage_days)
    lines += [f"- {p}" for p in problems]
    if not gaps and not problems:
        lines.append(
            "- The data supports every model the brief asks for, and the KPIs match the objective."
        )
    feasible = feasibility(config, coverage_days)
    extra = feasible[feasible["feasible"] & ~feasible["in_brief"]]["model"].tolist()
    if extra:
        lines.append("- Also possible with this data: " + ", ".join(extra) + ".")
    return "\n".join(lines)


def objectives_table() -> pd.DataFrame:
    """Objectives with their question, KPIs and the models that usually serve them."""
    return pd.DataFrame(
        [
            {
                "objective": o.title,
                "question": o.question,
                "KPIs": ", ".join(o.kpis),
                "typical models": ", ".join(MODELS[m].name for m in o.models),
            }
            for o in OBJECTIVES.values()
        ]
    ).set_index("objective")
