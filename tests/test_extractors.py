"""Feature extractors: weight files are found, verified and refused clearly; evaluate() carries its protocol."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from torch_fidelity import feature_extractor_inceptionv3 as tfi

import snlab
from snlab import data, folders
from snlab.metrics import classifier, evaluate, inception
from snlab.metrics import evaluation as evaluate_module
from tests.conftest import write_fashion_mnist


@pytest.fixture
def no_inception(tmp_path, monkeypatch):
    """No Inception weights anywhere: an empty torch.hub dir and no environment variable."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv(inception.ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """A weights file in torch-fidelity's format (a plain state dict of its InceptionV3), random values."""
    mp = pytest.MonkeyPatch()
    mp.setattr(tfi, "load_state_dict_from_url", lambda *a, **k: {})
    mp.setattr(tfi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
    net = tfi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    mp.undo()
    path = tmp_path_factory.mktemp("inception") / inception.WEIGHTS_FILE
    torch.save(torch.nn.Module.state_dict(net), path)
    return path


def test_inception_loads_a_file_in_the_expected_format(inception_file):
    net = inception.load_inception(inception_file, sha256=classifier.sha256(inception_file))
    logits, pool = net(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8))
    assert logits.shape == (2, 1008) and pool.shape == (2, 2048)


def test_inception_hash_mismatch_is_refused(inception_file):
    with pytest.raises(ValueError, match=f"expected {inception.WEIGHTS_SHA256}"):
        inception.load_inception(inception_file)


class _Payload:
    """A pickle that, when unpickled unsafely, creates the file PWNED in the working directory."""

    def __reduce__(self):
        return open, ("PWNED", "w")


def test_a_crafted_pickle_runs_nothing(tmp_path, monkeypatch):
    """A file whose SHA-256 shares a pin's first 8 hex digits (what the old check compared) is refused by the
    full hash; and even a file whose full hash is the one asked for is refused by the safe unpickler. PWNED
    never appears. (The pin is made to share the file's prefix: the same case as a file searched to share
    the real pin's, without the search.)"""
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pth"
    torch.save({"x": _Payload()}, evil)
    digest = classifier.sha256(evil)
    near_pin = digest[:8] + "".join("0" if c != "0" else "1" for c in digest[8:])
    with pytest.raises(ValueError, match="has SHA-256"):
        inception.load_inception(evil, sha256=near_pin)
    with pytest.raises(ValueError, match="not a plain state dict of tensors"):
        inception.load_inception(evil, sha256=classifier.sha256(evil))
    assert not (tmp_path / "PWNED").exists()
    torch.load(evil, weights_only=False)  # the control: an unsafe load does run it
    assert (tmp_path / "PWNED").exists()


def test_missing_inception_names_file_hash_place_and_flag(no_inception, tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        inception.resolve_weights()
    msg = str(e.value)
    assert inception.WEIGHTS_FILE in msg and inception.WEIGHTS_SHA256 in msg
    assert str(inception.hub_cache_path()) in msg and "download=True" in msg and inception.ENV_VAR in msg


def test_weights_search_order(no_inception, tmp_path, monkeypatch, inception_file):
    cached = inception.hub_cache_path()
    cached.parent.mkdir(parents=True)
    shutil.copy(inception_file, cached)
    assert inception.find_weights() == cached
    env = tmp_path / "env.pth"
    shutil.copy(inception_file, env)
    monkeypatch.setenv(inception.ENV_VAR, str(env))
    assert inception.find_weights() == env
    assert inception.find_weights(tmp_path / "absent.pth") is None  # an explicit path is not second-guessed


def test_classifier_sha256_check(tmp_path):
    bad = tmp_path / "fmnist_classifier.pt"
    raw = bytearray(classifier.WEIGHTS.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="SHA-256 .* expected .*corrupted"):
        classifier.load_classifier(bad)
    with pytest.raises(FileNotFoundError, match="train-classifier"):
        classifier.load_classifier(tmp_path / "absent.pt")


@pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.exists(), reason="dataset-fashion-mnist is not installed")
def test_committed_classifier_is_accurate_on_real_test_images():
    test = data.load_dataset("fashion_mnist", "test")
    net = classifier.load_classifier()
    sub = data.ImageData("fmnist", test.images[:3000], test.labels[:3000], 10)
    assert classifier.accuracy(net, sub) >= 0.90


