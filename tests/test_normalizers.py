"""Each normalizer's defining property, checked against SVD and PyTorch's own implementations."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize

from snlab import normalizers
from snlab.normalizers import as_matrix


def _svd_sigma(w: torch.Tensor, dim: int = 0) -> float:
    return float(torch.linalg.svdvals(as_matrix(w.detach().double(), dim))[0])


LAYERS = [lambda: nn.Linear(20, 7), lambda: nn.Linear(5, 30), lambda: nn.Conv2d(3, 8, 4, 2, 1),
          lambda: nn.ConvTranspose2d(6, 4, 4, 2, 1)]


@pytest.mark.parametrize("make", LAYERS)
def test_sn_sigma_converges_to_svd(make):
    layer = make()
    raw = layer.weight.detach().clone()
    normalizers.normalize_(layer, "sn")
    x = torch.randn(2, *((20,) if isinstance(layer, nn.Linear) and layer.in_features == 20 else
                         (5,) if isinstance(layer, nn.Linear) else (layer.in_channels, 8, 8)))
    for _ in range(300):  # u is recycled: each forward is one more power iteration
        layer(x)
    sn = layer.parametrizations.weight[0]
    dim = normalizers.output_dim(layer)
    assert float(sn.sigma) == pytest.approx(_svd_sigma(raw, dim), rel=1e-4)
    assert _svd_sigma(layer.weight, dim) == pytest.approx(1.0, abs=1e-4)


def test_sn_matches_torch_builtin_from_the_same_u():
    torch.manual_seed(1)
    ours = nn.Conv2d(4, 6, 3, padding=1)
    theirs = copy.deepcopy(ours)
    parametrizations.spectral_norm(theirs, n_power_iterations=1)
    normalizers.normalize_(ours, "sn")
    sn, builtin = ours.parametrizations.weight[0], theirs.parametrizations.weight[0]
    sn.u.copy_(builtin._u)
    sn.v.copy_(builtin._v)
    x = torch.randn(3, 4, 5, 5)
    ours.eval()
    theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-6, atol=1e-6)
    # One training-mode iteration from the same state yields the same u (the builtin's v = Wᵀu/‖Wᵀu‖ already).
    ours.train()
    theirs.train()
    ours(x)
    theirs(x)
    torch.testing.assert_close(sn.u, builtin._u, rtol=1e-5, atol=1e-6)


def test_sn_gradient_is_the_papers():
    """σ = uᵀWv with u, v constant: ∂⟨G, W/σ⟩/∂W = G/σ − ⟨G, W⟩/σ² · u vᵀ (Eq. 12)."""
    layer = nn.Linear(9, 5)
    normalizers.normalize_(layer, "sn")
    layer.eval()  # fixes u, v so the hand formula uses exactly the vectors the forward used
    sn = layer.parametrizations.weight[0]
    W = layer.parametrizations.weight.original
    G = torch.randn(5, 9)
    (layer.weight * G).sum().backward()
    u, v = sn.u, sn.v
    sigma = u @ W.detach() @ v
    expected = G / sigma - (G * W.detach()).sum() / sigma**2 * torch.outer(u, v)
    torch.testing.assert_close(W.grad, expected, rtol=1e-5, atol=1e-6)


def test_sn_eval_does_not_move_u_and_u_is_saved():
    layer = nn.Linear(6, 4)
    normalizers.normalize_(layer, "sn")
    u0 = layer.parametrizations.weight[0].u.clone()
    layer.eval()
    layer(torch.randn(2, 6))
    assert torch.equal(layer.parametrizations.weight[0].u, u0)
    layer.train()
    layer(torch.randn(2, 6))
    assert not torch.equal(layer.parametrizations.weight[0].u, u0)
    assert "parametrizations.weight.0.u" in layer.state_dict()


def test_sn_updates_its_buffers_in_place():
    """A captured CUDA graph replays on fixed addresses: u, v and σ change value, never storage."""
    layer = normalizers.normalize_(nn.Conv2d(3, 4, 3), "sn")
    sn = next(normalizers.spectral_norm_modules(layer))
    before = {k: (getattr(sn, k).data_ptr(), getattr(sn, k).clone()) for k in ("u", "v", "sigma")}
    layer(torch.randn(2, 3, 5, 5))
    for k, (ptr, value) in before.items():
        assert getattr(sn, k).data_ptr() == ptr and not torch.equal(getattr(sn, k), value), k


def test_sn_backward_through_two_forwards():
    """A D step runs D twice (real, fake) before one backward; the in-place u update must not break it."""
    layer = nn.Linear(6, 1)
    normalizers.normalize_(layer, "sn")
    loss = layer(torch.randn(3, 6)).sum() + layer(torch.randn(3, 6)).sum()
    loss.backward()
    assert torch.isfinite(layer.parametrizations.weight.original.grad).all()


def test_weight_norm_rows_are_unit():
    conv = nn.Conv2d(3, 8, 3)
    normalizers.normalize_(conv, "wn")
    torch.testing.assert_close(conv.weight.flatten(1).norm(dim=1), torch.ones(8))
    deconv = nn.ConvTranspose2d(5, 7, 4)
    normalizers.normalize_(deconv, "wn")
    torch.testing.assert_close(deconv.weight.transpose(0, 1).flatten(1).norm(dim=1), torch.ones(7))


def test_frobenius_norm_is_one():
    conv = nn.Conv2d(3, 8, 3)
    normalizers.normalize_(conv, "frobenius")
    assert float(torch.linalg.matrix_norm(conv.weight.detach().flatten(1))) == pytest.approx(1.0, abs=1e-6)


def test_sn_gamma_starts_at_sigma_w0():
    lin = nn.Linear(10, 4)
    sigma0 = _svd_sigma(lin.weight)
    normalizers.normalize_(lin, "sn-gamma")
    gamma = lin.parametrizations.weight[0].gamma
    assert isinstance(gamma, nn.Parameter) and float(gamma.detach()) == pytest.approx(sigma0, rel=1e-6)
    assert any(p is gamma for p in lin.parameters())


@pytest.mark.parametrize("shape", [(6, 20), (20, 6)])
def test_orthonormal_penalty_is_zero_for_orthonormal_w(shape):
    lin = nn.Linear(shape[1], shape[0])
    normalizers.orthonormal_init_(lin)
    assert float(normalizers.orthonormal_penalty(lin).detach()) == pytest.approx(0.0, abs=1e-9)


def test_orthonormal_penalty_by_hand():
    lin = nn.Linear(2, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    # WᵀW = [[2, 1], [1, 5]] → (2−1)² + 1² + 1² + (5−1)² = 19
    assert float(normalizers.orthonormal_penalty(lin).detach()) == pytest.approx(19.0)


def test_clip_bounds_every_parameter():
    lin = nn.Linear(4, 4)
    normalizers.clip_(lin, 0.01)
    assert all(p.abs().max() <= 0.01 for p in lin.parameters())


def test_unknown_normalizer_lists_valid_ones():
    with pytest.raises(ValueError, match="valid: sn, sn-gamma, wn, frobenius"):
        normalizers.normalize_(nn.Linear(2, 2), "spectral")


def test_normalized_layer_is_still_a_torch_layer():
    conv = normalizers.normalize_(nn.Conv2d(3, 4, 3), "sn")
    assert isinstance(conv, nn.Conv2d) and parametrize.is_parametrized(conv, "weight")


def test_sigma_estimates_are_readable_per_layer():
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 1))
    normalizers.normalize_(model, "sn")
    model(torch.randn(2, 4))
    est = normalizers.sigma_estimates(model)
    assert set(est) == {"0", "2"}
    for name in est:
        sn, raw = model[int(name)].parametrizations.weight[0], model[int(name)].parametrizations.weight.original
        assert est[name] == pytest.approx(float(sn.u @ raw.detach() @ sn.v), rel=1e-6)
    fresh = normalizers.normalize_(nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 1)), "sn")
    fresh.load_state_dict(model.state_dict())  # σ̂ is a buffer: it survives a checkpoint
    assert normalizers.sigma_estimates(fresh) == est


def test_sigma_buffer_holds_what_its_docstring_says():
    """Fresh: the exact σ(W₀). Registered by normalize_: one power iteration's estimate ũᵀWṽ, below it."""
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3)
    exact = torch.linalg.matrix_norm(conv.weight.detach().reshape(8, -1), 2)
    assert torch.allclose(normalizers.SpectralNorm(conv.weight).sigma, exact)
    normalizers.normalize_(conv, "sn")
    sn = conv.parametrizations.weight[0]
    w = conv.parametrizations.weight.original.detach().reshape(8, -1)
    assert torch.allclose(sn.sigma, sn.u @ w @ sn.v) and sn.sigma < exact
