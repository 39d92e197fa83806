"""The ResNet G and D (Tables 4–6): shapes, parameter counts from the tables, conditioning, errors."""
from __future__ import annotations

import itertools

import pytest
import torch
from torch.nn.utils import parametrize

import snlab
from snlab import normalizers

CASES = [(r, c, 0, "projection") for r, c in itertools.product((32, 48, 128), (1, 3))]
CASES += [(r, c, 10, head) for r, c, head in itertools.product((32, 48, 128), (1, 3), ("projection", "concat"))]


@pytest.mark.parametrize("resolution,channels,n_classes,head", CASES)
def test_shapes(resolution, channels, n_classes, head):
    G, D = snlab.build_models("resnet", "sn", resolution, channels, width=1 / 16, n_classes=n_classes, head=head)
    z = torch.randn(2, 128)
    y = torch.tensor([0, 7]) if n_classes else None
    x = G(z, y) if n_classes else G(z)
    assert x.shape == (2, channels, resolution, resolution) and x.abs().max() <= 1
    assert (D(x, y) if n_classes else D(x)).shape == (2,)


def _conv(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def _expected(resolution: int, n_classes: int = 0) -> tuple[int, int]:
    """Parameter counts written down from Tables 4–6 and Fig 8 (biases everywhere, BN γ and β; conditional
    BN: one γ and one β per class; running statistics are buffers, not parameters).

    G: dense z(128) → s·s·c₀; per up block c_in → c_out: BN(c_in), conv3×3 c_in→c_out, BN(c_out),
    conv3×3 c_out→c_out, shortcut conv1×1 c_in→c_out; then BN(c_last), conv3×3 c_last → 3.
    D: optimized block 3 → c: conv3×3 3→c, conv3×3 c→c, shortcut conv1×1 3→c; each later block
    c_in → c_out: conv3×3 c_in→c_in, conv3×3 c_in→c_out, shortcut conv1×1 when it downsamples or
    changes width; dense c_last → 1; projection embedding n_classes × c_last.
    """
    side, g = {32: (4, [256, 256, 256, 256]), 48: (6, [512, 256, 128, 64]),
               128: (4, [1024, 1024, 512, 256, 128, 64])}[resolution]
    d = {32: [(128, 1), (128, 1), (128, 0), (128, 0)], 48: [(64, 1), (128, 1), (256, 1), (512, 1), (1024, 0)],
         128: [(64, 1), (128, 1), (256, 1), (512, 1), (1024, 1), (1024, 0)]}[resolution]
    bn = (lambda c: 2 * c * n_classes) if n_classes else (lambda c: 2 * c)
    n_g = 128 * side * side * g[0] + side * side * g[0]
    for a, b in zip(g, g[1:]):
        n_g += bn(a) + _conv(3, a, b) + bn(b) + _conv(3, b, b) + _conv(1, a, b)
    n_g += 2 * g[-1] + _conv(3, g[-1], 3)
    c0 = d[0][0]
    n_d = _conv(3, 3, c0) + _conv(3, c0, c0) + _conv(1, 3, c0)
    for (a, _), (b, down) in zip(d, d[1:]):
        n_d += _conv(3, a, a) + _conv(3, a, b) + (_conv(1, a, b) if down or a != b else 0)
    n_d += d[-1][0] + 1 + n_classes * d[-1][0]
    return n_g, n_d


@pytest.mark.parametrize("resolution,n_classes", [(32, 0), (48, 0), (128, 0), (128, 1000)])
def test_full_width_parameter_counts_match_the_tables(resolution, n_classes):
    G, D = snlab.build_models("resnet", "none", resolution, 3, 1.0, n_classes=n_classes)
    count = [sum(p.numel() for p in m.parameters()) for m in (G, D)]
    assert count == list(_expected(resolution, n_classes))
    if resolution == 32:  # the CIFAR-10 SN-GAN as commonly quoted: G ≈ 4.3M, D ≈ 1.1M parameters
        assert count == [4_276_739, 1_053_825]


def test_concat_discriminator_parameter_count_matches_table_6c():
    """Table 6c: the label embedded to 128 dims and concatenated after the third block (256 ch), so block 4
    takes 256 + 128 = 384 channels: conv3×3 384→384, conv3×3 384→512, shortcut 384→512, instead of the
    unconditional 256→256, 256→512, 256→512; the embedding is 1000 × 128 and there is no projection."""
    _, D = snlab.build_models("resnet", "none", 128, 3, 1.0, n_classes=1000, head="concat")
    unconditional = _expected(128)[1]
    block4 = lambda c: _conv(3, c, c) + _conv(3, c, 512) + _conv(1, c, 512)  # noqa: E731
    assert sum(p.numel() for p in D.parameters()) == unconditional - block4(256) + block4(384) + 1000 * 128


def test_conditional_models_use_the_label():
    torch.manual_seed(0)
    G, D = snlab.build_models("resnet", "sn", 32, 1, width=0.125, n_classes=10)
    x, z = torch.randn(4, 1, 32, 32), torch.randn(4, 128)
    D.eval()
    assert not torch.allclose(D(x, torch.zeros(4, dtype=torch.long)), D(x, torch.full((4,), 3)))
    cbn = G.blocks[0].bn1
    assert cbn.gamma.weight.shape == (10, G.blocks[0].conv1.in_channels) and not cbn.bn.affine
    with torch.no_grad():
        cbn.gamma.weight[3] += 0.5  # class 3 only
    G.eval()
    same = G(z, torch.zeros(4, dtype=torch.long))
    assert torch.equal(same, G(z, torch.zeros(4, dtype=torch.long)))
    assert not torch.allclose(same, G(z, torch.full((4,), 3)))
    assert parametrize.is_parametrized(D.embed, "weight")  # SNEmbedID: the projection is normalized too
    _, Dc = snlab.build_models("resnet", "sn", 32, 1, width=0.125, n_classes=10, head="concat")
    Dc.eval()
    assert not torch.allclose(Dc(x, torch.zeros(4, dtype=torch.long)), Dc(x, torch.full((4,), 3)))
    assert parametrize.is_parametrized(Dc.embed, "weight")
    with pytest.raises(ValueError, match=r"needs labels: D\(x, y\)"):
        D(x)
    G0, _ = snlab.build_models("resnet", "sn", 32, 1, width=0.125)
    with pytest.raises(ValueError, match="takes no labels"):
        G0(z, torch.zeros(4, dtype=torch.long))


def test_sn_normalizes_every_resnet_d_layer():
    _, D = snlab.build_models("resnet", "sn", 32, 3, width=0.25)
    for _ in range(30):  # power iteration converges over forward calls in training mode
        D(torch.randn(2, 3, 32, 32))
    sigmas = snlab.spectral.spectral_norms(D)
    assert len(sigmas) == len(normalizers.weight_layers(D)) == 3 + 3 + 2 + 2 + 1
    assert all(abs(s - 1) < 0.05 for s in sigmas.values())


def test_bad_resnet_requests_are_refused_clearly():
    with pytest.raises(ValueError, match=r"must be one of \[32, 48, 128\], got 64"):
        snlab.build_models("resnet", "sn", 64, 3)
    with pytest.raises(ValueError, match="standard CNN only"):
        snlab.build_models("resnet", "bn", 32, 3)
    with pytest.raises(ValueError, match="valid: projection, concat"):
        snlab.build_models("resnet", "sn", 32, 3, n_classes=10, head="film")
    with pytest.raises(ValueError, match="use arch='resnet'"):
        snlab.build_models("standard", "sn", 32, 3, n_classes=10)


def test_a_resnet_run_trains_and_logs_every_layer(fmnist_dir, tmp_path):
    r = snlab.train(snlab.TrainConfig(preset="smoke", arch="resnet", setting="A", data_dir=str(fmnist_dir),
                                      out_dir=str(tmp_path), progress=False))
    sigmas = [c for c in r.history.columns if c.startswith("sigma_")]
    assert r.status == "complete" and len(sigmas) == 11 and "sigma_blocks_0_shortcut" in sigmas
