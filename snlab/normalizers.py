"""Weight normalizers for the discriminator, and the per-layer penalties the paper compares with SN.

Every normalizer is a ``torch.nn.utils.parametrize`` parametrization of a layer's ``weight``,
so a normalized layer is still an ``nn.Conv2d`` / ``nn.Linear`` / ``nn.ConvTranspose2d`` /
``nn.Embedding``; its raw weight lives at ``layer.parametrizations.weight.original`` and
``layer.weight`` is W̄. A conditional D's class embedding (n_classes × d) is a weight layer like the
others: SN normalizes it as the official SNEmbedID does, and every other method treats it as it
treats a linear layer (so orthonormal regularization constrains it too, for a like-for-like comparison).

A weight of shape (d_out, d_in, kh, kw) is treated as the d_out × (d_in·kh·kw) matrix
``W.reshape(d_out, -1)`` (docs/paper.md §1, "conv reshape"); for ``ConvTranspose2d`` d_out is dim 1.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn.utils import parametrize

#: Chainer's l2 normalisation is x / (‖x‖ + ε) with ε = 1e-12 (docs/paper.md §1), not PyTorch's max(‖x‖, ε).
EPS = 1e-12

#: Layers whose weight a normalizer applies to.
WEIGHT_LAYERS = (nn.Conv2d, nn.Linear, nn.ConvTranspose2d, nn.Embedding)


def output_dim(layer: nn.Module) -> int:
    """The weight dimension indexing output features: 1 for ConvTranspose2d, else 0."""
    return 1 if isinstance(layer, nn.ConvTranspose2d) else 0


def as_matrix(weight: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """View a weight as the d_out × rest matrix of docs/paper.md §1; ``dim`` is the output dimension."""
    if dim:
        weight = weight.movedim(dim, 0)
    return weight.reshape(weight.shape[0], -1)


def _l2n(x: torch.Tensor) -> torch.Tensor:
    return x / (x.norm() + EPS)


class SpectralNorm(nn.Module):
    """W̄ = W / σ(W), σ(W) ≈ ũᵀ W ṽ (Miyato et al. 2018, Algorithm 1; docs/paper.md §1).

    Training mode, on every forward call (as the official code, so u advances 2·n_dis+1 times per
    G update): ``n_power_iterations`` times ṽ ← Wᵀũ/‖Wᵀũ‖, ũ ← Wṽ/‖Wṽ‖, without gradient; then
    σ = ũᵀWṽ is differentiated with respect to W only, which gives the paper's gradient (Eq. 12).
    ũ is recycled across steps, so one iteration per call suffices.

    Eval mode: no power iteration; σ = ũᵀWṽ from the stored ũ, ṽ (PyTorch's choice, so eval is
    deterministic; Chainer's layers disagree among themselves here, docs/paper.md §1). Its autograd graph holds
    the buffers themselves, so backpropagate through an eval-mode forward before the next training-mode
    forward updates them (every use in snlab runs eval forwards without gradients).

    Buffers ``u`` (d_out,), ``v`` (d_in·kh·kw,) and ``sigma`` (0-d: the last estimate ũᵀWṽ) are
    persistent: they are saved in checkpoints and readable during training. A fresh module's ``sigma`` is
    the exact σ(W₀), but ``normalize_`` registers it with ``torch.nn.utils.parametrize``, whose shape
    check runs one training-mode forward: on a normalized layer ``sigma`` (and ũ, ṽ) already hold one
    power iteration's estimate before training starts (every stored run began so; keeping that keeps
    them reproducible).
    """

    def __init__(self, weight: torch.Tensor, dim: int = 0, n_power_iterations: int = 1):
        super().__init__()
        if n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be >= 1, got {n_power_iterations}")
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        w = as_matrix(weight.detach(), dim)
        u = _l2n(torch.randn(w.shape[0], dtype=w.dtype, device=w.device))
        self.register_buffer("u", u)
        self.register_buffer("v", _l2n(w.t() @ u))
        self.register_buffer("sigma", torch.linalg.matrix_norm(w, 2))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        w = as_matrix(weight, self.dim)
        u, v = self.u, self.v
        if self.training:
            w_const = w.detach()  # the power iteration builds no graph
            for _ in range(self.n_power_iterations):
                v = _l2n(torch.mv(w_const.t(), u))
                u = _l2n(torch.mv(w_const, v))
            self._update(u=u, v=v)
        sigma = torch.dot(u, torch.mv(w, v))
        self._update(sigma=sigma.detach())
        return weight / sigma

    def _update(self, **buffers: torch.Tensor) -> None:
        """Store new buffer values. Eagerly they are copied in place, so the buffers keep their addresses
        (a captured CUDA graph replays on them, ``snlab.cudagraph``), while σ's autograd graph holds the
        fresh tensors that a later forward's copy leaves intact. Under torch.compile they are rebound:
        its functionalization would save the mutated buffer for backward instead."""
        for name, value in buffers.items():
            if torch.compiler.is_compiling():
                setattr(self, name, value)
            else:
                getattr(self, name).copy_(value)


class SpectralNormGamma(nn.Module):
    """γ · W̄_SN with a learnable scalar γ initialised to the exact σ(W₀) (App. E; docs/paper.md §1 ``use_gamma``)."""

    def __init__(self, weight: torch.Tensor, dim: int = 0, n_power_iterations: int = 1):
        super().__init__()
        self.sn = SpectralNorm(weight, dim, n_power_iterations)
        self.gamma = nn.Parameter(torch.linalg.matrix_norm(as_matrix(weight.detach(), dim), 2))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return self.gamma * self.sn(weight)


class RowNorm(nn.Module):
    """Weight normalization without the learnable gain (App. D.1): W̄ᵢ = Wᵢ / ‖Wᵢ‖, unit-norm rows."""

    def __init__(self, weight: torch.Tensor, dim: int = 0):
        super().__init__()
        self.dim = dim
        self.shape = [-1 if d == dim else 1 for d in range(weight.dim())]

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        norms = as_matrix(weight, self.dim).norm(dim=1) + EPS
        return weight / norms.view(self.shape)


class FrobeniusNorm(nn.Module):
    """W̄ = W / ‖W‖_F (App. D.1, App. E)."""

    def __init__(self, weight: torch.Tensor, dim: int = 0):
        super().__init__()

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight / (weight.norm() + EPS)


#: Parametrizations by the name used in ``snlab.methods``.
PARAMETRIZATIONS = {"sn": SpectralNorm, "sn-gamma": SpectralNormGamma, "wn": RowNorm, "frobenius": FrobeniusNorm}


def weight_layers(module: nn.Module) -> dict[str, nn.Module]:
    """Every conv / linear / transposed-conv layer of ``module`` by qualified name, in order."""
    return {name: m for name, m in module.named_modules() if isinstance(m, WEIGHT_LAYERS)}


def normalize_(module: nn.Module, kind: str, n_power_iterations: int = 1) -> nn.Module:
    """Parametrize the weight of every conv/linear layer of ``module`` in place with ``kind``."""
    if kind not in PARAMETRIZATIONS:
        raise ValueError(f"unknown weight normalizer {kind!r}; valid: {', '.join(PARAMETRIZATIONS)}")
    cls = PARAMETRIZATIONS[kind]
    for layer in weight_layers(module).values():
        kwargs = {"n_power_iterations": n_power_iterations} if kind.startswith("sn") else {}
        parametrize.register_parametrization(layer, "weight", cls(layer.weight, output_dim(layer), **kwargs))
    return module


def spectral_norm_modules(module: nn.Module) -> Iterator[SpectralNorm]:
    return (m for m in module.modules() if isinstance(m, SpectralNorm))


def sigma_estimates(module: nn.Module) -> dict[str, float]:
    """The last power-iteration estimate σ̂ = ũᵀWṽ of the *raw* weight of every SN layer."""
    out = {}
    for name, layer in weight_layers(module).items():
        sn = next(spectral_norm_modules(layer), None)
        if sn is not None:
            out[name] = float(sn.sigma)
    return out


@contextlib.contextmanager
def frozen_power_iteration(module: nn.Module):
    """Read ``layer.weight`` without advancing any ũ (used by the spectral analysis)."""
    sns = list(spectral_norm_modules(module))
    modes = [m.training for m in sns]
    for m in sns:
        m.train(False)
    try:
        yield module
    finally:
        for m, mode in zip(sns, modes):
            m.train(mode)


def orthonormal_init_(module: nn.Module) -> None:
    """Initialise every conv/linear weight to a random orthonormal matrix (Brock et al. 2016; docs/paper.md §3)."""
    for layer in weight_layers(module).values():
        nn.init.orthogonal_(layer.weight)


def orthonormal_penalty(module: nn.Module) -> torch.Tensor:
    """Σ over layers of ‖WᵀW − I‖²_F (Eq. 14), with W the d_out × rest matrix of each layer.

    Computed on the smaller Gram matrix (WWᵀ when d_out < rest). The two differ by the constant
    |d_in·kh·kw − d_out|, so the gradient is Eq. 14's, and the penalty is 0 exactly when W has
    orthonormal rows or columns.
    """
    total = 0.0
    for layer in weight_layers(module).values():
        w = as_matrix(layer.weight, output_dim(layer))
        gram = w @ w.t() if w.shape[0] < w.shape[1] else w.t() @ w
        eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        total = total + (gram - eye).pow(2).sum()
    return total


@torch.no_grad()
def clip_(module: nn.Module, c: float) -> None:
    """Weight clipping (Arjovsky et al. 2017): clamp every parameter of ``module`` to [−c, c]."""
    for p in module.parameters():
        p.clamp_(-c, c)
