"""The training loop: every method finishes, resume is bitwise exact (also after a kill), bad input is caught."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn.utils import parametrize

import snlab
from snlab import losses, normalizers
from snlab.methods import get_method

REPO = Path(__file__).resolve().parent.parent


def _cfg(fmnist_dir, out, **kw):
    return snlab.TrainConfig(preset="smoke", data_dir=str(fmnist_dir), out_dir=str(out), progress=False, **kw)


@pytest.mark.parametrize("method", snlab.METHODS)
def test_smoke_run_per_method(method, fmnist_dir, tmp_path):
    result = snlab.train(_cfg(fmnist_dir, tmp_path, method=method))
    h = result.history
    assert result.status == "complete" and list(h["step"]) == [1, 2, 3, 4]
    assert h[["loss_d", "loss_g"]].notna().all().all() and torch.isfinite(torch.tensor(h["loss_d"].values)).all()
    assert {"sigma_conv0", "sigma_conv6", "sigma_fc", "seconds"} <= set(h.columns)
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "complete"
    assert (tmp_path / "checkpoint.pt").exists() and (tmp_path / "history.csv").exists()
    if method == "clip":
        assert all(p.abs().max() <= 0.01 for p in result.discriminator.parameters())
    if method in ("sn", "sn-gamma"):  # σ̂ = uᵀWv of the raw weight, for every layer of D
        est = normalizers.sigma_estimates(result.discriminator)
        layers = normalizers.weight_layers(result.discriminator)
        assert set(est) == set(layers) and len(est) == 8
        sn = next(normalizers.spectral_norm_modules(layers["fc"]))
        raw = layers["fc"].parametrizations.weight.original.detach()
        assert est["fc"] == pytest.approx(float(sn.u @ raw @ sn.v), rel=1e-5)


def test_setting_n_dis_and_mixture(tmp_path):
    """Setting A's n_dis = 5 on the 2-D ring with the MLP pair; one history row per G update."""
    cfg = snlab.TrainConfig(dataset="ring8", arch="mlp", setting="A", preset="smoke", out_dir=str(tmp_path),
                            progress=False, sample_every=4)
    result = snlab.train(cfg)
    assert cfg.n_dis == 5 and len(result.history) == 4 and (tmp_path / "samples" / "step_0000004.png").exists()


def _states(result):
    return {**{f"G.{k}": v for k, v in result.generator.state_dict().items()},
            **{f"D.{k}": v for k, v in result.discriminator.state_dict().items()}}


def _assert_bitwise(a, b):
    sa, sb = _states(a), _states(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("kw", [dict(method="sn", setting="A"), dict(method="wgan-gp"),
                                dict(arch="resnet", setting="resnet", loss="hinge", conditional="projection")],
                         ids=["sn-ndis5", "wgan-gp", "conditional"])
def test_cudagraphs_path_is_bitwise_eager_on_cpu(kw, fmnist_dir, tmp_path):
    """speedup="cudagraphs" draws each iteration's inputs (real batch, labels, z, y, the penalty's ε, for
    n_dis D steps) into static tensors and runs on those. On the CPU no graph is captured (the capture and
    replay are checked on a GPU only: README, "Speed"), so this checks the static-input path: the run must
    be bitwise eager's."""
    eager = snlab.train(_cfg(fmnist_dir, tmp_path / "eager", iterations=6, device="cpu", **kw))
    graphed = snlab.train(_cfg(fmnist_dir, tmp_path / "graphed", iterations=6, device="cpu", speedup="cudagraphs",
                               **kw))
    _assert_bitwise(eager, graphed)
    assert json.loads((tmp_path / "graphed" / "status.json").read_text())["speedup"] == "cudagraphs"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="a CUDA graph needs a GPU")
