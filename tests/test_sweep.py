"""Sweeps: the run store trains each configuration once, reuses, resumes, and reports failures by run."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

import snlab
from snlab import experiments, prices, results, store, sweep, tables
from snlab.store import default_run_dir
from snlab.train import load_run
from tests.conftest import write_timed_run

REPO = Path(__file__).resolve().parent.parent


def _configs(fmnist_dir, **axes):
    """Smoke configs on CPU: the comparisons below are bitwise, which CUDA does not promise."""
    return sweep.grid(dict(preset="smoke", data_dir=str(fmnist_dir), iterations=2, progress=False, device="cpu"),
                      **axes)


def test_grid_is_the_product_and_validates_names():
    cfgs = sweep.grid(dict(preset="smoke"), method=["sn", "wn"], seed=[0, 1, 2])
    assert [(c.method, c.seed) for c in cfgs] == [(m, s) for m in ("sn", "wn") for s in (0, 1, 2)]
    with pytest.raises(ValueError, match="valid: A, B, C, D, E, F"):
        sweep.grid(dict(preset="smoke"), setting=["A", "G"])
    with pytest.raises(ValueError, match=r"seed takes a list of values, e\.g\. \[0, 1, 2\]; got 0"):
        sweep.grid(dict(preset="smoke"), seed=0)


def test_duplicate_configs_train_once(fmnist_dir, tmp_path):
    cfgs = _configs(fmnist_dir, method=["sn"], final_width=[1, 1.0])
    assert sweep.run_sweep(cfgs, tmp_path, workers=0, log=lambda _: None).counts()["trained"] == 1


def test_run_store_trains_once_then_reuses_and_resumes(fmnist_dir, tmp_path):
    cfgs = _configs(fmnist_dir, method=["sn", "wn"], setting=["A", "C"])
    first = sweep.run_sweep(cfgs, tmp_path, workers=0, log=lambda _: None)
    assert first.counts() == {"reused": 0, "resumed": 0, "trained": 4}
    assert len(first.final) == 4 and (first.final["step"] == 2).all()
    assert set(first.final["n_dis"]) == {5, 1}  # settings A and C
    weights = torch.load(default_run_dir(cfgs[0], tmp_path) / "checkpoint.pt", weights_only=True)["G"]

    again = sweep.run_sweep(cfgs, tmp_path, workers=0, log=lambda _: None)
    assert again.counts() == {"reused": 4, "resumed": 0, "trained": 0}
    pd.testing.assert_frame_equal(again.table.drop(columns="status"), first.table.drop(columns="status"))

    # A longer run is another store entry: its metrics are after 4 G updates, never the 2-update run's.
    longer = dataclasses.replace(cfgs[0], iterations=4)
    assert sweep.state(longer, tmp_path) == "missing" and "-i4-" in default_run_dir(longer, tmp_path).name
    extra = sweep.run_sweep([longer], tmp_path, workers=0, log=lambda _: None)  # continues the 2-update run's copy
    assert extra.counts() == {"reused": 0, "resumed": 1, "trained": 0} and extra.final["step"].tolist() == [4]
    after = torch.load(default_run_dir(cfgs[0], tmp_path) / "checkpoint.pt", weights_only=True)["G"]
    assert all(torch.equal(after[k], weights[k]) for k in weights)  # the 2-update run is untouched


def test_todo_says_what_is_left_and_writes_spectra(fmnist_dir, tmp_path):
    done, partial, missing = _configs(fmnist_dir, method=["sn", "wn", "bn"], iterations=[4])
    sweep.run_sweep([done], tmp_path, workers=0, log=lambda _: None)
    snlab.train(dataclasses.replace(partial, iterations=2, out_dir=str(default_run_dir(partial, tmp_path))))
    (default_run_dir(partial, tmp_path) / "status.json").unlink()  # as if killed after 2 of its 4 updates
    left = sweep.todo([done, partial, missing], tmp_path).set_index("method")
    assert left["state"].to_dict() == {"sn": "done", "wn": "partial", "bn": "missing"}
    assert left["g_updates"].to_dict() == {"sn": 0, "wn": 2, "bn": 4}
    assert left["d_updates"].to_dict() == {"sn": 0, "wn": 2, "bn": 4}  # setting C: n_dis 1
    # A complete run's compact record holds D's final spectra, equal to the checkpoint's.
    from snlab.spectral import normalized_spectra
    stored = store.spectra(default_run_dir(done, tmp_path))
    fresh = normalized_spectra(load_run(default_run_dir(done, tmp_path)).discriminator)
    pd.testing.assert_frame_equal(stored, fresh, check_exact=False, rtol=1e-12)
    # A diverged run's checkpoint predates its divergence: no final spectrum is read from it.
    status = default_run_dir(done, tmp_path) / "status.json"
    status.write_text(json.dumps({**json.loads(status.read_text()), "status": "diverged"}))
    (default_run_dir(done, tmp_path) / "spectra.csv").unlink()
    with pytest.raises(ValueError, match="diverged: it has no final spectrum"):
        store.spectra(default_run_dir(done, tmp_path))


def test_a_killed_run_without_status_is_resumed(fmnist_dir, tmp_path):
    cfg = _configs(fmnist_dir, method=["sn"])[0]
    sweep.run_sweep([cfg], tmp_path, workers=0, log=lambda _: None)
    (default_run_dir(cfg, tmp_path) / "status.json").unlink()  # as a kill before the end leaves it
    assert sweep.state(cfg, tmp_path) == "partial"
    assert sweep.run_sweep([cfg], tmp_path, workers=0, log=lambda _: None).resumed == 1


@pytest.mark.slow
def test_killing_a_sweep_kills_its_workers_and_a_rerun_resumes(fmnist_dir, tmp_path):
    """SIGKILL the sweep's parent while its two workers train: within seconds neither worker is left, and
    the next call resumes their runs from their checkpoints."""
    store = tmp_path / "store"
    args = [sys.executable, "-m", "snlab", "sweep", "fig04", "--preset", "smoke", "--iterations", "60", "--seeds",
            "0", "--store", str(store), "--workers", "2", "--data-dir", str(fmnist_dir)]
    parent = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, locks = time.time() + 120, {}
    while time.time() < deadline and len(locks) < 2:  # a training worker's lock file names its pid
        locks = {p.parent.name: int(p.read_text().split()[1]) for p in store.glob("*/.lock")
                 if p.read_text().startswith("pid") and (p.parent / "checkpoint.pt").exists()}
        time.sleep(0.1)
    assert len(locks) == 2, "the sweep's workers never checkpointed"
    parent.kill()
    parent.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(_alive(pid) for pid in locks.values()):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in locks.values()), f"workers {locks} outlived the killed sweep"
    configs = [c for c in experiments.final_width_sweep("smoke", seeds=[0], iterations=60, data_dir=str(fmnist_dir))
               if default_run_dir(c, store).name in locks]
    result = sweep.run_sweep(configs, store, workers=0, log=lambda _: None, tensorboard=False)
    assert result.resumed == 2 and (result.final["step"] == 60).all()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # a zombie has exited


@pytest.fixture(scope="module")
def local_ray():
    """A real local Ray instance with 2 CPUs, shut down after the module's tests. Its workers run at normal
    priority: at Ray's default niceness (15) any busy process starves them (beside a 2-worker training
    campaign a trivial task took 78 s, and 10 s at niceness 0)."""
    import ray
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_worker_niceness", "0")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield ray
        ray.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["process", "ray", "slurm"])
def test_every_executor_matches_in_process_training(executor, fmnist_dir, tmp_path, request):
    """The process pool, a local Ray instance and submitit's local executor (the SLURM path, one array
    job) train the same runs as this process does."""
    options = {"ray": {}, "process": {}, "slurm": dict(slurm_cluster="local", timeout_min=10)}[executor]
    if executor == "ray":
        request.getfixturevalue("local_ray")
    cfgs = _configs(fmnist_dir, method=["sn", "wgan-gp"])
    pooled = sweep.run_sweep(cfgs, tmp_path / "pool", 2, log=lambda _: None, executor=executor, **options)
    inline = sweep.run_sweep(cfgs, tmp_path / "inline", workers=0, log=lambda _: None)
    cols = ["method", "step", "loss_d", "loss_g", "sigma_conv0"]
    pd.testing.assert_frame_equal(pooled.table.sort_values(cols[:2])[cols].reset_index(drop=True),
                                  inline.table.sort_values(cols[:2])[cols].reset_index(drop=True))
    assert pooled.counts() == {"reused": 0, "resumed": 0, "trained": 2}
    if executor == "slurm":
        assert list((tmp_path / "pool" / "slurm").glob("*/*_submitted.pkl"))  # submitit's own job records


def test_unknown_executor_lists_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="valid: serial, process, ray, slurm"):
        sweep.run_sweep(_configs(tmp_path, method=["sn"]), tmp_path, executor="dask")


def test_a_failing_run_is_named_and_the_others_finish(fmnist_dir, tmp_path):
    good = _configs(fmnist_dir, method=["sn"])
    bad = sweep.grid(dict(preset="smoke", data_dir=str(tmp_path / "empty"), iterations=2, progress=False),
                     method=["wn"])
    failed = (r"1 of 2 runs failed \(tracebacks in their failed.json, where their directory is left\):\n"
              r".*wn.*FileNotFoundError")
    with pytest.raises(RuntimeError, match=failed):
        sweep.run_sweep(good + bad, tmp_path / "store", workers=0, log=lambda _: None)
    assert sweep.state(good[0], tmp_path / "store") == "done"


def test_stored_reads_without_training(fmnist_dir, tmp_path):
    cfgs = _configs(fmnist_dir, method=["sn", "wn"])
    assert sweep.stored(cfgs, tmp_path).empty
    sweep.run_sweep(cfgs[:1], tmp_path, workers=0, log=lambda _: None)
    assert sweep.stored(cfgs, tmp_path)["method"].unique().tolist() == ["sn"]
    other = tmp_path / "another-figures-run"  # a run of another sweep, with its own columns, in the same store
    shutil.copytree(next(tmp_path.glob("*sn*")), other)
    pd.read_csv(other / "history.csv").assign(sigma_embed=1.0).to_csv(other / "history.csv", index=False)
    assert "sigma_embed" not in sweep.stored(cfgs, tmp_path) and "sigma_embed" in results.collect(tmp_path)


def test_experiment_definitions_follow_the_paper():
    grid = experiments.settings_grid("cpu")
    assert len(grid) == 8 * 6 * 3 and {c.method for c in grid} == set(experiments.SETTINGS_METHODS)
    assert {c.seed for c in grid} == {0, 1, 2}  # the laptop protocol: 3 seeds per point
    assert all(c.iterations == experiments.SWEEP_ITERATIONS["cpu"] for c in grid)
    # IS/FID along the way (up to 16 times, on logged steps): the gate needs an FID by half the run
    assert all(c.iterations % c.eval_every == 0 and c.eval_every <= c.iterations // 2 for c in grid)
    study = experiments.convergence_runs("cpu", seeds=[0], methods=["sn"], settings=["C"])[0]
    shared = experiments.settings_grid("cpu", iterations=study.iterations, methods=["sn"], settings=["C"])[0]
    assert sweep.default_run_dir(shared) == sweep.default_run_dir(study)
    widths = experiments.final_width_sweep("paper")
    assert {c.setting for c in widths} == {"C"} and sorted({c.final_width for c in widths}) == [0.5, 1, 2, 4, 6, 8]
    ndis = experiments.ndis_sweep("paper")
    assert {c.n_dis for c in ndis} == {1, 2, 5, 10, 20} and {c.lr for c in ndis} == {1e-3}
    assert {c.iterations for c in ndis} == {10_000}  # Fig 11: IS after 10k G updates
    reparam = experiments.reparam_runs("cpu")
    assert all(c.gradient_penalty and c.loss == "wasserstein" and c.log_heldout_loss for c in reparam)
    with pytest.raises(ValueError, match="valid: smoke, cpu, paper"):
        experiments.settings_grid("laptop")


def test_a_caption_counts_the_seeds_and_the_runs_stored_when_fewer_than_asked():
    """Fig 4 with seed 0 at 4 of its 12 width × method points, then with every seed among 12 of its 36 runs:
    the seed count alone would hide the points that lack a seed."""
    configs = experiments.final_width_sweep("cpu")

    def rows(cfgs):  # a sweep's table, one row per run
        return pd.DataFrame({"run": [sweep.default_run_dir(c).name for c in cfgs], "seed": [c.seed for c in cfgs]})
    seed0 = [c for c in configs if c.seed == 0]
    assert experiments.describe(configs, rows(seed0[:4])).endswith("3 seeds asked, 1 stored (0); 4 of 36 runs stored")
    assert experiments.describe(configs, rows(configs[:11] + configs[-1:])).endswith("3 seeds; 12 of 36 runs stored")
    assert experiments.describe(configs, rows(configs)).endswith("batch 32 · 3 seeds")
    assert experiments.describe(configs + configs[:1], rows(configs)).endswith("batch 32 · 3 seeds")  # one run twice


def test_gradient_penalty_override_and_heldout_logging_leave_the_run_otherwise_alone(fmnist_dir, tmp_path):
    base = dict(preset="smoke", method="sn", data_dir=str(fmnist_dir), progress=False, device="cpu")  # bitwise below
    plain = snlab.train(snlab.TrainConfig(**base, out_dir=str(tmp_path / "a")))
    logged = snlab.train(snlab.TrainConfig(**base, out_dir=str(tmp_path / "b"), log_heldout_loss=True))
    assert {"critic_train", "critic_heldout"} <= set(logged.history.columns)
    for k, v in plain.generator.state_dict().items():
        assert torch.equal(v, logged.generator.state_dict()[k]), k
    gp = snlab.train(snlab.TrainConfig(**base, out_dir=str(tmp_path / "c"), gradient_penalty=True))
    assert snlab.TrainConfig(**base).gradient_penalty is False and gp.config.gradient_penalty is True
    assert gp.history["loss_d"].iloc[0] != plain.history["loss_d"].iloc[0]  # the penalty joined D's loss
    assert json.loads((tmp_path / "c" / "config.json").read_text())["gradient_penalty"] is True


def test_best_runs_average_seeds_and_count_diverged_runs_as_the_floor():
    final = pd.DataFrame({"method": "sn", "loss": "standard", "run": list("abcde"),
                          "setting": ["A", "A", "C", "C", "D"], "seed": [0, 1, 0, 1, 0],
                          "IS_x": [5.0, 1.0, 3.0, 3.2, float("nan")], "FID_x": [1, 2, 3, 4, 5]})
    best = tables.best_runs(final, "IS_x").loc[("sn", "standard")]
    assert best["setting"] == "C" and best["IS_x"] == pytest.approx(3.1) and best["seeds"] == 2 and best["run"] == "c"
    # D's one survivor (IS 7) beside two diverged seeds averages 3 with them at IS 1: A (6, 6, 6) wins.
    final = pd.DataFrame({"method": "sn", "loss": "standard", "run": list("abcdef"), "setting": list("AAADDD"),
                          "seed": [0, 1, 2, 0, 1, 2], "IS_x": [6.0, 6.0, 6.0, 7.0, float("nan"), float("nan")],
                          "FID_x": 1.0, "status": ["complete"] * 4 + ["diverged"] * 2})
    best = tables.best_runs(final, "IS_x").loc[("sn", "standard")]
    assert best["setting"] == "A" and best["seeds"] == 3 and best["diverged"] == 0
    assert tables.best_runs(final.query("setting == 'D'"), "IS_x").loc[("sn", "standard"), "diverged"] == 2
    assert tables.best_runs(final.query("status == 'diverged'"), "IS_x").empty  # nothing measured to report


def test_table2_comparison_puts_our_best_setting_beside_the_paper():
    final = pd.DataFrame({"method": ["sn", "sn", "wn", "sn", "sn"],
                          "loss": ["standard", "standard", "standard", "hinge", "standard"],
                          "setting": ["A", "C", "B", "C", "D"], "IS_x": [3.0, 4.0, 2.0, 5.0, float("nan")],
                          "FID_x": [30, 20, 50, 10, float("nan")], "seed": 0, "run": list("abcde")})
    t = tables.table2_comparison(final, {"IS_x": 9.0, "FID_x": 1.0}, "IS_x", "FID_x")
    assert t.loc["SN-GANs", ["our setting", "our IS_x", "our FID_x", "our diverged"]].tolist() == ["C", 4.0, 20, 0]
    assert t.loc["SN-GANs, hinge Eq.(17)", "our setting"] == "C" and t.loc["Weight Norm.", "our IS_x"] == 2.0
    assert t.loc["Real data", "our IS_x"] == 9.0 and pd.isna(t.loc["SN-GANs, hinge", "our IS_x"])  # ResNet: not run
    resnet = pd.DataFrame({"arch": "resnet", "method": "sn", "loss": "hinge", "setting": "resnet", "seed": [0, 1],
                           "IS_x": [6.0, 8.0], "FID_x": [12, 10], "run": ["r0", "r1"]})
    t = tables.table2_comparison(pd.concat([final.assign(arch="standard"), resnet]), {}, "IS_x", "FID_x")
    row = t.loc["SN-GANs, hinge", ["our seeds", "our IS_x", "our IS_x sd", "our FID_x"]]
    assert row.tolist() == [2, 7.0, 2 ** 0.5, 11] and type(row["our seeds"]) is int  # printed 2, not 2.0
    assert t.loc["SN-GANs, hinge Eq.(17)", "our IS_x"] == 5.0  # the standard CNN's hinge row is not the ResNet's
    assert pd.isna(t.loc["SN-GANs (2x updates)", "our IS_x"])
    assert t.loc["SN-GANs", "paper IS cifar10"] == 7.42 and t.loc["SN-GANs", "paper FID stl10"] == 53.1
    assert t.loc["SN-GANs", "paper IS cifar10 sd"] == 0.08 and t.loc["SN-GANs, hinge", "paper FID cifar10 sd"] == 0.21
    shown = tables.to_markdown(t)  # mean ± sd where both exist, the mean alone where no sd was reported
    assert "| 7.00 ± 1.41 " in shown and "| 7.42 ± 0.08 " in shown and "| 29.30 " in shown and " sd " not in shown


def test_a_method_every_run_of_which_diverged_keeps_its_row_and_ranks_last_in_t2():
    """WN's only runs diverged: its Table 2 row counts them (no setting, 0 seeds) rather than vanish, and T2
    ranks it as IS 1, FID ∞, below SN, as the paper's order has it."""
    from snlab.claims import t2_ranks
    from snlab.gate import Gate

    final = pd.DataFrame({"method": ["sn", "wn", "wn"], "loss": "standard", "setting": ["C", "A", "B"],
                          "IS_x": [4.0, float("nan"), float("nan")], "FID_x": [20.0, float("nan"), float("nan")],
                          "seed": 0, "run": list("abc"), "status": ["complete", "diverged", "diverged"]})
    t = tables.table2_comparison(final, {"IS_x": 9.0, "FID_x": 1.0}, "IS_x", "FID_x")
    assert pd.isna(t.loc["Weight Norm.", "our setting"])
    assert t.loc["Weight Norm.", ["our seeds", "our diverged"]].tolist() == [0, 2]
    claim = t2_ranks(t, "IS_x", "FID_x", "1", Gate(True, "", ""))
    assert "IS: ρ = +1.00" in claim["measured"] and "FID: ρ = +1.00" in claim["measured"]
    assert "2 diverged run(s) (at the best settings, or every run of a method) ranked as IS 1, FID ∞" in \
        claim["measured"]


