"""Saved segmentation model: scoring the training data reproduces the labels; bad inputs fail clearly."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from seglab.cli import app
from seglab.clustering import Segmenter
from seglab.errors import InputDataError
from seglab.preprocessing import BasisPreprocessor
from seglab.scoring import SegmentationModel, load_model, save_model

BASIS = ["recency_days", "frequency", "monetary"]


@pytest.fixture
def trained(tmp_path):
    rng = np.random.default_rng(0)
    centres = np.array([[10, 12, 2000], [200, 2, 150], [60, 5, 500]])
    rows = np.concatenate([c * rng.lognormal(0, 0.25, size=(300, 3)) for c in centres])
    table = pd.DataFrame(rows, columns=BASIS).assign(customer_id=[f"C{i:04d}" for i in range(900)])
    prep = BasisPreprocessor(numeric=BASIS, skew="log1p")
    seg = Segmenter(n_clusters=3, random_state=1).fit(
        prep.fit_transform(table), order_by=table["monetary"].to_numpy()
    )
    model = SegmentationModel(prep, seg, BASIS, names={1: "Big", 2: "Mid", 3: "Small"})
    path = save_model(model, tmp_path / "model.joblib", training=table)
    return table, seg, path


def test_scoring_the_training_data_reproduces_the_labels(trained):
    table, seg, path = trained
    model = load_model(path)
    np.testing.assert_array_equal(model.predict(table).to_numpy(), seg.labels_ + 1)
    assert model.meta["training_rows"] == 900 and len(model.meta["training_hash"]) == 16


def test_names_are_stored_in_the_model(trained):
    from seglab.scoring import name_model

    table, _, path = trained
    name_model(path, {1: "Champions", 2: "Steady", 3: "Drifting"})
    model = load_model(path)
    assert model.names == {1: "Champions", 2: "Steady", 3: "Drifting"}
    np.testing.assert_array_equal(
        model.predict(table).to_numpy(), load_model(path).predict(table).to_numpy()
    )


def test_missing_and_mistyped_columns_fail_clearly(trained):
    table, _, path = trained
    model = load_model(path)
    with pytest.raises(InputDataError, match="lacks 1 basis column.*monetary"):
        model.predict(table.drop(columns="monetary"))
    bad = table.astype({"frequency": "object"})
    bad.loc[3, "frequency"] = "twelve"
    with pytest.raises((InputDataError, ValueError), match="frequency"):
        model.predict(bad)
    with pytest.raises(InputDataError, match="not found"):
        load_model(path.with_name("nope.joblib"))


def test_score_command(trained, tmp_path):
    table, seg, path = trained
    data = tmp_path / "new.csv"
    table.to_csv(data, index=False)
    out = CliRunner().invoke(app, ["score", "--model", str(path), "--data", str(data)])
    assert out.exit_code == 0, out.output
    scored = pd.read_csv(tmp_path / "new-segments.csv")
    assert scored["segment_id"].tolist() == (seg.labels_ + 1).tolist()
    assert (
        scored["segment"].iloc[0] in {"Big", "Mid", "Small"}
        and scored["customer_id"].iloc[0] == "C0000"
    )
    table.drop(columns="frequency").to_csv(data, index=False)
    out = CliRunner().invoke(app, ["score", "--model", str(path), "--data", str(data)])
    assert out.exit_code == 2 and "frequency" in out.output


def test_score_command_in_the_engine_gives_the_same_segments(trained, tmp_path):
    """`--engine duckdb` scores inside DuckDB (Parquet in, no pandas round trip for the rows)."""
    table, seg, path = trained
    data = tmp_path / "new.parquet"
    table.to_parquet(data, index=False)
    out = CliRunner().invoke(
        app,
        [
            "score",
            "-m",
            str(path),
            "-d",
            str(data),
            "--engine",
            "duckdb",
            "--out",
            str(tmp_path / "scored.csv"),
        ],
    )
    assert out.exit_code == 0, out.output
    scored = pd.read_csv(tmp_path / "scored.csv").set_index("customer_id").loc[table["customer_id"]]
    assert scored["segment_id"].tolist() == (seg.labels_ + 1).tolist()
    assert set(scored["segment"]) == {"Big", "Mid", "Small"}
    out = CliRunner().invoke(app, ["score", "-m", str(path), "-d", str(data), "--engine", "gpu"])
    assert out.exit_code == 2 and "python, duckdb or spark" in out.output
    table.drop(columns="monetary").to_parquet(data, index=False)
    out = CliRunner().invoke(app, ["score", "-m", str(path), "-d", str(data), "--engine", "duckdb"])
    assert out.exit_code == 2 and "monetary" in out.output


def test_engine_scoring_names_a_file_it_cannot_read(trained, tmp_path):
    from seglab.engine_scoring import score_in_engine

    table, _, path = trained
    table.to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(InputDataError, match=r"new\.csv is not a Parquet file.*convert it"):
        score_in_engine(load_model(path), tmp_path / "new.csv")
    with pytest.raises(ValueError, match="needs a connection"):
        score_in_engine(load_model(path), table, engine="postgres")
