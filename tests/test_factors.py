"""Tests of seglab.factors: R references, planted structures, hand-computed reliability."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from seglab import factors as F
from seglab.factors import FactorModel

TOL = 1e-3  # max absolute difference from R, after aligning factor order and sign

# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fa_reference(shared_data: Path) -> Path:
    path = shared_data / "factor_analyzer_reference"
    if not (path / "expected").is_dir():
        pytest.skip(f"R factor-analysis references not found at {path}")
    return path


def planted(
    n: int = 2000, n_factors: int = 4, per_factor: int = 4, seed: int = 20240601
) -> tuple[pd.DataFrame, np.ndarray]:
    """Respondents x items with a simple structure: each item loads 0.6-0.8 on one factor."""
    rng = np.random.default_rng(seed)
    p = n_factors * per_factor
    lam = np.zeros((p, n_factors))
    for f in range(n_factors):
        lam[f * per_factor : (f + 1) * per_factor, f] = rng.uniform(0.6, 0.8, per_factor)
    factors = rng.standard_normal((n, n_factors))
    noise = rng.standard_normal((n, p)) * np.sqrt(1.0 - (lam**2).sum(axis=1))
    items = factors @ lam.T + noise
    return pd.DataFrame(items, columns=[f"q{j + 1:02d}" for j in range(p)]), lam


@pytest.fixture(scope="module")
def planted4() -> tuple[pd.DataFrame, np.ndarray]:
    return planted()


@pytest.fixture(scope="module")
def model4(planted4) -> FactorModel:
    return FactorModel(n_factors=4, rotation="varimax").fit(planted4[0])


# ---------------------------------------------------------------------------
# comparison with R (psych::fa / GPArotation) on the factor_analyzer test data
# ---------------------------------------------------------------------------

DATASETS = ["test01", "test02", "test03", "test04", "test06", "test07", "test08", "test09"]
METHODS = {"uls": "minres", "ml": "ml"}  # reference file name -> FactorModel method
ROTATIONS = ["none", "varimax", "promax"]
N_FACTORS = [2, 3]


def align_to_reference(fitted: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Reorder and re-sign the fitted factors (columns) to match the reference ones.

    Factor order and sign are arbitrary: R orders by sum of squares and makes
    column sums positive, we order by variance and make the largest loading
    positive. Each reference factor is matched to the fitted factor whose
    loadings (across items) correlate best with it in absolute value, solving
    the assignment with the Hungarian algorithm on |corr| so that no fitted
    factor is used twice; a matched factor whose correlation is negative is
    sign-flipped.
    """
    k = reference.shape[1]
    corr = np.corrcoef(reference.T, fitted.T)[:k, k:]
    rows, cols = linear_sum_assignment(-np.abs(corr))
    return fitted[:, cols] * np.sign(corr[rows, cols])


@cache
def _read_data(root: str, name: str) -> pd.DataFrame:
    return pd.read_csv(Path(root) / "data" / f"{name}.csv")


def _read_expected(root: Path, stat: str, method: str, rotation: str, n: int, name: str):
    path = root / "expected" / name / f"{stat}_{method}_{rotation}_{n}_{name}.csv"
    # R's write.csv: a header row, item names (or 1..p) in the first column
    return pd.read_csv(path, index_col=0)


@pytest.mark.shared_data
@pytest.mark.filterwarnings("ignore:Heywood case:UserWarning")
@pytest.mark.parametrize("n_factors", N_FACTORS)
@pytest.mark.parametrize("rotation", ROTATIONS)
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("dataset", DATASETS)
def test_matches_r_psych(fa_reference, dataset, method, rotation, n_factors):
    """Loadings, communalities, uniquenesses and eigenvalues agree with psych::fa to 1e-3.

    psych reports two communality vectors: ``communality`` = diag(L L') (ours:
    ``communalities_``, checked through ``uniquenesses`` = 1 - diag(L L')) and
    ``communalities`` = 1 - Psi, the optimiser's uniquenesses bounded at 0.005
    (ours: ``1 - psi_``); they differ only in Heywood cases (test04, test08).
    """
    data = _read_data(str(fa_reference), dataset)
    model = FactorModel(
        n_factors=n_factors,
        method=METHODS[method],
        rotation=None if rotation == "none" else rotation,
    ).fit(data)

    def expected(stat: str) -> pd.DataFrame:
        return _read_expected(fa_reference, stat, method, rotation, n_factors, dataset)

    ref_loadings = expected("loading")
    assert list(ref_loadings.index) == list(model.loadings_.index)
    aligned = align_to_reference(model.loadings_.to_numpy(), ref_loadings.to_numpy())
    err = np.abs(aligned - ref_loadings.to_numpy()).max()
    assert err < TOL, f"loadings differ from R by {err:.2e}"

    ref_comm = expected("communalities")["x"].to_numpy()
    err = np.abs((1.0 - model.psi_.to_numpy()) - ref_comm).max()
    assert err < TOL, f"communalities (1 - psi) differ from R by {err:.2e}"

    ref_uniq = expected("uniquenesses")["x"].to_numpy()
    err = np.abs(model.uniquenesses_.to_numpy() - ref_uniq).max()
    assert err < TOL, f"uniquenesses differ from R by {err:.2e}"
    err = np.abs(model.communalities_.to_numpy() - (1.0 - ref_uniq)).max()
    assert err < TOL, f"communalities diag(LL') differ from R by {err:.2e}"

    ref_values = expected("value")["x"].to_numpy()
    err = np.abs(model.eigenvalues_["common_factor"].to_numpy() - ref_values).max()
    assert err < TOL, f"common-factor eigenvalues differ from R by {err:.2e}"

    ref_evalues = expected("evalues")["x"].to_numpy()
    err = np.abs(model.eigenvalues_["original"].to_numpy() - ref_evalues).max()
    assert err < TOL, f"correlation-matrix eigenvalues differ from R by {err:.2e}"


