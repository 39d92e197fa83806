"""Spectral analysis of trained networks: exact singular values of the effective (normalized) weights.

Exact means ``torch.linalg.svdvals`` of the d_out × rest matrix (SPEC §1), not the power-iteration
estimate; reading the weights never advances an SN layer's ũ.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from snlab.normalizers import as_matrix, frozen_power_iteration, output_dim, weight_layers


@torch.no_grad()
def effective_weights(module: nn.Module) -> dict[str, torch.Tensor]:
    """W̄ of every conv/linear layer as a d_out × rest matrix (float64, CPU), by layer name."""
    with frozen_power_iteration(module):
        return {name: as_matrix(layer.weight, output_dim(layer)).detach().double().cpu()
                for name, layer in weight_layers(module).items()}


def singular_values(module: nn.Module) -> dict[str, np.ndarray]:
    """Singular values, largest first, of every layer's effective weight, by layer name."""
    return {name: torch.linalg.svdvals(w).numpy() for name, w in effective_weights(module).items()}


def spectral_norms(module: nn.Module) -> dict[str, float]:
    """σ(W̄), the largest singular value of every layer's effective weight, by layer name."""
    return {name: float(torch.linalg.matrix_norm(w, 2)) for name, w in effective_weights(module).items()}


def permissible_spectra(n: int = 50, samples: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """Random members of the sets of squared singular values each normalization permits (Fig 14, App. D).

    SN only fixes the largest: s₁² = 1, the rest anywhere in [0, 1]. WN (unit rows), rescaled by
    1/√d_o so that its spectral norm is at most 1, fixes the sum: Σ sᵢ² = ‖W‖²_F / d_o = 1.
    Returns {"sn": (samples, n), "wn": (samples, n)}, each row sorted in increasing order.
    """
    rng = np.random.default_rng(seed)
    sn = np.sort(rng.uniform(0, 1, (samples, n)), axis=1)
    sn[:, -1] = 1.0
    wn = np.sort(rng.dirichlet(np.full(n, 0.3), samples), axis=1)
    return {"sn": sn, "wn": wn}
