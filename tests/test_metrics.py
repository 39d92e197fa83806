"""Metric formulas against closed forms (Gaussians for FID, ideal classifiers for IS); intra-FID by hand."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

import snlab
from snlab.data import load_dataset, to_uint8
from snlab.metrics import frechet_distance, inception_score, intra_class_fid, intra_fid
from snlab.metrics.classifier import FMNISTExtractor
from snlab.metrics.evaluation import _generated, training_metrics
from snlab.metrics.scores import gaussian_stats, kernel_distance, precision_recall
from snlab.models import generate


def _rotation(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def test_fid_diagonal_gaussians_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("near_singular", [False, True])
def test_fid_full_covariance_closed_form(near_singular):
    """Σ₁ = Q D₁ Qᵀ, Σ₂ = Q D₂ Qᵀ commute, so FID = ‖Δμ‖² + Σ(√d₁ − √d₂)² exactly."""
    d = 64
    q = _rotation(d, 0)
    rng = np.random.default_rng(1)
    d1, d2 = rng.uniform(0.5, 2.0, d), rng.uniform(0.5, 2.0, d)
    if near_singular:  # rank-deficient: eigenvalues of Σ₁Σ₂ come out slightly negative / complex in float64
        d1[: d // 2], d2[d // 4: 3 * d // 4] = 1e-14, 0.0
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = q @ np.diag(d1) @ q.T, q @ np.diag(d2) @ q.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    if near_singular:  # the case the issue names: scipy's sqrtm returns complex parts here
        import scipy.linalg
        assert np.iscomplexobj(scipy.linalg.sqrtm(s1 @ s2))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_fid_of_a_sample_with_itself_is_zero_and_symmetric():
    x = torch.randn(2000, 16, dtype=torch.float64)
    y = torch.randn(2000, 16, dtype=torch.float64) * 1.5 + 0.3
    sx, sy = gaussian_stats(x), gaussian_stats(y)
    assert abs(frechet_distance(sx["mu"], sx["sigma"], sx["mu"], sx["sigma"])) < 1e-8
    assert frechet_distance(sx["mu"], sx["sigma"], sy["mu"], sy["sigma"]) == pytest.approx(
        frechet_distance(sy["mu"], sy["sigma"], sx["mu"], sx["sigma"]), rel=1e-8)


def test_is_is_one_for_identical_predictions():
    probs = np.tile(np.random.default_rng(0).dirichlet(np.ones(10)), (1000, 1))
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(1.0, abs=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_is_is_k_for_confident_balanced_predictions():
    k = 7
    probs = np.eye(k)[np.arange(700) % k]
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(k, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_is_by_hand_for_two_samples():
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    marginal = probs.mean(0)
    kl = np.sum(probs * np.log(probs / marginal), axis=1).mean()
    assert inception_score(probs, splits=1)[0] == pytest.approx(np.exp(kl), rel=1e-12)


def test_kid_and_precision_recall_separate_same_from_shifted():
    real = torch.randn(1500, 8)
    same, shifted = torch.randn(1500, 8), torch.randn(1500, 8) + 3.0
    assert abs(kernel_distance(same, real, subsets=20, subset_size=500)[0]) < 0.01
    assert kernel_distance(shifted, real, subsets=20, subset_size=500)[0] > 1.0
    p_same, r_same = precision_recall(same, real)
    p_far, r_far = precision_recall(shifted, real)
    assert p_same > 0.8 and r_same > 0.8 and p_far < 0.1 and r_far < 0.1


def _fid_by_hand(x, y, symmetric=False):
    """‖μx − μy‖² + tr(Σx + Σy − 2(ΣxΣy)^½) with numpy/scipy; ``symmetric`` takes tr((Σx^½ Σy Σx^½)^½),
    the same trace, stable for the rank-deficient Σ of a few samples of many features."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    sx, sy = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    if symmetric:
        w, v = np.linalg.eigh(sx)
        root = v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T
        cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ sy @ root), 0, None)).sum()
    else:
        cross = np.trace(scipy.linalg.sqrtm(sx @ sy).real)
    return np.sum((x.mean(0) - y.mean(0)) ** 2) + np.trace(sx) + np.trace(sy) - 2 * cross