def test_a_run_another_process_is_writing_is_left_to_it(fmnist_dir, tmp_path):
    """Two sweeps on one store: the run directory's lock (held here as the other sweep would) keeps the
    second from writing it; once released, the run trains."""
    from snlab.files import Busy, exclusive, held
    cfg = _configs(fmnist_dir, method=["sn"])
    run = default_run_dir(cfg[0], tmp_path)
    run.mkdir(parents=True)
    assert not held(run / ".lock")
    with exclusive(run / ".lock"):
        assert held(run / ".lock")  # what the progress bar counts as running
        with pytest.raises(RuntimeError, match="1 of 1 runs are being trained by another process"):
            sweep.run_sweep(cfg, tmp_path, workers=0, log=lambda _: None)  # partial results are never final
        result = sweep.run_sweep(cfg, tmp_path, workers=0, log=lambda _: None, accept_partial=True)
        assert (result.busy, result.trained) == (1, 0) and not (run / "checkpoint.pt").exists()
        with pytest.raises(Busy, match=f"{run} is being written by another process \\(pid {os.getpid()}"):
            snlab.train(dataclasses.replace(cfg[0], out_dir=str(run)))
    assert not held(run / ".lock")
    assert sweep.run_sweep(cfg, tmp_path, workers=0, log=lambda _: None).counts() == \
        {"reused": 0, "resumed": 0, "trained": 1}


