"""Packed runs (snlab.pack) against the same runs trained one by one.

The comparison runs in float64. vmap turns K convolutions into one grouped convolution, which sums in
another order: in float32 that rounding (~1e-7 relative) reaches Adam's first steps, whose update is
α·sign(g) for any gradient, so a parameter whose gradient is rounding noise moves by ±α either way and
packed and separate runs drift apart by ~α per step (2e-3 after three iterations at α = 1e-3, measured).
In float64 rounding is ~1e-16: the losses agree to 1e-12 and the weights and buffers to 1e-6 (the
largest seen: 1.6e-7, BN with a gradient penalty at smoke width, from Adam's 1/√v on near-zero
gradients), while a wrong routing of gradients, buffers or Adam settings between runs moves losses by
≥ 1e-4 at once.
"""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch

import snlab
from snlab.callbacks import default_callbacks
from snlab.pack import Pack, train_packed
from snlab.train import Trainer

LOSS_TOL, WEIGHT_TOL = 1e-12, 1e-6


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def _cfgs(fmnist_dir, tmp_path, method="sn", settings=("A", "E", "F"), iterations=2, per_run=(), **kw):
    """Three runs with their own seeds and Adam settings (A, E, F: α 1e-4 / 1e-3, β₁ 0.5 / 0.9, β₂ 0.9 /
    0.999, all n_dis 5); ``per_run``: (field, three values) pairs that differ between the runs."""
    if kw.get("arch") == "resnet":
        settings = ("resnet",) * 3
    own = [dict(zip([f for f, _ in per_run], values)) for values in zip(*[v for _, v in per_run])] or [{}] * 3
    return [snlab.TrainConfig(preset="smoke", method=method, setting=setting, seed=seed,
                              data_dir=str(fmnist_dir), out_dir=str(tmp_path / f"run{seed}"), progress=False,
                              log_every=1, eval_every=0, sample_every=0,
                              **{"iterations": iterations, **kw, **own[seed]})
            for seed, setting in enumerate(settings)]


def _fit_apart(cfgs, tmp_path):
    trainers = []
    for cfg in cfgs:
        (tmp_path / f"apart{cfg.seed}").mkdir()
        trainers.append(Trainer(cfg))
        trainers[-1].fit(tmp_path / f"apart{cfg.seed}")
    return trainers


def _fit_packed(cfgs, tmp_path):
    trainers = [Trainer(cfg) for cfg in cfgs]
    dirs = [tmp_path / f"packed{cfg.seed}" for cfg in cfgs]
    for d in dirs:
        d.mkdir(parents=True)
    return trainers, Pack(trainers).fit(dirs)


def _tensors(t: Trainer) -> dict:
    return {f"{part}.{name}": value for part, module in (("G", t.G), ("D", t.D))
            for name, value in module.state_dict().items() if value.is_floating_point()}


def _assert_same_runs(apart: list[Trainer], packed: list[Trainer]) -> None:
    for a, p in zip(apart, packed):
        assert [r["step"] for r in a.rows] == [r["step"] for r in p.rows]
        for ra, rp in zip(a.rows, p.rows):
            for key in ("loss_d", "loss_g"):
                assert abs(ra[key] - rp[key]) < LOSS_TOL, (a.cfg.setting, ra["step"], key, ra[key], rp[key])
        ta, tp = _tensors(a), _tensors(p)
        worst = max((ta[k] - tp[k]).abs().max().item() for k in ta)
        assert worst < WEIGHT_TOL, (a.cfg.method, a.cfg.setting, worst)


CASES = {m: {"method": m} for m in ("sn", "wn", "bn", "ln", "wgan-gp")}
CASES |= {
    "orthonormal": {"method": "orthonormal", "per_run": [("ortho_coef", (0.1, 0.5, 0.0))]},
    "clip": {"method": "clip", "per_run": [("clip_value", (0.01, 0.02, 0.05))]},
    "sn-joint-d": {"method": "sn", "joint_d": True},
    "sn-gamma-wgan-gp": {"method": "sn-gamma", "loss": "wasserstein", "gradient_penalty": True},  # Fig 15's SN-γ
    "bn-gp": {"method": "bn", "gradient_penalty": True},
    "lengths-and-decay": {"method": "sn", "lr_decay": True, "per_run": [("iterations", (2, 3, 4))]},
    "conditional-resnet": {"method": "sn", "arch": "resnet", "conditional": "projection", "loss": "hinge"},
    "ac-wgan-gp": {"method": "sn-gamma", "arch": "resnet", "conditional": "ac", "loss": "wasserstein",
                   "gradient_penalty": True},  # Table 8's
}


@pytest.mark.parametrize("case", CASES)
def test_packed_runs_equal_the_same_runs_trained_apart(case, fmnist_dir, tmp_path, float64):
    cfgs = _cfgs(fmnist_dir, tmp_path, **CASES[case])
    apart = _fit_apart(cfgs, tmp_path)
    packed, statuses = _fit_packed(cfgs, tmp_path)
    assert statuses == ["complete"] * 3
    assert [t.step for t in packed] == [c.iterations for c in cfgs]
    _assert_same_runs(apart, packed)