def test_auto_falls_back_to_the_offline_extractor_and_says_so(no_inception, capsys):
    assert evaluate_module.resolve_extractor("auto", "fashion_mnist") == "fmnist"
    assert "not comparable to the paper" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="Inception weights"):
        evaluate_module.resolve_extractor("auto", "cifar10")
    with pytest.raises(ValueError, match="valid: auto, inception, fmnist"):
        evaluate_module.resolve_extractor("clip", "cifar10")


def test_auto_prefers_inception_when_present(no_inception, monkeypatch, inception_file):
    monkeypatch.setenv(inception.ENV_VAR, str(inception_file))
    assert evaluate_module.resolve_extractor("auto", "fashion_mnist", verbose=False) == "inception"


def test_evaluate_records_protocol_and_caches_real_features(no_inception, fmnist_dir, tmp_path, monkeypatch):
    G, _ = snlab.build_models("standard", "sn", 32, 1, width=0.125)
    kw = dict(dataset="fashion_mnist", extractor="auto", n_samples=40, is_splits=4, fid_samples=20, n_real=16,
              data_dir=fmnist_dir, cache_dir=tmp_path / "cache", verbose=False)
    m = evaluate(G, out=tmp_path / "metrics.json", **kw)
    assert {"IS_fmnist", "IS_fmnist_std", "FID_fmnist", "KID_fmnist", "precision_fmnist", "recall_fmnist"} <= set(m)
    assert m["extractor"] == "fmnist" and m["comparable_to_paper"] is False
    assert (m["n_samples"], m["fid_samples"], m["n_real"], m["real_split"]) == (40, 20, 16, "test")
    assert json.loads((tmp_path / "metrics.json").read_text())["FID_fmnist"] == pytest.approx(m["FID_fmnist"])
    assert len(list((tmp_path / "cache").glob("real-fashion_mnist-test-fmnist-16-*.pt"))) == 1
    real_extractions = []
    extract = evaluate_module.extract
    monkeypatch.setattr(evaluate_module, "extract", lambda net, batches, total, desc: (
        real_extractions.append(desc) if desc.startswith("real") else None) or extract(net, batches, total, desc))
    again = evaluate(G, **kw)
    assert again["FID_fmnist"] == pytest.approx(m["FID_fmnist"]) and real_extractions == []  # cached reals


def test_feature_cache_is_keyed_by_image_content(no_inception, tmp_path):
    """Two different copies of "fashion_mnist" (e.g. a fixture and the real files) never share features."""
    G, _ = snlab.build_models("standard", "sn", 32, 1, width=0.125)
    for seed in (1, 2):
        write_fashion_mnist(tmp_path / f"copy{seed}", seed=seed)
        evaluate(G, "fashion_mnist", "fmnist", 20, is_splits=2, fid_samples=20, n_real=16, kid=False, prc=False,
                 data_dir=tmp_path / f"copy{seed}", cache_dir=tmp_path / "cache", verbose=False)
    assert len(list((tmp_path / "cache").glob("real-fashion_mnist-test-fmnist-16-*.pt"))) == 2


def test_metrics_during_training_land_in_history(no_inception, fmnist_dir, tmp_path):
    cfg = snlab.TrainConfig(preset="smoke", data_dir=str(fmnist_dir), out_dir=str(tmp_path), progress=False,
                            eval_every=2, eval_samples=20)
    h = snlab.train(cfg).history
    assert h["FID_fmnist"].notna().tolist() == [False, True, False, True]
    assert (h["IS_fmnist"].dropna() >= 1).all()


