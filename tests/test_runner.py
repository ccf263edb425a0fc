"""Runner and CLI: parameter validation, a full run of the shipped notebooks, failure handling."""

import json
import re

import jupytext
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from seglab.cli import app
from seglab.errors import ConfigError, InputDataError, RunError
from seglab.runner import (
    declared_parameters,
    discover_notebooks,
    parse_sets,
    run_pipeline,
    select_notebooks,
    split_sets,
)

from .conftest import REPO, make_project


def test_parse_sets_reads_yaml_values():
    assert parse_sets(["a=3", "b=net", "c=0.5", "d=true", "e=[1, 2]"]) == {
        "a": 3,
        "b": "net",
        "c": 0.5,
        "d": True,
        "e": [1, 2],
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_sets(["cleaning.returns"])


def test_unknown_override_names_allowed_settings_and_parameters():
    specs = discover_notebooks(REPO / "notebooks")
    with pytest.raises(ConfigError) as exc:
        split_sets({"show_rowz": 3}, specs)
    msg = str(exc.value)
    assert "unknown setting `show_rowz`" in msg and "show_rows" in msg and "cleaning" in msg
    with pytest.raises(
        ConfigError,
        match=r"`show_rows` of 02-data-collection expects int \(default 5\), got 'many'",
    ):
        split_sets({"show_rows": "many"}, specs)
    with pytest.raises(ConfigError, match="set by `seglab run`"):
        split_sets({"run_id": "x"}, specs)
    config_sets, nb_sets = split_sets({"show_rows": 7, "cleaning.duplicates": False}, specs)
    assert nb_sets == {"show_rows": 7} and config_sets == {"cleaning.duplicates": False}


def test_select_notebooks_by_number_or_name():
    specs = discover_notebooks(REPO / "notebooks")
    assert [s.name for s in select_notebooks(specs, ["02"])] == ["02-data-collection"]
    assert [s.name for s in select_notebooks(specs, ["objectives"])] == ["01-objectives"]
    with pytest.raises(ConfigError, match="matches no notebook; choose from: 01-objectives"):
        select_notebooks(specs, ["09"])


def test_parameters_cell_rules():
    nb = jupytext.reads("# %%\nx = 1\n", fmt="py:percent")
    with pytest.raises(ConfigError, match="exactly one cell tagged `parameters`"):
        declared_parameters(nb)
    nb = jupytext.reads('# %% tags=["parameters"]\nx = 1\ny = x + 1\n', fmt="py:percent")
    with pytest.raises(ConfigError, match="`y`.*not a literal"):
        declared_parameters(nb)


@pytest.mark.slow
def test_full_run_writes_reports_results_and_manifest(finished_run):
    root, result = finished_run
    assert result.ok
    run_dir = root / "reports" / result.run_id
    assert re.fullmatch(r"demo-retail-\d{8}-\d{6}", result.run_id)
    for name in ("01-objectives", "02-data-collection"):
        assert (run_dir / f"{name}.html").stat().st_size > 10_000
        assert (run_dir / f"{name}.ipynb").is_file()
    results = json.loads((run_dir / "results.json").read_text())
    data = results["data"]
    assert data["rows_read"] > data["rows_kept"] > 0
    assert data["rules"]["returns"] == 0  # returns netted, not dropped (the override took effect)
    assert data["rules"]["duplicates"] > 0 and data["rules"]["missing_customer_id"] > 0
    assert data["rows_read"] - sum(data["rules"].values()) == data["rows_kept"]
    assert 1000 < data["customers"] <= 1500
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["random_state"] == 42
    assert manifest["overrides"] == {"cleaning.returns": "net"}
    assert len(manifest["inputs"]["transactions"]["sha256"]) == 64
    assert manifest["inputs"]["transactions"]["rows"] == data["rows_read"]
    assert manifest["notebooks"]["02-data-collection"]["parameters"]["show_rows"] == 3
    assert manifest["versions"]["scikit-learn"][0].isdigit()
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["cleaning"]["returns"] == "net"
    # hand-off files for the next notebooks
    assert (root / "data" / "interim" / result.run_id / "transactions.parquet").is_file()
    rfm, stages = results["rfm"], results["lifecycle"]["stages"]
    assert (
        rfm["customers"] == data["customers"] and sum(rfm["segments"].values()) == rfm["customers"]
    )
    assert stages["prospect"] > 0 and sum(stages.values()) == results["features"]["customers"]
    assert 0.5 < results["value"]["top20_revenue_share"] < 1
    feats = pd.read_parquet(
        root / "data" / "processed" / result.run_id / "customer_features.parquet"
    )
    assert feats["customer_id"].is_unique and feats["lifecycle_stage"].notna().all()
    assert feats.loc[~feats["is_prospect"], "rfm_segment"].notna().all()
    clus = results["clustering"]
    assert clus["k"] >= 2 and clus["method"] in ("kmeans", "minibatch")
    assert (
        sum(clus["sizes"].values()) == results["features"]["customers"]
    )  # everyone has exactly one segment
    assert set(clus["stability"]) == {str(i) for i in range(1, clus["k"] + 1)}
    assert -1 <= clus["silhouette"] <= 1 and 0 <= clus["ari_vs_truth"] <= 1
    segs = pd.read_parquet(root / "data" / "processed" / result.run_id / "segments.parquet")
    assert segs["customer_id"].is_unique and len(segs) == results["features"]["customers"]
    names = results["profiling"]["names"]
    assert set(names) == {str(i) for i in range(0, clus["k"] + 1)} and len(
        set(names.values())
    ) == len(names)
    ev = results["evaluation"]
    assert set(ev["scorecard"]) == {
        "measurable",
        "substantial",
        "distinct",
        "stable",
        "reachable",
        "actionable",
    }
    assert set(ev["scorecard"].values()) <= {"pass", "warn", "fail"}
    assert 0.6 < results["scoring"]["auc"] <= 1 and max(ev["time_split_lift"].values()) > 1
    exported = pd.read_parquet(result.report_dir / "exports" / "segment_assignments.parquet")
    assert exported["customer_id"].is_unique and len(exported) == results["features"]["customers"]
    assert set(exported.columns) >= {
        "segment_id",
        "segment",
        "rfm_segment",
        "lifecycle_stage",
        "value_tier",
        "likelihood",
    }
    factors = results["factors"]
    assert factors["n_factors"] == 4  # the demo survey's planted factors
    assert 0.7 < factors["kmo"] < 1 and factors["bartlett_p"] < 1e-6
    assert set(factors["alpha"]) == set(factors["variance_explained"]) == {"F1", "F2", "F3", "F4"}
    scores = pd.read_parquet(root / "data" / "processed" / result.run_id / "factor_scores.parquet")
    assert set(scores["survey_status"]) == {"scored", "no survey", "dropped in screening"}
    assert scores["customer_id"].is_unique and len(scores) >= 1500


@pytest.mark.slow
def test_reports_hide_code_and_load_nothing_from_the_network(finished_run):
    root, result = finished_run
    run_dir = root / "reports" / result.run_id
    index = (run_dir / "index.html").read_text()
    assert 'href="01-objectives.html"' in index and 'href="02-data-collection.html"' in index
    assert "Find the customers we are losing" in index  # the brief
    for page in run_dir.glob("*.html"):
        html = page.read_text()
        assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", html), (
            page.name
        )
        assert "ctx = RunContext.open" not in html, f"{page.name} shows code"
        leaks = re.findall(r"&lt;(?:Axes|Figure|matplotlib)[^&]*&gt;|PosixPath\(|Text\(0\.", html)
        assert not leaks, f"{page.name} shows Python reprs instead of results: {leaks[:3]}"
    nb02 = (run_dir / "02-data-collection.html").read_text()
    assert nb02.count("data:image/png;base64") >= 4  # figures are embedded


