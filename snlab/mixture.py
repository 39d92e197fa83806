"""2-D mixtures of Gaussians (8 on a ring, 25 on a grid) and the mode-coverage diagnostic.

The usual toy benchmark since Metz et al. 2017 (unrolled GANs): a run covers a mode when enough
generated points fall within 3 standard deviations of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Mixture:
    """An equal-weight isotropic Gaussian mixture. ``means`` (K, 2); ``std`` per coordinate."""

    name: str
    means: torch.Tensor
    std: float
    n_classes: int = 0

    def sample(self, n: int, generator: torch.Generator | None = None,
               device: str | torch.device = "cpu") -> torch.Tensor:
        """``n`` points, shape (n, 2)."""
        k = torch.randint(len(self.means), (n,), generator=generator)
        x = self.means[k] + self.std * torch.randn(n, 2, generator=generator)
        return x.to(device)


def ring8(radius: float = 2.0, std: float = 0.02) -> Mixture:
    angles = torch.arange(8) * (2 * math.pi / 8)
    return Mixture("ring8", radius * torch.stack([angles.cos(), angles.sin()], 1), std)


def grid25(spacing: float = 2.0, std: float = 0.05) -> Mixture:
    ticks = (torch.arange(5) - 2.0) * spacing
    return Mixture("grid25", torch.cartesian_prod(ticks, ticks), std)


def mode_coverage(points: torch.Tensor, mixture: Mixture, min_count: int = 20) -> dict[str, float]:
    """Mode coverage of ``points`` (N, 2).

    Returns ``modes_covered`` (number of modes with ≥ ``min_count`` points within 3·std),
    ``n_modes`` and ``high_quality`` (fraction of points within 3·std of their nearest mode).
    """
    dist = torch.cdist(points.float().cpu(), mixture.means)
    nearest, which = dist.min(dim=1)
    good = nearest <= 3 * mixture.std
    counts = torch.bincount(which[good], minlength=len(mixture.means))
    return {"modes_covered": int((counts >= min_count).sum()), "n_modes": len(mixture.means),
            "high_quality": float(good.float().mean())}
