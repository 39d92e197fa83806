"""Hyper-parameter settings A–F (Table 1, SPEC §2) and the run-size presets, as data."""
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
})


#: Run sizes. ``iterations`` counts generator updates; ``width`` multiplies every channel count.
#: smoke: seconds, for tests. cpu: minutes on 2 cores, real results on Fashion-MNIST.
#: paper: the paper's scale (100k G updates, batch 64, full width; SPEC §2, §4).
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