@pytest.mark.parametrize("pack", [1, 2], ids=["alone", "packed"])
def test_a_run_whose_directory_is_removed_while_it_trains_is_named_as_such(fmnist_dir, tmp_path, monkeypatch, pack):
    """A run whose folder is removed mid-training (alone, or in a pack) fails by name, with nothing written
    that would recreate its folder (a checkpoint is due at every update); the other run finishes, and the
    next sweep trains the removed one again."""
    store = tmp_path / "store"
    cfgs = [dataclasses.replace(c, iterations=3, checkpoint_every=1)
            for c in _configs(fmnist_dir, method=["sn"], seed=[0, 1])]
    gone = default_run_dir(cfgs[1], store)

    class Remove:
        def on_step(self, t):
            if t.step == 1:
                shutil.rmtree(gone)

    def with_removal(cfg, run_dir):
        return snlab.callbacks.default_callbacks(cfg, run_dir) + ([Remove()] if run_dir == gone else [])

    for module in ("snlab.train", "snlab.pack"):  # where a lone run and a pack take their callbacks from
        monkeypatch.setattr(sys.modules[module], "default_callbacks", with_removal)
    with pytest.raises(RuntimeError, match=f"1 of 2 runs failed .*\\n  {gone}: RunDirectoryGone: its directory "
                                           "was removed while it trained"):
        sweep.run_sweep(cfgs, store, workers=0, pack=pack, log=lambda _: None)
    assert not gone.exists() and sweep.state(cfgs[0], store) == "done"
    assert sweep.todo(cfgs, store)["state"].tolist() == ["done", "missing"]