def test_classifier_extractor_is_registered_with_torch_fidelity(fmnist_dir):
    """torch-fidelity's own pipeline with our extractor gives the same IS and FID as snlab's evaluate path."""
    import torch_fidelity

    from snlab.metrics import frechet_distance, inception_score
    from snlab.metrics.scores import gaussian_stats

    images = data.load_dataset("fashion_mnist", "train", fmnist_dir).images

    class Images(torch.utils.data.Dataset):
        def __init__(self, x):
            self.x = x

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i]

    theirs = torch_fidelity.calculate_metrics(
        input1=Images(images[:32]), input2=Images(images[32:]), isc=True, fid=True, isc_splits=1,
        feature_extractor=classifier.FMNISTExtractor.NAME, cuda=False, cache=False, verbose=False, batch_size=16)
    net = classifier.FMNISTExtractor()
    logits1, feats1 = evaluate_module.extract(net, [images[:32]], 32, "a")
    _, feats2 = evaluate_module.extract(net, [images[32:]], 32, "b")
    s1, s2 = gaussian_stats(feats1), gaussian_stats(feats2)
    assert theirs["inception_score_mean"] == pytest.approx(inception_score(logits1.double().softmax(1), 1)[0], rel=1e-4)
    assert theirs["frechet_inception_distance"] == pytest.approx(
        frechet_distance(s1["mu"], s1["sigma"], s2["mu"], s2["sigma"]), rel=1e-3)


def _write_pngs(images, folder):
    from PIL import Image
    folder.mkdir(parents=True)
    for i, img in enumerate(images):
        Image.fromarray(img[0].numpy()).save(folder / f"{i:04d}.png")
    return folder


def test_fid_of_two_folders_equals_torch_fidelitys_own_pipeline(fmnist_eval_dir, tmp_path):
    """snlab's FID of folder A against statistics saved from folder B (--save-stats, then --stats) equals
    torch_fidelity.calculate_metrics reading the same two folders with the same extractor."""
    import numpy as np
    import torch_fidelity

    images = data.load_dataset("fashion_mnist", "train", fmnist_eval_dir).images
    a, b = _write_pngs(images[:96], tmp_path / "a"), _write_pngs(images[96:224], tmp_path / "b")
    kw = dict(dataset="fashion_mnist", extractor="fmnist", is_splits=4, kid=False, prc=False, cache_dir=tmp_path,
              n_real=None,
              data_dir=fmnist_eval_dir, verbose=False)
    folder_b = folders.load_image_folder(b)
    evaluate(folder_b, n_samples=len(folder_b), save_stats=tmp_path / "b.npz", **kw)
    with np.load(tmp_path / "b.npz") as f:
        assert f["mu"].shape == (128,) and f["sigma"].shape == (128, 128)
    ours = evaluate(folders.load_image_folder(a), n_samples=96, reference_stats=tmp_path / "b.npz", **kw)
    theirs = torch_fidelity.calculate_metrics(input1=str(a), input2=str(b), fid=True,
                                              feature_extractor=classifier.FMNISTExtractor.NAME, cuda=False,
                                              cache=False, verbose=False, batch_size=32)
    assert ours["FID_fmnist"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-6)
    assert ours["reference_stats"] == str(tmp_path / "b.npz") and ours["n_real"] is None


def test_an_image_folder_is_refused_by_name_when_it_cannot_be_scored(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no image files"):
        folders.load_image_folder(tmp_path / "empty")
    bad = _write_pngs(torch.zeros(2, 1, 32, 32, dtype=torch.uint8), tmp_path / "bad")
    (bad / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=f"cannot read {bad / 'broken.png'}"):
        folders.load_image_folder(bad)
    (bad / "broken.png").unlink()
    from PIL import Image
    Image.fromarray(np.zeros((48, 48), dtype=np.uint8)).save(bad / "big.png")
    with pytest.raises(ValueError, match="big.png is \\(48, 48\\) pixels, but 0000.png is \\(32, 32\\)"):
        folders.load_image_folder(bad)
