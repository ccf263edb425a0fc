"""Deterministic synthetic demo data (B2C retail and B2B) with planted segments and dirty rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from seglab.errors import ConfigError, InputDataError
from seglab.io import atomic_path, to_json_text

__all__ = [
    "B2B_SEGMENTS",
    "DIRTY_RATES",
    "INCOME_BANDS",
    "RETAIL_SEGMENTS",
    "SURVEY_FACTORS",
    "SURVEY_ITEMS",
    "DemoData",
    "SegmentSpec",
    "load_demo",
    "make_b2b",
    "make_retail",
    "read_demo",
    "write_demo",
]

_DAY_NS = 86_400 * 10**9
_SEC_NS = 10**9
_MONTH_DAYS = 30.44
_RATE_SHAPE = 6.0
_LAPSE_START_SHARE = 0.27  # lapsing buyers start in the first 27 % of the window  # gamma shape of each buyer's order-rate multiplier (CV = 1/sqrt(shape))

#: Planted data-quality problems, as shares of the requested ``n_lines`` (both flavours).
DIRTY_RATES: dict[str, float] = {
    "missing_customer_id": 0.02,  # whole orders without a customer id (guest checkouts)
    "zero_unit_price": 0.003,  # free items / pricing glitches
    "duplicate_lines": 0.01,  # exact copies of a line, identical in every column
    "return_lines": 0.02,  # negative quantity, order id prefixed "C", refer to an earlier purchase
}


# --------------------------------------------------------------------------------------
# Planted structure: B2C retail
# --------------------------------------------------------------------------------------

_RETAIL_CATEGORIES = (
    # name, product-id code, number of products, median price, log-sd of price, extra quantity
    ("Grocery & Household", "GRO", 150, 6.0, 0.55, 1.0),
    ("Beauty & Health", "BEA", 100, 14.0, 0.55, 0.3),
    ("Outlet", "OUT", 120, 12.0, 0.70, 0.5),
    ("Fashion", "FAS", 150, 32.0, 0.55, 0.2),
    ("Home & Living", "HOM", 120, 55.0, 0.70, 0.15),
    ("Electronics", "ELE", 80, 80.0, 0.70, 0.05),
)


@dataclass(frozen=True)
class SegmentSpec:
    """Behavioural parameters of one planted segment (both flavours use this shape).

    Rates are per month of activity before the global scale that makes the line count
    hit ``n_lines``; ``category_mix`` is the expected share of spend per category (in
    the order of the flavour's category list).
    """

    name: str
    share: float
    orders_per_month: float  # before the global scale that hits ``n_lines``
    lines_per_order: float
    price_beta: tuple[float, float]  # Beta(a, b) over products sorted by price
    discount_prob: float
    qty_mult: float
    category_mix: tuple[float, ...]  # expected share of spend per category
    join_in_window: float  # share of the segment that joins during the window
    join_days: float  # ... within this many days of the window start
    churn_prob: float = 0.0  # share that stops buying part-way (realistic overlap)
    lapse: bool = False  # buys only early in the window, then stops
    lapse_span: float = 45.0  # mean length (days) of a lapsing buyer's active spell
    lapse_max: int = 120  # ... capped at this many days
    growth: bool = False  # order rate rises through the window
    survey_prob: float = 0.0
    factor_means: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    response: tuple[float, float] = (0.02, 0.02)  # (base rate, uplift when treated)


RETAIL_SEGMENTS: tuple[SegmentSpec, ...] = (
    SegmentSpec(
        name="VIP loyalists",
        share=0.08,
        orders_per_month=1.4,
        lines_per_order=3.2,
        price_beta=(2.2, 1.6),
        discount_prob=0.08,
        qty_mult=1.2,
        category_mix=(0.12, 0.16, 0.02, 0.32, 0.24, 0.14),
        join_in_window=0.10,
        join_days=180,
        survey_prob=0.50,
        factor_means=(-0.4, 0.8, 0.3, 0.3),
        response=(0.12, 0.02),
    ),
    SegmentSpec(
        name="Regular shoppers",
        share=0.30,
        orders_per_month=0.28,
        lines_per_order=2.5,
        price_beta=(1.5, 1.5),
        discount_prob=0.15,
        qty_mult=1.0,
        category_mix=(0.50, 0.32, 0.02, 0.10, 0.04, 0.02),
        join_in_window=0.30,
        join_days=270,
        churn_prob=0.04,
        survey_prob=0.32,
        factor_means=(0.0, 0.0, 0.0, 0.0),
        response=(0.05, 0.06),
    ),
    SegmentSpec(
        name="Bargain hunters",
        share=0.22,
        orders_per_month=0.75,
        lines_per_order=1.5,
        price_beta=(0.8, 2.6),
        discount_prob=0.45,
        qty_mult=0.8,
        category_mix=(0.30, 0.06, 0.60, 0.02, 0.01, 0.01),
        join_in_window=0.30,
        join_days=270,
        churn_prob=0.04,
        survey_prob=0.30,
        factor_means=(0.9, -0.4, 0.2, -0.2),
        response=(0.04, 0.10),
    ),
    SegmentSpec(
        name="Occasional big spenders",
        share=0.12,
        orders_per_month=0.06,
        lines_per_order=6.0,
        price_beta=(3.0, 1.2),
        discount_prob=0.05,
        qty_mult=1.4,
        category_mix=(0.01, 0.02, 0.01, 0.06, 0.40, 0.50),
        join_in_window=0.40,
        join_days=700,
        survey_prob=0.25,
        factor_means=(-0.5, 0.6, -0.1, 0.1),
        response=(0.03, 0.01),
    ),
    SegmentSpec(
        name="Lapsed one-timers",
        share=0.18,
        orders_per_month=0.0,
        lines_per_order=3.0,
        price_beta=(1.5, 1.8),
        discount_prob=0.20,
        qty_mult=0.8,
        category_mix=(0.01, 0.05, 0.01, 0.90, 0.02, 0.01),
        join_in_window=0.50,
        join_days=240,
        lapse=True,
        survey_prob=0.20,
        factor_means=(0.2, -0.2, -0.3, -0.1),
        response=(0.01, 0.03),
    ),
)

_PROSPECT = "Prospect"
_RETAIL_PROSPECT_SHARE = 0.10
_PROSPECT_RESPONSE = (0.01, 0.02)

_REGIONS = {
    "London & South East": (("London", "Brighton", "Reading", "Oxford", "Southampton"), 0.35),
    "Midlands": (("Birmingham", "Nottingham", "Leicester", "Coventry"), 0.18),
    "North": (("Manchester", "Leeds", "Liverpool", "Newcastle", "Sheffield"), 0.25),
    "South West & Wales": (("Bristol", "Cardiff", "Exeter", "Plymouth"), 0.12),
    "Scotland": (("Glasgow", "Edinburgh", "Aberdeen"), 0.10),
}

INCOME_BANDS = ("<25k", "25-50k", "50-75k", "75-100k", "100k+")
#: Bump when a change to the generator changes its output for the same settings, so demo files
#: written by an older generator are recognised as stale (see :func:`seglab.demo.ensure_demo`).
GENERATOR_VERSION = 1

_GENDERS = ("female", "male", "other")
_CHANNELS_ACQ = ("organic search", "paid social", "referral", "store", "email")
_DEVICES = ("mobile", "desktop", "tablet", "store")
_RETAIL_CHANNELS = ("online", "store", "app")

# Mild (not deterministic) links between segment and descriptors; rows follow
# RETAIL_SEGMENTS and then the prospects.
_RETAIL_PROFILE = {
    "age_mean": (46, 42, 34, 48, 37, 35),
    "female": (0.58, 0.53, 0.52, 0.45, 0.50, 0.50),
    "income": (
        (0.05, 0.20, 0.30, 0.25, 0.20),
        (0.12, 0.30, 0.30, 0.18, 0.10),
        (0.30, 0.35, 0.20, 0.10, 0.05),
        (0.05, 0.15, 0.25, 0.25, 0.30),
        (0.20, 0.30, 0.25, 0.15, 0.10),
        (0.20, 0.30, 0.25, 0.15, 0.10),
    ),
    "acquisition": (
        (0.20, 0.10, 0.25, 0.35, 0.10),
        (0.25, 0.15, 0.15, 0.35, 0.10),
        (0.20, 0.40, 0.15, 0.10, 0.15),
        (0.35, 0.15, 0.20, 0.20, 0.10),
        (0.20, 0.45, 0.10, 0.10, 0.15),
        (0.30, 0.40, 0.10, 0.05, 0.15),
    ),
    "device": (
        (0.35, 0.30, 0.10, 0.25),
        (0.30, 0.25, 0.10, 0.35),
        (0.55, 0.20, 0.10, 0.15),
        (0.25, 0.45, 0.15, 0.15),
        (0.45, 0.25, 0.10, 0.20),
        (0.50, 0.30, 0.10, 0.10),
    ),
    "member": (0.70, 0.30, 0.25, 0.20, 0.05, 0.05),
    "london": (0.35, 0.33, 0.30, 0.45, 0.35, 0.35),
}

# Order channel given the preferred device (rows: mobile, desktop, tablet, store).
_DEVICE_CHANNEL = np.array(
    [
        [0.25, 0.15, 0.60],
        [0.75, 0.20, 0.05],
        [0.50, 0.20, 0.30],
        [0.12, 0.83, 0.05],
    ]
)

# --------------------------------------------------------------------------------------
# Planted structure: survey (B2C)
# --------------------------------------------------------------------------------------

SURVEY_FACTORS = ("price_sensitivity", "quality_brand", "convenience_digital", "sustainability")

#: Likert items: name, planted factor, loading on it, reverse-keyed, {other factor: cross-loading}.
SURVEY_ITEMS: tuple[tuple[str, str, float, bool, dict[str, float]], ...] = (
    ("q01_price_matters", "price_sensitivity", 0.75, False, {}),
    ("q02_compare_prices", "price_sensitivity", 0.70, False, {"convenience_digital": 0.10}),
    ("q03_wait_for_sales", "price_sensitivity", 0.65, False, {}),
    ("q04_pay_more_for_quality", "price_sensitivity", 0.55, True, {"quality_brand": 0.15}),
    ("q05_use_coupons", "price_sensitivity", 0.60, False, {}),
    ("q06_brand_loyal", "quality_brand", 0.70, False, {}),
    ("q07_quality_over_price", "quality_brand", 0.75, False, {"price_sensitivity": -0.10}),
    ("q08_premium_brands", "quality_brand", 0.65, False, {}),
    ("q09_buy_cheapest_brand", "quality_brand", 0.55, True, {"price_sensitivity": 0.15}),
    ("q10_product_expertise", "quality_brand", 0.50, False, {"sustainability": 0.10}),
    ("q11_shop_on_phone", "convenience_digital", 0.80, False, {}),
    ("q12_fast_delivery", "convenience_digital", 0.60, False, {}),
    ("q13_prefer_store_visit", "convenience_digital", 0.65, True, {}),
    ("q14_use_app_features", "convenience_digital", 0.70, False, {"quality_brand": 0.10}),
    ("q15_eco_friendly", "sustainability", 0.75, False, {}),
    ("q16_local_products", "sustainability", 0.60, False, {}),
    ("q17_ethical_brands", "sustainability", 0.70, False, {"quality_brand": 0.10}),
    ("q18_sustainability_not_my_concern", "sustainability", 0.55, True, {}),
)
_SURVEY_CELL_MISSING = 0.02
_SURVEY_HEAVY_MISSING = 0.015  # share of respondents who skipped most items
_FACTOR_DEVICE_SHIFT = {"mobile": 0.3, "desktop": 0.0, "tablet": 0.1, "store": -0.4}

# --------------------------------------------------------------------------------------
# Planted structure: B2B
# --------------------------------------------------------------------------------------

_B2B_CATEGORIES = (
    ("Office supplies", "OFF", 150, 15.0, 0.6, 6.0),
    ("Packaging", "PAC", 80, 25.0, 0.6, 10.0),
    ("Safety equipment", "SAF", 80, 60.0, 0.6, 3.0),
    ("Furniture", "FUR", 60, 300.0, 0.6, 1.0),
    ("IT hardware", "ITH", 80, 600.0, 0.7, 1.5),
    ("Software licences", "SWL", 40, 250.0, 0.5, 4.0),
    ("Maintenance services", "MNT", 30, 900.0, 0.5, 0.2),
)

B2B_SEGMENTS: tuple[SegmentSpec, ...] = (
    SegmentSpec(
        name="Strategic key accounts",
        share=0.10,
        orders_per_month=2.0,
        lines_per_order=6.0,
        price_beta=(2.2, 1.5),
        discount_prob=0.10,
        qty_mult=3.0,
        category_mix=(0.15, 0.15, 0.10, 0.10, 0.25, 0.20, 0.05),
        join_in_window=0.0,
        join_days=0,
        response=(0.20, 0.05),
    ),
    SegmentSpec(
        name="Growing mid-market",
        share=0.28,
        orders_per_month=0.8,
        lines_per_order=4.0,
        price_beta=(1.6, 1.6),
        discount_prob=0.10,
        qty_mult=1.5,
        category_mix=(0.20, 0.15, 0.15, 0.15, 0.15, 0.12, 0.08),
        join_in_window=0.30,
        join_days=270,
        growth=True,
        response=(0.08, 0.08),
    ),
    SegmentSpec(
        name="Price-driven small buyers",
        share=0.33,
        orders_per_month=0.9,
        lines_per_order=1.8,
        price_beta=(0.8, 2.5),
        discount_prob=0.35,
        qty_mult=0.5,
        category_mix=(0.45, 0.25, 0.15, 0.05, 0.05, 0.03, 0.02),
        join_in_window=0.30,
        join_days=270,
        churn_prob=0.05,
        response=(0.05, 0.03),
    ),
    SegmentSpec(
        name="Dormant accounts",
        share=0.24,
        orders_per_month=0.6,
        lines_per_order=3.0,
        price_beta=(1.5, 1.5),
        discount_prob=0.15,
        qty_mult=1.0,
        category_mix=(0.25, 0.20, 0.15, 0.15, 0.10, 0.10, 0.05),
        join_in_window=0.0,
        join_days=0,
        lapse=True,
        lapse_span=200.0,
        lapse_max=420,
        response=(0.02, 0.06),
    ),
)
_B2B_PROSPECT_SHARE = 0.05

_INDUSTRIES = (
    "Manufacturing",
    "Retail & wholesale",
    "Healthcare",
    "Financial services",
    "Construction",
    "Professional services",
    "Public sector",
    "Logistics",
)
_TECHNOLOGIES = (
    "SAP ERP",
    "Oracle ERP",
    "Microsoft Dynamics",
    "Cloud-native SaaS",
    "On-prem legacy",
)
_B2B_CHANNELS = ("web portal", "sales rep", "EDI")
_ROLES = ("decision maker", "manager", "user")
# Rows follow B2B_SEGMENTS and then the prospects.
_B2B_PROFILE = {
    "employees_median": (2500, 250, 20, 80, 40),
    "technology": (
        (0.40, 0.25, 0.15, 0.15, 0.05),
        (0.15, 0.10, 0.30, 0.35, 0.10),
        (0.03, 0.02, 0.20, 0.45, 0.30),
        (0.10, 0.10, 0.25, 0.25, 0.30),
        (0.05, 0.05, 0.25, 0.45, 0.20),
    ),
    "channel": (
        (0.15, 0.35, 0.50),
        (0.45, 0.40, 0.15),
        (0.85, 0.10, 0.05),
        (0.50, 0.40, 0.10),
        (0.60, 0.30, 0.10),
    ),
}


# --------------------------------------------------------------------------------------
# Container
# --------------------------------------------------------------------------------------


@dataclass
class DemoData:
    """Synthetic demo tables with their planted ground truth.

    Attributes
    ----------
    customers : pandas.DataFrame
        B2C: one row per customer (``customer_id``); B2B: one row per account
        (``account_id``). Includes prospects who never bought.
    transactions : pandas.DataFrame
        Order lines, including the planted dirty rows listed in ``meta["dirty"]``.
    survey : pandas.DataFrame
        Respondents x Likert items (B2C); an empty frame with only the id column (B2B).
    campaigns : pandas.DataFrame
        One row per targeted customer and campaign: ``treated`` (randomised) and
        ``responded``.
    truth : pandas.DataFrame
        Planted segment per customer or account. Ground truth for tests and teaching;
        analysis code must never read it.
    contacts : pandas.DataFrame or None
        B2B only: people at each account and their role.
    meta : dict
        Generator parameters, planted segments, dirty-row rates and counts, and (B2C)
        the survey's planted factor structure. JSON-serialisable.
    """

    customers: pd.DataFrame
    transactions: pd.DataFrame
    survey: pd.DataFrame
    campaigns: pd.DataFrame
    truth: pd.DataFrame
    contacts: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def id_column(self) -> str:
        """Name of the customer key: ``customer_id`` (retail) or ``account_id`` (B2B)."""
        return "account_id" if self.meta.get("flavour") == "b2b" else "customer_id"

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables by name (``contacts`` only when present), as written by :func:`write_demo`."""
        out = {
            "transactions": self.transactions,
            "customers": self.customers,
            "survey": self.survey,
            "campaigns": self.campaigns,
        }
        if self.contacts is not None:
            out["contacts"] = self.contacts
        out["truth"] = self.truth
        return out


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Identifier strings such as ``C000123`` (object array)."""
    text = np.char.zfill(np.asarray(numbers).astype(str), width)
    return np.char.add(prefix, text).astype(object)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one category per element, using the probability row ``probs[rows]``."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(rows))
    return (u[:, None] > cum[rows]).sum(axis=1).clip(0, probs.shape[1] - 1)


def _exact_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Largest-remainder integer counts for ``shares`` summing to ``n``."""
    raw = np.asarray(shares, dtype=float) / np.sum(shares) * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return counts


def _window(
    start: str | pd.Timestamp, end: str | pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp]:
    start_ts = pd.Timestamp(start).normalize()
    end_ts = pd.Timestamp(end).normalize()
    if end_ts - start_ts < pd.Timedelta(days=180):
        raise ConfigError(
            f"demo window {start_ts:%Y-%m-%d} to {end_ts:%Y-%m-%d} is shorter than 180 days; "
            "pass an `end` at least six months after `start`"
        )
    return start_ts, end_ts


def _check_sizes(n_entities: int, n_lines: int, what: str) -> None:
    if n_entities < 50:
        raise ConfigError(
            f"{what}={n_entities} is too small for planted segments; pass at least 50"
        )
    if n_lines < 5 * n_entities:
        raise ConfigError(
            f"n_lines={n_lines} is too few for {what}={n_entities}; pass n_lines of at least "
            f"{5 * n_entities} (defaults use 20 lines per customer, 60 per account)"
        )


def _day_weights(days: pd.DatetimeIndex, kind: Literal["retail", "b2b"]) -> np.ndarray:
    """Relative order volume per calendar day (season, weekday, trend, events)."""
    month = days.month.to_numpy()
    dow = days.day_of_week.to_numpy()
    dom = days.day.to_numpy()
    t = np.arange(len(days)) / 365.25
    if kind == "retail":
        month_f = np.array([1.05, 0.85, 0.90, 0.95, 0.95, 0.95, 1.0, 0.95, 0.90, 1.0, 1.45, 1.70])
        dow_f = np.array([0.90, 0.85, 0.90, 0.95, 1.05, 1.25, 1.10])
        w = month_f[month - 1] * dow_f[dow] * (1.0 + 0.06 * t)
        black_friday = (month == 11) & (dow == 4) & (dom >= 23) & (dom <= 29)
        w[black_friday] *= 2.5
        w[(month == 12) & (dom >= 25) & (dom <= 26)] *= 0.3
    else:
        month_f = np.array([0.95, 1.0, 1.10, 1.0, 1.0, 1.10, 0.90, 0.75, 1.05, 1.05, 1.10, 0.85])
        dow_f = np.array([1.10, 1.10, 1.05, 1.05, 0.95, 0.06, 0.03])
        w = month_f[month - 1] * dow_f[dow] * (1.0 + 0.04 * t)
        quarter_end = np.isin(month, (3, 6, 9, 12)) & (dom >= 18)
        w[quarter_end] *= 1.35
        w[(month == 12) & (dom >= 23)] *= 0.3
    return w


def _hour_cdf(profiles: list[np.ndarray]) -> np.ndarray:
    """Cumulative hour-of-day distribution per order channel (rows follow the channels)."""
    return np.array([np.cumsum(p / p.sum()) for p in profiles])


def _retail_hour_profiles() -> np.ndarray:
    h = np.arange(24)
    online = (
        0.15 + np.exp(-0.5 * ((h - 20.5) / 2.2) ** 2) + 0.5 * np.exp(-0.5 * ((h - 12.5) / 2) ** 2)
    )
    store = np.where((h >= 9) & (h <= 20), 0.3 + np.exp(-0.5 * ((h - 14) / 3) ** 2), 0.0)
    app = 0.1 + 0.6 * np.exp(-0.5 * ((h - 8) / 1.2) ** 2) + np.exp(-0.5 * ((h - 21) / 2) ** 2)
    return _hour_cdf([online, store, app])


def _b2b_hour_profiles() -> np.ndarray:
    h = np.arange(24)
    office = np.where((h >= 8) & (h <= 18), 1.0, 0.03) * (1.0 - 0.3 * (h == 12))
    edi = 0.4 + np.where((h >= 1) & (h <= 4), 2.0, 0.0) + np.where((h >= 8) & (h <= 18), 0.6, 0.0)
    return _hour_cdf([office, office, edi])


def _catalogue(
    rng: np.random.Generator, categories: tuple[tuple[str, str, int, float, float, float], ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Products per category, sorted by price within category.

    Returns offsets (start of each category in the product arrays), product ids and prices.
    """
    ids: list[np.ndarray] = []
    prices: list[np.ndarray] = []
    for _name, code, n_prod, median, sigma, _qty in categories:
        p = np.sort(median * np.exp(sigma * rng.standard_normal(n_prod)))
        # psychological price points: x.49 / x.99 for small, whole numbers for large items
        p = np.where(
            p < 20, np.floor(p) + np.where(rng.random(n_prod) < 0.5, 0.49, 0.99), np.round(p)
        )
        ids.append(_ids(code, np.arange(1, n_prod + 1), 4))
        prices.append(np.maximum(p, 0.49))
    sizes = np.array([c[2] for c in categories])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return offsets, np.concatenate(ids), np.concatenate(prices)


# --------------------------------------------------------------------------------------
# The order-line engine shared by both flavours
# --------------------------------------------------------------------------------------


def _plan_activity(
    rng: np.random.Generator,
    seg: np.ndarray,
    segments: tuple[SegmentSpec, ...],
    n_days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Active window (first and last day index), join flag and rate multiplier per buyer."""
    n = len(seg)
    a = np.zeros(n, dtype=np.int64)
    b = np.full(n, n_days - 1, dtype=np.int64)
    joined = np.zeros(n, dtype=bool)
    for k, s in enumerate(segments):
        idx = np.flatnonzero(seg == k)
        m = len(idx)
        if s.lapse:
            # first purchase in the first ~8 months of a 30-month window, then silence
            first = rng.integers(0, max(int(_LAPSE_START_SHARE * n_days), 2), m)
            span = np.minimum(1 + rng.exponential(s.lapse_span, m), s.lapse_max).astype(np.int64)
            a[idx] = first
            b[idx] = np.minimum(first + span, n_days - 1)
            joined[idx] = rng.random(m) < s.join_in_window
            continue
        join = rng.random(m) < s.join_in_window
        join_day = rng.integers(0, max(min(int(s.join_days), n_days - 90), 2), m)
        a[idx] = np.where(join, join_day, 0)
        joined[idx] = join
        churn = rng.random(m) < s.churn_prob
        stop = a[idx] + (rng.uniform(0.3, 0.85, m) * (n_days - a[idx])).astype(np.int64)
        b[idx] = np.where(churn, stop, n_days - 1)
    mult = rng.gamma(_RATE_SHAPE, 1.0 / _RATE_SHAPE, n)
    return a, b, joined, mult


def _simulate_lines(
    rng: np.random.Generator,
    *,
    seg: np.ndarray,
    segments: tuple[SegmentSpec, ...],
    categories: tuple[tuple[str, str, int, float, float, float], ...],
    a: np.ndarray,
    b: np.ndarray,
    rate_mult: np.ndarray,
    channel_probs: np.ndarray,
    day_weights: np.ndarray,
    hour_cdf: np.ndarray,
    start_ns: int,
    target_lines: int,
    mix_spread: float,
) -> tuple[dict[str, np.ndarray], np.ndarray, float]:
    """Simulate clean order lines for buyers ``0..len(seg)-1``.

    Returns the line columns (``buyer``, ``order``, ``ts_ns``, ``category``, ``product``,
    ``quantity``, ``unit_price``, ``channel``), the product ids (indexed by ``product``)
    and the global rate scale used.
    """
    n = len(seg)
    n_days = len(day_weights)
    seg_rate = np.array([s.orders_per_month for s in segments])
    seg_lines = np.array([s.lines_per_order for s in segments])
    months = (b - a + 1) / _MONTH_DAYS
    lam = seg_rate[seg] * months * rate_mult
    one_timer = (seg_rate == 0)[seg]  # one order, a second one with probability 0.35
    base = np.where(one_timer, 1.35, 1.0)
    lines_mult = rng.gamma(6.0, 1 / 6.0, n)
    lines_mean = np.maximum(seg_lines[seg] * lines_mult, 1.0)
    # Global scale on the Poisson part so that the expected line count hits the target
    # (about 1.5 % of lines are merged later as same-product repeats within an order).
    fixed = float(np.sum(base * lines_mean))
    scalable = float(np.sum(lam * lines_mean))
    scale = max((target_lines * 1.015 - fixed) / max(scalable, 1e-9), 0.05)

    lapse_second = rng.random(n) < 0.35
    extra = np.where(one_timer, lapse_second.astype(np.int64), rng.poisson(lam * scale))
    n_orders = 1 + extra
    buyer = np.repeat(np.arange(n), n_orders)
    n_ord = len(buyer)

    # order day: inverse CDF of the day weights restricted to each buyer's active window
    cum = np.concatenate([[0.0], np.cumsum(day_weights)])
    lo = cum[a[buyer]]
    hi = cum[b[buyer] + 1]
    # habitual buyers are regular: order j of n falls in the j-th slice of the buyer's
    # window (in seasonal-weight space), at a random point of that slice
    first_order = np.concatenate([[0], np.cumsum(n_orders)[:-1]])
    j = np.arange(n_ord) - first_order[buyer]
    v = (j + rng.random(n_ord)) / n_orders[buyer]
    growth = np.array([s.growth for s in segments])[seg[buyer]]
    v = np.where(growth, np.sqrt(v), v)
    day = np.searchsorted(cum, lo + v * (hi - lo), side="right") - 1
    day = np.clip(day, a[buyer], b[buyer]).clip(0, n_days - 1)

    chan = _choice_rows(rng, channel_probs, buyer)
    hour = (rng.random(n_ord)[:, None] > hour_cdf[chan]).sum(axis=1).clip(0, 23)
    secs = hour * 3600 + rng.integers(0, 3600, n_ord)
    ts_ns = start_ns + day.astype(np.int64) * _DAY_NS + secs.astype(np.int64) * _SEC_NS

    # lines per order
    k_lines = 1 + rng.poisson(np.maximum(lines_mean[buyer] - 1.0, 0.0))
    order = np.repeat(np.arange(n_ord), k_lines)
    lb = buyer[order]
    ls = seg[lb]

    # category from each buyer's own taste: the segment's spend mix with multiplicative
    # log-normal noise (small categories stay small, unlike a Dirichlet with tiny parameters)
    mix = np.array([s.category_mix for s in segments])
    pref = mix[seg] * np.exp(mix_spread * rng.standard_normal(mix[seg].shape))
    # spend shares -> line probabilities: divide by the typical value of a line
    med_price = np.array([c[3] for c in categories])
    qty_cat = np.array([c[5] for c in categories])
    qty_seg = np.array([s.qty_mult for s in segments])
    line_value = med_price[None, :] * (1.0 + qty_cat[None, :] * qty_seg[:, None])
    pref /= line_value[seg]
    pref /= pref.sum(axis=1, keepdims=True)
    cat = _choice_rows(rng, pref, lb)

    offsets, product_ids, prices = _catalogue(rng, categories)
    sizes = np.diff(offsets)
    pa = np.array([s.price_beta[0] for s in segments])[ls]
    pb = np.array([s.price_beta[1] for s in segments])[ls]
    rank = np.minimum((rng.beta(pa, pb) * sizes[cat]).astype(np.int64), sizes[cat] - 1)
    product = offsets[cat] + rank

    quantity = 1 + rng.poisson(qty_cat[cat] * qty_seg[ls])
    disc_p = np.array([s.discount_prob for s in segments])[ls]
    discount = np.where(
        rng.random(len(order)) < disc_p, rng.choice([0.2, 0.3, 0.5], len(order)), 0.0
    )
    unit_price = np.round(prices[product] * (1.0 - discount), 2)

    # one line per product within an order (repeats merged into the quantity)
    key = order.astype(np.int64) * (len(prices) + 1) + product
    _uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    quantity = np.bincount(inverse, weights=quantity).astype(np.int64)
    keep = np.sort(first)
    # np.unique sorts by key = (order, product); reorder to the original line order
    pos = np.argsort(first, kind="stable")
    quantity = quantity[pos]
    lines = {
        "buyer": lb[keep],
        "order": order[keep],
        "ts_ns": ts_ns[order[keep]],
        "category": cat[keep],
        "product": product[keep],
        "quantity": quantity,
        "unit_price": unit_price[keep],
        "channel": chan[order[keep]],
    }
    return lines, product_ids, scale


def _plant_dirt(
    rng: np.random.Generator,
    lines: dict[str, np.ndarray],
    *,
    n_lines: int,
    end_ns: int,
    n_future: int,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Add returns, guest orders, zero prices, future timestamps and duplicates.

    Works on integer-coded columns; ``buyer == -1`` marks a missing customer id. Adds
    ``is_return`` and ``order_no`` (chronological order number).
    """
    n_sale = len(lines["order"])
    n_orders = int(lines["order"].max()) + 1

    # 1. returns/cancellations: earlier purchase lines bought back, grouped per original order
    n_ret = round(DIRTY_RATES["return_lines"] * n_lines)
    eligible = np.flatnonzero(lines["ts_ns"] < end_ns - 3 * _DAY_NS)
    picked = np.sort(rng.choice(eligible, size=min(n_ret, len(eligible)), replace=False))
    groups, g_inv = np.unique(lines["order"][picked], return_inverse=True)
    delay = np.round((1.0 + rng.exponential(10.0, len(groups))) * 86_400) * _SEC_NS
    orig_ts = lines["ts_ns"][picked]
    ret_ts = orig_ts + delay[g_inv].astype(np.int64)
    room = end_ns - orig_ts
    ret_ts = np.where(ret_ts > end_ns, orig_ts + room // (2 * _SEC_NS) * _SEC_NS, ret_ts)
    ret_qty = -(1 + (rng.random(len(picked)) * lines["quantity"][picked]).astype(np.int64))
    ret = {k: v[picked].copy() for k, v in lines.items()}
    ret["order"] = n_orders + g_inv
    ret["ts_ns"] = ret_ts
    ret["quantity"] = np.minimum(ret_qty, -1)
    out = {k: np.concatenate([lines[k], ret[k]]) for k in lines}
    out["is_return"] = np.concatenate([np.zeros(n_sale, bool), np.ones(len(picked), bool)])

    # chronological order numbers (by each order's timestamp, then its key)
    total_orders = n_orders + len(groups)
    order_ts = np.zeros(total_orders, dtype=np.int64)
    order_ts[out["order"]] = out["ts_ns"]
    rank = np.empty(total_orders, dtype=np.int64)
    rank[np.lexsort((np.arange(total_orders), order_ts))] = np.arange(total_orders)
    out["order_no"] = rank[out["order"]]

    # 2. guest checkouts: whole sale orders without customer id, ~2 % of lines (orders
    # with a return keep their customer, so every return refers to a known purchase)
    returned = np.zeros(n_orders, dtype=bool)
    returned[groups] = True
    sale_orders = rng.permutation(np.flatnonzero(~returned))
    per_order = np.bincount(lines["order"], minlength=n_orders)
    cum = np.cumsum(per_order[sale_orders])
    target = DIRTY_RATES["missing_customer_id"] * n_lines
    guest_orders = sale_orders[: int(np.searchsorted(cum, target)) + 1]
    guest = np.zeros(total_orders, dtype=bool)
    guest[guest_orders] = True
    out["buyer"] = np.where(guest[out["order"]], -1, out["buyer"])

    # 3. zero unit price on single sale lines
    n_zero = round(DIRTY_RATES["zero_unit_price"] * n_lines)
    zero = rng.choice(n_sale, size=n_zero, replace=False)
    out["unit_price"][zero] = 0.0

    # 4. a handful of single-line orders dated after the window end (clock errors)
    single = np.flatnonzero((per_order == 1) & ~returned)
    candidates = np.setdiff1d(np.flatnonzero(np.isin(lines["order"], single)), zero)
    future = rng.choice(candidates, size=min(n_future, len(candidates)), replace=False)
    n_future = len(future)
    out["ts_ns"][future] = end_ns + rng.integers(86_400, 150 * 86_400, n_future) * _SEC_NS

    # 5. exact duplicate lines (all columns identical), placed next to their original
    n_dup = round(DIRTY_RATES["duplicate_lines"] * n_lines)
    dup = rng.choice(len(out["order"]), size=n_dup, replace=False)
    pos = np.concatenate([np.arange(len(out["order"])), dup])
    out = {k: v[pos] for k, v in out.items()}
    sort_ts = order_ts[out["order"]]
    idx = np.lexsort((pos, out["order_no"], sort_ts))
    out = {k: v[idx] for k, v in out.items()}

    counts = {
        "missing_customer_id": int((out["buyer"] < 0).sum()),
        "zero_unit_price": int((out["unit_price"] == 0).sum()),
        "duplicate_lines": int(n_dup),
        "return_lines": int(out["is_return"].sum()),
        "future_timestamps": int((out["ts_ns"] > end_ns).sum()),
    }
    return out, counts


def _n_future(n_lines: int) -> int:
    """Lines dated after the window: 10-30 (20 at default size), at most 1 % of lines."""
    return int(min(np.clip(round(n_lines / 20_000), 10, 30), max(1, n_lines // 100)))


def _dirty_meta(counts: dict[str, int], n_rows: int, end: pd.Timestamp) -> dict[str, Any]:
    return {
        "target_rates": dict(DIRTY_RATES),
        "counts": counts,
        "rates": {k: round(v / n_rows, 5) for k, v in counts.items()},
        "notes": {
            "missing_customer_id": "whole orders (guest checkouts) with an empty customer id",
            "zero_unit_price": "single sale lines with unit_price 0.0",
            "duplicate_lines": "exact copies of a line, placed right after the original",
            "return_lines": (
                "negative quantity, order id prefixed 'C', same customer and product as an "
                "earlier purchase line, dated 1+ days after it"
            ),
            "future_timestamps": f"sale lines dated after the window end {end:%Y-%m-%d}",
        },
    }


def _order_ids(order_no: np.ndarray, is_return: np.ndarray, first: int) -> np.ndarray:
    text = (order_no + first).astype(str).astype(object)
    return np.where(is_return, np.char.add("C", text.astype(str)).astype(object), text)


def _segment_table(segments: tuple[SegmentSpec, ...], counts: np.ndarray) -> list[dict[str, Any]]:
    rows = [
        {"segment_id": k, "segment": s.name, "planned_share": s.share, "n": int(c)}
        for k, (s, c) in enumerate(zip(segments, counts[: len(segments)], strict=True))
    ]
    rows.append(
        {
            "segment_id": len(segments),
            "segment": _PROSPECT,
            "planned_share": round(1.0 - sum(s.share for s in segments), 4),
            "n": int(counts[-1]),
        }
    )
    total = sum(r["n"] for r in rows)
    for r in rows:
        r["share"] = round(r["n"] / total, 4)
    return rows


def _campaigns(
    rng: np.random.Generator,
    *,
    ids: np.ndarray,
    seg: np.ndarray,
    signup_day: np.ndarray,
    responses: np.ndarray,
    start: pd.Timestamp,
    end: pd.Timestamp,
    fractions: tuple[float, ...],
    reach: float,
    id_column: str,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Randomised campaigns: targeted audience, ~25 % control group, segment-specific uplift."""
    n_days = (end - start).days + 1
    frames = []
    info = []
    for frac in fractions:
        day = int(frac * (n_days - 1))
        sent = start + pd.Timedelta(days=day)
        cid = f"CMP-{sent:%Y-%m}"
        eligible = np.flatnonzero((signup_day <= day) & (rng.random(len(ids)) < reach))
        treated = rng.random(len(eligible)) < 0.75
        p = responses[seg[eligible], 0] + treated * responses[seg[eligible], 1]
        responded = rng.random(len(eligible)) < p
        frames.append(
            pd.DataFrame(
                {
                    id_column: ids[eligible],
                    "campaign_id": cid,
                    "sent_date": np.full(len(eligible), sent.to_datetime64()).astype(
                        "datetime64[ns]"
                    ),
                    "treated": treated,
                    "responded": responded,
                }
            )
        )
        info.append({"campaign_id": cid, "sent_date": f"{sent:%Y-%m-%d}"})
    out = pd.concat(frames, ignore_index=True)
    out[id_column] = out[id_column].astype("str")
    out["campaign_id"] = out["campaign_id"].astype("str")
    return out, info


# --------------------------------------------------------------------------------------
# B2C retail
# --------------------------------------------------------------------------------------


def make_retail(
    n_customers: int = 20_000,
    n_lines: int = 400_000,
    start: str | pd.Timestamp = "2023-01-01",
    end: str | pd.Timestamp = "2025-06-30",
    random_state: int | None = 42,
) -> DemoData:
    """Generate the B2C demo: a fictional omnichannel retailer with planted segments.

    Five behavioural segments drive purchase rate, recency, basket size, price level
    and category mix; demographics and preferred device correlate mildly with them.
    About 10 % of customers are prospects (signed up, never bought), labelled
    ``"Prospect"`` (``segment_id`` 5) in ``truth``. Dirty rows are planted at the
    rates in :data:`DIRTY_RATES`; realised counts are in ``meta["dirty"]``.

    Parameters
    ----------
    n_customers : int, default 20_000
        Customers in the customer table, prospects included.
    n_lines : int, default 400_000
        Approximate number of transaction rows (order lines, dirty rows included).
    start, end : str or pandas.Timestamp
        First and last day of the transaction window (inclusive).
    random_state : int or None, default 42
        Seed for ``numpy.random.default_rng``; the same seed gives identical frames.

    Returns
    -------
    DemoData
        ``customers``, ``transactions``, ``survey``, ``campaigns``, ``truth`` and ``meta``.

    Examples
    --------
    >>> demo = make_retail(n_customers=2_000, n_lines=40_000, random_state=1)
    >>> sorted(demo.truth["segment"].unique())[:2]
    ['Bargain hunters', 'Lapsed one-timers']
    """
    _check_sizes(n_customers, n_lines, "n_customers")
    start_ts, end_ts = _window(start, end)
    rng = np.random.default_rng(random_state)
    segments = RETAIL_SEGMENTS
    n_seg = len(segments)
    days = pd.date_range(start_ts, end_ts, freq="D")
    n_days = len(days)

    # --- who is who -------------------------------------------------------------------
    shares = np.array([s.share for s in segments] + [_RETAIL_PROSPECT_SHARE])
    counts = _exact_counts(shares, n_customers)
    seg_all = rng.permutation(np.repeat(np.arange(n_seg + 1), counts))
    width = max(6, len(str(n_customers)))
    cust_ids = _ids("C", np.arange(1, n_customers + 1), width)
    buyers = np.flatnonzero(seg_all < n_seg)
    seg = seg_all[buyers]

    # --- descriptors (mildly tied to segment) -------------------------------------------
    prof = _RETAIL_PROFILE
    age = np.rint(np.array(prof["age_mean"])[seg_all] + 12.0 * rng.standard_normal(n_customers))
    age = np.clip(age, 18, 85).astype(np.int64)
    p_f = np.array(prof["female"])[seg_all]
    u = rng.random(n_customers)
    gender = np.where(u < p_f, 0, np.where(u < 0.985, 1, 2))
    income = _choice_rows(rng, np.array(prof["income"]), seg_all)
    acq = _choice_rows(rng, np.array(prof["acquisition"]), seg_all)
    device = _choice_rows(rng, np.array(prof["device"]), seg_all)
    member = rng.random(n_customers) < np.array(prof["member"])[seg_all]
    region_names = list(_REGIONS)
    reg_p = np.array([_REGIONS[r][1] for r in region_names])
    reg_rows = np.tile(reg_p, (n_seg + 1, 1))
    reg_rows[:, 0] = prof["london"]
    region = _choice_rows(rng, reg_rows, seg_all)
    city = np.empty(n_customers, dtype=object)
    for r, name in enumerate(region_names):
        cities = _REGIONS[name][0]
        w = 1.0 / np.arange(1, len(cities) + 1) ** 0.8
        idx = np.flatnonzero(region == r)
        city[idx] = np.array(cities, dtype=object)[rng.choice(len(cities), len(idx), p=w / w.sum())]

    # --- activity and signup ------------------------------------------------------------
    a, b, joined, mult = _plan_activity(rng, seg, segments, n_days)
    signup_day = np.empty(n_customers, dtype=np.int64)
    pre = -rng.integers(1, 6 * 365, n_customers)
    signup_day[:] = pre
    signup_day[buyers] = np.where(joined, a, np.minimum(pre[buyers], a))
    prospects = np.flatnonzero(seg_all == n_seg)
    # prospects: mostly recent sign-ups (newsletter, account created, no purchase yet)
    recent = rng.random(len(prospects)) < 0.7
    signup_day[prospects] = np.where(
        recent,
        n_days - 1 - rng.integers(0, 365, len(prospects)),
        rng.integers(-730, n_days, len(prospects)),
    )
    signup_date = start_ts.to_datetime64() + signup_day.astype("timedelta64[D]")

    # --- order lines ------------------------------------------------------------------
    base_target = round(
        n_lines * (1 - DIRTY_RATES["return_lines"] - DIRTY_RATES["duplicate_lines"])
    )
    lines, pid, scale = _simulate_lines(
        rng,
        seg=seg,
        segments=segments,
        categories=_RETAIL_CATEGORIES,
        a=a,
        b=b,
        rate_mult=mult,
        channel_probs=_DEVICE_CHANNEL[device[buyers]],
        day_weights=_day_weights(days, "retail"),
        hour_cdf=_retail_hour_profiles(),
        start_ns=int(start_ts.value),
        target_lines=base_target,
        mix_spread=0.3,
    )
    end_ns = int((end_ts + pd.Timedelta(days=1)).value) - _SEC_NS
    n_future = _n_future(n_lines)
    dirty, dirty_counts = _plant_dirt(rng, lines, n_lines=n_lines, end_ns=end_ns, n_future=n_future)

    cat_names = np.array([c[0] for c in _RETAIL_CATEGORIES], dtype=object)
    buyer_ids = cust_ids[buyers]
    cust_col = np.where(dirty["buyer"] >= 0, buyer_ids[np.maximum(dirty["buyer"], 0)], np.nan)
    transactions = pd.DataFrame(
        {
            "order_id": _order_ids(dirty["order_no"], dirty["is_return"], 500_001),
            "customer_id": cust_col,
            "timestamp": dirty["ts_ns"].astype("datetime64[ns]"),
            "category": cat_names[dirty["category"]],
            "product_id": pid[dirty["product"]],
            "quantity": dirty["quantity"].astype(np.int64),
            "unit_price": dirty["unit_price"].astype(np.float64),
            "channel": np.array(_RETAIL_CHANNELS, dtype=object)[dirty["channel"]],
        }
    )
    transactions = _as_str(
        transactions, ["order_id", "customer_id", "category", "product_id", "channel"]
    )

    customers = pd.DataFrame(
        {
            "customer_id": cust_ids,
            "signup_date": signup_date.astype("datetime64[ns]"),
            "age": age,
            "gender": np.array(_GENDERS, dtype=object)[gender],
            "income_band": pd.Categorical.from_codes(
                income, categories=list(INCOME_BANDS), ordered=True
            ),
            "region": np.array(region_names, dtype=object)[region],
            "city": city,
            "acquisition_channel": np.array(_CHANNELS_ACQ, dtype=object)[acq],
            "preferred_device": np.array(_DEVICES, dtype=object)[device],
            "member": member,
        }
    )
    customers = _as_str(
        customers,
        ["customer_id", "gender", "region", "city", "acquisition_channel", "preferred_device"],
    )

    names = [s.name for s in segments] + [_PROSPECT]
    truth = pd.DataFrame(
        {
            "customer_id": cust_ids,
            "segment": np.array(names, dtype=object)[seg_all],
            "segment_id": seg_all.astype(np.int64),
        }
    )
    truth = _as_str(truth, ["customer_id", "segment"])

    survey, survey_meta = _survey(
        rng, cust_ids=cust_ids, seg_all=seg_all, device=device, n_seg=n_seg
    )

    responses = np.array([s.response for s in segments] + [_PROSPECT_RESPONSE])
    campaigns, campaign_info = _campaigns(
        rng,
        ids=cust_ids,
        seg=seg_all,
        signup_day=signup_day,
        responses=responses,
        start=start_ts,
        end=end_ts,
        fractions=(0.45, 0.76, 0.92),
        reach=0.7,
        id_column="customer_id",
    )

    meta = {
        "flavour": "retail",
        "id_column": "customer_id",
        "params": {
            "n_customers": n_customers,
            "n_lines": n_lines,
            "start": f"{start_ts:%Y-%m-%d}",
            "end": f"{end_ts:%Y-%m-%d}",
            "random_state": random_state,
        },
        "segments": _segment_table(segments, counts),
        "segment_names": names,
        "prospect_segment": {
            "segment": _PROSPECT,
            "segment_id": n_seg,
            "note": "signed up but never bought: in customers and truth, not in transactions",
        },
        "categories": [c[0] for c in _RETAIL_CATEGORIES],
        "rate_scale": round(scale, 4),
        "dirty": _dirty_meta(dirty_counts, len(transactions), end_ts),
        "survey": survey_meta,
        "campaigns": {
            "campaigns": campaign_info,
            "control_share": 0.25,
            "response_by_segment": {
                n: {"base": r[0], "uplift": r[1]}
                for n, r in zip(names, responses.tolist(), strict=True)
            },
        },
    }
    return DemoData(
        customers=customers,
        transactions=transactions,
        survey=survey,
        campaigns=campaigns,
        truth=truth,
        contacts=None,
        meta=meta,
    )


def _as_str(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Give text columns the pandas string dtype ``str`` (missing values stay NaN)."""
    return df.astype(dict.fromkeys(columns, "str"))


def _survey(
    rng: np.random.Generator,
    *,
    cust_ids: np.ndarray,
    seg_all: np.ndarray,
    device: np.ndarray,
    n_seg: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Likert answers generated from four correlated latent factors."""
    segments = RETAIL_SEGMENTS
    p_resp = np.array([s.survey_prob for s in segments] + [0.0])[seg_all]
    resp = np.flatnonzero(rng.random(len(seg_all)) < p_resp)
    m = len(resp)
    n_f = len(SURVEY_FACTORS)
    corr = np.eye(n_f)
    corr[0, 1] = corr[1, 0] = -0.25
    corr[1, 3] = corr[3, 1] = 0.20
    means = np.array([s.factor_means for s in segments])[seg_all[resp]]
    dev_shift = np.array([_FACTOR_DEVICE_SHIFT[d] for d in _DEVICES])[device[resp]]
    means[:, 2] += dev_shift
    f = means + rng.standard_normal((m, n_f)) @ np.linalg.cholesky(corr).T

    items = [it[0] for it in SURVEY_ITEMS]
    load = np.zeros((len(items), n_f))
    for i, (_name, fac, lam, _rev, cross) in enumerate(SURVEY_ITEMS):
        load[i, SURVEY_FACTORS.index(fac)] = lam
        for other, c in cross.items():
            load[i, SURVEY_FACTORS.index(other)] = c
    reverse = np.array([it[3] for it in SURVEY_ITEMS])
    communality = np.clip((load**2).sum(axis=1), 0, 0.9)
    latent = f @ load.T + rng.standard_normal((m, len(items))) * np.sqrt(1 - communality)
    latent = np.where(reverse, -latent, latent)
    offset = rng.uniform(-0.35, 0.35, len(items))
    cuts = np.array([-1.3, -0.45, 0.35, 1.15])
    answers = 1 + (latent[:, :, None] > (cuts[None, None, :] + offset[None, :, None])).sum(axis=2)
    answers = answers.astype(np.float64)

    missing = rng.random(answers.shape) < _SURVEY_CELL_MISSING
    heavy = rng.random(m) < _SURVEY_HEAVY_MISSING
    missing[heavy] |= rng.random((int(heavy.sum()), len(items))) < rng.uniform(
        0.4, 0.8, (int(heavy.sum()), 1)
    )
    answers[missing] = np.nan
    survey = pd.DataFrame(answers, columns=items)
    survey.insert(0, "customer_id", pd.array(cust_ids[resp], dtype="str"))

    meta = {
        "factors": list(SURVEY_FACTORS),
        "item_factor": {it[0]: it[1] for it in SURVEY_ITEMS},
        "reverse_keyed": [it[0] for it in SURVEY_ITEMS if it[3]],
        "loadings": {it[0]: {it[1]: it[2], **it[4]} for it in SURVEY_ITEMS},
        "factor_correlation": corr.tolist(),
        "factor_means_by_segment": {
            s.name: dict(zip(SURVEY_FACTORS, s.factor_means, strict=True)) for s in segments
        },
        "scale": [1, 5],
        "dtype_note": "answers are whole numbers 1-5 stored as float64 so that NaN marks a skipped item",
        "response_share_of_buyers": round(m / int((seg_all < n_seg).sum()), 4),
        "missing_share": round(float(missing.mean()), 4),
        "heavy_missing_respondents": int(heavy.sum()),
    }
    return survey, meta


# --------------------------------------------------------------------------------------
# B2B
# --------------------------------------------------------------------------------------


def make_b2b(
    n_accounts: int = 2_000,
    n_lines: int = 120_000,
    start: str | pd.Timestamp = "2023-01-01",
    end: str | pd.Timestamp = "2025-06-30",
    random_state: int | None = 42,
) -> DemoData:
    """Generate the B2B demo: a business supplier's accounts, contacts and orders.

    Accounts are keyed by ``account_id`` (not ``customer_id``) in every table. Four
    planted account segments (see :data:`B2B_SEGMENTS`) plus about 5 % prospect
    accounts without orders (``"Prospect"``, ``segment_id`` 4). Orders are fewer and
    larger than in the retail demo, placed by a contact of the account; dirty rows
    are planted at the rates in :data:`DIRTY_RATES`. The survey is an empty frame.

    Parameters
    ----------
    n_accounts : int, default 2_000
        Accounts in the account table, prospects included.
    n_lines : int, default 120_000
        Approximate number of transaction rows (dirty rows included).
    start, end : str or pandas.Timestamp
        First and last day of the transaction window (inclusive).
    random_state : int or None, default 42
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    DemoData
        With ``contacts`` set; ``customers`` holds the accounts.

    Examples
    --------
    >>> demo = make_b2b(n_accounts=300, n_lines=15_000, random_state=1)
    >>> sorted(demo.contacts["role"].unique())
    ['decision maker', 'manager', 'user']
    """
    _check_sizes(n_accounts, n_lines, "n_accounts")
    start_ts, end_ts = _window(start, end)
    rng = np.random.default_rng(random_state)
    segments = B2B_SEGMENTS
    n_seg = len(segments)
    days = pd.date_range(start_ts, end_ts, freq="D")
    n_days = len(days)

    shares = np.array([s.share for s in segments] + [_B2B_PROSPECT_SHARE])
    counts = _exact_counts(shares, n_accounts)
    seg_all = rng.permutation(np.repeat(np.arange(n_seg + 1), counts))
    width = max(5, len(str(n_accounts)))
    acc_ids = _ids("A", np.arange(1, n_accounts + 1), width)
    buyers = np.flatnonzero(seg_all < n_seg)
    seg = seg_all[buyers]

    # --- firmographics --------------------------------------------------------------------
    prof = _B2B_PROFILE
    employees = np.array(prof["employees_median"])[seg_all] * np.exp(
        0.8 * rng.standard_normal(n_accounts)
    )
    employees = np.maximum(np.rint(employees), 2).astype(np.int64)
    industry = rng.choice(
        len(_INDUSTRIES), n_accounts, p=np.array([16, 14, 12, 10, 12, 16, 8, 12]) / 100
    )
    rev_per_emp = np.array([180, 250, 140, 320, 170, 150, 110, 200])[industry] * 1_000.0
    revenue = np.round(employees * rev_per_emp * np.exp(0.35 * rng.standard_normal(n_accounts)), -3)
    technology = _choice_rows(rng, np.array(prof["technology"]), seg_all)
    region_names = list(_REGIONS)
    region = rng.choice(
        len(region_names), n_accounts, p=np.array([_REGIONS[r][1] for r in region_names])
    )

    a, b, joined, mult = _plan_activity(rng, seg, segments, n_days)
    signup_day = -rng.integers(30, 10 * 365, n_accounts)
    signup_day[buyers] = np.where(joined, a, np.minimum(signup_day[buyers], a))
    prospects = np.flatnonzero(seg_all == n_seg)
    signup_day[prospects] = rng.integers(0, n_days, len(prospects))
    signup_date = start_ts.to_datetime64() + signup_day.astype("timedelta64[D]")

    # --- contacts ---------------------------------------------------------------------------
    n_contacts = np.clip(1 + rng.poisson(0.9 * np.log10(employees)), 1, 8)
    c_acc = np.repeat(np.arange(n_accounts), n_contacts)
    c_first = np.concatenate([[0], np.cumsum(n_contacts)[:-1]])
    c_pos = np.arange(len(c_acc)) - c_first[c_acc]
    role = np.where(
        c_pos == 0, 0, np.where(c_pos == 1, 1, rng.choice(3, len(c_acc), p=[0.1, 0.35, 0.55]))
    )
    contact_ids = _ids("P", np.arange(1, len(c_acc) + 1), max(6, len(str(len(c_acc)))))
    contacts = pd.DataFrame(
        {
            "contact_id": contact_ids,
            "account_id": acc_ids[c_acc],
            "role": np.array(_ROLES, dtype=object)[role],
            "email_opt_in": rng.random(len(c_acc)) < 0.6,
        }
    )
    contacts = _as_str(contacts, ["contact_id", "account_id", "role"])

    # --- order lines --------------------------------------------------------------------------
    base_target = round(
        n_lines * (1 - DIRTY_RATES["return_lines"] - DIRTY_RATES["duplicate_lines"])
    )
    lines, pid, scale = _simulate_lines(
        rng,
        seg=seg,
        segments=segments,
        categories=_B2B_CATEGORIES,
        a=a,
        b=b,
        rate_mult=mult,
        channel_probs=np.array(prof["channel"])[seg],
        day_weights=_day_weights(days, "b2b"),
        hour_cdf=_b2b_hour_profiles(),
        start_ns=int(start_ts.value),
        target_lines=base_target,
        mix_spread=0.4,
    )
    # buying contact per order: anyone at the account, decision makers less often
    acc_of_buyer = buyers
    n_ord_total = int(lines["order"].max()) + 1
    ord_buyer = np.zeros(n_ord_total, dtype=np.int64)
    ord_buyer[lines["order"]] = lines["buyer"]
    acc = acc_of_buyer[ord_buyer]
    nc = n_contacts[acc]
    pick = np.where(
        (nc > 1) & (rng.random(n_ord_total) < 0.85),
        1 + (rng.random(n_ord_total) * (nc - 1)).astype(np.int64),
        0,
    )
    ord_contact = c_first[acc] + pick
    lines["contact"] = ord_contact[lines["order"]]

    end_ns = int((end_ts + pd.Timedelta(days=1)).value) - _SEC_NS
    dirty, dirty_counts = _plant_dirt(
        rng, lines, n_lines=n_lines, end_ns=end_ns, n_future=_n_future(n_lines)
    )
    cat_names = np.array([c[0] for c in _B2B_CATEGORIES], dtype=object)
    known = dirty["buyer"] >= 0
    transactions = pd.DataFrame(
        {
            "order_id": _order_ids(dirty["order_no"], dirty["is_return"], 700_001),
            "account_id": np.where(
                known, acc_ids[acc_of_buyer[np.maximum(dirty["buyer"], 0)]], np.nan
            ),
            "contact_id": np.where(known, contact_ids[dirty["contact"]], np.nan),
            "timestamp": dirty["ts_ns"].astype("datetime64[ns]"),
            "category": cat_names[dirty["category"]],
            "product_id": pid[dirty["product"]],
            "quantity": dirty["quantity"].astype(np.int64),
            "unit_price": dirty["unit_price"].astype(np.float64),
            "channel": np.array(_B2B_CHANNELS, dtype=object)[dirty["channel"]],
        }
    )
    transactions = _as_str(
        transactions, ["order_id", "account_id", "contact_id", "category", "product_id", "channel"]
    )

    customers = pd.DataFrame(
        {
            "account_id": acc_ids,
            "industry": np.array(_INDUSTRIES, dtype=object)[industry],
            "employee_count": employees,
            "annual_revenue": revenue.astype(np.float64),
            "region": np.array(region_names, dtype=object)[region],
            "technology": np.array(_TECHNOLOGIES, dtype=object)[technology],
            "signup_date": signup_date.astype("datetime64[ns]"),
        }
    )
    customers = _as_str(customers, ["account_id", "industry", "region", "technology"])

    names = [s.name for s in segments] + [_PROSPECT]
    truth = pd.DataFrame(
        {
            "account_id": acc_ids,
            "segment": np.array(names, dtype=object)[seg_all],
            "segment_id": seg_all.astype(np.int64),
        }
    )
    truth = _as_str(truth, ["account_id", "segment"])

    responses = np.array([s.response for s in segments] + [_PROSPECT_RESPONSE])
    campaigns, campaign_info = _campaigns(
        rng,
        ids=acc_ids,
        seg=seg_all,
        signup_day=signup_day,
        responses=responses,
        start=start_ts,
        end=end_ts,
        fractions=(0.55, 0.88),
        reach=0.8,
        id_column="account_id",
    )
    survey = pd.DataFrame({"account_id": pd.array([], dtype="str")})

    meta = {
        "flavour": "b2b",
        "id_column": "account_id",
        "params": {
            "n_accounts": n_accounts,
            "n_lines": n_lines,
            "start": f"{start_ts:%Y-%m-%d}",
            "end": f"{end_ts:%Y-%m-%d}",
            "random_state": random_state,
        },
        "segments": _segment_table(segments, counts),
        "segment_names": names,
        "prospect_segment": {
            "segment": _PROSPECT,
            "segment_id": n_seg,
            "note": "accounts in the CRM that never ordered: in customers and truth, not in transactions",
        },
        "categories": [c[0] for c in _B2B_CATEGORIES],
        "rate_scale": round(scale, 4),
        "dirty": _dirty_meta(dirty_counts, len(transactions), end_ts),
        "survey": {},
        "campaigns": {
            "campaigns": campaign_info,
            "control_share": 0.25,
            "response_by_segment": {
                n: {"base": r[0], "uplift": r[1]}
                for n, r in zip(names, responses.tolist(), strict=True)
            },
        },
    }
    return DemoData(
        customers=customers,
        transactions=transactions,
        survey=survey,
        campaigns=campaigns,
        truth=truth,
        contacts=contacts,
        meta=meta,
    )


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

_FILES = {
    "transactions": "transactions",
    "customers": "customers",
    "survey": "survey",
    "campaigns": "campaigns",
    "contacts": "contacts",
    "truth": "truth/segments",
}
_DATE_COLUMNS = {
    "transactions": ["timestamp"],
    "customers": ["signup_date"],
    "campaigns": ["sent_date"],
}
_ID_COLUMNS = ("customer_id", "account_id", "contact_id", "order_id", "product_id")


def write_demo(
    demo: DemoData, directory: str | Path, fmt: Literal["csv", "parquet"] = "csv"
) -> dict[str, Path]:
    """Write the demo tables to ``directory``, each file atomically.

    Files: ``transactions``, ``customers``, ``survey``, ``campaigns``, ``contacts``
    (B2B only), ``truth/segments`` (with the chosen suffix) and ``truth/meta.json``.
    Ground truth sits in its own ``truth/`` folder so that analysis inputs can be
    pointed at ``directory`` without seeing it. Each file is written to a temporary
    file in the same folder and moved into place with ``os.replace``.

    Parameters
    ----------
    demo : DemoData
        Output of :func:`make_retail` or :func:`make_b2b`.
    directory : str or pathlib.Path
        Target folder (created if missing). Existing files of the same names are replaced.
    fmt : {"csv", "parquet"}, default "csv"
        File format of the tables.

    Returns
    -------
    dict of str to pathlib.Path
        Path per table name (``"truth"`` is ``truth/segments.<fmt>``, ``"meta"`` the JSON).

    Examples
    --------
    >>> import tempfile
    >>> demo = make_retail(n_customers=200, n_lines=4_000)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sorted(write_demo(demo, tmp))
    ['campaigns', 'customers', 'meta', 'survey', 'transactions', 'truth']
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"fmt={fmt!r} is not supported; pass fmt='csv' or fmt='parquet'")
    root = Path(directory)
    paths: dict[str, Path] = {}
    for name, frame in demo.tables().items():
        path = root / f"{_FILES[name]}.{fmt}"
        with atomic_path(path) as tmp:
            if fmt == "csv":
                frame.to_csv(tmp, index=False, date_format="%Y-%m-%d %H:%M:%S")
            else:
                frame.to_parquet(tmp, index=False)
        paths[name] = path
    meta_path = root / "truth" / "meta.json"
    with atomic_path(meta_path) as tmp:
        tmp.write_text(to_json_text(demo.meta) + "\n", encoding="utf-8")
    paths["meta"] = meta_path
    return paths


def _restore_types(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Undo what CSV loses: dates, text ids, the ordered income band."""
    for col in _DATE_COLUMNS.get(name, []):
        if col in df:
            df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    text = [c for c in df.columns if c in _ID_COLUMNS or df[c].dtype == object]
    if text:
        df = df.astype(dict.fromkeys(text, "str"))
    if "income_band" in df:
        df["income_band"] = pd.Categorical(
            df["income_band"], categories=list(INCOME_BANDS), ordered=True
        )
    if name == "survey":
        items = [c for c in df.columns if c not in _ID_COLUMNS]
        df = df.astype(dict.fromkeys(items, "float64"))
    return df


def read_demo(directory: str | Path, fmt: Literal["csv", "parquet"] | None = None) -> DemoData:
    """Read a demo written by :func:`write_demo` back into a :class:`DemoData`.

    Parameters
    ----------
    directory : str or pathlib.Path
        Folder given to :func:`write_demo`.
    fmt : {"csv", "parquet"}, optional
        File format; detected from ``transactions.*`` when omitted.

    Returns
    -------
    DemoData
        Frames with the dtypes :func:`make_retail` / :func:`make_b2b` produce.
    """
    root = Path(directory)
    if fmt is None:
        found = [f for f in ("parquet", "csv") if (root / f"transactions.{f}").exists()]
        if not found:
            raise InputDataError(
                f"no transactions.csv or transactions.parquet in {root}; write the demo first "
                "with write_demo(make_retail(), directory)"
            )
        fmt = found[0]  # type: ignore[assignment]
    meta_path = root / "truth" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    frames: dict[str, pd.DataFrame] = {}
    for name, stem in _FILES.items():
        path = root / f"{stem}.{fmt}"
        if not path.exists():
            continue
        if fmt == "csv":
            df = pd.read_csv(path, dtype=dict.fromkeys(_ID_COLUMNS, "str"), keep_default_na=True)
        else:
            df = pd.read_parquet(path)
        frames[name] = _restore_types(name, df)
    missing = [
        n for n in ("transactions", "customers", "survey", "campaigns", "truth") if n not in frames
    ]
    if missing:
        raise InputDataError(f"{root} lacks {', '.join(missing)}; rewrite it with write_demo(...)")
    return DemoData(
        customers=frames["customers"],
        transactions=frames["transactions"],
        survey=frames["survey"],
        campaigns=frames["campaigns"],
        truth=frames["truth"],
        contacts=frames.get("contacts"),
        meta=meta,
    )


def load_demo(
    source: str | Path = "retail",
    *,
    n_customers: int | None = None,
    n_lines: int | None = None,
    random_state: int | None = 42,
    **kwargs: Any,
) -> DemoData:
    """Generate a demo by flavour name, or read one written by :func:`write_demo`.

    Parameters
    ----------
    source : str or pathlib.Path, default "retail"
        ``"retail"`` (alias ``"b2c"``) or ``"b2b"`` to generate; any other value is a
        folder to read with :func:`read_demo`.
    n_customers : int, optional
        Customers (retail) or accounts (B2B); the flavour's default when omitted.
    n_lines : int, optional
        Approximate transaction rows; the flavour's default when omitted.
    random_state : int or None, default 42
        Seed for generation.
    **kwargs
        Passed on to :func:`make_retail` / :func:`make_b2b` (``start``, ``end``) or
        :func:`read_demo` (``fmt``).

    Returns
    -------
    DemoData
    """
    sizes: dict[str, Any] = {}
    if n_lines is not None:
        sizes["n_lines"] = n_lines
    key = str(source).lower() if isinstance(source, str) else None
    if key in ("retail", "b2c"):
        if n_customers is not None:
            sizes["n_customers"] = n_customers
        return make_retail(random_state=random_state, **sizes, **kwargs)
    if key == "b2b":
        if n_customers is not None:
            sizes["n_accounts"] = n_customers
        return make_b2b(random_state=random_state, **sizes, **kwargs)
    path = Path(source)
    if not path.is_dir():
        raise ConfigError(
            f"demo source {str(source)!r} is neither 'retail', 'b2c', 'b2b' nor an existing folder; "
            "pass a flavour name or the folder given to write_demo"
        )
    return read_demo(path, **kwargs)
