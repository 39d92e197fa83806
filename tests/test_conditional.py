"""Conditional training (#5): labels reach G and D, runs finish and resume exactly, the paper's named
ResNet configurations, and the refusals."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import snlab
from snlab.data import load_dataset, to_uint8
from snlab.train import Trainer

REPO = Path(__file__).resolve().parent.parent


def _cfg(data_dir, out, **kw):
    fields = dict(preset="smoke", arch="resnet", setting="resnet", loss="hinge", conditional="projection",
                  data_dir=str(data_dir), out_dir=str(out), progress=False, device="cpu")
    return snlab.TrainConfig(**{**fields, **kw})


@pytest.mark.parametrize("head", ["projection", "concat"])
def test_conditional_smoke_run_logs_intra_fid_and_a_class_per_row(head, fmnist_eval_dir, tmp_path):
    r = snlab.train(_cfg(fmnist_eval_dir, tmp_path, conditional=head, eval_every=4, eval_samples=500,
                         sample_every=4, eval_extractor="fmnist"))
    last = r.history.iloc[-1]
    assert r.status == "complete" and r.discriminator.head == head and r.generator.n_classes == 10
    assert {"IS_fmnist", "FID_fmnist", "intraFID_fmnist"} <= set(r.history.columns)
    assert torch.isfinite(torch.tensor([last["IS_fmnist"], last["FID_fmnist"], last["intraFID_fmnist"]])).all()
    from PIL import Image
    # 8 columns × 10 class rows of 32 px, 2 px padding
    with Image.open(tmp_path / "samples" / "step_0000004.png") as grid:
        assert grid.size == (8 * 34 + 2, 10 * 34 + 2)


def test_d_sees_each_real_image_with_its_own_label_and_g_the_fakes_labels(fmnist_dir, tmp_path):
    trainer = Trainer(_cfg(fmnist_dir, tmp_path, g_batch_size=12))
    calls = []
    d_forward, g_forward = trainer.D.forward, trainer.G.forward
    trainer.D.forward = lambda x, y: calls.append(("D", x.detach(), y)) or d_forward(x, y)
    trainer.G.forward = lambda z, y: calls.append(("G", z, y)) or g_forward(z, y)
    trainer.d_step()
    (_, _, y_gen), (_, real, y_real), (_, _, y_fake) = calls
    assert len(real) == 8 and torch.equal(y_gen, y_fake)  # D judges each fake under the label G drew it for
    data = load_dataset("fashion_mnist", data_dir=fmnist_dir)
    for x, y in zip(to_uint8(real), y_real):
        matches = (data.images == x).flatten(1).all(1)
        assert matches.any() and y in data.labels[matches]
    calls.clear()
    trainer.g_step()
    (_, z, y_g), (_, _, y_d) = calls
    assert len(z) == 12 and torch.equal(y_g, y_d)  # g_batch_size: G's step has its own batch size


def test_ac_head_scores_without_labels_and_its_losses_add_the_class_cross_entropy(fmnist_dir, tmp_path):
    """AC-WGAN-GP (Table 8): D(x) takes no labels; D's loss is the WGAN loss + 1.0 · CE of its class logits
    on the real batch + λ · the penalty, G's the WGAN loss + 0.1 · CE on its fakes. CE by hand: the mean
    of logsumexp(l) − l[y]."""
    from snlab.losses import gradient_penalty
    from snlab.objectives import d_objective, g_objective
    cfg = _cfg(fmnist_dir, tmp_path, conditional="ac", method="sn-gamma", loss="wasserstein", gradient_penalty=True)
    trainer = Trainer(cfg)
    D = trainer.D.eval()  # eval: SN's u stays put, so each call below sees the same D
    real, y_real, z, y, eps = trainer.d_inputs()
    fake = trainer.G(z, y).detach()
    scores, logits = D(real, logits=True)
    assert scores.shape == (8,) and logits.shape == (8, 10) and torch.equal(D(real), scores)

    def ce(lg, labels):
        return (torch.logsumexp(lg, 1) - lg[torch.arange(len(labels)), labels]).mean()
    want_d = D(fake).mean() - scores.mean() + ce(logits, y_real) + 10.0 * gradient_penalty(D, real, fake, eps=eps)
    assert torch.allclose(d_objective(D, trainer.loss, cfg, real, y_real, fake, y, eps), want_d, atol=1e-5)
    fake_scores, fake_logits = D(fake, logits=True)
    want_g = -fake_scores.mean() + 0.1 * ce(fake_logits, y)
    assert torch.allclose(g_objective(D, trainer.loss, cfg, fake, y), want_g, atol=1e-6)
    with pytest.raises(ValueError, match="predicts the class from x: call it without y"):
        D(real, y_real)
    projection = Trainer(_cfg(fmnist_dir, tmp_path / "p")).D
    with pytest.raises(ValueError, match="logits=True needs D's auxiliary classifier"):
        projection(real, y_real, logits=True)


def test_conditional_resume_is_bitwise_identical(fmnist_dir, tmp_path):
    full = snlab.train(_cfg(fmnist_dir, tmp_path / "full", iterations=6, conditional="concat"))
    snlab.train(_cfg(fmnist_dir, tmp_path / "split", iterations=3, conditional="concat"))
    resumed = snlab.train(_cfg(fmnist_dir, tmp_path / "split", iterations=6, conditional="concat", resume=True))
    for a, b in ((full.generator, resumed.generator), (full.discriminator, resumed.discriminator)):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_lr_decays_linearly_to_zero_from_lr_decay_start(fmnist_dir, tmp_path):
    r = snlab.train(_cfg(fmnist_dir, tmp_path, iterations=8, lr_decay=True, lr_decay_start=4, conditional=""))
    lr = snlab.SETTINGS["resnet"].lr
    # The lr logged at step s is the one its update used: α until step 4, then α·(8 − (s−1))/(8 − 4).
    assert r.history["lr"].tolist() == pytest.approx([lr] * 5 + [lr * 3 / 4, lr * 2 / 4, lr * 1 / 4])


def test_named_configs_follow_spec_section_4():
    c = snlab.TrainConfig.named("resnet_cifar10")
    assert (c.arch, c.dataset, c.loss, c.iterations, c.lr_decay, c.lr_decay_start) == ("resnet", "cifar10", "hinge",
                                                                                      50_000, True, 0)
    assert (c.lr, c.beta1, c.beta2, c.n_dis, c.batch_size, c.g_batch_size, c.width) == (2e-4, 0.0, 0.9, 5, 64, 128, 1.0)
    i = snlab.TrainConfig.named("imagenet_projection", seed=3)
    assert (i.dataset, i.conditional, i.iterations, i.lr_decay_start, i.seed) == ("imagenet", "projection", 450_000,
                                                                                  400_000, 3)
    assert snlab.TrainConfig.named("imagenet_concat").conditional == "concat"
    assert snlab.TrainConfig.named("imagenet_unconditional").conditional == ""
    with pytest.raises(ValueError, match="valid: resnet_cifar10, resnet_stl10, imagenet_projection"):
        snlab.TrainConfig.named("resnet_cifar100")


@pytest.mark.parametrize("fields,match", [
    (dict(conditional="film"), "valid: '' \\(unconditional\\), projection, concat, ac"),
    (dict(arch="standard"), "conditional runs need arch='resnet'"),
    (dict(dataset="stl10"), "trains on unlabeled data"),
    (dict(method="wgan-gp", loss=None), "gradient penalty with D's 'projection' head"),
    (dict(conditional="concat", method="wgan-gp", loss=None), "use conditional 'ac'"),
    (dict(log_heldout_loss=True), "unconditional runs"),
    (dict(log_operator_norms=True), "unconditional runs"),
    (dict(lr_decay=True, lr_decay_start=4), r"lr_decay_start must be in \[0, iterations=4\)"),
    (dict(g_batch_size=0), "g_batch_size must be >= 1"),
])
def test_conditional_refusals(fields, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        _cfg(tmp_path, tmp_path, **fields)


def test_imagenet_run_without_data_says_where_to_put_it(tmp_path):
    out = subprocess.run([sys.executable, "-m", "snlab", "train", "--config", "imagenet_projection", "--data-dir",
                          str(tmp_path), "--out", str(tmp_path / "run"), "--no-progress"], cwd=REPO,
                         capture_output=True, text=True, env=os.environ | {"PYTHONWARNINGS": "ignore"})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert str(tmp_path / "imagenet" / "train") in out.stderr and "image-net.org" in out.stderr


def test_figure_runs_use_the_named_configs_at_the_paper_preset():
    from snlab import experiments
    imagenet = experiments.conditional_runs("paper", "imagenet", seeds=[0], head="concat")
    assert [c.method for c in imagenet] == ["sn", "orthonormal"]
    assert all(c.conditional == "concat" and c.iterations == 450_000 and c.lr_decay_start == 400_000 for c in imagenet)
    stl = experiments.resnet_rows("paper", "stl10", seeds=[0])
    assert all(c.dataset == "stl10" and c.iterations == 50_000 and c.g_batch_size == 128 and not c.conditional
               for c in stl)
    with pytest.raises(ValueError, match="no 'ac' head on imagenet: its ImageNet runs are projection, concat"):
        experiments.appendix_e_resnet_runs("paper", "imagenet", conditional="ac")
    with pytest.raises(ValueError, match="Tables 7 and 8's ResNet rows are appendix_e_resnet_runs"):
        experiments.reparam_runs("cpu", arch="resnet")
    cpu = experiments.conditional_runs("cpu")[0]  # short runs: no decay, G batch twice D's, 6 metric points
    assert (cpu.arch, cpu.lr_decay, cpu.g_batch_size, cpu.iterations // cpu.eval_every) == ("resnet", False, 64, 6)


def test_equivalent_configs_share_a_run_key_and_old_keys_are_unchanged(tmp_path):
    from snlab.store import default_run_dir
    base = dict(preset="cpu", arch="resnet", setting="resnet")
    assert default_run_dir(snlab.TrainConfig(**base, g_batch_size=32)) == default_run_dir(snlab.TrainConfig(**base))
    assert snlab.TrainConfig(**base, lr_decay_start=100).lr_decay_start == 0  # no decay: the start is moot
    # The key of a Figs 1–2 grid run stored before #5 added fields must not move (the store would retrain it).
    old = snlab.TrainConfig(method="sn", setting="C", preset="cpu", iterations=400, eval_every=400, eval_samples=5000,
                            sample_every=400, checkpoint_every=100)
    assert default_run_dir(old).name == "fashion_mnist-sn-C-s0-i400-5ad4cf75f5"
