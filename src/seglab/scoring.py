"""A saved segmentation model: fitted preprocessing and clusterer, used to score new customers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from seglab import __version__
from seglab.errors import InputDataError
from seglab.io import atomic_path


@dataclass
class SegmentationModel:
    """Everything needed to assign a new customer to a segment.

    Attributes
    ----------
    preprocessor : BasisPreprocessor
        Fitted on the training customers.
    segmenter : Segmenter
        Fitted clusterer (labels 0..k-1 ordered by value; segment ids are labels + 1).
    numeric, categorical : list of str
        Basis variables, in training order.
    names : dict
        Segment id -> name (filled by the profiling step).
    meta : dict
        seglab version, creation time, training data hash and size.
    """

    preprocessor: Any
    segmenter: Any
    numeric: list[str]
    categorical: list[str] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical

    def predict(self, customers: pd.DataFrame) -> pd.Series:
        """Segment ids (1..k) for a customer table with the basis columns."""
        missing = [c for c in self.features if c not in customers.columns]
        if missing:
            raise InputDataError(
                f"the data to score lacks {len(missing)} basis column(s) the model was trained on: "
                f"{', '.join(missing)}; columns found: {', '.join(map(str, customers.columns))}. Fix: build "
                "the customer table with the same steps (notebook 03) before scoring"
            )
        X = self.preprocessor.transform(customers[self.features])
        return pd.Series(self.segmenter.predict(X) + 1, index=customers.index, name="segment_id")

    def to_expr(self, table: Any, id_column: str = "customer_id", *, names: bool = True) -> Any:
        """The segments of an Ibis table as an expression run by its engine (DuckDB, Spark...).

        Same segment ids as :meth:`predict`, without pulling the table into Python; see
        :func:`seglab.engine_scoring.segment_expr` (rows :meth:`predict` would refuse get
        a NULL ``segment_id``).

        Parameters
        ----------
        table : ibis.Table
            Customer table with ``id_column`` and the basis columns.
        id_column : str
            Customer id, copied to the output.
        names : bool
            Add ``segment_name`` from :attr:`names`.

        Returns
        -------
        ibis.Table
            ``id_column``, ``segment_id`` and, with names, ``segment_name``.
        """
        from seglab.engine_scoring import segment_expr

        return segment_expr(self, table, id_column, names=names)


def frame_hash(df: pd.DataFrame) -> str:
    """A short content hash of a frame (row order included)."""
    return hashlib.sha256(
        pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
    ).hexdigest()[:16]


def save_model(
    model: SegmentationModel, path: str | Path, training: pd.DataFrame | None = None
) -> Path:
    """Write a model atomically with joblib, stamping version, time and training hash."""
    model.meta.setdefault("seglab_version", __version__)
    model.meta.setdefault("created", datetime.now().isoformat(timespec="seconds"))
    if training is not None:
        model.meta["training_rows"] = len(training)
        model.meta["training_hash"] = frame_hash(training[model.features])
    with atomic_path(path) as tmp:
        joblib.dump(model, tmp)
    return Path(path)


def load_model(path: str | Path) -> SegmentationModel:
    """Read a model written by :func:`save_model`."""
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"model file {path} not found: run notebook 05-clustering first")
    model = joblib.load(path)
    if not isinstance(model, SegmentationModel):
        raise InputDataError(f"{path} does not hold a seglab segmentation model")
    return model


def name_model(path: str | Path, names: dict[int, str]) -> Path:
    """Store segment names (id -> name) in a saved model, so scoring outputs carry them."""
    model = load_model(path)
    model.names = {int(k): str(v) for k, v in names.items()}
    return save_model(model, path)
