"""The paper's standard CNN (Table 3; docs/paper.md §4), for 32×32 (M_g = 4) and 48×48 (M_g = 6) images.

Where the official Chainer code differs from Table 3 the paper wins (docs/paper.md §4): D widths
64,64,128,128,256,256,512 and leaky-ReLU slope 0.1. The paper states no init for this network, so
we take the code's: every weight N(0, 0.02), biases 0.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

#: Generator width per stage, and D's (out channels, kernel, stride) per conv (Table 3).
G_CHANNELS = (512, 256, 128, 64)
D_CONVS = ((64, 3, 1), (64, 4, 2), (128, 3, 1), (128, 4, 2), (256, 3, 1), (256, 4, 2), (512, 3, 1))
#: Spatial size of G's first feature map for each output resolution (M_g).
G_BASE = {32: 4, 48: 6}


def scaled(channels: int, width: float) -> int:
    """``channels × width``, at least 1."""
    return max(1, round(channels * width))


def init_normal_(module: nn.Module, std: float = 0.02) -> None:
    """N(0, std) weights and zero biases for every conv / linear layer (the official code's init)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """z (B, 128) ~ N(0, I) → images (B, channels, R, R) in [−1, 1].

    dense → M_g·M_g·512, BN, ReLU → 3 × [deconv 4×4 s2, BN, ReLU] → conv 3×3 s1 → tanh.
    """

    def __init__(self, resolution: int = 32, channels: int = 3, width: float = 1.0, z_dim: int = 128):
        super().__init__()
        if resolution not in G_BASE:
            raise ValueError(f"standard CNN resolution must be one of {sorted(G_BASE)}, got {resolution}")
        self.z_dim = z_dim
        self.base = G_BASE[resolution]
        c = [scaled(n, width) for n in G_CHANNELS]
        self.fc = nn.Linear(z_dim, self.base * self.base * c[0])
        layers = [nn.BatchNorm2d(c[0]), nn.ReLU()]
        for c_in, c_out in zip(c, c[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers += [nn.Conv2d(c[-1], channels, 3, 1, 1), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        init_normal_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], -1, self.base, self.base)
        return self.main(h)


class ShiftOnlyNorm(nn.Module):
    """Batch or layer norm without the learnable scale γ, keeping the shift β (docs/paper.md §3; Chainer
    use_gamma=False).

    kind "bn": BatchNorm2d over (B, H, W) per channel; "ln": normalise each sample over (C, H, W).
    """

    def __init__(self, kind: str, channels: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False) if kind == "bn" else nn.GroupNorm(1, channels, affine=False)
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x) + self.bias


class Discriminator(nn.Module):
    """Images (B, channels, R, R) in [−1, 1] → scores (B,) (raw logits f(x), no sigmoid).

    7 convs with leaky ReLU (Table 3), then dense → 1. ``features`` = "bn" / "ln" puts a
    shift-only norm after every conv but the first. ``final_width`` scales the last conv's output
    channels (512), hence also the dense layer's input, for Fig 4.
    """

    def __init__(self, resolution: int = 32, channels: int = 3, width: float = 1.0,
                 final_width: float = 1.0, features: str | None = None, lrelu_slope: float = 0.1):
        super().__init__()
        if resolution not in G_BASE:
            raise ValueError(f"standard CNN resolution must be one of {sorted(G_BASE)}, got {resolution}")
        layers, c_in = OrderedDict(), channels
        for i, (c_out, k, s) in enumerate(D_CONVS):
            c_out = scaled(c_out, width * (final_width if i == len(D_CONVS) - 1 else 1.0))
            layers[f"conv{i}"] = nn.Conv2d(c_in, c_out, k, s, padding=1)
            if features and i > 0:
                layers[f"{features}{i}"] = ShiftOnlyNorm(features, c_out)
            layers[f"act{i}"] = nn.LeakyReLU(lrelu_slope)
            c_in = c_out
        self.features = nn.Sequential(layers)
        self.fc = nn.Linear(c_in * (resolution // 8) ** 2, 1)
        init_normal_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1)).squeeze(1)