@pytest.mark.parametrize("method", ["none", "sn"])
def test_cuda_graph_replays_eager_updates(method, fmnist_dir, tmp_path):
    """On a GPU: 8 iterations (3 warm-up, capture, replays) graphed vs eager from one seed. On the lent
    H100 the largest relative loss differences were 2e-7 (none) and 3e-5 (SN)."""
    from snlab.train import Trainer
    losses = {}
    for speedup in ("eager", "cudagraphs"):
        t = Trainer(_cfg(fmnist_dir, tmp_path, method=method, device="cuda", speedup=speedup))
        losses[speedup] = torch.stack([t.iteration() for _ in range(8)]).cpu()
        assert t.speedup == speedup
    torch.testing.assert_close(losses["cudagraphs"], losses["eager"], rtol=1e-3, atol=1e-5)


def test_auto_speedup_per_device_and_what_a_graph_cannot_do():
    from snlab.speed import resolve_speedup
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_speedup(snlab.TrainConfig(), cpu) == "eager"
    assert resolve_speedup(snlab.TrainConfig(), cuda) == "cudagraphs"
    assert resolve_speedup(snlab.TrainConfig.named("resnet_cifar10"), cuda) == "eager"  # lr decays
    assert resolve_speedup(snlab.TrainConfig(speedup="compile"), cuda) == "compile"
    with pytest.raises(ValueError, match="lr_decay needs 'eager' or 'compile'"):  # refused by the config itself
        snlab.TrainConfig(lr_decay=True, speedup="cudagraphs")
    with pytest.raises(ValueError, match="lr_decay needs 'eager' or 'compile'"):  # by a preset's decay too
        snlab.TrainConfig.named("resnet_cifar10", speedup="cudagraphs")


def test_a_checkpoint_resumes_with_this_trainers_adam(fmnist_dir, tmp_path):
    """A checkpoint carries its writer's Adam flags (a GPU run's fused/capturable Adam keeps its step
    counters on the device); loading keeps the loading trainer's implementation instead."""
    from snlab.train import Trainer
    trainer = Trainer(_cfg(fmnist_dir, tmp_path, device="cpu"))
    trainer.iteration()
    state = trainer.state_dict()
    for group in state["opt_d"]["param_groups"]:
        group.update(fused=True, capturable=True, foreach=False)
    fresh = Trainer(_cfg(fmnist_dir, tmp_path, device="cpu"))
    fresh.load_state_dict(state)
    for opt in (fresh.opt_g, fresh.opt_d):
        assert [(g["fused"], g["capturable"], g["foreach"]) for g in opt.param_groups] == [(None, False, None)]
        assert all(s["step"].device.type == "cpu" and s["step"] == 1 for s in opt.state.values())
    fresh.iteration()  # the default Adam steps with what was loaded


def test_resume_with_more_iterations_is_bitwise_identical(fmnist_dir, tmp_path):
    # Bitwise is a CPU guarantee (cuDNN's backward kernels are not deterministic), so the device is pinned.
    full = snlab.train(_cfg(fmnist_dir, tmp_path / "full", iterations=6, device="cpu"))
    snlab.train(_cfg(fmnist_dir, tmp_path / "split", iterations=3, device="cpu"))
    resumed = snlab.train(_cfg(fmnist_dir, tmp_path / "split", iterations=6, resume=True, device="cpu"))
    _assert_bitwise(full, resumed)
    assert list(resumed.history["step"]) == [1, 2, 3, 4, 5, 6]
    pd.testing.assert_frame_equal(full.history.drop(columns="seconds"), resumed.history.drop(columns="seconds"))
    config = (tmp_path / "split" / "config.json").read_text()
    with pytest.raises(ValueError, match="iterations=4: it has trained 6 G updates already"):
        snlab.train(_cfg(fmnist_dir, tmp_path / "split", iterations=4, resume=True, device="cpu"))
    assert (tmp_path / "split" / "config.json").read_text() == config  # nothing rewritten


