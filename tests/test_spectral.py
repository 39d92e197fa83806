"""Spectral analysis against numpy's SVD, without side effects on SN's power iteration."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import snlab
from snlab import spectral
from snlab.spectral import singular_values, spectral_norms


def test_singular_values_match_numpy_on_effective_weights():
    _, D = snlab.build_models("standard", "wn", 32, 1, width=0.125)
    sv = singular_values(D)
    conv1 = D.features.conv1.weight.detach().reshape(D.features.conv1.out_channels, -1).double().numpy()
    np.testing.assert_allclose(sv["features.conv1"], np.linalg.svd(conv1, compute_uv=False), rtol=1e-10)
    assert list(sv) == [f"features.conv{i}" for i in range(7)] + ["fc"]
    assert all(np.all(np.diff(s) <= 0) for s in sv.values())  # largest first


def test_spectral_norms_are_numpys_largest_singular_value():
    """Wide (conv1: 64 × 576), tall (conv0: 64 × 9) and single-row (fc) weights of an unnormalized D."""
    _, D = snlab.build_models("standard", "none", 32, 1, width=1.0)
    norms = spectral_norms(D)
    for name, w in snlab.spectral.effective_weights(D).items():
        assert norms[name] == pytest.approx(np.linalg.norm(w.numpy(), 2), rel=1e-12), name


def test_reading_spectra_does_not_advance_u():
    _, D = snlab.build_models("standard", "sn", 32, 1, width=0.125)
    D(torch.randn(2, 1, 32, 32))
    u = {k: v.clone() for k, v in D.state_dict().items() if k.endswith(".u")}
    spectral_norms(D)
    singular_values(D)
    assert all(torch.equal(D.state_dict()[k], v) for k, v in u.items())
    assert D.training and all(m.training for m in D.modules())


def test_sn_spectral_norms_are_one_after_power_iteration_converges():
    _, D = snlab.build_models("standard", "sn", 32, 3, width=0.25)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        for _ in range(200):
            D(x)
    assert spectral_norms(D) == pytest.approx({k: 1.0 for k in spectral_norms(D)}, abs=1e-3)


def test_permissible_spectra_obey_each_constraint():
    from torch import nn

    from snlab import normalizers
    from snlab.spectral import permissible_spectra

    s = permissible_spectra(n=30, samples=5, seed=1)
    assert s["sn"].shape == s["wn"].shape == (5, 30)
    # The WN constraint holds for a real snlab WN layer: Σ s² / d_o = ‖W̄‖²_F / d_o = 1.
    layer = normalizers.normalize_(nn.Linear(45, 30), "wn")
    assert (singular_values(layer)[""] ** 2).sum() / 30 == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("kernel,stride,padding", [(3, 1, 1), (4, 2, 1), (1, 1, 0)])
def test_conv_operator_norm_matches_the_explicit_matrix(kernel, stride, padding):
    """Build the conv's full matrix column by column and take its largest singular value by SVD."""
    from torch import nn

    from snlab.spectral import conv_operator_norms

    torch.manual_seed(3)
    conv = nn.Conv2d(2, 3, kernel, stride, padding)
    shape = (2, 6, 6)
    basis = torch.eye(int(np.prod(shape))).view(-1, *shape)
    with torch.no_grad():
        columns = torch.nn.functional.conv2d(basis, conv.weight, None, stride, padding).flatten(1)
    exact = float(torch.linalg.matrix_norm(columns.double().T, 2))
    model = nn.Sequential(conv)
    assert conv_operator_norms(model, shape, iterations=300)["0"] == pytest.approx(exact, rel=1e-4)
    if kernel == 1:  # a 1×1 conv is the reshaped matrix applied per pixel: same norm
        assert exact == pytest.approx(spectral_norms(model)["0"], rel=1e-6)


def test_operator_norm_inside_an_sn_d_matches_the_explicit_matrix_and_leaves_d_untouched():
    """A stride-2 conv deep in an SN-normalized D, at the input size it sees, against its full matrix."""
    from snlab.normalizers import frozen_power_iteration
    from snlab.spectral import OperatorNorms, conv_operator_norms

    _, D = snlab.build_models("standard", "sn", 32, 1, width=1 / 16)
    D(torch.randn(2, 1, 32, 32))
    state = {k: v.clone() for k, v in D.state_dict().items()}
    norms = conv_operator_norms(D, (1, 32, 32), iterations=300)
    assert list(norms) == [f"features.conv{i}" for i in range(7)]
    assert all(torch.equal(state[k], v) for k, v in D.state_dict().items()) and D.training
    conv = D.features.conv1  # 4 → 4 channels, 4×4, stride 2, on 32×32 inputs
    with frozen_power_iteration(D), torch.no_grad():
        basis = torch.eye(4 * 32 * 32).view(-1, 4, 32, 32)
        columns = torch.nn.functional.conv2d(basis, conv.weight, None, 2, 1).flatten(1)
    exact = float(torch.linalg.matrix_norm(columns.double().T, 2))
    assert norms["features.conv1"] == pytest.approx(exact, rel=1e-3)
    # Warm start: two calls of 10 iterations continue where the first stopped, like one call of 20.
    tracker = OperatorNorms((1, 32, 32), seed=5)
    tracker(D, 10)
    assert tracker(D, 10) == pytest.approx(OperatorNorms((1, 32, 32), seed=5)(D, 20), rel=1e-5)


@pytest.mark.parametrize("kw,match", [(dict(n=0), "n_singular_values must be a whole number >= 2, got 0"),
                                      (dict(samples=-3), "samples must be a whole number >= 1, got -3"),
                                      (dict(n="abc"), "n_singular_values must be a whole number >= 2, got 'abc'")])
def test_fig14_parameters_of_the_wrong_kind_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        spectral.permissible_spectra(**kw)