@pytest.mark.shared_data
@pytest.mark.parametrize(("dataset", "n_factors"), [("test02", 3), ("test04", 3), ("test07", 2)])
def test_oblimin_matches_r(fa_reference, dataset, n_factors):
    data = _read_data(str(fa_reference), dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # test04 is a Heywood case
        model = FactorModel(n_factors=n_factors, rotation="oblimin").fit(data)
    ref = _read_expected(fa_reference, "loading", "uls", "oblimin", n_factors, dataset)
    aligned = align_to_reference(model.loadings_.to_numpy(), ref.to_numpy())
    assert np.abs(aligned - ref.to_numpy()).max() < TOL


@pytest.mark.shared_data
@pytest.mark.parametrize("rotation", ROTATIONS)
@pytest.mark.parametrize("dataset", ["test01", "test02"])
def test_regression_scores_match_r(fa_reference, dataset, rotation):
    data = _read_data(str(fa_reference), dataset)
    model = FactorModel(n_factors=2, rotation=None if rotation == "none" else rotation).fit(data)
    ref = _read_expected(fa_reference, "scores", "uls", rotation, 2, dataset).to_numpy()
    ours = model.transform(data).to_numpy()
    assert np.abs(align_to_reference(ours, ref) - ref).max() < TOL
    if rotation == "promax":
        ref_s = _read_expected(fa_reference, "structure", "uls", "promax", 2, dataset).to_numpy()
        aligned = align_to_reference(model.structure_.to_numpy(), ref_s)
        assert np.abs(aligned - ref_s).max() < TOL


@pytest.mark.shared_data
def test_kmo_matches_reference(fa_reference):
    data = _read_data(str(fa_reference), "test02")
    result = F.kmo(data)
    # the reference value is given to 5 decimals
    assert result.overall == pytest.approx(0.81498, abs=5e-6)
    assert result.verdict == "meritorious"
    # per item: independent anti-image computation, MSA_j = sum r^2 / (sum r^2 + sum q^2)
    r = data.corr().to_numpy()
    inv = np.linalg.inv(r)
    q = -inv / np.sqrt(np.outer(np.diag(inv), np.diag(inv)))
    off = ~np.eye(len(r), dtype=bool)
    r2, q2 = np.where(off, r**2, 0).sum(0), np.where(off, q**2, 0).sum(0)
    np.testing.assert_allclose(result.per_item["kmo"], r2 / (r2 + q2), atol=1e-10)
    assert result.per_item["flag"].tolist() == (result.per_item["kmo"] < 0.5).tolist()
    assert result.per_item.loc["sex", "flag"]  # 0.41: the one unacceptable item


@pytest.mark.shared_data
def test_bartlett_against_formula(fa_reference):
    data = _read_data(str(fa_reference), "test02")
    n, p = data.shape
    out = F.bartlett(data)
    _, logdet = np.linalg.slogdet(data.corr().to_numpy())
    chi2 = -(n - 1 - (2 * p + 5) / 6) * logdet
    assert out["chi2"] == pytest.approx(chi2, rel=1e-10)
    assert out["dof"] == p * (p - 1) / 2
    assert out["p_value"] == pytest.approx(stats.chi2.sf(chi2, p * (p - 1) / 2), abs=1e-300)


# ---------------------------------------------------------------------------
# number of factors on planted structures and noise
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["permutation", "normal"])
def test_parallel_analysis_finds_planted_factors(planted4, method):
    pa = F.parallel_analysis(planted4[0], n_iter=50, method=method, kind="both", random_state=0)
    assert pa.n_components == 4
    assert pa.n_factors == 4
    table = pa.eigenvalues
    assert list(table.columns[:3]) == ["observed", "random_mean", "random_quantile"]
    assert (table["random_quantile"] >= table["random_mean"]).all()


def test_parallel_analysis_on_noise_finds_nothing():
    noise = pd.DataFrame(np.random.default_rng(7).standard_normal((2000, 16)))
    pa = F.parallel_analysis(noise, n_iter=50, random_state=1)
    assert pa.n_components in (0, 1)
    assert F.velicer_map(noise).n_factors in (0, 1)


def test_parallel_analysis_is_reproducible(planted4):
    a = F.parallel_analysis(planted4[0], n_iter=10, random_state=3).eigenvalues
    b = F.parallel_analysis(planted4[0], n_iter=10, random_state=3).eigenvalues
    pd.testing.assert_frame_equal(a, b)


def test_velicer_map_finds_planted_factors(planted4):
    result = F.velicer_map(planted4[0])
    assert result.n_factors == 4
    assert result.n_factors_revised == 4
    assert list(result.average_partial.columns) == ["squared", "fourth_power"]
    assert result.average_partial.index[0] == 0


