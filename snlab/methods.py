"""The discriminator normalization methods the paper compares (docs/paper.md §1, §3; App. D, E), as data.

A method is a recipe for D: a weight parametrization, a feature normalization layer, an init,
a default loss, and the extra terms or hooks the training loop applies.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """How one method shapes and trains D.

    weight: parametrization of every conv/linear weight (``snlab.normalizers.PARAMETRIZATIONS``).
    features: "bn" / "ln" after every conv but the first, without learnable scale (docs/paper.md §3).
    loss: default loss when ``TrainConfig.loss`` is None.
    gradient_penalty: add λ·E[(‖∇D(x̂)‖₂ − 1)²] to D's loss.
    clip: clamp D's parameters to [−c, c] after init and after every D step.
    orthonormal: orthonormal init plus β·Σ‖WᵀW − I‖²_F in D's loss.
    label: the name the paper's figures use.
    """

    name: str
    label: str
    weight: str | None = None
    features: str | None = None
    loss: str = "standard"
    gradient_penalty: bool = False
    clip: bool = False
    orthonormal: bool = False


_ALL = (
    Method("none", "Unnormalized"),
    Method("sn", "SN", weight="sn"),
    Method("wn", "WN", weight="wn"),
    # The paper says every method but WGAN-GP used the standard loss (Eq. 15); we read that literally.
    Method("clip", "Weight clip.", clip=True),
    Method("wgan-gp", "WGAN-GP", loss="wasserstein", gradient_penalty=True),
    Method("gan-gp", "GAN-GP", gradient_penalty=True),
    Method("bn", "BN", features="bn"),
    Method("ln", "LN", features="ln"),
    Method("orthonormal", "Orthonormal", orthonormal=True),
    Method("frobenius", "Frobenius", weight="frobenius"),
    Method("sn-gamma", "SN γ-reparam.", weight="sn-gamma"),
)

METHOD_SPECS: dict[str, Method] = {m.name: m for m in _ALL}
METHODS: tuple[str, ...] = tuple(METHOD_SPECS)


def get_method(name: str) -> Method:
    """The ``Method`` called ``name``; ValueError listing the valid names otherwise."""
    try:
        return METHOD_SPECS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(METHODS)}") from None