@pytest.mark.slow
def test_failing_notebook_leaves_partial_report_and_exits_nonzero(tmp_path, monkeypatch):
    root = make_project(tmp_path, notebooks=("01-objectives",))
    (root / "notebooks" / "02-broken.py").write_text(
        '# %% [markdown]\n# # Broken\n\n# %% tags=["parameters"]\nconfig = ""\nrun_id = ""\nreport_root = ""\n\n'
        '# %%\nprint("before the failure")\n\n# %%\nraise ValueError("planted failure")\n\n# %%\nprint("never")\n'
    )
    (root / "notebooks" / "03-after.py").write_text(
        '# %% tags=["parameters"]\nconfig = ""\nrun_id = ""\nreport_root = ""\n'
    )
    monkeypatch.setenv("SEGLAB_ROOT", str(root))
    out = CliRunner().invoke(app, ["run", "--config", "configs/demo.yaml"])
    assert out.exit_code == 1, out.output
    assert "02-broken" in out.output and "planted failure" in out.output
    run_dir = next((root / "reports").glob("demo-retail-*"))
    html = (run_dir / "02-broken.html").read_text()
    assert "before the failure" in html and "planted failure" in html and "never" not in html
    assert not (run_dir / "03-after.html").exists()
    index = (run_dir / "index.html").read_text()
    assert "The run failed" in index and "02-broken" in index
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "failed"
    with pytest.raises(RunError, match="02-broken failed in cell"):
        run_pipeline("configs/demo.yaml", only=["02"], run_id=run_dir.name)