def test_suggest_n_factors_table_and_choice(planted4):
    out = F.suggest_n_factors(planted4[0], n_iter=30, random_state=0)
    assert out.n_factors == 4
    assert "MAP agrees" in out.reason
    assert list(out.table.columns) == ["rule", "suggested_n", "reason"]
    assert out.table.loc[0, "rule"].startswith("parallel analysis")
    assert F.kaiser(planted4[0]) == 4


# ---------------------------------------------------------------------------
# parallel analysis: stopping early once the decision is settled
# ---------------------------------------------------------------------------


def planted_survey(
    n: int, n_factors: int, per_factor: int, loading: float, seed: int
) -> pd.DataFrame:
    """1-5 answers cut from latent items that load ``loading`` on one factor each."""
    rng = np.random.default_rng(seed)
    p = n_factors * per_factor
    common = np.repeat(rng.standard_normal((n, n_factors)), per_factor, axis=1)
    latent = loading * common + np.sqrt(1 - loading**2) * rng.standard_normal((n, p))
    answers = np.digitize(latent, [-1.5, -0.5, 0.5, 1.5]) + 1
    return pd.DataFrame(answers.astype(float), columns=[f"q{j + 1:02d}" for j in range(p)])


@pytest.fixture(scope="module")
def planted3_large() -> pd.DataFrame:
    return planted_survey(50_000, n_factors=3, per_factor=4, loading=0.7, seed=20240602)


def _descending_eigenvalues(corr: np.ndarray) -> np.ndarray:
    return np.sort(np.linalg.eigvalsh(corr))[::-1]


def test_parallel_analysis_without_stopping_matches_a_plain_reimplementation():
    """stop_early=False: every item but the first shuffled per data set, as before the rule."""
    rng = np.random.default_rng(1)
    values = rng.integers(1, 6, (700, 6)).astype(float)
    values[:, 2] += values[:, 1]  # structure for the shuffles to destroy
    pa = F.parallel_analysis(
        pd.DataFrame(values), n_iter=30, kind="both", random_state=9, stop_early=False
    )
    draws = np.random.default_rng(9)
    pca, fa = [], []
    for _ in range(30):
        shuffled = draws.permuted(values[:, 1:].T, axis=1)
        corr = np.corrcoef(np.vstack([values[:, 0], shuffled]))
        reduced = corr.copy()
        np.fill_diagonal(reduced, 1 - 1 / np.diag(np.linalg.inv(corr)))  # SMC diagonal
        pca.append(_descending_eigenvalues(corr))
        fa.append(_descending_eigenvalues(reduced))
    pca, fa = np.array(pca), np.array(fa)
    t = pa.eigenvalues
    assert (pa.n_iter, pa.n_iter_run, pa.stopped_early) == (30, 30, False)
    np.testing.assert_allclose(t["random_mean"], pca.mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        t["random_quantile"], np.quantile(pca, 0.95, axis=0), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(t["fa_random_mean"], fa.mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        t["fa_random_quantile"], np.quantile(fa, 0.95, axis=0), rtol=0, atol=1e-12
    )


def test_parallel_analysis_stops_at_20_draws_on_a_large_planted_sample(planted3_large):
    """50,000 respondents, 3 factors: settled after 20 draws, same answer as 100 draws."""
    early = F.suggest_n_factors(planted3_large, random_state=0)
    full = F.suggest_n_factors(planted3_large, n_iter=100, random_state=0, stop_early=False)
    assert (early.parallel.n_iter, early.parallel.n_iter_run) == (100, 20)
    assert early.parallel.stopped_early and not full.parallel.stopped_early
    assert full.parallel.n_iter_run == 100
    assert early.n_factors == full.n_factors == 3
    assert early.parallel.n_factors == full.parallel.n_factors == 3  # FA eigenvalues too
    assert (
        "20 permutation data sets (of at most 100: decision settled)"
        in early.table.loc[0, "reason"]
    )
    # the 20 draws are the first 20 of a fixed-count run: same numbers exactly
    fixed20 = F.parallel_analysis(
        planted3_large, n_iter=20, kind="both", random_state=0, stop_early=False
    )
    pd.testing.assert_frame_equal(early.parallel.eigenvalues, fixed20.eigenvalues, check_exact=True)


def test_parallel_analysis_on_noise_never_settles():
    """Pure noise: the observed eigenvalues are themselves draws from the null, so the deciding
    first one lies within a couple of random SDs of the 95% threshold, not 5: all draws are made."""
    noise = pd.DataFrame(np.random.default_rng(12).integers(1, 6, (300, 10)).astype(float))
    pa = F.parallel_analysis(noise, n_iter=60, kind="both", random_state=12)
    assert (pa.n_iter_run, pa.stopped_early) == (60, False)
    fixed = F.parallel_analysis(noise, n_iter=60, kind="both", random_state=12, stop_early=False)
    pd.testing.assert_frame_equal(pa.eigenvalues, fixed.eigenvalues, check_exact=True)


@pytest.mark.parametrize("n_iter", [10, 19])
def test_parallel_analysis_below_20_draws_never_stops_early(planted3_large, n_iter):
    """Settled from the start (see above), yet fewer than 20 draws are all made."""
    early = F.parallel_analysis(planted3_large, n_iter=n_iter, kind="both", random_state=5)
    fixed = F.parallel_analysis(
        planted3_large, n_iter=n_iter, kind="both", random_state=5, stop_early=False
    )
    assert early.n_iter_run == n_iter and not early.stopped_early
    pd.testing.assert_frame_equal(early.eigenvalues, fixed.eigenvalues, check_exact=True)


def test_stopping_rule_checks_after_20_draws_then_every_10():
    def checks(n_iter):
        return [m for m in range(1, n_iter + 1) if F._is_checkpoint(m, n_iter)]

    assert checks(100) == [20, 30, 40, 50, 60, 70, 80, 90]
    assert checks(25) == [20]
    assert checks(20) == checks(10) == []


def test_settled_needs_every_deciding_position_beyond_five_sds():
    # three draws per position at -0.01, 0, +0.01 around a centre: SD (ddof=1) exactly 0.01
    centre = np.array([1.2, 1.0, 0.8])
    random = centre + np.array([[-0.01], [0.0], [0.01]])
    threshold = np.quantile(random, 0.95, axis=0)  # centre + 0.009
    # one eigenvalue above its threshold: positions 1 and 2 decide, position 3 does not
    observed = threshold + np.array([0.0505, -0.0505, 0.0])
    assert F._settled(observed, random, 0.95)
    assert not F._settled(threshold + np.array([0.0495, -0.0505, 0.0]), random, 0.95)
    assert not F._settled(threshold + np.array([0.0505, -0.0495, 0.0]), random, 0.95)
    flat = np.tile(centre, (3, 1))  # zero spread: nothing is settled, however far
    assert not F._settled(centre + np.array([1.0, -1.0, 0.0]), flat, 0.95)


def test_stop_early_defaults_on_and_is_forwarded(planted4, monkeypatch, repo):
    import ast

    from seglab.config import Factors

    assert Factors().stop_early is True
    assert Factors(stop_early=False).stop_early is False
    seen = []
    real = F.parallel_analysis

    def spy(*args, **kwargs):
        seen.append(kwargs["stop_early"])
        return real(*args, **kwargs)

    monkeypatch.setattr(F, "parallel_analysis", spy)
    F.suggest_n_factors(planted4[0], n_iter=20, random_state=0)
    F.suggest_n_factors(planted4[0], n_iter=20, random_state=0, stop_early=False)
    assert seen == [True, False]
    # notebook 04 passes the config setting
    tree = ast.parse((repo / "notebooks" / "04-factor-analysis.py").read_text())
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == "suggest_n_factors"
    ]
    assert [ast.unparse(k.value) for c in calls for k in c.keywords if k.arg == "stop_early"] == [
        "settings.stop_early"
    ]