def test_a_failed_run_leaves_its_traceback(fmnist_dir, tmp_path):
    bad = sweep.grid(dict(preset="smoke", data_dir=str(tmp_path / "empty"), iterations=2, progress=False),
                     method=["wn"])
    with pytest.raises(RuntimeError, match="tracebacks in their failed.json"):
        sweep.run_sweep(bad, tmp_path / "store", workers=2, log=lambda _: None)
    record = json.loads((default_run_dir(bad[0], tmp_path / "store") / "failed.json").read_text())
    assert record["error"].startswith("FileNotFoundError: Fashion-MNIST not found")
    assert "Traceback (most recent call last)" in record["traceback"] and "_fashion_mnist" in record["traceback"]


def test_a_failed_run_whose_report_cannot_be_written_still_names_its_error(tmp_path, monkeypatch):
    bad = sweep.grid(dict(preset="smoke", data_dir=str(tmp_path / "empty"), iterations=2, progress=False),
                     method=["wn"])

    def full_disk(text, path):
        raise OSError(f"could not write {path} (OSError: [Errno 28] No space left on device)")

    monkeypatch.setattr(sweep, "atomic_write_text", full_disk)
    with pytest.raises(RuntimeError, match=r"(?s)FileNotFoundError: Fashion-MNIST not found.*failed.json was not "
                                           r"written either: .*No space left on device"):
        sweep.run_sweep(bad, tmp_path / "store", workers=0, log=lambda _: None)


