"""Losses against hand-computed values; the gradient penalty on a linear critic in closed form."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from snlab.losses import get_loss, gradient_penalty

REAL, FAKE = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
sp = lambda x: math.log1p(math.exp(x))  # noqa: E731


@pytest.mark.parametrize("name,d,g", [
    ("standard", (sp(-2) + sp(1)) / 2 + (sp(0.5) + sp(-3)) / 2, (sp(-0.5) + sp(3)) / 2),
    ("hinge", (0 + 2) / 2 + (1.5 + 0) / 2, -(0.5 - 3) / 2),
    ("wasserstein", (0.5 - 3) / 2 - (2 - 1) / 2, -(0.5 - 3) / 2),
])
def test_losses_by_hand(name, d, g):
    loss = get_loss(name)
    assert float(loss.d(REAL, FAKE)) == pytest.approx(d)
    assert float(loss.g(FAKE)) == pytest.approx(g)


def test_gradient_penalty_on_a_linear_critic():
    """∇ₓ(wᵀx + b) = w everywhere, so the penalty is (‖w‖ − 1)² exactly."""
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    w = critic[1].weight.detach()
    gp = gradient_penalty(critic, torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2))
    assert float(gp.detach()) == pytest.approx(float((w.norm() - 1) ** 2), rel=1e-5)
    gp.backward()  # differentiable with respect to the critic's weights
    assert critic[1].weight.grad is not None


def test_gradient_penalty_on_a_quadratic_critic():
    """f(x) = ½‖x‖² has ∇f(x̂) = x̂, so the penalty is E(‖x̂‖ − 1)² at x̂ = εx + (1−ε)x̃, one ε per sample."""
    critic = lambda x: 0.5 * x.flatten(1).pow(2).sum(1)  # noqa: E731
    real, fake = torch.randn(6, 2, 3), torch.randn(6, 2, 3)
    gp = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(7))
    eps = torch.rand(6, generator=torch.Generator().manual_seed(7)).view(-1, 1, 1)
    x_hat = eps * real + (1 - eps) * fake
    assert float(gp.detach()) == pytest.approx(float((x_hat.flatten(1).norm(dim=1) - 1).pow(2).mean()), rel=1e-6)


def test_unknown_loss():
    with pytest.raises(ValueError, match="valid: standard, hinge, wasserstein"):
        get_loss("hing")
