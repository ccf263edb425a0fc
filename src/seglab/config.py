"""Run configuration: the schema of a config file, loading it, and applying overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seglab.errors import ConfigError

Objective = Literal[
    "retention", "growth", "high_value", "acquisition", "cost_to_serve", "personalisation"
]
Kpi = Literal[
    "revenue_share",
    "churn_rate",
    "retention_rate",
    "response_rate",
    "average_order_value",
    "purchase_frequency",
    "margin",
    "ltv_cac",
    "customer_count",
    "cost_to_serve",
]
ModelName = Literal[
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
]
DescriptorKind = Literal[
    "demographic", "geographic", "technographic", "firmographic", "membership", "acquisition"
]


class _Strict(BaseModel):
    """Base model: unknown keys are errors, so a misspelt setting never passes silently."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Brief(_Strict):
    """The segmentation brief: what the segmentation is for and how it will be judged."""

    objective: Objective = "retention"
    business: Literal["b2c", "b2b"] = "b2c"
    description: str = ""
    kpis: list[Kpi] = Field(default_factory=lambda: ["revenue_share", "churn_rate"])
    min_segment_share: float = Field(0.05, gt=0, lt=0.5)
    max_segments: int = Field(8, ge=2, le=30)
    models: list[ModelName] = Field(default_factory=lambda: ["value_based", "behavioural"])


class Source(_Strict):
    """Where a table comes from: a file, a DuckDB database or a SQLAlchemy URL."""

    path: str | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    format: Literal["auto", "csv", "parquet", "excel", "duckdb", "sql"] = "auto"
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str = "."
    sheet: str | int | None = None

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if not self.path and not self.url:
            raise ValueError("give either `path` (a file) or `url` (a SQLAlchemy database URL)")
        if self.url and not (self.table or self.query):
            raise ValueError("a database `url` needs a `table` or a `query`")
        return self


class TransactionColumns(_Strict):
    """Column roles of a transaction table: role name -> the column name in the user's data."""

    customer_id: str
    timestamp: str
    order_id: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    amount: str | None = None
    category: str | None = None
    product: str | None = None
    channel: str | None = None
    device: str | None = None
    account_id: str | None = None
    contact_id: str | None = None

    @model_validator(mode="after")
    def _value_columns(self) -> TransactionColumns:
        if self.amount is None and (self.quantity is None or self.unit_price is None):
            raise ValueError(
                "map either `amount` or both `quantity` and `unit_price` so that value can be computed"
            )
        return self


class TransactionsSource(Source):
    """The transaction (order line) table and how to read its columns."""

    columns: TransactionColumns
    descriptors: list[str] = Field(default_factory=list)
    timestamp_format: str | None = None
    dayfirst: bool = False


class CustomerColumns(_Strict):
    """Column roles of a customer (or account) table."""

    customer_id: str
    signup_date: str | None = None


class CustomersSource(Source):
    """The customer master table (demographics, firmographics, prospects)."""

    columns: CustomerColumns
    descriptors: dict[DescriptorKind, list[str]] = Field(default_factory=dict)


class SurveySource(Source):
    """Survey answers: one row per respondent, Likert items as columns."""

    id_column: str = "customer_id"
    items: list[str] = Field(default_factory=list)
    item_prefix: str | None = None
    reverse_items: list[str] = Field(default_factory=list)


class CampaignsSource(Source):
    """Campaign or pilot table: who was targeted and who responded."""

    id_column: str = "customer_id"
    treated: str = "treated"
    responded: str = "responded"


class Demo(_Strict):
    """Generate the bundled synthetic demo data into ``data/raw/<name>/`` when it is missing."""

    flavour: Literal["retail", "b2b"] = "retail"
    n_customers: int = Field(20_000, ge=100)
    n_lines: int = Field(400_000, ge=1_000)
    random_state: int = 42


class Data(_Strict):
    """All input tables of a run."""

    demo: Demo | None = None
    transactions: TransactionsSource
    customers: CustomersSource | None = None
    survey: SurveySource | None = None
    campaigns: CampaignsSource | None = None
    truth: Truth | None = None


class Window(_Strict):
    """Analysis window; rows outside it are removed by the `window` cleaning rule."""

    start: str | None = None
    end: str | None = None


class Cleaning(_Strict):
    """Cleaning rules, applied in a fixed, documented order; each can be switched off."""

    missing_values: bool = True
    missing_customer_id: bool = True
    returns: Literal["drop", "net"] = "drop"
    cancellation_prefix: str | None = "C"
    non_positive_price: bool = True
    duplicates: bool = True
    window: Window = Field(default_factory=Window)
    future: bool = True