def test_intra_fid_is_the_mean_of_per_class_fids_by_hand():
    rng = np.random.default_rng(0)
    gen = [rng.normal(size=(50, 3)), rng.normal(size=(50, 3)) * 2.0 + 1.0]
    real = [rng.normal(size=(50, 3)) @ rng.normal(size=(3, 3)), rng.normal(size=(50, 3)) - 0.5]
    by_hand = [_fid_by_hand(g, r) for g, r in zip(gen, real)]
    mean, per_class = intra_fid([torch.from_numpy(g) for g in gen], [torch.from_numpy(r) for r in real])
    assert per_class == pytest.approx(by_hand, rel=1e-8)
    assert mean == pytest.approx(np.mean(by_hand), rel=1e-8)
    with pytest.raises(ValueError, match="class 1 has 50 generated and 1 real"):
        intra_fid([torch.from_numpy(g) for g in gen], [torch.from_numpy(real[0]), torch.from_numpy(real[1][:1])])


@pytest.fixture(scope="module")
def conditional_G():
    torch.manual_seed(0)
    return snlab.build_models("resnet", "sn", 32, 1, width=0.125, n_classes=10)[0]


def test_intra_class_fid_of_a_conditional_resnet(conditional_G, fmnist_eval_dir, tmp_path):
    n = 6
    r = intra_class_fid(conditional_G, "fashion_mnist", "fmnist", n, seed=3, data_dir=fmnist_eval_dir,
                        cache_dir=tmp_path, verbose=False)
    per_class = r["intraFID_fmnist_per_class"]
    assert len(per_class) == 10 and np.isfinite(r["intraFID_fmnist"])
    assert r["intraFID_fmnist"] == pytest.approx(np.mean(per_class), rel=1e-12)
    protocol = (r["real_split"], r["n_per_class"], r["extractor"], r["comparable_to_paper"])
    assert protocol == ("train", n, "fmnist", False)
    # Class 4 from scratch: samples 4n..5n of the seeded z stream with y = 4, against the train images labelled 4.
    net, c = FMNISTExtractor(), 4
    z = torch.randn(10 * n, conditional_G.z_dim, generator=torch.Generator().manual_seed(3))[c * n:(c + 1) * n]
    fake = net(to_uint8(generate(conditional_G, z, torch.full((n,), c))))[1]
    train = load_dataset("fashion_mnist", "train", fmnist_eval_dir)
    real = net(train.images[train.labels == c])[1]
    assert r["n_real"][c] == len(real)
    assert per_class[c] == pytest.approx(_fid_by_hand(fake, real, symmetric=True), rel=1e-4)


def test_intra_class_fid_refuses_unconditional_generators_and_too_few_images(conditional_G, fmnist_eval_dir):
    kw = dict(dataset="fashion_mnist", extractor="fmnist", n_per_class=4, data_dir=fmnist_eval_dir, verbose=False)
    for arch in ("resnet", "standard"):  # the standard G has no n_classes attribute at all
        with pytest.raises(ValueError, match="conditional generator"):
            intra_class_fid(snlab.build_models(arch, "sn", 32, 1, width=0.125)[0], **kw)
    with pytest.raises(ValueError, match="too few images of classes"):
        intra_class_fid(conditional_G, **kw, n_real_per_class=1000)
    with pytest.raises(ValueError, match="n_per_class must be at least 2"):
        intra_class_fid(conditional_G, **{**kw, "n_per_class": 1})


def test_generated_samples_are_generate_of_the_seeded_z_stream(conditional_G):
    """Unconditional: exactly ``generate(G, z)``; conditional: the same z, labels from their own stream."""
    G = snlab.build_models("standard", "sn", 32, 1, width=0.125)[0]
    y = torch.randint(10, (10,), generator=torch.Generator().manual_seed(8))  # seed + 1
    for g, labels in ((G, None), (conditional_G, y)):
        z_stream = torch.Generator().manual_seed(7)
        for i, batch in enumerate(_generated(g, 10, seed=7, batch_size=4)):
            z = torch.randn(len(batch), g.z_dim, generator=z_stream)
            expected = generate(g, z) if labels is None else generate(g, z, labels[4 * i:4 * i + len(z)])
            assert torch.equal(batch, to_uint8(expected))


