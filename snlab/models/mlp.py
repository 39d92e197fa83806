"""A tiny MLP generator/discriminator pair for the 2-D mixtures of Gaussians (``snlab.mixture``)."""
from __future__ import annotations

import torch
from torch import nn


class Generator(nn.Module):
    """z (B, z_dim) ~ N(0, I) → points (B, 2). Two hidden ReLU layers of ``hidden`` units."""

    def __init__(self, z_dim: int = 128, hidden: int = 128, out_dim: int = 2):
        super().__init__()
        self.z_dim = z_dim
        self.main = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, out_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class Discriminator(nn.Module):
    """Points (B, 2) → scores (B,). Two hidden leaky-ReLU (0.1) layers of ``hidden`` units."""

    def __init__(self, hidden: int = 128, in_dim: int = 2, lrelu_slope: float = 0.1):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(lrelu_slope), nn.Linear(hidden, hidden),
                                  nn.LeakyReLU(lrelu_slope), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).squeeze(1)
