"""GAN losses (docs/paper.md §3) as D/G loss pairs over raw scores f(x) of shape (B,), and the gradient penalty."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from snlab.data import to_device


@dataclass(frozen=True)
class Loss:
    """``d(real_scores, fake_scores)`` is minimised by D, ``g(fake_scores)`` by G."""

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]


LOSSES = {
    # Eq. 15 with D = sigmoid(f): L_D = E softplus(−f(x)) + E softplus(f(G(z))); G non-saturating.
    "standard": Loss(d=lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
                     g=lambda f: F.softplus(-f).mean()),
    # Eqs. 16/17: L_D = E relu(1 − f(x)) + E relu(1 + f(G(z))); L_G = −E f(G(z)).
    "hinge": Loss(d=lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(),
                  g=lambda f: -f.mean()),
    # WGAN: L_D = E f(G(z)) − E f(x); L_G = −E f(G(z)). Pair with the gradient penalty.
    "wasserstein": Loss(d=lambda r, f: f.mean() - r.mean(), g=lambda f: -f.mean()),
}


def get_loss(name: str) -> Loss:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)}") from None


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None,
                     eps: torch.Tensor | None = None, input_grad=None) -> torch.Tensor:
    """E[(‖∇ₓ D(x̂)‖₂ − 1)²] at x̂ = εx + (1−ε)x̃, one ε ~ U[0, 1] per sample (Gulrajani et al.; docs/paper.md §3).

    Returns the penalty *without* λ; the caller multiplies. ``critic``: D, a module or callable mapping
    (B, ...) to scores (B,); ``real`` and ``fake`` have shape (B, ...). ``eps`` (B,): ε given, on ``real``'s
    device; None draws it from ``generator``. ``input_grad``: a function x̂ → ∇ₓ Σ D(x̂) to use instead of
    ``torch.autograd.grad`` on ``critic`` (packed runs compute it with ``torch.func.grad``, ``snlab.pack``).
    """
    if eps is None:
        eps = to_device(torch.rand(real.shape[0], generator=generator), real.device)
    eps = eps.view(-1, *([1] * (real.dim() - 1)))
    x_hat = eps * real + (1 - eps) * fake
    if input_grad is not None:
        grad = input_grad(x_hat)
    else:
        x_hat.requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
