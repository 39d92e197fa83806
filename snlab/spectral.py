"""Spectral analysis of trained networks: exact singular values of the effective (normalized) weights.

Exact means ``torch.linalg.svdvals`` of the d_out × rest matrix (docs/paper.md §1), not the power-iteration
estimate; reading the weights never advances an SN layer's ũ.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
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


def layer_label(name: str) -> str:
    """A layer's column-friendly name: "features.conv0" → "conv0" (standard CNN), "blocks.1.conv2" →
    "blocks_1_conv2"."""
    return name.removeprefix("features.").replace(".", "_")


def normalized_spectra(module: nn.Module) -> pd.DataFrame:
    """Fig 3: squared singular values of every layer's effective weight, divided by the largest.

    Long table: layer (short name), index (0 = largest), s2 in (0, 1].
    """
    rows = []
    for name, s in singular_values(module).items():
        s2 = s**2 / s[0] ** 2
        rows.append(pd.DataFrame({"layer": layer_label(name), "index": np.arange(len(s2)), "s2": s2}))
    return pd.concat(rows, ignore_index=True)


def relative_stable_rank(spectra: pd.DataFrame, by=("layer",)) -> pd.Series:
    """Per ``by`` group (a layer), Σ s² / max s² / (number of singular values), in (0, 1]: 1 for a flat
    spectrum, near 0 when a few directions dominate (the "broad vs concentrated" of Fig 3, as one number)."""
    return spectra.groupby(list(by), sort=False)["s2"].mean()


def spectral_norms(module: nn.Module) -> dict[str, float]:
    """σ(W̄), the largest singular value of every layer's effective weight, by layer name.

    Computed as √λ_max of the float64 Gram matrix of W̄'s smaller side: it agrees with the SVD to ~1e-15
    (relative) and is 8× faster at full width, where the SVD made each training log row cost 0.5 s.
    """
    out = {}
    for name, w in effective_weights(module).items():
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        out[name] = float(torch.linalg.eigvalsh(gram)[-1].clamp_min(0).sqrt())
    return out


def permissible_spectra(n: int = 50, samples: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """Random members of the sets of squared singular values each normalization permits (Fig 14, App. D).

    SN only fixes the largest: s₁² = 1, the rest anywhere in [0, 1]. WN (unit rows), rescaled by
    1/√d_o so that its spectral norm is at most 1, fixes the sum: Σ sᵢ² = ‖W‖²_F / d_o = 1.
    Returns {"sn": (samples, n), "wn": (samples, n)}, each row sorted in increasing order.
    """
    for name, value, least in (("n_singular_values", n, 2), ("samples", samples, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be a whole number >= {least}, got {value!r}")
    rng = np.random.default_rng(seed)
    sn = np.sort(rng.uniform(0, 1, (samples, n)), axis=1)
    sn[:, -1] = 1.0
    wn = np.sort(rng.dirichlet(np.full(n, 0.3), samples), axis=1)
    return {"sn": sn, "wn": wn}


def _conv_input_shapes(module: nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """The (C, H, W) each Conv2d of ``module`` sees for one input of ``input_shape``."""
    shapes, hooks = {}, []
    for name, layer in weight_layers(module).items():
        if isinstance(layer, nn.Conv2d):
            hooks.append(layer.register_forward_hook(
                lambda m, inp, out, name=name: shapes.__setitem__(name, tuple(inp[0].shape[1:]))))
    modes = {m: m.training for m in module.modules()}
    try:
        with torch.no_grad(), frozen_power_iteration(module):
            module.eval()  # BN running statistics stay untouched
            device = next(module.parameters()).device
            module(torch.zeros(1, *input_shape, device=device))
    finally:
        for m, mode in modes.items():
            m.training = mode
        for h in hooks:
            h.remove()
    return shapes


class OperatorNorms:
    """Operator norm ‖x ↦ conv(x)‖₂ of every Conv2d's effective weight (bias excluded), tracked over training.

    The paper normalizes the d_out × (d_in·kh·kw) reshaped matrix and only bounds the operator norm
    of a strided, padded convolution (docs/paper.md §1). This estimates the latter by power iteration on AᵀA
    (Aᵀ from autograd) at the input size each layer sees when the network is fed ``input_shape``
    (C, H, W). Power iteration approaches the norm from below; the vectors are kept between calls,
    so calling it at every log step of a slowly changing network refines the estimate (warm start).
    """

    def __init__(self, input_shape: tuple[int, ...], seed: int = 0):
        self.input_shape = tuple(input_shape)
        self.gen = torch.Generator().manual_seed(seed)
        self.vectors: dict[str, torch.Tensor] = {}

    def __call__(self, module: nn.Module, iterations: int = 30) -> dict[str, float]:
        shapes = _conv_input_shapes(module, self.input_shape)
        out = {}
        with frozen_power_iteration(module):
            for name, layer in weight_layers(module).items():
                if name not in shapes:
                    continue
                w = layer.weight.detach()

                def conv(x, w=w, layer=layer):
                    return torch.nn.functional.conv2d(x, w, None, layer.stride, layer.padding, layer.dilation,
                                                      layer.groups)

                x = self.vectors.get(name)
                if x is None:
                    x = torch.randn(1, *shapes[name], generator=self.gen)
                x = x.to(w.device)
                for _ in range(iterations):
                    x = (x / x.norm()).requires_grad_(True)
                    y = conv(x)
                    (x,) = torch.autograd.grad(y, x, grad_outputs=y)  # AᵀA x
                x = x / x.norm()
                self.vectors[name] = x.detach()
                with torch.no_grad():
                    out[name] = float(conv(x).norm())
        return out


def conv_operator_norms(module: nn.Module, input_shape: tuple[int, ...], iterations: int = 200,
                        seed: int = 0) -> dict[str, float]:
    """One-off ``OperatorNorms`` estimate from a random start (a lower bound that tightens with iterations)."""
    return OperatorNorms(input_shape, seed)(module, iterations)