def test_items_load_on_their_own_factor(planted4, model4):
    _, lam = planted4
    primary = model4.loadings_.abs().to_numpy().argmax(axis=1)
    true = lam.argmax(axis=1)
    # the items of each planted factor share one fitted factor, a different one per planted factor
    mapping = {t: set(primary[true == t]) for t in range(4)}
    assert all(len(m) == 1 for m in mapping.values())
    assert len(set.union(*mapping.values())) == 4


# ---------------------------------------------------------------------------
# FactorModel behaviour
# ---------------------------------------------------------------------------


def test_orientation_order_and_orthogonal_attributes(model4):
    L = model4.loadings_.to_numpy()
    top = L[np.abs(L).argmax(axis=0), np.arange(L.shape[1])]
    assert (top > 0).all()
    ss = model4.variance_["ss_loadings"].to_numpy()
    assert (np.diff(ss) <= 0).all()
    np.testing.assert_allclose(ss, (L**2).sum(axis=0))
    np.testing.assert_allclose(model4.variance_["cumulative_var"].iloc[-1], ss.sum() / L.shape[0])
    np.testing.assert_allclose(model4.factor_corr_.to_numpy(), np.eye(4), atol=1e-12)
    pd.testing.assert_frame_equal(model4.structure_, model4.loadings_)
    np.testing.assert_allclose(model4.communalities_, (L**2).sum(axis=1))
    np.testing.assert_allclose(
        model4.unrotated_loadings_.to_numpy() @ model4.rotation_matrix_, L, atol=1e-10
    )


def test_oblique_attributes(planted4):
    model = FactorModel(n_factors=4, rotation="promax").fit(planted4[0])
    P, phi = model.loadings_.to_numpy(), model.factor_corr_.to_numpy()
    np.testing.assert_allclose(np.diag(phi), 1.0, atol=1e-10)
    np.testing.assert_allclose(model.structure_.to_numpy(), P @ phi)
    # communalities are rotation-invariant: diag(P Phi P') = row sums of unrotated L^2
    np.testing.assert_allclose(np.diag(P @ phi @ P.T), model.communalities_, atol=1e-10)
    np.testing.assert_allclose(model.variance_["ss_loadings"].sum(), model.communalities_.sum())


def test_principal_components_definition(planted4):
    # psych::principal: loadings = eigenvectors * sqrt(eigenvalues) of the correlation matrix
    model = FactorModel(n_factors=3, method="principal", rotation=None).fit(planted4[0])
    w, v = np.linalg.eigh(planted4[0].corr().to_numpy())
    expected = v[:, ::-1][:, :3] * np.sqrt(w[::-1][:3])
    aligned = align_to_reference(model.loadings_.to_numpy(), expected)
    np.testing.assert_allclose(aligned, expected, atol=1e-10)
    np.testing.assert_allclose(model.variance_["ss_loadings"], w[::-1][:3], atol=1e-10)