@pytest.mark.slow
def test_resume_after_kill_is_bitwise_identical(fmnist_dir, tmp_path):
    args = ["--preset", "smoke", "--iterations", "40", "--checkpoint-every", "1", "--data-dir", str(fmnist_dir),
            "--method", "sn", "--setting", "A", "--no-progress", "--device", "cpu"]  # bitwise: a CPU guarantee
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "snlab", "train", "--out", str(killed), *args], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        history = killed / "history.csv"
        if history.exists() and len(history.read_text().splitlines()) > 4:  # some steps in, far from done
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "status.json").exists(), "the run finished before it could be killed"
    step = torch.load(killed / "checkpoint.pt", weights_only=True)["step"]
    assert 0 < step < 40
    cfg = dict(iterations=40, checkpoint_every=1, method="sn", setting="A", device="cpu")
    resumed = snlab.train(_cfg(fmnist_dir, killed, resume=True, **cfg))
    full = snlab.train(_cfg(fmnist_dir, tmp_path / "full", **cfg))
    _assert_bitwise(full, resumed)
    assert list(resumed.history["step"]) == list(range(1, 41))


def test_decayed_run_cannot_be_extended(fmnist_dir, tmp_path):
    """Under lr_decay the schedule depends on iterations, so they are part of the run's identity."""
    snlab.train(_cfg(fmnist_dir, tmp_path, iterations=2, lr_decay=True))
    with pytest.raises(ValueError, match="config differs in iterations"):
        snlab.train(_cfg(fmnist_dir, tmp_path, iterations=4, lr_decay=True, resume=True))


def test_eval_settings_are_checked_up_front():
    assert snlab.TrainConfig(dataset="ring8", arch="mlp", preset="cpu").eval_every == 0  # preset's image metrics
    with pytest.raises(ValueError, match="eval_every must be 0 for 2-D point data"):
        snlab.TrainConfig(dataset="ring8", arch="mlp", eval_every=50)
    with pytest.raises(ValueError, match="eval_samples >= 10 when evaluating"):
        snlab.TrainConfig(eval_every=50, eval_samples=5)
    with pytest.raises(ValueError, match="valid: auto, inception, fmnist"):
        snlab.TrainConfig(eval_extractor="fid")


def test_existing_run_needs_resume_and_same_config(fmnist_dir, tmp_path):
    snlab.train(_cfg(fmnist_dir, tmp_path, iterations=2))
    with pytest.raises(FileExistsError, match="resume=True"):
        snlab.train(_cfg(fmnist_dir, tmp_path, iterations=2))
    with pytest.raises(ValueError, match="config differs in method"):
        snlab.train(_cfg(fmnist_dir, tmp_path, iterations=2, method="wn", resume=True))


def test_nan_loss_is_recorded_as_diverged(fmnist_dir, tmp_path, monkeypatch):
    nan_loss = losses.Loss(d=lambda r, f: (r.mean() + f.mean()) * float("nan"), g=lambda f: f.mean())
    monkeypatch.setitem(losses.LOSSES, "standard", nan_loss)
    result = snlab.train(_cfg(fmnist_dir, tmp_path))
    assert result.status == "diverged" and len(result.history) == 1
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "diverged"


@pytest.mark.parametrize("field,value,match", [
    ("method", "spectral", "valid: none, sn, wn"),
    ("setting", "G", "valid: A, B, C, D, E, F"),
    ("dataset", "mnist", "valid: fashion_mnist, cifar10"),
    ("preset", "huge", "valid: smoke, cpu, paper"),
    ("loss", "hing", "valid: standard, hinge, wasserstein"),
    ("arch", "resnt", "valid: standard, resnet, mlp"),
    ("device", "tpu", "valid: auto, cpu, cuda"),
    ("speedup", "graphs", "valid: auto, eager, channels_last, compile, cudagraphs"),
    ("iterations", 0, "iterations must be >= 1"),
    ("iterations", 2.5, "iterations must be a whole number, got 2.5"),
    ("iterations", "10", "iterations must be a whole number, got '10'"),
    ("seed", True, "seed must be a whole number"),
    ("width", -1, r"width must be > 0, got -1"),
    ("final_width", 0, r"final_width must be > 0, got 0"),
    ("gp_lambda", -10, r"gp_lambda must be >= 0, got -10"),
    ("lr", 0, r"lr must be > 0"),
    ("beta2", 1.0, r"beta2 must be in \[0, 1\)"),
    ("ortho_coef", "0.1", "ortho_coef must be a number"),
    ("joint_d", 1, "joint_d must be True or False, got 1"),
])
def test_bad_config_values(field, value, match):
    with pytest.raises(ValueError, match=match):
        snlab.TrainConfig(**{field: value})


