"""Where the heavy aggregation runs: the embedded DuckDB (default) or an Apache Spark cluster.

The customer-table build (:mod:`seglab.features`) and in-engine scoring
(:mod:`seglab.engine_scoring`) are Ibis expressions, so the same code runs on
either engine. This module only opens the engine and hands it the tables:

- ``engine: duckdb`` (default): an in-process DuckDB database reads the run's
  Parquet hand-off files directly; nothing to install or start.
- ``engine: spark``: a ``SparkSession`` from the config's ``spark:`` section
  (``master: local[*]`` for one machine, ``spark://host:7077``, ``yarn`` or
  ``k8s://...`` for a cluster, or ``remote: sc://host:15002`` for Spark
  Connect). Needs ``pip install 'seglab[spark]'`` and Java 17+. Paths must
  then be readable by the cluster's executors (a shared file system, HDFS,
  S3...), or name a table of the cluster's catalogue.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from seglab.config import Spark
from seglab.errors import ConfigError, InputDataError


def spark_session(settings: Spark | None = None):
    """Get or create the ``SparkSession`` described by ``settings``.

    Parameters
    ----------
    settings : seglab.config.Spark, optional
        Master (or Spark Connect URL), application name and extra ``spark.*``
        settings. Default: ``local[*]``.

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    ConfigError
        pyspark is not installed, or Java is missing.
    """
    settings = settings or Spark()
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "`engine: spark` needs pyspark: install it with `pip install 'seglab[spark]'` "
            "(and Java 17+), or set `engine: duckdb`"
        ) from exc
    if settings.remote is None and shutil.which("java") is None:
        raise ConfigError(
            "`engine: spark` needs Java 17+ on this machine (no `java` on PATH); install a JDK "
            "and set JAVA_HOME, use `spark.remote` to reach a Spark Connect server, or set "
            "`engine: duckdb`"
        )
    builder = SparkSession.builder
    builder = (
        builder.remote(settings.remote) if settings.remote else builder.master(settings.master)
    )
    builder = builder.appName(settings.app_name)
    conf = {
        # timestamps in the files carry no zone: read and write them as they are
        "spark.sql.session.timeZone": "UTC",
        # Spark's progress bars would end up in the reports
        "spark.ui.showConsoleProgress": "false",
        **settings.conf,
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if settings.remote is None:
        session.sparkContext.setLogLevel("ERROR")
    return session


def connect(engine: str, spark: Spark | None = None):
    """An Ibis backend for ``engine`` (``"duckdb"``: a private in-memory database)."""
    import ibis

    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "spark":
        return ibis.pyspark.connect(spark_session(spark))
    raise ConfigError(f"`engine`={engine!r}; use 'duckdb' or 'spark'")


def table(con: Any, data: Any, role: str):
    """Make ``data`` (a Parquet path, a pandas frame or a table name) an Ibis table of ``con``.

    Parameters
    ----------
    con : ibis backend
    data : str, Path or pandas.DataFrame
        A Parquet file or folder, a frame (uploaded to the engine), or the
        name of a table the engine already knows.
    role : str
        What the table is (for error messages and temporary names).
    """
    name = f"seglab_{role}_{uuid.uuid4().hex[:8]}"
    if isinstance(data, pd.DataFrame):
        import ibis

        return ibis.memtable(data)  # uploaded by the engine when the query runs
    if isinstance(data, (str, os.PathLike)):
        text = os.fspath(data)
        if Path(text).is_file() and not text.endswith(".parquet"):
            raise InputDataError(
                f"{role}: {Path(text).name} is not a Parquet file; the engine reads Parquet "
                "(a .parquet file or a folder of them): convert it, or pass a DataFrame or a table"
            )
        if text.endswith(".parquet") or Path(text).is_dir():
            if "://" not in text and not Path(text).exists():
                raise InputDataError(f"{role}: Parquet input {text} not found")
            return con.read_parquet(text, table_name=name)
        if text in con.list_tables():
            return con.table(text)
        raise InputDataError(
            f"{role}: {text!r} is neither a Parquet file or folder nor a table of the "
            f"{con.name} engine; tables there: {', '.join(con.list_tables()) or 'none'}"
        )
    raise InputDataError(
        f"{role} of type {type(data).__name__} cannot go to the engine; pass a Parquet path, "
        "a pandas DataFrame or a table name"
    )


def columns(data: Any) -> list[str]:
    """Column names of a frame or a Parquet file, without reading its rows."""
    if isinstance(data, pd.DataFrame):
        return list(data.columns)
    import pyarrow.dataset as ds

    return list(ds.dataset(str(data), format="parquet").schema.names)