def test_transform_is_one_matrix_product_of_standardised_data(planted4, model4):
    df = planted4[0]
    scores = model4.transform(df)
    z = (df - model4.mean_) / model4.scale_
    np.testing.assert_allclose(scores.to_numpy(), z.to_numpy() @ model4.weights_.to_numpy())
    assert list(scores.columns) == ["F1", "F2", "F3", "F4"]
    assert scores.index.equals(df.index)
    # columns are matched by name, arrays by position
    shuffled = df[df.columns[::-1]]
    np.testing.assert_allclose(model4.transform(shuffled).to_numpy(), scores.to_numpy())
    np.testing.assert_allclose(model4.transform(df.to_numpy()), scores.to_numpy())


def test_bartlett_scores_are_conditionally_unbiased(planted4):
    model = FactorModel(n_factors=4, scores="bartlett").fit(planted4[0])
    W, P = model.weights_.to_numpy(), model.loadings_.to_numpy()
    np.testing.assert_allclose(W.T @ P, np.eye(4), atol=1e-10)


def test_get_params_roundtrip_and_clone():
    model = FactorModel(n_factors=2, method="ml", rotation="promax", scores="bartlett")
    params = model.get_params()
    assert params == {
        "n_factors": 2,
        "method": "ml",
        "rotation": "promax",
        "scores": "bartlett",
        "rotation_kwargs": None,
    }
    assert FactorModel(**params).get_params() == params
    assert clone(model).get_params() == params
    assert model.set_params(n_factors=5).n_factors == 5


def test_init_stores_arguments_unvalidated():
    model = FactorModel(n_factors="three", method="nope")  # no error until fit
    assert model.n_factors == "three"
    with pytest.raises(ValueError, match="n_factors='three'"):
        model.fit(np.zeros((10, 4)))


def test_fit_returns_self_and_works_in_pipeline(planted4):
    model = FactorModel(n_factors=4)
    assert model.fit(planted4[0]) is model
    out = Pipeline([("fa", FactorModel(n_factors=4))]).fit_transform(planted4[0])
    assert out.shape == (2000, 4)
    assert list(model.get_feature_names_out()) == ["F1", "F2", "F3", "F4"]


def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError):
        FactorModel().transform(np.zeros((5, 4)))


def test_error_fewer_respondents_than_items():
    df = pd.DataFrame(np.random.default_rng(0).standard_normal((5, 8)))
    with pytest.raises(ValueError, match=r"5 respondents but 8 items"):
        FactorModel(n_factors=2).fit(df)


def test_error_too_many_factors(planted4):
    df = planted4[0].iloc[:, :4]
    with pytest.raises(ValueError, match=r"n_factors=4 but there are only 4 items.*smaller"):
        FactorModel(n_factors=4).fit(df)


def test_error_names_non_numeric_column(planted4):
    df = planted4[0].assign(segment="a")
    with pytest.raises(ValueError, match=r"`segment`.*not numeric"):
        FactorModel(n_factors=2).fit(df)


def test_error_names_all_nan_column(planted4):
    df = planted4[0].assign(q99=np.nan)
    with pytest.raises(ValueError, match=r"\['q99'\] have no answers"):
        FactorModel(n_factors=2).fit(df)


def test_error_names_missing_and_constant_items(planted4):
    df = planted4[0].copy()
    df.iloc[:3, 1] = np.nan
    with pytest.raises(ValueError, match=r"'q02': 3.*screen_items"):
        FactorModel(n_factors=2).fit(df)
    with pytest.raises(ValueError, match=r"\['q17'\].*zero variance"):
        FactorModel(n_factors=2).fit(planted4[0].assign(q17=3.0))


@pytest.mark.parametrize(
    ("param", "value"), [("method", "pca"), ("rotation", "quartimax"), ("scores", "tenBerge")]
)
def test_error_unknown_option(planted4, param, value):
    with pytest.raises(ValueError, match=f"{param}='{value}'"):
        FactorModel(n_factors=2, **{param: value}).fit(planted4[0])


def test_heywood_case_warns():
    # two near-duplicate items force a communality to the bound
    rng = np.random.default_rng(5)
    f = rng.standard_normal(500)
    items = np.c_[
        f, f + 0.01 * rng.standard_normal(500), rng.standard_normal((500, 4)) + 0.3 * f[:, None]
    ]
    with pytest.warns(UserWarning, match="Heywood case"):
        model = FactorModel(n_factors=1, rotation=None).fit(items)
    assert model.heywood_items_


# ---------------------------------------------------------------------------
# interpretation helpers
# ---------------------------------------------------------------------------


def test_loading_table_blanks_and_flags_cross_loadings():
    rng = np.random.default_rng(11)
    n = 3000
    f = rng.standard_normal((n, 2))
    lam = np.array([[0.7, 0]] * 4 + [[0, 0.7]] * 4 + [[0.55, 0.55]])
    items = f @ lam.T + rng.standard_normal((n, 9)) * np.sqrt(1 - (lam**2).sum(1))
    df = pd.DataFrame(
        items, columns=[*(f"a{i}" for i in range(4)), *(f"b{i}" for i in range(4)), "ab"]
    )
    model = FactorModel(n_factors=2).fit(df)
    table = F.loading_table(model, threshold=0.3)
    assert table["cross_loading"].to_dict() == {c: c == "ab" for c in table.index}
    assert table.loc["a0", ["F1", "F2"]].isna().sum() == 1  # the small loading is blanked
    # grouped by primary factor, strongest loading first within a group
    groups = table["primary"].tolist()
    assert groups == sorted(groups, key=lambda g: ["F1", "F2", ""].index(g))
    first = table[table["primary"] == "F1"]["F1"].to_numpy()
    assert (np.diff(np.abs(first)) <= 0).all()


