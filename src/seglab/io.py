"""File output at the edges: atomic writes of text, JSON and tables."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write text atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, pd.Series):
        return obj.to_dict()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def to_json_text(obj: Any) -> str:
    """JSON text with numpy/pandas scalars converted."""
    return json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False, allow_nan=False)


def write_json(path: str | Path, obj: Any) -> Path:
    """Write JSON atomically."""
    return write_text(path, to_json_text(obj) + "\n")


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a frame atomically; the format follows the suffix (.parquet or .csv)."""
    path = Path(path)
    writers: dict[str, Callable[[Path], None]] = {
        # microsecond timestamps: Spark and most warehouses cannot read nanosecond ones
        ".parquet": lambda p: df.to_parquet(
            p, index=False, coerce_timestamps="us", allow_truncated_timestamps=True
        ),
        ".csv": lambda p: df.to_csv(p, index=False),
    }
    if path.suffix not in writers:
        raise ValueError(f"cannot write {path.name}: use a .parquet or .csv suffix")
    with atomic_path(path) as tmp:
        writers[path.suffix](tmp)
    return path