class Features(_Strict):
    """Customer features, RFM, lifecycle stages and value tiers (notebook 03)."""

    monetary: Literal["net", "gross"] = "net"
    max_categories: int = Field(20, ge=1, le=200)
    rfm_bins: int = Field(5, ge=3, le=5)
    rfm_method: Literal["quantile", "cuts"] = "quantile"
    rfm_cuts: dict[Literal["R", "F", "M"], list[float]] | None = None
    rfm_segments: dict[str, Any] | None = None
    lifecycle_thresholds: dict[str, float] | None = None
    value_method: Literal["tiers", "pareto"] = "tiers"
    value_tiers: dict[str, float] | None = None
    value_basis: Literal["quantile", "amount"] = "quantile"
    abc: tuple[float, float] = (0.8, 0.95)
    forward_horizon_days: int = Field(180, ge=7, le=3650)


class Clustering(_Strict):
    """Clustering: basis variables, algorithm, choice of k, stability (notebook 05)."""

    basis: list[str] = Field(
        default_factory=lambda: [
            "recency_days",
            "frequency",
            "monetary",
            "avg_order_value",
            "share_*",
            "!share_channel_*",
            "!share_device_*",
            "!share_other",
            "!share_missing",
        ]
    )
    categorical: list[str] = Field(default_factory=list)
    descriptors: list[str] = Field(default_factory=list)
    method: Literal["kmeans", "gmm", "ward", "kprototypes", "hdbscan"] = "kmeans"
    k: int | None = Field(None, ge=2, le=30)
    k_min: int = Field(2, ge=2)
    k_max: int = Field(10, ge=3, le=30)
    skew: Literal["auto", "log1p", "yeo-johnson", "none"] = "auto"
    winsorize: tuple[float, float] | None = (0.01, 0.99)
    categorical_weight: float = Field(1.0, gt=0)
    order_by: str = "monetary"
    sample_size: int = Field(20_000, ge=500)
    silhouette_sample: int = Field(10_000, ge=500)
    n_bootstrap: int = Field(20, ge=2, le=500)
    fit_sample_size: int | None = Field(200_000, ge=1_000)


class Profiling(_Strict):
    """Segment profiles, names and personas (notebook 06)."""

    names: dict[int, str] = Field(default_factory=dict)
    top_n: int = Field(5, ge=1, le=30)


class Evaluation(_Strict):
    """Evaluation against the brief, likelihood to buy, exports (notebook 07)."""

    horizon_days: int = Field(181, ge=14, le=730)
    n_boot: int = Field(300, ge=50, le=5000)
    likelihood_features: list[str] = Field(
        default_factory=lambda: [
            "recency_days",
            "frequency",
            "monetary",
            "avg_order_value",
            "tenure_days",
            "mean_interpurchase_days",
        ]
    )
    rule_depth: int = Field(3, ge=1, le=6)
    rule_fit_sample_size: int | None = Field(200_000, ge=1_000)
    rule_features: list[str] = Field(
        default_factory=lambda: [
            "recency_days",
            "frequency",
            "monetary",
            "avg_order_value",
            "share_*",
            "!share_channel_*",
            "!share_other",
            "!share_missing",
        ]
    )


class Truth(Source):
    """Planted segments of synthetic data, for teaching: compared with the result, never used to fit."""

    id_column: str = "customer_id"
    segment_column: str = "segment"


class Factors(_Strict):
    """Factor analysis of survey items (notebook 04)."""

    n_factors: int | None = Field(
        None, ge=1, description="None: chosen by parallel analysis, MAP as check"
    )
    method: Literal["minres", "ml", "principal"] = "minres"
    rotation: Literal["varimax", "promax", "oblimin", "none"] = "varimax"
    scores: Literal["regression", "bartlett"] = "regression"
    loading_threshold: float = Field(0.3, gt=0, lt=1)
    scale: tuple[float, float] | None = (1, 5)
    max_missing_share: float = Field(0.2, ge=0, le=1)
    max_item_missing_share: float = Field(0.5, ge=0, le=1)
    n_iter: int = Field(
        100, ge=10, le=5000, description="parallel analysis: maximum number of random data sets"
    )
    stop_early: bool = Field(
        True, description="stop drawing once the suggestion is settled (False: all n_iter)"
    )
    names: dict[str, str] = Field(default_factory=dict)


