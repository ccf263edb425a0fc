"""Objectives: the model catalogue is complete and the feasibility check reads the config."""

from seglab.config import load_config, parse_config
from seglab.objectives import (
    MODELS,
    OBJECTIVES,
    brief_markdown,
    brief_problems,
    brief_table,
    catalogue,
    feasibility,
    kpi_gaps,
    objectives_table,
    plot_feasibility,
)

DOMAIN_MODELS = {
    "demographic",
    "geographic",
    "behavioural",
    "psychographic",
    "value_based",
    "technographic",
    "needs_based",
    "firmographic",
    "lifecycle",
    "benefit",
    "occasion",
    "tiering",
    "maturity",
}


def minimal(**brief):
    return parse_config(
        {
            "name": "t",
            "brief": brief,
            "data": {
                "transactions": {
                    "path": "x.csv",
                    "columns": {"customer_id": "c", "timestamp": "t", "amount": "a"},
                }
            },
        }
    )


def test_catalogue_covers_the_domain_models():
    assert set(MODELS) == DOMAIN_MODELS
    assert len(catalogue()) == 13 and catalogue()["known weaknesses"].str.len().min() > 10
    assert set(OBJECTIVES) == {
        "retention",
        "growth",
        "high_value",
        "acquisition",
        "cost_to_serve",
        "personalisation",
    }
    assert len(objectives_table()) == 6


def test_transactions_alone_support_behaviour_and_value_only():
    cfg = minimal(models=["value_based", "psychographic", "demographic"])
    table = feasibility(cfg)
    assert table.loc["value_based", "feasible"] and table.loc["lifecycle", "feasible"]
    assert (
        not table.loc["psychographic", "feasible"]
        and "survey" in table.loc["psychographic", "missing"]
    )
    problems = brief_problems(cfg)
    assert len(problems) == 2 and any("Psychographic" in p for p in problems)
    assert "Psychographic" in brief_markdown(cfg)


def test_short_history_rules_out_occasion():
    cfg = minimal()
    assert feasibility(cfg, coverage_days=400).loc["occasion", "feasible"]
    assert not feasibility(cfg, coverage_days=200).loc["occasion", "feasible"]


def test_demo_config_supports_its_brief(repo):
    cfg = load_config(repo / "configs" / "demo-retail.yaml")
    assert brief_problems(cfg) == []
    table = feasibility(cfg)
    assert table.loc[
        ["demographic", "technographic", "psychographic", "needs_based"], "feasible"
    ].all()
    assert not table.loc["firmographic", "feasible"]
    b2b = feasibility(load_config(repo / "configs" / "demo-b2b.yaml"))
    assert b2b.loc["firmographic", "feasible"] and not b2b.loc["psychographic", "feasible"]
    retail = feasibility(load_config(repo / "configs" / "online-retail.yaml"))
    assert retail.loc["geographic", "feasible"]  # from the Country column of the transactions
    plot_feasibility(cfg)


def test_kpi_gaps_and_brief_table():
    cfg = minimal(objective="retention", kpis=["revenue_share"])
    assert kpi_gaps(cfg) == ["churn_rate", "retention_rate"]
    assert "churn_rate" in brief_markdown(cfg)
    assert brief_table(cfg).loc["Minimum segment share", "value"] == "5%"
