"""Score formulas on features: IS, FID, intra-FID, KID, precision/recall, delegated to torch-fidelity's code.

torch-fidelity reproduces the TensorFlow reference implementations; we call its feature-to-metric
functions so that the Inception path and the offline classifier path share one implementation.
"""
from __future__ import annotations

import numpy as np
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) ‖ p(y))) on each of ``splits`` consecutive chunks; (mean, std) over chunks.

    ``probs`` (N, K): class probabilities per sample (rows sum to 1). No shuffling, so the result
    is a function of the order given (the paper's protocol: 10 chunks of 5,000 samples).
    """
    p = torch.as_tensor(np.asarray(probs), dtype=torch.float64)
    # softmax(log p) = p, so torch-fidelity's logit-based formula gives IS of p itself.
    return inception_score_of_logits(p.clamp_min(1e-300).log(), splits)


def inception_score_of_logits(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """IS of softmax(``logits``) (N, K), as ``inception_score``."""
    out = isc_features_to_metric(logits.double().cpu(), splits=splits, shuffle=False)
    return out["inception_score_mean"], out["inception_score_std"]


def gaussian_stats(features: torch.Tensor) -> dict[str, np.ndarray]:
    """Mean ``mu`` (F,) and covariance ``sigma`` (F, F) of features (N, F), float64."""
    return fid_features_to_statistics(features.double().cpu())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) between two Gaussians (Heusel et al. 2017).

    tr((Σ₁Σ₂)^½) is taken as the sum of square roots of the eigenvalues of Σ₁Σ₂ (real parts),
    which stays finite where ``scipy.linalg.sqrtm`` returns complex parts for near-singular Σ.
    """
    stat = lambda mu, s: {"mu": np.asarray(mu, np.float64), "sigma": np.asarray(s, np.float64)}  # noqa: E731
    return fid_statistics_to_metric(stat(mu1, sigma1), stat(mu2, sigma2), verbose=False)["frechet_inception_distance"]


def intra_fid(features_gen, features_real) -> tuple[float, list[float]]:
    """Intra-FID (Miyato & Koyama 2018): (mean over classes, per-class list) of the FID between
    Gaussians fitted to each class's generated features (N_c, F) and real features (M_c, F).

    ``features_gen`` and ``features_real`` are sequences indexed by class; every class needs at
    least 2 rows on each side (a covariance).
    """
    if len(features_gen) != len(features_real):
        raise ValueError(f"{len(features_gen)} generated classes but {len(features_real)} real ones")
    fids = []
    for c, (gen, real) in enumerate(zip(features_gen, features_real)):
        if min(len(gen), len(real)) < 2:
            raise ValueError(f"class {c} has {len(gen)} generated and {len(real)} real feature rows; "
                             "FID needs at least 2 of each")
        g, r = gaussian_stats(torch.as_tensor(gen)), gaussian_stats(torch.as_tensor(real))
        fids.append(frechet_distance(g["mu"], g["sigma"], r["mu"], r["sigma"]))
    return float(np.mean(fids)), fids


def kernel_distance(features_gen: torch.Tensor, features_real: torch.Tensor, subsets: int = 100,
                    subset_size: int = 1000, seed: int = 2020) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): unbiased MMD² with a cubic polynomial kernel over random subsets; (mean, std).

    ``subset_size`` is capped at the smaller sample count.
    """
    size = min(subset_size, len(features_gen), len(features_real))
    # torch-fidelity's default kernel is the standard one: (xᵀy / F + 1)³.
    out = kid_features_to_metric(features_gen.double().cpu(), features_real.double().cpu(), kid_subsets=subsets,
                                 kid_subset_size=size, rng_seed=seed, verbose=False)
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


def precision_recall(features_gen: torch.Tensor, features_real: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds; (precision, recall)."""
    out = prc_features_to_metric(features_gen.float().cpu(), features_real.float().cpu(), prc_neighborhood=k,
                                 prc_batch_size=10_000, save_cpu_ram=False, verbose=False)
    return out["precision"], out["recall"]
