"""The paper's ResNet G and D (Fig 8, Tables 4–6; docs/paper.md §4) for 32, 48 and 128 px, optionally conditional.

G: dense → ResBlocks "up" (BN-ReLU-upsample-conv3×3-BN-ReLU-conv3×3, shortcut upsample + conv1×1)
→ BN, ReLU, conv3×3, tanh. With ``n_classes > 0`` every BN is conditional (per-class γ, β).
D: an "optimized" first block (conv-ReLU-conv-avgpool, shortcut avgpool + conv1×1), then
pre-activation blocks (ReLU-conv-ReLU-conv[-avgpool], hidden width = input width, shortcut
conv1×1[-avgpool] when the width changes or the block downsamples), ReLU, global sum pooling,
dense → 1. Conditional heads: "projection" adds ⟨embed(y), h⟩ (Miyato & Koyama 2018);
"concat" (Table 6c) tiles a 128-d (× width) class embedding over the feature map and concatenates it
after D's third block; "ac" (AC-GAN, the AC-WGAN-GP of App. E's Table 8) takes no labels: a second dense
layer predicts the class from the same pooled features, and the loss asks it to be right
(``snlab.objectives``).
Init as the official code: Glorot-uniform with gain √2 for residual convs, 1 for shortcuts,
dense layers and the embedding. Table 5 (48 px) has no official code; it follows the table.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from snlab.models.standard import scaled

#: resolution → (G's first feature map side, G widths: dense output then each up block's output).
G_SPECS = {32: (4, (256, 256, 256, 256)), 48: (6, (512, 256, 128, 64)), 128: (4, (1024, 1024, 512, 256, 128, 64))}
#: resolution → D blocks as (output width, downsample); the first is the optimized block.
D_SPECS = {32: ((128, True), (128, True), (128, False), (128, False)),
           48: ((64, True), (128, True), (256, True), (512, True), (1024, False)),
           128: ((64, True), (128, True), (256, True), (512, True), (1024, True), (1024, False))}


def _glorot(layer: nn.Module, gain: float) -> nn.Module:
    nn.init.xavier_uniform_(layer.weight, gain)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def _conv(c_in: int, c_out: int, k: int, gain: float = math.sqrt(2)) -> nn.Conv2d:
    return _glorot(nn.Conv2d(c_in, c_out, k, 1, k // 2), gain)


class CondBatchNorm2d(nn.Module):
    """BatchNorm2d whose γ, β are looked up per class (an ``nn.Embedding`` each; γ starts at 1, β at 0).
    Without classes it is a plain affine BatchNorm2d. eps 2e-5 and momentum 0.1 as Chainer's (decay 0.9)."""

    def __init__(self, channels: int, n_classes: int = 0):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, eps=2e-5, affine=not n_classes)
        if n_classes:
            self.gamma = nn.Embedding(n_classes, channels)
            self.beta = nn.Embedding(n_classes, channels)
            nn.init.ones_(self.gamma.weight)
            nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.bn(x)
        if self.bn.affine:
            return h
        return h * self.gamma(y)[:, :, None, None] + self.beta(y)[:, :, None, None]


class GBlock(nn.Module):
    """The "up" ResBlock of G: (B, c_in, H, W) → (B, c_out, 2H, 2W)."""

    def __init__(self, c_in: int, c_out: int, n_classes: int = 0):
        super().__init__()
        self.bn1, self.bn2 = CondBatchNorm2d(c_in, n_classes), CondBatchNorm2d(c_out, n_classes)
        self.conv1, self.conv2 = _conv(c_in, c_out, 3), _conv(c_out, c_out, 3)
        self.shortcut = _conv(c_in, c_out, 1, gain=1.0)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """A D ResBlock: (B, c_in, H, W) → (B, c_out, H/2, W/2) when ``down``, else same size.
    ``optimized``: D's first block, with no activation before its first conv (docs/paper.md §4)."""

    def __init__(self, c_in: int, c_out: int, down: bool, optimized: bool = False):
        super().__init__()
        hidden = c_out if optimized else c_in
        self.down, self.optimized = down, optimized
        self.conv1, self.conv2 = _conv(c_in, hidden, 3), _conv(hidden, c_out, 3)
        self.shortcut = _conv(c_in, c_out, 1, gain=1.0) if optimized or down or c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.optimized else F.relu(x))
        h = self.conv2(F.relu(h))
        if self.down:
            h = F.avg_pool2d(h, 2)
        if self.shortcut is None:
            return h + x
        if self.optimized:  # avgpool, then 1×1 conv
            return h + self.shortcut(F.avg_pool2d(x, 2))
        s = self.shortcut(x)
        return h + (F.avg_pool2d(s, 2) if self.down else s)