def test_name_factors_drafts_and_overrides(model4):
    names = F.name_factors(model4, top_n=2)
    assert len(names) == 4
    top = model4.loadings_["F1"].abs().sort_values(ascending=False).index[:2]
    assert names["F1"] == f"{top[0]} / {top[1]}"
    assert F.name_factors(model4, names={"F2": "price"})["F2"] == "price"
    with pytest.raises(ValueError, match="unknown factor"):
        F.name_factors(model4, names={"F9": "x"})


# ---------------------------------------------------------------------------
# reliability, against hand computation
# ---------------------------------------------------------------------------

# 5 respondents x 3 items; worked by hand (sample variances, ddof = 1):
#   A = 1 2 3 4 5   mean 3,   squares of deviations 4+1+0+1+4 = 10             -> var 2.5
#   B = 2 2 4 4 3   mean 3,   1+1+1+1+0 = 4                                    -> var 1.0
#   C = 2 3 3 5 4   mean 3.4, 1.96+0.16+0.16+2.56+0.36 = 5.2                    -> var 1.3
#   total = 5 7 10 13 12, mean 9.4, 19.36+5.76+0.36+12.96+6.76 = 45.2          -> var 11.3
#   alpha = 3/2 * (1 - (2.5 + 1.0 + 1.3) / 11.3) = 1.5 * 6.5 / 11.3 = 9.75 / 11.3
HAND = pd.DataFrame({"A": [1, 2, 3, 4, 5], "B": [2, 2, 4, 4, 3], "C": [2, 3, 3, 5, 4]})


def test_cronbach_alpha_hand_computed():
    assert F.cronbach_alpha(HAND) == pytest.approx(9.75 / 11.3, abs=1e-12)  # 0.862832


def test_alpha_if_deleted_hand_computed():
    # without A: B+C = 4 5 7 9 7, var 15.2/4 = 3.8  -> 2 * (1 - 2.3/3.8) = 3/3.8
    # without B: A+C = 3 5 6 9 9, var 27.2/4 = 6.8  -> 2 * (1 - 3.8/6.8) = 6/6.8
    # without C: A+B = 3 4 7 8 8, var 22/4 = 5.5    -> 2 * (1 - 3.5/5.5) = 4/5.5
    out = F.alpha_if_deleted(HAND)
    expected = pd.Series({"A": 3 / 3.8, "B": 6 / 6.8, "C": 4 / 5.5}, name="alpha_if_deleted")
    pd.testing.assert_series_equal(out, expected, atol=1e-12)


def test_omega_from_loadings_worked_example():
    # lambda = .8 .7 .6: (sum)^2 = 2.1^2 = 4.41; psi = .36 + .51 + .64 = 1.51
    # omega = 4.41 / (4.41 + 1.51) = 4.41 / 5.92
    assert F.mcdonald_omega(loadings=[0.8, 0.7, 0.6]) == pytest.approx(4.41 / 5.92, abs=1e-12)
    assert F.mcdonald_omega(loadings=[0.8, 0.7], uniquenesses=[0.5, 0.5]) == pytest.approx(
        2.25 / 3.25, abs=1e-12
    )


def test_omega_equals_alpha_for_tau_equivalent_items():
    # sample covariance made exactly 1 on the diagonal and .4 elsewhere: a one-factor model
    # with equal loadings sqrt(.4); then omega = alpha = 4*.4 / (1 + 3*.4) = 8/11
    rng = np.random.default_rng(3)
    z = rng.standard_normal((400, 4))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False)).T)
    target = np.full((4, 4), 0.4) + 0.6 * np.eye(4)
    x = pd.DataFrame(z @ np.linalg.cholesky(target).T, columns=list("abcd"))
    np.testing.assert_allclose(np.cov(x, rowvar=False), target, atol=1e-12)
    assert F.cronbach_alpha(x) == pytest.approx(8 / 11, abs=1e-12)
    assert F.mcdonald_omega(x) == pytest.approx(8 / 11, abs=1e-6)


def test_reliability_table(planted4, model4):
    table = F.reliability_table(model4, planted4[0], threshold=0.3)
    assert list(table.index) == ["F1", "F2", "F3", "F4"]
    assert (table["n_items"] == 4).all()
    assert (table["alpha"] > 0.7).all()
    np.testing.assert_allclose(table["omega"], table["alpha"], atol=0.02)
    first = table.loc["F1", "items"].split(", ")
    assert F.cronbach_alpha(planted4[0][first]) == pytest.approx(table.loc["F1", "alpha"])


def test_reliability_input_errors():
    with pytest.raises(ValueError, match="at least 2 items"):
        F.cronbach_alpha(HAND[["A"]])
    with pytest.raises(ValueError, match="either"):
        F.mcdonald_omega()


# ---------------------------------------------------------------------------
# screening
# ---------------------------------------------------------------------------


