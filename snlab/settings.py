"""Hyper-parameter settings (Table 1's A–F and the ResNet one, docs/paper.md §2), run-size presets and the
paper's named ResNet configurations, as data."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Setting:
    """Adam learning rate α, moments β1, β2, and D updates per G update."""

    lr: float
    beta1: float
    beta2: float
    n_dis: int


SETTINGS = MappingProxyType({
    "A": Setting(1e-4, 0.5, 0.9, 5),    # Gulrajani et al. 2017 (WGAN-GP)
    "B": Setting(1e-4, 0.5, 0.999, 1),  # Warde-Farley & Bengio 2017
    "C": Setting(2e-4, 0.5, 0.999, 1),  # Radford et al. 2016 (DCGAN)
    "D": Setting(1e-3, 0.5, 0.9, 5),    # aggressive (new in the paper)
    "E": Setting(1e-3, 0.5, 0.999, 5),
    "F": Setting(1e-3, 0.9, 0.999, 5),
    "resnet": Setting(2e-4, 0.0, 0.9, 5),  # every ResNet run, following Gulrajani et al. (docs/paper.md §2, App. B.2)
})
#: Table 1's settings, the axes of Figs 1–2.
TABLE1 = ("A", "B", "C", "D", "E", "F")


#: Run sizes. ``iterations`` counts generator updates; ``width`` multiplies every channel count.
#: smoke: seconds, for tests. cpu: minutes on 2 cores, real results on Fashion-MNIST.
#: paper: the paper's scale (100k G updates, batch 64, full width; docs/paper.md §2, §4).
PRESETS = MappingProxyType({
    "smoke": MappingProxyType(dict(iterations=4, batch_size=8, width=0.125, lr_decay=False,
                                   log_every=1, sample_every=0, checkpoint_every=2,
                                   eval_every=0, eval_samples=0)),
    # cpu: batch 32 beat batch 64 at equal wall time (more updates per second); measured in the README.
    "cpu": MappingProxyType(dict(iterations=3000, batch_size=32, width=0.125, lr_decay=False,
                                 log_every=50, sample_every=500, checkpoint_every=500,
                                 eval_every=1000, eval_samples=5000)),
    "paper": MappingProxyType(dict(iterations=100_000, batch_size=64, width=1.0, lr_decay=False,
                                   log_every=100, sample_every=5000, checkpoint_every=1000,
                                   eval_every=10_000, eval_samples=5000)),
})


_RESNET = dict(arch="resnet", setting="resnet", loss="hinge", preset="paper", batch_size=64, g_batch_size=128)
#: The paper's ResNet runs (docs/paper.md §4) as ``TrainConfig`` fields: ``TrainConfig.named("resnet_cifar10")``
#: or ``python -m snlab train --config resnet_cifar10``; any field can still be overridden.
#: CIFAR-10 / STL-10 follow the official ``sn_cifar10_unconditional.yml`` (50k G updates, α decayed
#: linearly to 0 from the start, G steps on 128 samples), not the paper's "100K unless noted": that is
#: the configuration that produced the released numbers. STL-10 has no official config; it uses CIFAR's.
#: ImageNet is ``sn_projection.yml`` / ``sn_concat.yml``: 450k updates, decay from 400k.
CONFIGS = MappingProxyType({
    "resnet_cifar10": MappingProxyType(dict(_RESNET, dataset="cifar10", iterations=50_000, lr_decay=True)),
    "resnet_stl10": MappingProxyType(dict(_RESNET, dataset="stl10", iterations=50_000, lr_decay=True)),
    **{f"imagenet_{head or 'unconditional'}": MappingProxyType(dict(
        _RESNET, dataset="imagenet", conditional=head, iterations=450_000, lr_decay=True, lr_decay_start=400_000))
       for head in ("projection", "concat", "")},
})


def get_config(name: str) -> MappingProxyType:
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown config {name!r}; valid: {', '.join(CONFIGS)}") from None


def get_setting(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        raise ValueError(f"unknown setting {name!r}; valid: {', '.join(SETTINGS)}") from None


def get_preset(name: str) -> MappingProxyType:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}") from None