def test_presets_fill_fields_and_overrides_win():
    cfg = snlab.TrainConfig(preset="paper", iterations=10)
    assert cfg.iterations == 10 and cfg.batch_size == 64 and cfg.width == 1.0
    assert snlab.TrainConfig(method="wgan-gp").loss == "wasserstein"
    assert snlab.SETTINGS["C"].lr == 2e-4 and snlab.SETTINGS["D"].n_dis == 5


def test_cli_reports_bad_input_without_a_traceback():
    out = subprocess.run([sys.executable, "-m", "snlab", "train", "--method", "spectral"], cwd=REPO,
                         capture_output=True, text=True, env=os.environ | {"PYTHONWARNINGS": "ignore"})
    assert out.returncode == 2 and "invalid choice: 'spectral'" in out.stderr and "Traceback" not in out.stderr
    assert "sn" in out.stderr.split("choose from")[1]
    out = subprocess.run([sys.executable, "-m", "snlab", "train", "--preset", "smoke", "--width", "-1"], cwd=REPO,
                         capture_output=True, text=True, env=os.environ | {"PYTHONWARNINGS": "ignore"})
    assert out.returncode == 2 and "width must be > 0, got -1" in out.stderr and "Traceback" not in out.stderr


def test_cli_help_documents_every_field_from_the_config():
    """Each flag's help is its TrainConfig field's #: comment; names list their choices; booleans are --x/--no-x."""
    import dataclasses

    docs = snlab.TrainConfig.field_docs()
    assert set(docs) == {f.name for f in dataclasses.fields(snlab.TrainConfig)} and all(docs.values())
    assert docs["gp_lambda"] == "λ of the gradient penalty."


def test_cli_help_text(capsys):
    from snlab.__main__ import main


    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--tensorboard, --no-tensorboard" in text and "{A,B,C,D,E,F,resnet}" in text
    assert "λ of the gradient penalty." in text and "Adam's learning rate α (None: the setting's)." in text


def _d_step_by_hand(trainer, loss_d, gp_lambda=None, ortho_coef=None):
    """D's loss in one D step, written out from the run's own draws: the images, z and ε drawn from a copy
    of the run's generator in ``Trainer.d_inputs``'s order (real batch, z, one ε ~ U[0, 1] per sample), on
    copies of G and D taken before the step; the penalties spelled out (λ·mean((‖∇D(x̂)‖ − 1)²), β·Σ‖WWᵀ − I‖²
    over D's layers, Eq. 14 literally, less the constant by which the loop's smaller Gram matrix differs);
    nothing of the loop's own composition reused."""
    import copy

    cfg = trainer.cfg
    rng = torch.Generator().set_state(trainer.rng.get_state())
    G, D = copy.deepcopy(trainer.G), copy.deepcopy(trainer.D)
    real = trainer.data.sample(cfg.batch_size, rng)
    z = torch.randn(cfg.batch_size, G.z_dim, generator=rng)
    with torch.no_grad():
        fake = G(z)
    loss = loss_d(D(real), D(fake))
    if gp_lambda is not None:
        eps = torch.rand(cfg.batch_size, generator=rng)
        x_hat = torch.stack([e * r + (1 - e) * f for e, r, f in zip(eps, real, fake)]).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat)
        loss = loss + gp_lambda * ((grad.reshape(len(grad), -1).norm(dim=1) - 1) ** 2).mean()
    if ortho_coef is not None:
        penalty = 0.0
        for layer in (m for m in D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))):
            w = layer.weight.reshape(layer.weight.shape[0], -1).double()  # d_out × rest; float64: Eq. 14 is big
            literal = ((w.T @ w - torch.eye(w.shape[1], dtype=w.dtype)) ** 2).sum()  # ‖WᵀW − I‖²_F
            penalty = penalty + literal - max(w.shape[1] - w.shape[0], 0)
        loss = loss + ortho_coef * penalty
    return float(loss.detach()) if torch.is_tensor(loss) else float(loss)