def _survey() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = 40
    base = rng.integers(1, 6, n)
    df = pd.DataFrame(
        {
            "q1": np.clip(base + rng.integers(-1, 2, n), 1, 5),
            "q2": np.clip(base + rng.integers(-1, 2, n), 1, 5),
            "q3": np.clip(base + rng.integers(-1, 2, n), 1, 5),
            "neg": 6 - np.clip(base + rng.integers(-1, 2, n), 1, 5),  # reverse-keyed
            "flat": [3] * 39 + [4],  # 97.5% the same answer
        },
        index=pd.RangeIndex(100, 100 + n, name="respondent"),
    ).astype(float)
    return df


def test_screen_reverse_codes_with_scale_and_flags_negative_item_total():
    df = _survey()
    clean, report = F.screen_items(df, scale=(1, 5))
    assert report.flagged_items == ["neg"]  # not listed as reverse-keyed: flagged
    assert "neg" in clean.columns
    clean, report = F.screen_items(df, reverse=["neg"], scale=(1, 5))
    np.testing.assert_array_equal(clean["neg"], 6 - df["neg"])
    assert report.reversed_items == ["neg"]
    assert report.flagged_items == []
    assert (report.item_total > 0).all()
    row = report.actions.query("step == 'reverse'").iloc[0]
    assert (row["name"], row["action"], row["count"]) == ("neg", "recoded", 40)


def test_screen_reverse_uses_observed_range_without_scale():
    df = pd.DataFrame({"a": [2.0, 3, 4, 3, 2], "b": [2.0, 3, 4, 4, 2], "r": [2.0, 3, 4, 3, 3]})
    clean, _ = F.screen_items(df, reverse=["r"], max_modal_share=1.0)
    np.testing.assert_array_equal(clean["r"], [4, 3, 2, 3, 3])  # 2 + 4 - x


def test_screen_drops_near_constant_item_with_reason():
    clean, report = F.screen_items(_survey(), reverse=["neg"])
    assert "flat" not in clean.columns
    assert report.dropped_items == ["flat"]
    row = report.actions.query("name == 'flat'").iloc[0]
    assert row["action"] == "dropped" and row["detail"].startswith("near-constant: 97.5%")


def test_screen_respondent_missing_policy_counts():
    df = _survey()
    df.loc[[100, 101], ["q1", "q2", "q3"]] = np.nan  # 3 of 5 items missing: dropped
    df.loc[102, "q2"] = np.nan  # 1 of 5 = 20%, not above the threshold: imputed
    df.loc[103, "q1"] = np.nan
    clean, report = F.screen_items(df, reverse=["neg"], max_missing_share=0.2)
    assert list(report.dropped_respondents) == [100, 101]
    assert len(clean) == 38
    assert clean.notna().all().all()
    assert report.n_imputed.to_dict() == {"q1": 1, "q2": 1, "q3": 0, "neg": 0}
    assert clean.loc[102, "q2"] == df["q2"].drop([100, 101]).median()
    summary = report.summary()
    assert summary["respondents dropped (too many missing answers)"] == 2
    assert summary["answers imputed (item median)"] == 2
    assert summary["respondents out"] == 38
    assert report.missing_by_respondent.loc[100] == pytest.approx(0.6)
    dropped = report.actions.query("target == 'respondents'").iloc[0]
    assert dropped["count"] == 2 and "20%" in dropped["detail"]


def test_screen_drops_all_missing_item_and_validates():
    df = _survey().assign(empty=np.nan)
    clean, report = F.screen_items(df, reverse=["neg"])
    assert "empty" not in clean.columns
    assert report.actions.query("name == 'empty'")["detail"].iloc[0] == "all answers missing"
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        F.screen_items(_survey(), reverse=["nope"])
    with pytest.raises(ValueError, match="`city`"):
        F.screen_items(_survey().assign(city="x"))


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------


def test_plots_return_the_axes(planted4, model4):
    import matplotlib.pyplot as plt

    pa = F.parallel_analysis(planted4[0], n_iter=5, random_state=0)
    fig, axes = plt.subplots(2, 2)
    assert F.plot_scree(pa, ax=axes[0, 0]) is axes[0, 0]
    assert len(axes[0, 0].lines) >= 3  # observed, random mean, random quantile
    assert F.plot_loading_heatmap(model4, ax=axes[0, 1]) is axes[0, 1]
    assert F.plot_factor_loadings(model4, "F2", ax=axes[1, 0]) is axes[1, 0]
    assert len(axes[1, 0].patches) == 16
    assert F.plot_correlation_heatmap(model4, ax=axes[1, 1]) is axes[1, 1]
    assert F.plot_scree(pa).figure is not fig  # ax=None draws on a new figure


# ---------------------------------------------------------------------------
# scikit-learn's own estimator checks
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(
            FactorModel(n_factors=1),
            expected_failed_checks={
                # an object column holding a dict gets our ValueError naming the column,
                # not the TypeError scikit-learn expects
                "check_dtype_object": "non-numeric columns raise InputDataError naming them",
            },
        )


@pytest.fixture(scope="module")
def demo_survey():
    from seglab.datasets import make_retail

    demo = make_retail(n_customers=20_000, n_lines=200_000, random_state=7)
    return demo.survey.set_index("customer_id"), demo.meta["survey"]


