"""The discriminator normalization methods the paper compares (docs/paper.md §1, §3; App. D, E), as data
plus hooks.

A method is a recipe for D: a weight parametrization (``snlab.normalizers.PARAMETRIZATIONS``), a feature
normalization layer, a default loss, and hooks the model builder and the training loop call without
knowing which method they serve. A new normalizer is a parametrization in ``normalizers.py`` and one
``Method`` here; nothing else changes.

Hooks take D and the run's config: ``d_penalty`` and ``after_d_step`` get its ``TrainConfig``; ``init``
runs when the model is built (``snlab.build_models``, ``snlab.normalize``) and sees only ``clip_value``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from snlab import normalizers

Hook = Callable[[nn.Module, object], None]
Penalty = Callable[[nn.Module, object], torch.Tensor]


def _clip(D: nn.Module, cfg) -> None:
    normalizers.clip_(D, cfg.clip_value)


def _orthonormal_init(D: nn.Module, cfg) -> None:
    normalizers.orthonormal_init_(D)


def _orthonormal_penalty(D: nn.Module, cfg) -> torch.Tensor:
    return cfg.ortho_coef * normalizers.orthonormal_penalty(D)


@dataclass(frozen=True)
class Method:
    """How one method shapes and trains D.

    weight: parametrization of every conv/linear weight (``snlab.normalizers.PARAMETRIZATIONS``).
    features: "bn" / "ln" after every conv but the first, without learnable scale (docs/paper.md §3).
    loss: default loss when ``TrainConfig.loss`` is None.
    gradient_penalty: default of ``TrainConfig.gradient_penalty`` (λ·E[(‖∇D(x̂)‖₂ − 1)²] in D's loss).
    init: called once on D's raw weights, before the weight parametrization (orthonormal init, clipping).
    d_penalty: a term added to D's loss at every D step (the orthonormal β·Σ‖WᵀW − I‖²_F, Eq. 14).
    after_d_step: called after every D step's optimizer step (clipping to [−c, c]).
    label: the name the paper's figures use.
    color: its colour in every figure (SN red and WN blue, as the paper's Fig 14).
    """

    name: str
    label: str
    color: str
    weight: str | None = None
    features: str | None = None
    loss: str = "standard"
    gradient_penalty: bool = False
    init: tuple[Hook, ...] = ()
    d_penalty: Penalty | None = None
    after_d_step: Hook | None = None

    @property
    def batch_statistics(self) -> bool:
        """Whether D normalizes with batch statistics (BN), so a batch mixing real and fake changes D(x)."""
        return self.features == "bn"


_ALL = (
    Method("none", "Unnormalized", "#000000"),
    Method("sn", "SN", "#d62728", weight="sn"),
    Method("wn", "WN", "#1f77b4", weight="wn"),
    # The paper says every method but WGAN-GP used the standard loss (Eq. 15); we read that literally.
    Method("clip", "Weight clip.", "#7f7f7f", init=(_clip,), after_d_step=_clip),
    Method("wgan-gp", "WGAN-GP", "#9467bd", loss="wasserstein", gradient_penalty=True),
    Method("gan-gp", "GAN-GP", "#e377c2", gradient_penalty=True),
    Method("bn", "BN", "#2ca02c", features="bn"),
    Method("ln", "LN", "#8c564b", features="ln"),
    Method("orthonormal", "Orthonormal", "#ff7f0e", init=(_orthonormal_init,), d_penalty=_orthonormal_penalty),
    Method("frobenius", "Frobenius", "#bcbd22", weight="frobenius"),
    Method("sn-gamma", "SN γ-reparam.", "#17becf", weight="sn-gamma"),
)

METHOD_SPECS: dict[str, Method] = {m.name: m for m in _ALL}
METHODS: tuple[str, ...] = tuple(METHOD_SPECS)


def get_method(name: str) -> Method:
    """The ``Method`` called ``name``; ValueError listing the valid names otherwise."""
    try:
        return METHOD_SPECS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(METHODS)}") from None
