"""Generators and discriminators, built by name with a normalization method applied to D."""
from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from snlab import normalizers
from snlab.methods import get_method
from snlab.models import mlp, resnet, standard

ARCHS = ("standard", "resnet", "mlp")


def build_models(arch: str = "standard", method: str = "sn", resolution: int = 32, channels: int = 3,
                 width: float = 1.0, n_classes: int = 0, *, head: str = "projection", final_width: float = 1.0,
                 d_width: float = 1.0, lrelu_slope: float = 0.1, n_power_iterations: int = 1, clip_value: float = 0.01,
                 z_dim: int = 128) -> tuple[nn.Module, nn.Module]:
    """(G, D) for ``arch`` with ``method`` applied to every conv/linear layer of D.

    G maps z (B, z_dim) to images (B, channels, resolution, resolution) in [−1, 1] (or points
    (B, 2) for ``arch="mlp"``, where resolution, channels and width are ignored); D maps them to
    scores (B,). ``width`` multiplies every channel count, ``d_width`` D's once more (Tables 7–8's
    "D widths ×1.5"); ``final_width`` D's last conv (Fig 4, standard CNN only). ``n_classes > 0``
    (ResNet only) makes them conditional: ``G(z, y)`` with conditional BN and ``D(x, y)`` with a ``head``
    "projection" or "concat" (Table 6c), whose class embedding ``method`` treats as one more weight layer
    (SN: SNEmbedID; ``normalizers.WEIGHT_LAYERS``), or ``D(x)`` with the "ac" head, whose auxiliary
    classifier is one more dense layer of D.
    """
    spec = get_method(method)
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; valid: {', '.join(ARCHS)}")
    for name, value in (("resolution", resolution), ("channels", channels), ("width", width),
                        ("final_width", final_width), ("d_width", d_width), ("z_dim", z_dim)):
        if arch != "mlp" and not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    if n_classes < 0:
        raise ValueError(f"n_classes must be 0 (unconditional) or a number of classes > 0, got {n_classes}")
    if n_classes and arch != "resnet":
        raise ValueError(f"arch {arch!r} is unconditional: n_classes must be 0, got {n_classes} (use arch='resnet')")
    if arch == "resnet":
        if spec.features:
            raise ValueError(f"method {method!r} (feature normalization in D) is defined for the standard CNN only; "
                             "the paper's ResNet D has no normalization layers")
        if final_width != 1.0:
            raise ValueError("final_width (Fig 4) applies to the standard CNN only")
        G = resnet.Generator(resolution, channels, width, n_classes, z_dim)
        D = resnet.Discriminator(resolution, channels, width * d_width, n_classes, head)
    elif arch == "mlp":
        if spec.features:
            raise ValueError(f"method {method!r} normalizes conv feature maps; arch 'mlp' has none")
        if d_width != 1.0:
            raise ValueError(f"d_width scales D's channels; arch 'mlp' has fixed widths (got d_width={d_width})")
        G, D = mlp.Generator(z_dim), mlp.Discriminator(lrelu_slope=lrelu_slope)
    else:
        G = standard.Generator(resolution, channels, width, z_dim)
        D = standard.Discriminator(resolution, channels, width * d_width, final_width, spec.features, lrelu_slope)
    return G, _apply_weights(D, spec, n_power_iterations, clip_value)


def normalize(D: nn.Module, method: str, n_power_iterations: int = 1, clip_value: float = 0.01) -> nn.Module:
    """Apply ``method`` to a discriminator of yours in place and return it: orthonormal init, the initial
    clipping, or the parametrization of every conv / linear / embedding weight (SN, WN, Frobenius,
    γ·W̄_SN). What a method does during training (penalties, clipping after each step, its loss) the
    training loop adds from ``TrainConfig.method``. Feature normalization (bn, ln) is a layer of snlab's own D:
    a D of yours includes such layers itself, so those methods are refused here."""
    spec = get_method(method)
    if spec.features:
        raise ValueError(f"method {method!r} inserts {spec.features.upper()} layers into snlab's standard D; "
                         "put them in your own D and train it with method='none'")
    return _apply_weights(D, spec, n_power_iterations, clip_value)


def _apply_weights(D: nn.Module, spec, n_power_iterations: int, clip_value: float) -> nn.Module:
    """The weight side of a method (``normalize``), in place: its init hooks, then its parametrization;
    feature layers are the architecture's job."""
    for hook in spec.init:
        hook(D, SimpleNamespace(clip_value=clip_value))
    if spec.weight:
        normalizers.normalize_(D, spec.weight, n_power_iterations)  # the class embedding too (SNEmbedID)
    return D


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """G(z), or G(z, y) for a conditional G with class labels y int64 (B,), in eval mode (BN running
    statistics, as Chainer's sampling), on CPU; G's mode is restored."""
    was_training = generator.training
    generator.eval()
    try:
        device = next(generator.parameters()).device
        return (generator(z.to(device)) if y is None else generator(z.to(device), y.to(device))).cpu()
    finally:
        generator.train(was_training)