def test_demo_survey_planted_factors_are_recovered(demo_survey):
    """The demo's 4 planted factors: parallel analysis picks 4 and every item loads on its own factor."""
    survey, planted = demo_survey
    items, _ = F.screen_items(survey, reverse=planted["reverse_keyed"], scale=(1, 5))
    suggestion = F.suggest_n_factors(items, n_iter=50, random_state=0)
    assert suggestion.parallel.n_components == 4
    model = F.FactorModel(n_factors=4, rotation="varimax").fit(items)
    primary = model.loadings_.abs().idxmax(axis=1)
    # items of one planted factor share a fitted factor, and the four planted factors map to four fitted ones
    mapping = {}
    for item, factor in planted["item_factor"].items():
        mapping.setdefault(factor, set()).add(primary[item])
    assert all(len(v) == 1 for v in mapping.values()), mapping
    assert len({next(iter(v)) for v in mapping.values()}) == 4
    # reverse-keyed items, once recoded, load positively on their factor
    for item in planted["reverse_keyed"]:
        assert model.loadings_.loc[item, primary[item]] > 0.3


def test_alpha_if_deleted_table_flags_a_foreign_item():
    """A noise item forced onto a scale: dropping it must raise alpha, dropping a real item must not."""
    rng = np.random.default_rng(4)
    f = rng.normal(size=(800, 2))
    cols = {f"a{i}": f[:, 0] + rng.normal(scale=0.6, size=800) for i in range(4)}
    cols.update({f"b{i}": f[:, 1] + rng.normal(scale=0.6, size=800) for i in range(4)})
    cols["a_noise"] = 0.45 * f[:, 0] + rng.normal(scale=1.5, size=800)
    df = pd.DataFrame(cols)
    model = F.FactorModel(n_factors=2, rotation="varimax").fit(df)
    table = F.alpha_if_deleted_table(model, df, threshold=0.2)
    factor = table.xs("a0", level="item").index[0]
    block = table.loc[factor]
    assert (
        block.loc["a_noise", "improves"]
        and not block.loc[["a0", "a1", "a2", "a3"], "improves"].any()
    )
    # the full alpha equals cronbach_alpha of the same sign-aligned items, computed independently
    assert block["alpha"].iloc[0] == pytest.approx(
        F.cronbach_alpha(df[list(block.index)]), abs=1e-12
    )


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_score_table_keeps_every_customer_and_flags_status(dtype):
    customers = pd.Series(["c1", "c2", "c3"], dtype=dtype)
    answered = pd.Index(["c2", "c4", "c3"], dtype=dtype)  # c4 answered but bought nothing
    scores = pd.DataFrame({"F1": [0.5, -1.0]}, index=pd.Index(["c4", "c2"], dtype=dtype))
    out = F.score_table(scores, customers, answered)
    assert list(out.index) == ["c1", "c2", "c3", "c4"]
    assert out.index.name == "customer_id"
    assert out["survey_status"].tolist() == [
        "no survey",
        "scored",
        "dropped in screening",
        "scored",
    ]
    assert out["F1"].tolist()[1:2] == [-1.0] and out.loc["c4", "F1"] == 0.5
    assert out.loc[["c1", "c3"], "F1"].isna().all()


def test_coded_permutation_gives_the_correlation_of_the_shuffled_answers():
    rng = np.random.default_rng(3)
    values = rng.integers(1, 6, (500, 5)).astype(float)
    values[:, 2] = values[:, 1] + rng.integers(0, 2, 500)  # correlated, 6 levels
    codes, levels = F._small_codes(values)
    got = F._permuted_correlation(codes, levels, np.random.default_rng(7))
    # the same shuffle done by hand on the answers themselves
    shuffled = codes.copy()
    shuffled[1:] = np.random.default_rng(7).permuted(codes[1:], axis=1)
    answers = np.stack(
        [np.unique(values[:, j])[shuffled[j]] for j in range(values.shape[1])], axis=1
    )
    np.testing.assert_allclose(got, np.corrcoef(answers, rowvar=False), atol=1e-12)
    assert np.allclose(np.sort(answers, axis=0), np.sort(values, axis=0))  # a shuffle


def test_coded_permutation_null_matches_plain_permutation_null():
    """Same null distribution as shuffling the float answers (Monte Carlo tolerance)."""
    rng = np.random.default_rng(11)
    values = rng.integers(1, 8, (300, 8)).astype(float)
    values[:, 1] += values[:, 0]  # structure the shuffle must destroy
    coded, _ = F._random_eigenvalues(values, 400, "permutation", True, False, rng)
    plain = np.full_like(coded, np.nan)
    for i in range(400):
        c = np.corrcoef(rng.permuted(values, axis=0), rowvar=False)
        plain[i] = np.sort(np.linalg.eigvalsh(c))[::-1]
    se = np.sqrt(coded.var(axis=0) / 400 + plain.var(axis=0) / 400)
    assert np.all(np.abs(coded.mean(axis=0) - plain.mean(axis=0)) < 4 * se)
    assert np.all(
        np.abs(np.quantile(coded, 0.95, axis=0) - np.quantile(plain, 0.95, axis=0)) < 0.05
    )


def test_many_valued_items_fall_back_to_float_permutation():
    values = np.random.default_rng(0).normal(size=(200, 3))
    assert F._small_codes(values) is None
    pca, _ = F._random_eigenvalues(values, 5, "permutation", True, False, np.random.default_rng(0))
    assert np.isfinite(pca).all()
