"""Metric formulas against closed forms (Gaussians for FID, ideal classifiers for IS)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from snlab.metrics import frechet_distance, inception_score
from snlab.metrics.scores import gaussian_stats, kernel_distance, precision_recall


def _rotation(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def test_fid_diagonal_gaussians_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("near_singular", [False, True])
def test_fid_full_covariance_closed_form(near_singular):
    """Σ₁ = Q D₁ Qᵀ, Σ₂ = Q D₂ Qᵀ commute, so FID = ‖Δμ‖² + Σ(√d₁ − √d₂)² exactly."""
    d = 64
    q = _rotation(d, 0)
    rng = np.random.default_rng(1)
    d1, d2 = rng.uniform(0.5, 2.0, d), rng.uniform(0.5, 2.0, d)
    if near_singular:  # rank-deficient: eigenvalues of Σ₁Σ₂ come out slightly negative / complex in float64
        d1[: d // 2], d2[d // 4: 3 * d // 4] = 1e-14, 0.0
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = q @ np.diag(d1) @ q.T, q @ np.diag(d2) @ q.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    if near_singular:  # the case the issue names: scipy's sqrtm returns complex parts here
        import scipy.linalg
        assert np.iscomplexobj(scipy.linalg.sqrtm(s1 @ s2))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_fid_of_a_sample_with_itself_is_zero_and_symmetric():
    x = torch.randn(2000, 16, dtype=torch.float64)
    y = torch.randn(2000, 16, dtype=torch.float64) * 1.5 + 0.3
    sx, sy = gaussian_stats(x), gaussian_stats(y)
    assert abs(frechet_distance(sx["mu"], sx["sigma"], sx["mu"], sx["sigma"])) < 1e-8
    assert frechet_distance(sx["mu"], sx["sigma"], sy["mu"], sy["sigma"]) == pytest.approx(
        frechet_distance(sy["mu"], sy["sigma"], sx["mu"], sx["sigma"]), rel=1e-8)


def test_is_is_one_for_identical_predictions():
    probs = np.tile(np.random.default_rng(0).dirichlet(np.ones(10)), (1000, 1))
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(1.0, abs=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_is_is_k_for_confident_balanced_predictions():
    k = 7
    probs = np.eye(k)[np.arange(700) % k]
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(k, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_is_by_hand_for_two_samples():
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    marginal = probs.mean(0)
    kl = np.sum(probs * np.log(probs / marginal), axis=1).mean()
    assert inception_score(probs, splits=1)[0] == pytest.approx(np.exp(kl), rel=1e-12)


def test_kid_and_precision_recall_separate_same_from_shifted():
    real = torch.randn(1500, 8)
    same, shifted = torch.randn(1500, 8), torch.randn(1500, 8) + 3.0
    assert abs(kernel_distance(same, real, subsets=20, subset_size=500)[0]) < 0.01
    assert kernel_distance(shifted, real, subsets=20, subset_size=500)[0] > 1.0
    p_same, r_same = precision_recall(same, real)
    p_far, r_far = precision_recall(shifted, real)
    assert p_same > 0.8 and r_same > 0.8 and p_far < 0.1 and r_far < 0.1
