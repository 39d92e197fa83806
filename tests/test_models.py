"""Shapes, ranges and structure of the paper's standard CNN (Table 3) and the MLP pair."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import snlab
from snlab.spectral import singular_values


@pytest.mark.parametrize("resolution", [32, 48])
@pytest.mark.parametrize("channels", [1, 3])
def test_standard_shapes(resolution, channels):
    G, D = snlab.build_models("standard", "sn", resolution, channels, width=0.125)
    x = G(torch.randn(5, 128))
    assert x.shape == (5, channels, resolution, resolution)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (5,)


def test_full_width_matches_table3_and_fig3_counts():
    """Fig 3's per-layer singular-value counts (27, 64, 128, 128, 256, 256, 512) at full width on RGB."""
    _, D = snlab.build_models("standard", "none", 32, 3, width=1.0)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512]
    assert [c.kernel_size[0] for c in convs] == [3, 4, 3, 4, 3, 4, 3]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1]
    counts = [len(s) for name, s in singular_values(D).items() if "conv" in name]
    assert counts == [27, 64, 128, 128, 256, 256, 512]
    assert D.fc.in_features == 4 * 4 * 512
    assert D.features.act0.negative_slope == 0.1


def test_generator_follows_table3():
    G, _ = snlab.build_models("standard", "none", 48, 3, width=1.0)
    assert G.fc.out_features == 6 * 6 * 512
    deconvs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [d.out_channels for d in deconvs] == [256, 128, 64]


def test_final_width_scales_last_conv():
    _, D = snlab.build_models("standard", "sn", 32, 3, width=0.5, final_width=4)
    assert D.features.conv6.out_channels == 4 * 256 and D.fc.in_features == 16 * 1024


def test_d_width_scales_every_d_layer_and_leaves_g_alone():
    """Tables 7–8's "D widths ×1.5": D's channel counts × 1.5 on top of ``width``; G as it was."""
    G, D = snlab.build_models("resnet", "sn", 32, 3, width=0.5)
    G15, D15 = snlab.build_models("resnet", "sn", 32, 3, width=0.5, d_width=1.5)
    assert [p.shape for p in G.parameters()] == [p.shape for p in G15.parameters()]
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    convs15 = [m for m in D15.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64] * len(convs)  # 128 × 0.5
    assert [c.out_channels for c in convs15] == [96] * len(convs)  # 128 × 0.5 × 1.5
    key = snlab.TrainConfig(arch="resnet", setting="resnet", d_width=1).run_fields()
    assert "d_width" not in key  # 1 is the default run: the same key
    with pytest.raises(ValueError, match="arch 'mlp' has fixed widths"):
        snlab.build_models("mlp", "sn", d_width=1.5)
    with pytest.raises(ValueError, match="arch 'mlp' has fixed widths"):
        snlab.TrainConfig(arch="mlp", dataset="ring8", d_width=1.5)  # refused before it gets a run key


@pytest.mark.parametrize("method,layer", [("bn", nn.BatchNorm2d), ("ln", nn.GroupNorm)])
def test_feature_norms_have_no_learnable_scale(method, layer):
    _, D = snlab.build_models("standard", method, 32, 1, width=0.125)
    norms = [m for m in D.modules() if isinstance(m, layer)]
    assert len(norms) == 6 and not any(m.affine for m in norms)


def test_every_d_layer_is_normalized_including_the_dense_one():
    _, D = snlab.build_models("standard", "sn", 32, 1, width=0.125)
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 8 and all(hasattr(m, "parametrizations") for m in layers)


def test_mlp_pair():
    G, D = snlab.build_models("mlp", "sn")
    assert G(torch.randn(4, 128)).shape == (4, 2) and D(torch.randn(4, 2)).shape == (4,)


@pytest.mark.parametrize("kwargs,match", [
    (dict(arch="resnt"), "valid: standard, resnet, mlp"),
    (dict(method="spectral"), "valid: none, sn, wn, clip"),
    (dict(n_classes=10), "unconditional"),
    (dict(resolution=64), "resolution must be one of"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        snlab.build_models(**kwargs)


@pytest.mark.parametrize("kw,match", [(dict(channels=0), "channels must be > 0, got 0"),
                                      (dict(width=-1.0), "width must be > 0, got -1.0"),
                                      (dict(arch="resnet", n_classes=-1), "n_classes must be 0 .* got -1")])
def test_bad_model_sizes_are_refused_by_name(kw, match):
    with pytest.raises(ValueError, match=match):
        snlab.build_models(**{"method": "sn", "resolution": 32, "channels": 1, "width": 0.125, **kw})