def test_sweep_command_trains_a_figures_runs_into_the_store(fmnist_eval_dir, tmp_path):
    # the process pool: Ray's own start (4 minutes of this test on 2 busy cores) is tested by the executor tests
    args = ["sweep", "table2-resnet", "--preset", "smoke", "--seeds", "0", "--store", str(tmp_path),
            "--executor", "process", "--workers", "2", "--data-dir", str(fmnist_eval_dir), "--device", "cpu"]
    out = subprocess.run([sys.executable, "-m", "snlab", *args], cwd=REPO, capture_output=True, text=True,
                         env=os.environ | {"PYTHONWARNINGS": "ignore"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "table2-resnet: 2 runs" in out.stdout and "0 reused, 0 resumed, 2 trained" in out.stdout
    configs = experiments.resnet_rows("smoke", seeds=[0], data_dir=str(fmnist_eval_dir), device="cpu")
    assert all(sweep.state(c, tmp_path) == "done" for c in configs)  # where the notebooks will look for them


def test_sweep_methods_keeps_the_figures_runs_of_those_methods_and_refuses_others(tmp_path, capsys):
    from snlab.__main__ import main

    args = ["sweep", "fig15", "--preset", "smoke", "--store", str(tmp_path), "--status", "--methods"]
    assert main([*args, "wn", "wgan-gp"]) == 0
    out = capsys.readouterr().out
    wanted = [default_run_dir(c, tmp_path).name for c in experiments.reparam_runs("smoke", methods=("wgan-gp", "wn"))]
    assert out.startswith("fig15: 6 runs") and re.findall(r"missing +(\S+)", out) == wanted  # seed-major
    assert main([*args, "wn", "sn"]) == 2
    assert "error: --methods sn: not among this figure's methods (wgan-gp, frobenius, wn, sn-gamma)" in \
        capsys.readouterr().err


def test_sweep_runs_log_history_and_samples_to_tensorboard(fmnist_eval_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    cfg = sweep.grid(dict(preset="smoke", data_dir=str(fmnist_eval_dir), iterations=4, eval_every=2, eval_samples=64,
                          eval_extractor="fmnist", progress=False, device="cpu"), method=["sn"])
    plain = default_run_dir(cfg[0], tmp_path)  # the flag does not enter the run's key
    assert default_run_dir(dataclasses.replace(cfg[0], tensorboard=True), tmp_path) == plain
    result = sweep.run_sweep(cfg, tmp_path, workers=0, log=lambda _: None)
    events = EventAccumulator(str(plain / "tb"), size_guidance={"images": 0}).Reload()
    history = result.table
    loss = events.Scalars("loss/loss_d")
    assert [e.step for e in loss] == history["step"].tolist()
    assert [e.value for e in loss] == pytest.approx(history["loss_d"].tolist())
    assert [e.step for e in events.Scalars("FID/FID_fmnist")] == [2, 4]
    assert "sigma/sigma_conv0" in events.Tags()["scalars"]
    assert [e.step for e in events.Images("samples")] == [2, 4]  # a grid at every evaluation
    from tensorboard.plugins.hparams import plugin_data_pb2
    content = events.PluginTagToContent("hparams")  # the HParams tab: the run's fields against its final metrics
    session = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    assert session.hparams["method"].string_value == "sn" and session.hparams["lr"].number_value == 2e-4
    assert [e.value for e in events.Scalars("final/FID_fmnist")] == pytest.approx([history["FID_fmnist"].iloc[-1]])


def _kill_when_running(run_dir: Path, after_rows: int = 4) -> threading.Thread:
    """A thread that SIGKILLs the process training ``run_dir`` (its pid is in the run's lock file) once
    ``after_rows`` history rows are checkpointed."""
    def kill():
        deadline = time.time() + 120
        while time.time() < deadline:
            history, lock = run_dir / "history.csv", run_dir / ".lock"
            if history.exists() and len(history.read_text().splitlines()) > after_rows and lock.exists():
                os.kill(int(lock.read_text().split()[1]), signal.SIGKILL)
                return
            time.sleep(0.05)
    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("executor", ["ray", "slurm"])
def test_a_worker_killed_mid_run_loses_nothing(executor, fmnist_dir, tmp_path, request):
    """Ray retries the killed task, which resumes from the run's checkpoint; submitit reports the job
    failed and the next call resumes it. Either way the run ends bitwise as an uninterrupted one."""
    options = {"ray": {}, "slurm": dict(slurm_cluster="local", timeout_min=10)}[executor]
    if executor == "ray":
        request.getfixturevalue("local_ray")
    cfg = sweep.grid(dict(preset="smoke", data_dir=str(fmnist_dir), iterations=40, checkpoint_every=1, device="cpu",
                          progress=False), method=["sn"])
    run = default_run_dir(cfg[0], tmp_path / "store")
    killer = _kill_when_running(run)
    if executor == "ray":
        result = sweep.run_sweep(cfg, tmp_path / "store", 1, log=lambda _: None, executor=executor, **options)
        assert result.trained == 1
    else:
        with pytest.raises(RuntimeError, match="1 of 1 runs failed"):
            sweep.run_sweep(cfg, tmp_path / "store", 1, log=lambda _: None, executor=executor, **options)
        assert 0 < torch.load(run / "checkpoint.pt", weights_only=True)["step"] < 40
        assert sweep.run_sweep(cfg, tmp_path / "store", 1, log=lambda _: None, executor=executor,
                               **options).resumed == 1
    killer.join()
    assert sweep.state(cfg[0], tmp_path / "store") == "done"
    # The uninterrupted run, on the same executor (one torch thread: bitwise needs the same thread count).
    sweep.run_sweep(cfg, tmp_path / "full", 1, log=lambda _: None, executor=executor, **options)
    full = torch.load(default_run_dir(cfg[0], tmp_path / "full") / "checkpoint.pt", weights_only=True)
    killed = torch.load(run / "checkpoint.pt", weights_only=True)
    for part in ("G", "D"):
        for k, v in full[part].items():
            assert torch.equal(v, killed[part][k]), (part, k)


def test_zero_iterations_is_refused_not_replaced_by_the_presets():
    with pytest.raises(ValueError, match="iterations must be >= 1, got 0"):
        experiments.settings_grid("cpu", iterations=0)


def test_a_longer_run_continues_a_shorter_one_and_leaves_the_same_record(fmnist_eval_dir, tmp_path):
    """A 12-update run in a store that holds the same run at 4 updates starts from it (resumed, not
    trained), and its record equals a 12-update run trained from scratch: history (evaluations only on its
    own schedule), weights and sample grids."""
    base = dict(preset="smoke", data_dir=str(fmnist_eval_dir), device="cpu", eval_samples=64)
    short = snlab.TrainConfig(**base, iterations=4, eval_every=2, sample_every=4, checkpoint_every=2)
    long = snlab.TrainConfig(**base, iterations=12, eval_every=4, sample_every=12, checkpoint_every=4)
    sweep.run_sweep([short], tmp_path / "store", workers=0, log=lambda _: None, tensorboard=False)
    assert store.shorter_run(long, tmp_path / "store") == default_run_dir(short, tmp_path / "store")
    left = sweep.todo([long], tmp_path / "store").iloc[0]  # what --status says and prices: 8 of 12 updates
    assert (left["state"], left["g_updates"], left["d_updates"]) == ("extends", 8, 8 * long.n_dis)
    lines = []
    extended = sweep.run_sweep([long], tmp_path / "store", workers=0, log=lines.append, tensorboard=False)
    assert extended.counts() == {"reused": 0, "resumed": 1, "trained": 0} and "1 continued" in lines[-1]
    assert lines[0] == f"1 runs: 0 stored, 1 to resume, 0 to train into {tmp_path / 'store'}"
    fresh = sweep.run_sweep([long], tmp_path / "fresh", workers=0, log=lambda _: None, tensorboard=False)
    assert fresh.counts()["trained"] == 1
    a, b = (pd.read_csv(default_run_dir(long, s) / "history.csv").drop(columns="seconds")
            for s in (tmp_path / "store", tmp_path / "fresh"))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a["FID_fmnist"].notna().sum() == 3  # steps 4, 8, 12: the 4-update run's step-2 evaluation is not kept
    wa, wb = (torch.load(default_run_dir(long, s) / "checkpoint.pt", weights_only=True)["G"]
              for s in (tmp_path / "store", tmp_path / "fresh"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert [p.name for p in (default_run_dir(long, tmp_path / "store") / "samples").iterdir()] == ["step_0000012.png"]
    decayed = dataclasses.replace(long, lr_decay=True)
    assert store.shorter_run(decayed, tmp_path / "store") is None  # a decay schedule depends on the length


def test_price_of_missing_runs_uses_the_store_rate_of_their_method_then_architecture(tmp_path):
    """Stored: SN at 0.1 s and WN at 0.2 s per network update (standard CNN, n_dis 1), and WN with a gradient
    penalty at 1.0 s. 36,000 G updates (72,000 network updates) of SN cost 2 h at SN's rate, of clipping 3 h
    at the median of the architecture's runs without a penalty (0.15 s: the penalized run's rate is another
    kind's), and a ResNet, with no stored run of its kind, is not priced rather than priced as a CNN."""
    base = dict(preset="cpu", setting="C", iterations=36_000)
    write_timed_run(tmp_path, snlab.TrainConfig(method="sn", **base), 100, 100 * 2 * 0.1)
    write_timed_run(tmp_path, snlab.TrainConfig(method="wn", **base), 100, 100 * 2 * 0.2)
    write_timed_run(tmp_path / "gp", snlab.TrainConfig(method="wn", gradient_penalty=True, **base), 100, 100 * 2 * 1.0)
    for run in (tmp_path / "gp").iterdir():
        run.rename(tmp_path / f"{run.name}-gp")
    assert prices.price(sweep.todo([snlab.TrainConfig(method="wn", **base)], tmp_path / "elsewhere"), tmp_path) == \
        "≈ 4.0 core-hours at the store's median rate (evaluations not counted)"  # WN's, not WN-GP's
    missing = [snlab.TrainConfig(method=m, **base) for m in ("sn", "clip")]
    left = sweep.todo(missing, tmp_path / "elsewhere")
    assert prices.price(left, tmp_path) == "≈ 5.0 core-hours at the store's median rate (evaluations not counted)"
    left = sweep.todo(missing + experiments.resnet_rows("cpu", seeds=[0], methods=["sn"]), tmp_path / "elsewhere")
    unpriced = "resnet runs not priced: none complete in the store"
    assert prices.price(left, tmp_path) == \
        f"≈ 5.0 core-hours at the store's median rate (evaluations not counted); {unpriced}"
    assert prices.price(left[left["arch"] == "resnet"], tmp_path) == unpriced
    # Clipping with the penalty, in a store of SN without it only: at SN's rate, said to be a lower bound.
    write_timed_run(tmp_path / "plain", snlab.TrainConfig(method="sn", **base), 100, 100 * 2 * 0.1)
    left = sweep.todo([snlab.TrainConfig(method="clip", gradient_penalty=True, **base)], tmp_path / "elsewhere")
    assert prices.price(left, tmp_path / "plain") == (
        "≈ 2.0 core-hours at the store's median rate (evaluations not counted), a lower bound: standard runs with "
        "the gradient penalty priced at the rate of the architecture's runs without it, none with it being complete "
        "in the store")
    assert "lower bound" not in prices.price(left, tmp_path)  # WN-GP's rate is there
    wide = sweep.todo([snlab.TrainConfig(method="sn", d_width=1.5, **base)], tmp_path / "elsewhere")
    assert prices.price(wide, tmp_path) == ("≈ 2.0 core-hours at the store's median rate (evaluations not counted), "
                                            "a lower bound: standard runs with D 1.5× wider priced at the rate of "
                                            "D as built")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(sweep.NotInStore, match="2 of 2 runs are not complete in .*standard runs not priced"):
        sweep.run_sweep(missing, empty, train=False)


def test_a_sweep_too_costly_for_2_cores_is_not_testable_here_and_names_the_gpu_command(tmp_path):
    """With SN stored at 0.1 s per network update, 13 missing SN runs of 36,000 G updates cost 26 core-hours,
    more than ``SENSIBLE_CORE_HOURS`` (24): the notebook's claims read not testable at this scale, with the
    GPU command first. 11 runs (22 core-hours) are within it: not measured, to be trained here."""
    from snlab.reproduce import not_in_store

    base = dict(preset="cpu", setting="C", iterations=36_000, method="sn")
    write_timed_run(tmp_path / "store", snlab.TrainConfig(**base), 100, 100 * 2 * 0.1)
    missing = [snlab.TrainConfig(**base, seed=s) for s in range(1, 14)]
    verdicts = {}
    for n in (11, 13):
        with pytest.raises(sweep.NotInStore) as e:
            sweep.run_sweep(missing[:n], tmp_path / "store", train=False)
        out = tmp_path / f"fig04-{n}"
        out.mkdir()
        not_in_store("fig04_final_width", out, str(e.value))
        verdicts[n] = json.loads((out / "metrics.json").read_text())["claims"][0]["verdict"]
    assert verdicts[11] == "not measured: no runs in results/ (`figures/fig04_final_width/NOT_MEASURED.md`)"
    assert verdicts[13] == (f"not testable at this scale: {prices.NOT_SENSIBLE}: ≈ 26.0 core-hours of training, "
                            "more than a night of a 2-core laptop (24); on a GPU: `make reproduce PRESET=paper "
                            "TRAIN=1 ONLY=fig04_final_width` with the paper's dataset in SET (e.g. "
                            '`SET="dataset=cifar10"`)')
    assert (tmp_path / "fig04-13" / "NOT_MEASURED.md").read_text().splitlines()[4].startswith(
        "On a GPU: `make reproduce PRESET=paper TRAIN=1 ONLY=fig04_final_width`")


def test_a_notebook_with_no_runs_at_another_preset_names_that_preset_in_the_command_that_trains_them(tmp_path):
    from snlab.reproduce import not_in_store

    not_in_store("fig04_final_width", tmp_path, "12 of 12 runs are not complete in results", preset="paper")
    assert (tmp_path / "NOT_MEASURED.md").read_text().splitlines()[4].startswith(
        "`make reproduce PRESET=paper TRAIN=1 ONLY=fig04_final_width` trains them at the preset's protocol")
    not_in_store("fig04_final_width", tmp_path, "12 of 12 runs are not complete in results", iterations=500)
    assert (tmp_path / "NOT_MEASURED.md").read_text().splitlines()[4].startswith(
        '`make reproduce TRAIN=1 ONLY=fig04_final_width SET="iterations=500"` trains them')


def test_the_command_that_trains_a_notebooks_runs_names_their_dataset_and_store_unless_they_are_its_own(
        tmp_path, monkeypatch):
    """A notebook given another dataset or store than its own (Fashion-MNIST, results/) gets a command
    that passes them on, so the runs it trains land where that notebook reads them; a relative store is
    taken from the working folder (notebooks/ in a notebook's kernel)."""
    from snlab.reproduce import NOTEBOOKS, RESULTS, not_in_store

    assert prices.train_command("fig04_final_width", dataset="fashion_mnist", store=RESULTS) == \
        "`make reproduce TRAIN=1 ONLY=fig04_final_width`"
    monkeypatch.chdir(NOTEBOOKS)  # as in a notebook's kernel: its default store, relative
    assert prices.train_command("fig04_final_width", store="../results") == \
        "`make reproduce TRAIN=1 ONLY=fig04_final_width`"
    assert prices.train_command("fig04_final_width", store="runs") == \
        f'`make reproduce TRAIN=1 ONLY=fig04_final_width SET="store={NOTEBOOKS / "runs"}"`'
    monkeypatch.undo()
    not_in_store("fig04_final_width", tmp_path, "12 of 12 runs are not complete in results", dataset="cifar10",
                 store=NOTEBOOKS / "../results", iterations=500)
    assert (tmp_path / "NOT_MEASURED.md").read_text().splitlines()[4].startswith(
        '`make reproduce TRAIN=1 ONLY=fig04_final_width SET="iterations=500 dataset=cifar10"` trains them')
    not_in_store("fig04_final_width", tmp_path, "12 of 12 runs are not complete in runs", store=tmp_path / "runs")
    assert (tmp_path / "NOT_MEASURED.md").read_text().splitlines()[4].startswith(
        f'`make reproduce TRAIN=1 ONLY=fig04_final_width SET="store={tmp_path / "runs"}"` trains them')


def test_a_missing_runs_reason_names_the_notebooks_store_as_from_the_repository_root(tmp_path):
    """The kernel reads the default store as ../results (from notebooks/); CLAIMS.md and the README are read
    from the repository's root, so the reason names results/; a store outside the repository keeps its path."""
    from snlab.reproduce import from_root

    why = "30 of 30 runs are not complete in {}: 240,000 G updates to train"
    assert from_root(why.format("../results"), "../results") == why.format("results/")
    assert from_root(why.format(tmp_path), str(tmp_path)) == why.format(tmp_path)
    assert from_root(why.format("x"), None) == why.format("x")


def test_the_command_names_other_seeds_and_survives_the_shells_and_make_that_read_set(tmp_path):
    """Seeds other than the notebooks' own enter SET too; a store whose path has a space, quotes, ``$`` and a
    backtick comes back whole through the user's shell, make (``make -n``: the recipe it would run, nothing
    run) and the shell make runs the recipe in (``--set $(SET)``, unquoted), as the words ``reproduce`` gets."""
    import subprocess

    from snlab.__main__ import _literal
    from snlab.reproduce import NOTEBOOKS

    assert "seeds" not in prices.train_command("fig11_ndis", seeds={2, 0, 1}, store=tmp_path)
    store = tmp_path / """my runs $HOME `x` "q" 'a' \\b"""
    command = prices.train_command("fig11_ndis", iterations=800, store=store, seeds={1, 0})
    dry = command.strip("`").replace("make ", f"make -n -C {shlex.quote(str(NOTEBOOKS.parent))} ", 1)
    recipe = subprocess.run(["bash", "-c", dry], capture_output=True, text=True, check=True).stdout
    line, = [line for line in recipe.splitlines() if " reproduce " in line]
    words = subprocess.run(["sh", "-c", "printf '%s\\0' " + line.split(" --set ", 1)[1]], capture_output=True,
                           text=True, check=True).stdout.split("\0")[:-1]
    assert dict(map(_literal, words)) == {"iterations": 800, "store": str(store), "seeds": [0, 1]}


def _packable(fmnist_dir, settings=("A", "E", "C", "F")):
    """A, E and F share n_dis 5 (one pack_key); C has n_dis 1."""
    base = dict(preset="smoke", data_dir=str(fmnist_dir), iterations=2, eval_every=0, sample_every=0, method="sn")
    return sweep.grid(base, setting=list(settings))


def test_jobs_pack_runs_that_share_a_step_grouped_in_the_order_each_step_first_appears(fmnist_dir):
    a, e, c, f = _packable(fmnist_dir)
    assert sweep._jobs([a, e, c, f], 1) == [[a], [e], [c], [f]]
    assert sweep._jobs([a, e, c, f], 2) == [[a, e], [f], [c]]
    assert sweep._jobs([a, e, c, f], 3) == [[a, e, f], [c]]


def test_a_packed_sweep_stores_each_run_under_its_own_key_and_reuses_them(fmnist_dir, tmp_path):
    configs = _packable(fmnist_dir)
    result = sweep.run_sweep(configs, tmp_path, workers=2, pack=3, log=lambda _: None)
    assert result.counts() == {"reused": 0, "resumed": 0, "trained": 4}
    status = [json.loads((default_run_dir(c, tmp_path) / "status.json").read_text()) for c in configs]
    assert [s["status"] for s in status] == ["complete"] * 4
    assert [s.get("packed") for s in status] == [3, 3, None, 3]  # A, E, F as one pack; C alone
    assert set(result.final["setting"]) == {"A", "C", "E", "F"} and (result.final["step"] == 2).all()
    again = sweep.run_sweep(configs, tmp_path, pack=3, log=lambda _: None)
    assert again.counts() == {"reused": 4, "resumed": 0, "trained": 0}
    with pytest.raises(ValueError, match="pack must be a whole number >= 1.*got 0"):
        sweep.run_sweep(configs, tmp_path, pack=0, log=lambda _: None)


def test_a_pack_trains_around_a_run_another_process_holds(fmnist_dir, tmp_path):
    from snlab.files import exclusive
    configs = _packable(fmnist_dir, settings=("A", "E", "F"))
    held_run = default_run_dir(configs[1], tmp_path)
    held_run.mkdir(parents=True)
    with exclusive(held_run / ".lock"):  # as if another sweep were training E
        result = sweep.run_sweep(configs, tmp_path, workers=0, pack=3, accept_partial=True, log=lambda _: None)
    assert (result.trained, result.busy) == (2, 1)
    assert [store.run_status(default_run_dir(c, tmp_path)) for c in configs] == ["complete", "partial", "complete"]


def test_the_sweep_command_refuses_a_pack_it_cannot_execute_before_training(tmp_path, capsys):
    from snlab.__main__ import main
    args = ["sweep", "fig15", "--preset", "smoke", "--store", str(tmp_path), "--pack", "4", "--device", "cpu"]
    assert main([*args, "--speedup", "compile"]) == 2
    assert "speedup must be one of 'auto', 'eager', 'cudagraphs', got run 0: 'compile'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