def test_a_diverging_run_stops_and_its_pack_mates_go_on(fmnist_dir, tmp_path, float64):
    cfgs = _cfgs(fmnist_dir, tmp_path, method="none", iterations=3)
    cfgs[1] = dataclasses.replace(cfgs[1], lr=1e300)  # its first update overflows float64
    packed, statuses = _fit_packed(cfgs, tmp_path)
    assert statuses == ["complete", "diverged", "complete"]
    assert packed[1].step < 3 and packed[0].step == packed[2].step == 3
    kept = [cfgs[0], cfgs[2]]
    _assert_same_runs(_fit_apart(kept, tmp_path), [packed[0], packed[2]])


def test_a_run_whose_directory_is_removed_stops_and_its_pack_mates_go_on(fmnist_dir, tmp_path, float64):
    """Run 1's folder removed after its first update: it stops at its next ("removed"; nothing recreates
    the folder), and runs 0 and 2 finish as if trained apart."""
    cfgs = _cfgs(fmnist_dir, tmp_path, method="none", iterations=3)
    trainers = [Trainer(cfg) for cfg in cfgs]
    dirs = [tmp_path / f"packed{cfg.seed}" for cfg in cfgs]
    for cfg, d in zip(cfgs, dirs):
        d.mkdir()
        (d / "config.json").write_text(cfg.to_json())  # what RunDirectory watches, as train writes it

    class RemoveRun1:
        def on_step(self, t):
            if t.step == 1:
                shutil.rmtree(dirs[1])

    callbacks = [default_callbacks(c, d) + ([RemoveRun1()] if c.seed == 1 else []) for c, d in zip(cfgs, dirs)]
    assert Pack(trainers).fit(dirs, callbacks) == ["complete", "removed", "complete"]
    assert [t.step for t in trainers] == [3, 2, 3] and not dirs[1].exists()
    _assert_same_runs(_fit_apart([cfgs[0], cfgs[2]], tmp_path), [trainers[0], trainers[2]])


def test_packed_runs_write_their_own_directories_and_resume(fmnist_dir, tmp_path):
    longer = _cfgs(fmnist_dir, tmp_path / "whole", iterations=4, checkpoint_every=2)
    whole = train_packed(longer)
    first = train_packed(_cfgs(fmnist_dir, tmp_path / "cut", iterations=2, checkpoint_every=2))
    resumed = train_packed([dataclasses.replace(c, out_dir=str(r.run_dir), resume=True) for c, r in zip(longer, first)])
    for w, r in zip(whole, resumed):
        status = json.loads((r.run_dir / "status.json").read_text())
        assert status["status"] == "complete" and status["packed"] == 3 and status["seconds"] > 0
        alone = snlab.load_run(r.run_dir)  # a packed run reads back alone, like any other
        assert alone.config.seed == w.config.seed and alone.history["step"].max() == 4
        for part in ("generator", "discriminator"):  # a pack resumed is bitwise the pack uninterrupted
            mine, theirs = getattr(w, part).state_dict(), getattr(alone, part).state_dict()
            assert all(torch.equal(value, theirs[key]) for key, value in mine.items()), part
    # and a packed run's checkpoint resumes alone, outside any pack
    more = snlab.train(dataclasses.replace(longer[0], out_dir=str(resumed[0].run_dir), resume=True, iterations=5))
    assert more.status == "complete" and more.history["step"].max() == 5


def test_a_pack_is_checked_before_any_run_directory_is_touched(fmnist_dir, tmp_path):
    cfgs = _cfgs(fmnist_dir, tmp_path, settings=("A", "B", "E"))  # B has n_dis 1
    with pytest.raises(ValueError, match=r"n_dis \(run 0: 5, run 1: 1, run 2: 5\)"):
        train_packed(cfgs)
    assert not any((tmp_path / f"run{i}").exists() for i in range(3))


def test_a_graphed_pack_is_bitwise_the_eager_pack_as_its_runs_finish_one_by_one(fmnist_dir, tmp_path):
    """speedup "cudagraphs": without a GPU the graph's static-input path runs eagerly, so it must equal the
    eager pack bit for bit, also after the graph is remade for the runs still training (lengths 2, 3, 4)."""
    cfgs = _cfgs(fmnist_dir, tmp_path, method="wgan-gp", per_run=[("iterations", (2, 3, 4))])
    eager, _ = _fit_packed(cfgs, tmp_path / "eager")
    graphed, statuses = _fit_packed([dataclasses.replace(c, speedup="cudagraphs") for c in cfgs], tmp_path / "graph")
    assert statuses == ["complete"] * 3 and [t.step for t in graphed] == [2, 3, 4]
    for e, g in zip(eager, graphed):
        assert [(r["loss_d"], r["loss_g"]) for r in e.rows] == [(r["loss_d"], r["loss_g"]) for r in g.rows]
        te, tg = _tensors(e), _tensors(g)
        assert all(torch.equal(te[k], tg[k]) for k in te)


def test_a_pack_refuses_runs_that_would_execute_differently(fmnist_dir, tmp_path):
    cfgs = _cfgs(fmnist_dir, tmp_path)
    with pytest.raises(ValueError, match="run 0: 'eager', run 1: 'cudagraphs'"):
        train_packed([dataclasses.replace(c, speedup=s) for c, s in zip(cfgs, ("eager", "cudagraphs", "auto"))])
    with pytest.raises(ValueError, match="speedup must be one of 'auto', 'eager', 'cudagraphs', got run 2: 'compile'"):
        train_packed([dataclasses.replace(c, speedup=s) for c, s in zip(cfgs, ("eager", "eager", "compile"))])
    assert not any((tmp_path / f"run{i}").exists() for i in range(3))