@pytest.mark.parametrize("method", ["wgan-gp", "gan-gp", "orthonormal", "sn"])
def test_one_d_step_equals_its_composite_loss_by_hand(method, fmnist_dir):
    """Pins the loop's composition: a per-batch ε, a dropped λ, or a penalty taken on G all change the number."""
    from snlab.losses import LOSSES
    from snlab.train import Trainer

    cfg = snlab.TrainConfig(preset="smoke", method=method, setting="A", data_dir=str(fmnist_dir), device="cpu",
                            gp_lambda=7.0, ortho_coef=0.3, progress=False)
    trainer = Trainer(cfg)
    for _ in range(2):  # away from initialization
        trainer.iteration()
    spec = get_method(method)
    if spec.gradient_penalty:  # D's input gradient at init is ~1e-6: scaled up, ‖∇D(x̂)‖ ≈ 0.3 depends on each ε
        with torch.no_grad():
            for p in trainer.D.parameters():
                p.mul_(5.0)
    expected = _d_step_by_hand(trainer, LOSSES[cfg.loss].d, cfg.gp_lambda if spec.gradient_penalty else None,
                               cfg.ortho_coef if method == "orthonormal" else None)
    assert float(trainer.d_step()) == pytest.approx(expected, rel=1e-5)


def test_sample_writes_the_seeded_samples_evaluate_scores(fmnist_dir, tmp_path):
    from PIL import Image

    from snlab.metrics.evaluation import _generated
    from snlab.sampling import sample
    load_run = snlab.load_run  # the package-level name the README uses (snlab.train is the function)

    run = tmp_path / "run"
    snlab.train(snlab.TrainConfig(preset="smoke", data_dir=str(fmnist_dir), out_dir=str(run), progress=False))
    expected = torch.cat(list(_generated(load_run(run).generator, 5, 3, 500)))
    folder = sample(run, 5, tmp_path / "png", seed=3)
    pngs = sorted(folder.glob("sample_*.png"))
    assert len(pngs) == 5 and np.array_equal(np.asarray(Image.open(pngs[2])), expected[2, 0].numpy())
    npz = np.load(sample(run, 5, tmp_path / "s", seed=3, fmt="npz"))
    assert np.array_equal(npz["images"], expected.numpy()) and (npz["labels"] == -1).all() and npz["seed"] == 3
    with pytest.raises(ValueError, match="label 2 is not a class of this generator .it is unconditional"):
        sample(run, 5, tmp_path / "x", label=2)
    from snlab.__main__ import main
    assert main(["sample", "--run", str(run), "--n", "3", "--out", str(tmp_path / "cli")]) == 0
    assert len(list((tmp_path / "cli").glob("*.png"))) == 3


class _TinyG(torch.nn.Module):
    z_dim = 16

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(16, 32 * 32), torch.nn.Tanh())

    def forward(self, z):
        return self.net(z).view(-1, 1, 32, 32)


def _tiny_d():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 4, 2, 1), torch.nn.LeakyReLU(0.1), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 16 * 16, 1))


def test_your_own_models_train_with_any_method(fmnist_dir, tmp_path):
    """A user's G and D: SN applied to D by snlab.normalize, trained by snlab.train; σ(W̄) of both of D's
    layers is logged near 1, the run resumes with the same models, and bad models are refused by name."""
    D = snlab.normalize(_tiny_d(), "sn")
    assert all(parametrize.is_parametrized(m, "weight") for m in (D[0], D[3]))
    cfg = snlab.TrainConfig(preset="smoke", method="sn", data_dir=str(fmnist_dir), out_dir=str(tmp_path / "mine"),
                            progress=False)
    result = snlab.train(cfg, _TinyG(), D)
    assert result.status == "complete" and len(result.history) == 4
    assert set(c for c in result.history if c.startswith("sigma_")) == {"sigma_0", "sigma_3"}
    assert result.history[["sigma_0", "sigma_3"]].iloc[-1].sub(1).abs().max() < 0.1
    again = dataclasses.replace(cfg, iterations=6, resume=True)
    longer = snlab.train(again, _TinyG(), snlab.normalize(_tiny_d(), "sn"))
    assert longer.history["step"].tolist() == [1, 2, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="inserts BN layers"):
        snlab.normalize(_tiny_d(), "bn")
    with pytest.raises(ValueError, match="needs cfg.out_dir"):
        snlab.train(dataclasses.replace(cfg, out_dir=None), _TinyG(), _tiny_d())
    with pytest.raises(ValueError, match="one score per image"):
        snlab.train(dataclasses.replace(cfg, out_dir=str(tmp_path / "bad")), _TinyG(), torch.nn.Flatten())


