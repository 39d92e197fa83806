"""Rank agreement between two orders, for the claims that a table's methods rank as the paper's (T2, T7):
Spearman's ρ with its exact permutation p-value, and both under seed noise (each seed mean redrawn within
its standard error). Written here rather than taken from ``scipy.stats.spearmanr``, whose p-value is the
t approximation (unreliable at n = 4–8) and which has no redraws; scipy ranks the values."""
from __future__ import annotations

import itertools

import numpy as np


def _rho(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's ρ of each row of ranks ``a`` (shape (..., n)) against the ranks ``b`` (n,): their Pearson
    correlation; NaN for a row with no spread."""
    centred, bc = a - a.mean(axis=-1, keepdims=True), b - b.mean()
    with np.errstate(invalid="ignore"):
        return centred @ bc / (np.linalg.norm(centred, axis=-1) * np.linalg.norm(bc))


def _exact_null(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ρ of each of the n! orderings of our ranks ``a`` against the paper's ranks ``b``, sorted: ρ's exact
    distribution when our order is unrelated to the paper's (not the t approximation, since n is 4–8)."""
    return np.sort(_rho(np.array(list(itertools.permutations(a))), b))


def _p_value(null: np.ndarray, rho) -> np.ndarray:
    """The one-sided p of each ``rho``: the share of ``null`` (sorted) at least as large."""
    return 1 - np.searchsorted(null, np.asarray(rho) - 1e-12) / len(null)


def spearman(ours, paper) -> tuple[float, float]:
    """Spearman's ρ of two equal-length sequences (ties take mean ranks) and its exact one-sided
    permutation p-value (``_exact_null``). Both NaN when either side has a missing value or no spread
    (all tied): there is no order to compare."""
    from scipy.stats import rankdata

    if np.isnan(np.asarray(ours, float)).any() or np.isnan(np.asarray(paper, float)).any():
        return float("nan"), float("nan")
    a, b = rankdata(ours), rankdata(paper)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    rho = float(_rho(a, b))
    return rho, float(_p_value(_exact_null(a, b), rho))


def spearman_under_noise(means, ses, dfs, paper, draws: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's ρ and its exact p (``spearman``) between ``paper`` and ``draws`` redraws of our values, each
    seed mean drawn as mean + SE · T, T Student's t with its ``dfs`` (seeds − 1; ∞: normal), the noise of a
    mean of a few seeds whose spread is itself estimated: their spread under seed noise, each of shape
    (draws,). A fixed generator keeps a verdict reproducible. An infinite mean (a diverged seed ranked worst)
    has SE 0 and stays put; ties take mean ranks."""
    from scipy.stats import rankdata

    m, s, df = np.asarray(means, float), np.asarray(ses, float), np.asarray(dfs, float)
    rng = np.random.default_rng(0)
    z = np.where(np.isfinite(df), rng.standard_t(np.where(np.isfinite(df), df, 1.0), (draws, len(m))),
                 rng.standard_normal((draws, len(m))))
    a, b = rankdata(m + np.where(np.isinf(m), 0.0, s) * z, axis=1), rankdata(paper)
    rho = _rho(a, b)
    return rho, _p_value(_exact_null(a[0], b), rho)  # ties only among SE-0 values: one pattern in every redraw


def agreement(ours: list, paper, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """ρ and p of ``ours`` (``significance.Estimate``s: seed means with their SEs and df) against ``paper``
    (``spearman``), and under seed noise (``spearman_under_noise``) the share of redraws with p < ``alpha``
    and the share with ρ ≤ 0; both shares NaN when ρ is undefined or an SE is missing (one seed: no noise
    estimate)."""
    means, ses, dfs = (np.asarray(v, float) for v in zip(*ours))
    rho, p = spearman(means, paper)
    if not (np.isfinite(rho) and np.isfinite(ses).all()):
        return rho, p, float("nan"), float("nan")
    rhos, ps = spearman_under_noise(means, ses, dfs, paper)
    return rho, p, float(np.mean(ps < alpha)), float(np.mean(rhos <= 0))