def test_cli_rejects_bad_override_before_running(tmp_path, monkeypatch):
    root = make_project(tmp_path)
    monkeypatch.setenv("SEGLAB_ROOT", str(root))
    out = CliRunner().invoke(
        app, ["run", "--config", "configs/demo.yaml", "--set", "cleaning.retruns=net"]
    )
    assert out.exit_code == 2
    assert "unknown setting `cleaning.retruns`" in out.output and "returns" in out.output
    assert not list((root / "reports").iterdir())
    out = CliRunner().invoke(
        app, ["validate", "--config", "configs/demo.yaml", "--set", "cleaning.returns=net"]
    )
    assert out.exit_code == 0 and "is valid" in out.output
    out = CliRunner().invoke(app, ["run", "--config", "configs/nope.yaml"])
    assert out.exit_code == 2 and "not found" in out.output


@pytest.mark.slow
def test_b2b_demo_runs_and_skips_the_survey_step(tmp_path, monkeypatch):
    root = make_project(
        tmp_path,
        notebooks=(
            "01-objectives",
            "02-data-collection",
            "03-customer-features",
            "04-factor-analysis",
        ),
    )
    cfg = yaml.safe_load((REPO / "configs" / "demo-b2b.yaml").read_text())
    cfg["data"]["demo"].update(n_customers=300, n_lines=8000)
    (root / "configs" / "b2b.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("SEGLAB_ROOT", str(root))
    result = run_pipeline("configs/b2b.yaml")
    status = {n.name: n.status for n in result.notebooks}
    assert status == {
        "01-objectives": "ok",
        "02-data-collection": "ok",
        "03-customer-features": "ok",
        "04-factor-analysis": "skipped",
    }
    assert "`data.survey`" in result.notebooks[3].error
    feats = pd.read_parquet(
        root / "data" / "processed" / result.run_id / "customer_features.parquet"
    )
    assert (
        feats.loc[~feats["is_prospect"], "n_buying_contacts"] >= 1
    ).all()  # accounts with their contacts
    index = (result.report_dir / "index.html").read_text()
    assert "skipped" in index and "data.survey" in index
    data = json.loads((result.report_dir / "results.json").read_text())["data"]
    assert 250 < data["customers"] <= 300  # accounts, not contacts


def test_stale_demo_data_is_detected_not_overwritten(tmp_path, monkeypatch):
    from seglab.config import load_config
    from seglab.demo import ensure_demo
    from seglab.paths import ProjectPaths

    root = make_project(tmp_path, notebooks=("01-objectives",))
    cfg = load_config(root / "configs" / "demo.yaml")
    folder = ensure_demo(cfg, ProjectPaths(root))
    before = (folder / "transactions.csv").stat().st_mtime_ns
    assert ensure_demo(cfg, ProjectPaths(root)) == folder  # same settings: reused
    stamp = json.loads((folder / "demo.json").read_text())
    (folder / "demo.json").write_text(json.dumps({**stamp, "generator_version": 0}))
    with pytest.raises(ConfigError, match="generator_version=0.*delete that folder"):
        ensure_demo(cfg, ProjectPaths(root))
    other = cfg.model_copy(
        update={
            "data": cfg.data.model_copy(
                update={"demo": cfg.data.demo.model_copy(update={"random_state": 7})}
            )
        }
    )
    with pytest.raises(ConfigError, match="random_state=42 \\(config: 7\\)"):
        (folder / "demo.json").write_text(json.dumps(stamp))
        ensure_demo(other, ProjectPaths(root))
    assert (folder / "transactions.csv").stat().st_mtime_ns == before  # never overwritten


def test_optional_hand_off_tables(tmp_path, monkeypatch):
    from seglab.context import RunContext

    root = make_project(tmp_path, notebooks=("01-objectives",))
    monkeypatch.setenv("SEGLAB_ROOT", str(root))
    ctx = RunContext.open("configs/demo.yaml", "r1")
    assert ctx.load("customers", optional=True) is None
    with pytest.raises(InputDataError, match="run 02-data-collection first for run `r1`"):
        ctx.load("customers", producer="02-data-collection")
    ctx.save(pd.DataFrame({"customer_id": ["a", "b"]}), "customers")
    assert ctx.load("customers", optional=True)["customer_id"].tolist() == ["a", "b"]
    assert ctx.customer_ids().tolist() == ["a", "b"]
    names = ctx.segment_names(
        pd.DataFrame({"segment_id": [2, 1, 2], "segment": ["S2", "S1", "S2"]})
    )
    assert (
        names["segment_id"].tolist() == [1, 2]
        and names["action"].str.contains("06-profiling").all()
    )