def test_your_callbacks_see_every_update_after_snlabs_own(fmnist_dir, tmp_path):
    """A callback of yours runs after the history, samples and checkpoint callbacks at every G update."""
    class Recorder:
        def __init__(self):
            self.steps, self.rows_seen, self.ended = [], [], False

        def on_step(self, trainer):
            self.steps.append(trainer.step)
            self.rows_seen.append(len(trainer.rows))
            assert (trainer.step % 2 != 0) or (trainer.run_dir / "checkpoint.pt").exists()

        def on_end(self, trainer):
            self.ended = trainer.status == "complete"

    rec = Recorder()
    result = snlab.train(_cfg(fmnist_dir, tmp_path, iterations=4, log_every=1, checkpoint_every=2), callbacks=[rec])
    assert rec.steps == [1, 2, 3, 4] and rec.rows_seen == [1, 2, 3, 4] and rec.ended
    assert result.history["step"].tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize("method,arch", [("none", "standard"), ("ln", "standard"), ("wgan-gp", "standard"),
                                         ("none", "resnet")])
def test_joint_d_step_computes_the_two_calls_loss(method, arch, fmnist_dir, tmp_path):
    """Without SN, real and fake through D in one call give the loss of two calls (same inputs, same D), to
    float rounding: a batch of both changes only the convolutions' shapes. The ResNet case is conditional
    (real and fake labels concatenated like their images)."""
    from snlab.train import Trainer
    extra = dict(arch="resnet", conditional="projection") if arch == "resnet" else {}
    losses_ = []
    for joint in (False, True):
        trainer = Trainer(_cfg(fmnist_dir, tmp_path, method=method, device="cpu", joint_d=joint, **extra))
        losses_.append(trainer.d_step(trainer.d_inputs()))
    torch.testing.assert_close(losses_[1], losses_[0], rtol=1e-5, atol=1e-6)


def test_joint_d_step_makes_one_power_iteration_per_d_update(fmnist_dir, tmp_path):
    """SN updates u once per D forward call in training; a D step without a penalty makes two calls, or one
    with joint_d. u after a step is D's u after that many forward calls from the same start."""
    from snlab.train import Trainer

    def us(D):
        return [p.u.clone() for p in D.modules() if isinstance(p, normalizers.SpectralNorm)]

    for joint, calls in ((False, 2), (True, 1)):
        trainer = Trainer(_cfg(fmnist_dir, tmp_path, method="sn", device="cpu", joint_d=joint))
        reference = Trainer(_cfg(fmnist_dir, tmp_path, method="sn", device="cpu"))
        reference.D.load_state_dict(trainer.D.state_dict())
        x = trainer.d_inputs()[0]
        with torch.no_grad():
            for _ in range(calls):
                reference.D(x)
        trainer.d_step(trainer.d_inputs())
        for after, expected in zip(us(trainer.D), us(reference.D), strict=True):
            torch.testing.assert_close(after, expected, rtol=0, atol=0)
    with pytest.raises(ValueError, match="joint_d would mix real and fake in bn's batch statistics"):
        _cfg(fmnist_dir, tmp_path, method="bn", joint_d=True)
    assert snlab.store.default_run_dir(_cfg(fmnist_dir, tmp_path, joint_d=True)) != \
        snlab.store.default_run_dir(_cfg(fmnist_dir, tmp_path))