class Spark(_Strict):
    """Where the Spark engine runs (``engine: spark``)."""

    master: str = Field("local[*]", description="local[*], spark://host:7077, yarn, k8s://...")
    app_name: str = "seglab"
    conf: dict[str, str] = Field(default_factory=dict, description="extra spark.* settings")
    remote: str | None = Field(
        None, description="Spark Connect URL (sc://host:15002) instead of master"
    )


class Report(_Strict):
    """Report settings."""

    title: str | None = None
    sample_rows: int = Field(200_000, ge=1_000)
    top_n: int = Field(10, ge=1, le=100)


class Config(_Strict):
    """A whole run configuration (one YAML file per run)."""

    name: str
    description: str = ""
    random_state: int = 42
    reference_date: str | None = None
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark: Spark = Field(default_factory=Spark)
    brief: Brief = Field(default_factory=Brief)
    data: Data
    cleaning: Cleaning = Field(default_factory=Cleaning)
    features: Features = Field(default_factory=Features)
    factors: Factors = Field(default_factory=Factors)
    clustering: Clustering = Field(default_factory=Clustering)
    profiling: Profiling = Field(default_factory=Profiling)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    report: Report = Field(default_factory=Report)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not v or any(c in v for c in "/\\ ") or v.startswith("."):
            raise ValueError("use a short name without spaces or slashes, e.g. `demo-retail`")
        return v


def _format_errors(err: ValidationError, origin: str) -> str:
    lines = [f"{origin} is not a valid seglab configuration:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            parent = _model_at(Config, e["loc"][:-1])
            allowed = ", ".join(sorted(parent.model_fields)) if parent else "see configs/"
            msg = f"unknown setting; allowed here: {allowed}"
        elif e["type"] == "literal_error":
            msg = f"{msg} (got {e.get('input')!r})"
        lines.append(f"  - `{loc}`: {msg}")
    return "\n".join(lines)


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        sub = _unwrap_model(field.annotation)
        if sub is None:
            return None
        model = sub
    return model


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def parse_config(raw: dict, origin: str = "configuration") -> Config:
    """Validate a configuration mapping.

    Parameters
    ----------
    raw : dict
        The configuration as loaded from YAML.
    origin : str
        Where it came from, used in error messages.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        Listing every invalid or unknown setting with the allowed names.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin} must be a YAML mapping (key: value), got {type(raw).__name__}")
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, origin)) from None


def read_config_dict(path: str | Path) -> dict:
    """Read a YAML config file into a plain dict, with a clear error when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; the bundled ones are in configs/")
    with path.open(encoding="utf-8") as fh:
        try:
            raw = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    return raw


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Load and validate a config file, applying dotted-key overrides first.

    Parameters
    ----------
    path : str or Path
        YAML file.
    overrides : dict, optional
        ``{"cleaning.returns": "net"}``-style overrides.

    Returns
    -------
    Config
    """
    raw = read_config_dict(path)
    if overrides:
        raw = apply_overrides(raw, overrides)
    return parse_config(raw, origin=str(path))


def apply_overrides(raw: dict, overrides: dict[str, Any]) -> dict:
    """Return a copy of ``raw`` with dotted keys set, checking each key against the schema.

    Raises
    ------
    ConfigError
        When a key does not name a setting of the schema (the message lists the allowed names).
    """
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        parts = key.split(".")
        check_config_key(key)
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return out


def config_keys(model: type[BaseModel] = Config, prefix: str = "") -> list[str]:
    """All dotted setting names of the schema (for messages and validation)."""
    keys = []
    for name, field in model.model_fields.items():
        full = f"{prefix}{name}"
        keys.append(full)
        sub = _unwrap_model(field.annotation)
        if sub is not None:
            keys.extend(config_keys(sub, prefix=f"{full}."))
    return keys


def check_config_key(key: str) -> None:
    """Raise ConfigError unless ``key`` is a dotted setting name of the schema."""
    parts = key.split(".")
    model: type[BaseModel] | None = Config
    for i, part in enumerate(parts):
        if model is None:
            break
        if part not in model.model_fields:
            where = ".".join(parts[:i]) or "the top level"
            allowed = ", ".join(sorted(model.model_fields))
            raise ConfigError(
                f"unknown setting `{key}`: `{part}` is not a setting of {where}; allowed: {allowed}"
            )
        field = model.model_fields[part]
        model = _unwrap_model(field.annotation)
        # dict-valued settings (e.g. customers.descriptors) accept any sub-key
        if model is None and i < len(parts) - 1 and "dict" not in str(field.annotation):
            raise ConfigError(
                f"unknown setting `{key}`: `{part}` takes a single value, not sub-keys"
            )


def dump_config(config: Config) -> str:
    """The resolved configuration as YAML text (written into each run's report folder)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