def test_training_metrics_of_a_conditional_generator(conditional_G, fmnist_eval_dir):
    """``evaluate`` runs on a conditional G; ``intra_fid=True`` adds intra-FID at n_samples // n_classes per class,
    only from ``MIN_TRAINING_PER_CLASS`` (50) samples per class on."""
    kw = dict(source=conditional_G, dataset="fashion_mnist", extractor="fmnist", n_samples=500, seed=0,
              data_dir=fmnist_eval_dir)
    plain, with_intra = training_metrics(**kw), training_metrics(**kw, intra_fid=True)
    assert set(plain) == {"IS_fmnist", "IS_fmnist_std", "FID_fmnist"}
    assert np.isfinite(plain["FID_fmnist"]) and plain["IS_fmnist"] >= 1
    assert with_intra == {**plain, "intraFID_fmnist": pytest.approx(intra_class_fid(
        conditional_G, "fashion_mnist", "fmnist", 50, data_dir=fmnist_eval_dir, verbose=False)["intraFID_fmnist"])}
    assert "intraFID_fmnist" not in training_metrics(**{**kw, "n_samples": 490}, intra_fid=True)  # 49 per class


def test_evaluate_fid_is_the_fid_of_its_own_features_by_hand(fmnist_eval_dir, tmp_path):
    """``evaluate``'s FID against numpy/scipy on the features of exactly its inputs: the first
    ``fid_samples`` generated images of the seeded z stream, and the first ``n_real`` test images."""
    from snlab.metrics import evaluate

    torch.manual_seed(1)
    G = snlab.build_models("standard", "sn", 32, 1, width=0.125)[0]
    r = evaluate(G, "fashion_mnist", "fmnist", n_samples=96, seed=5, fid_samples=80, n_real=120, kid=False, prc=False,
                 data_dir=fmnist_eval_dir, cache_dir=tmp_path, batch_size=32, verbose=False)
    net = FMNISTExtractor()
    fake = torch.cat([net(batch)[1] for batch in _generated(G, 96, seed=5, batch_size=32)])[:80]
    real = net(load_dataset("fashion_mnist", "test", fmnist_eval_dir).images[:120])[1]
    assert r["FID_fmnist"] == pytest.approx(_fid_by_hand(fake, real, symmetric=True), rel=1e-4)


@pytest.mark.parametrize("kw,match", [
    (dict(n_samples=5, is_splits=5, fid_samples=5),
     "IS needs at least 2 samples per split: n_samples=5 in is_splits=5"),
    (dict(n_samples=40, is_splits=4, fid_samples=5), "FID needs at least 10 generated samples, got fid_samples=5"),
    (dict(n_samples=40, is_splits=4, fid_samples=50), r"fid_samples \(50\) cannot exceed n_samples \(40\)"),
    (dict(n_samples=40, is_splits=4, channels=3),
     r"makes \(3, 32, 32\) images .* fashion_mnist images are \(1, 32, 32\)"),
    (dict(n_samples=40, is_splits=4, resolution=48), r"makes \(1, 48, 48\) images"),
])
def test_evaluate_refuses_sizes_that_give_no_number(kw, match, fmnist_eval_dir, tmp_path):
    from snlab.metrics import evaluate

    shape = {k: kw.pop(k) for k in ("channels", "resolution") if k in kw}
    G = snlab.build_models("standard", "sn", shape.get("resolution", 32), shape.get("channels", 1), width=0.125)[0]
    with pytest.raises(ValueError, match=match):
        evaluate(G, "fashion_mnist", "fmnist", **kw, data_dir=fmnist_eval_dir, cache_dir=tmp_path, verbose=False)


def test_evaluate_of_fewer_samples_than_5000_scores_them_all_and_says_so(fmnist_eval_dir, tmp_path):
    from snlab.metrics import evaluate

    G = snlab.build_models("standard", "sn", 32, 1, width=0.125)[0]
    r = evaluate(G, "fashion_mnist", "fmnist", n_samples=60, is_splits=3, n_real=100, kid=False, prc=False,
                 data_dir=fmnist_eval_dir, cache_dir=tmp_path, verbose=False)
    assert r["fid_samples"] == 60 and np.isfinite(r["FID_fmnist"]) and not r["comparable_to_paper"]