class Generator(nn.Module):
    """z (B, z_dim) [, y (B,) class labels] → images (B, channels, R, R) in [−1, 1]."""

    def __init__(self, resolution: int = 32, channels: int = 3, width: float = 1.0, n_classes: int = 0,
                 z_dim: int = 128):
        super().__init__()
        if resolution not in G_SPECS:
            raise ValueError(f"ResNet resolution must be one of {sorted(G_SPECS)}, got {resolution}")
        self.z_dim, self.n_classes = z_dim, n_classes
        self.base, widths = G_SPECS[resolution]
        c = [scaled(n, width) for n in widths]
        self.fc = _glorot(nn.Linear(z_dim, self.base * self.base * c[0]), 1.0)
        self.blocks = nn.ModuleList(GBlock(a, b, n_classes) for a, b in zip(c, c[1:]))
        self.bn = nn.BatchNorm2d(c[-1], eps=2e-5)
        self.out = _conv(c[-1], channels, 3, gain=1.0)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        _check_labels(self.n_classes, y, "G(z, y)")
        h = self.fc(z).view(z.shape[0], -1, self.base, self.base)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.out(F.relu(self.bn(h))))


HEADS = ("projection", "concat", "ac")
#: The concat head's class-embedding size (Table 6c) and the block after which it is concatenated.
CONCAT_DIM, CONCAT_AFTER = 128, 3


class Discriminator(nn.Module):
    """Images (B, channels, R, R) [, y (B,)] → scores (B,).

    dense(h), h the ReLU'd, sum-pooled features; conditional (``n_classes > 0``) with ``head``
    "projection": + ⟨embed(y), h⟩; "concat": embed(y) (B, 128·width) tiled to (B, 128·width, H, W) and
    concatenated to the features after the third block (either way the class embedding is ``self.embed``);
    "ac": no labels in, the score is unconditional, and ``D(x, logits=True)`` also returns the auxiliary
    classifier's class logits ``self.classify(h)`` (B, n_classes).
    """

    def __init__(self, resolution: int = 32, channels: int = 3, width: float = 1.0, n_classes: int = 0,
                 head: str = "projection"):
        super().__init__()
        if resolution not in D_SPECS:
            raise ValueError(f"ResNet resolution must be one of {sorted(D_SPECS)}, got {resolution}")
        if head not in HEADS:
            raise ValueError(f"unknown conditional head {head!r}; valid: {', '.join(HEADS)}")
        self.n_classes, self.head = n_classes, head
        concat = scaled(CONCAT_DIM, width) if n_classes and head == "concat" else 0
        blocks, c_in = [], channels
        for i, (c_out, down) in enumerate(D_SPECS[resolution]):
            c_out = scaled(c_out, width)
            blocks.append(DBlock(c_in + (concat if i == CONCAT_AFTER else 0), c_out, down, optimized=i == 0))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.fc = _glorot(nn.Linear(c_in, 1), 1.0)
        self.labeled = bool(n_classes) and head != "ac"  # whether D takes labels
        if n_classes and head == "ac":
            self.classify = _glorot(nn.Linear(c_in, n_classes), 1.0)
        elif n_classes:
            self.embed = nn.Embedding(n_classes, concat or c_in)
            nn.init.xavier_uniform_(self.embed.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, logits: bool = False):
        if logits and not hasattr(self, "classify"):
            raise ValueError(f"logits=True needs D's auxiliary classifier (conditional head 'ac'); this D's head is "
                             f"{self.head if self.n_classes else 'none (unconditional)'}")
        if self.n_classes and not self.labeled and y is not None:
            raise ValueError("D's 'ac' head predicts the class from x: call it without y (D(x), or D(x, logits=True))")
        _check_labels(self.n_classes if self.labeled else 0, y, "D(x, y)")
        h = x
        for i, block in enumerate(self.blocks):
            if i == CONCAT_AFTER and self.n_classes and self.head == "concat":
                e = self.embed(y)[:, :, None, None].expand(-1, -1, *h.shape[2:])
                h = torch.cat([h, e], 1)
            h = block(h)
        h = F.relu(h).sum(dim=(2, 3))
        out = self.fc(h).squeeze(1)
        if self.n_classes and self.head == "projection":
            out = out + (self.embed(y) * h).sum(1)
        return (out, self.classify(h)) if logits else out


def _check_labels(n_classes: int, y: torch.Tensor | None, call: str) -> None:
    if n_classes and y is None:
        raise ValueError(f"a conditional model ({n_classes} classes) needs labels: {call} with y of shape (B,)")
    if not n_classes and y is not None:
        raise ValueError(f"an unconditional model takes no labels: call it without y ({call.split('(')[0]}(…))")
