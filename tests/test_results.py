"""The paper's numbers as data, and the run store read back as a tidy table."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import snlab
from snlab import paper, results, store


def test_table2_spot_checks_against_the_camera_ready_paper():
    t = paper.table2().set_index(["row", "dataset"])
    assert t.loc[("SN-GANs", "cifar10"), ["IS", "IS_std", "FID"]].tolist() == [7.42, 0.08, 29.3]
    assert t.loc[("SN-GANs, hinge", "stl10"), ["IS", "FID", "FID_std"]].tolist() == [9.10, 40.1, 0.50]
    assert t.loc[("Real data", "stl10"), "IS"] == 26.08
    assert ("GAN-GP", "stl10") not in t.index  # the paper has no STL-10 GAN-GP run
    assert (t.reset_index()["dataset"].value_counts() == 12).all()
    assert set(t["method"].dropna()) <= set(snlab.METHODS)
    assert t.loc[("SN-GANs (2x updates)", "stl10"), "iterations"] == 200_000
    assert t.loc[("SN-GANs", "stl10"), "iterations"] == 100_000


def test_collect_reads_every_run(fmnist_dir, tmp_path):
    for method in ("sn", "wn"):
        snlab.train(snlab.TrainConfig(preset="smoke", method=method, data_dir=str(fmnist_dir), progress=False,
                                      out_dir=str(tmp_path / method)))
    (tmp_path / "not-a-run").mkdir()
    df = results.collect(tmp_path)
    assert len(df) == 8 and set(df["method"]) == {"sn", "wn"} and (df["status"] == "complete").all()
    assert list(df.columns[:3]) == ["run", "dataset", "method"] and "sigma_fc" in df and "loss_d" in df
    assert df.groupby("method")["step"].max().tolist() == [4, 4]


def test_collect_keeps_the_logged_lr_under_decay(fmnist_dir, tmp_path):
    snlab.train(snlab.TrainConfig(preset="smoke", lr_decay=True, data_dir=str(fmnist_dir), progress=False,
                                  out_dir=str(tmp_path / "decay")))
    df = results.collect(tmp_path)
    assert df["lr"].is_monotonic_decreasing and df["lr"].nunique() == 4 and (df["base_lr"] == 2e-4).all()


def test_collect_shows_joint_d_and_reads_it_false_in_a_record_older_than_the_field(fmnist_dir, tmp_path):
    for joint in (False, True):
        snlab.train(snlab.TrainConfig(preset="smoke", joint_d=joint, data_dir=str(fmnist_dir), progress=False,
                                      out_dir=str(tmp_path / str(joint))))
    older = json.loads((tmp_path / "False" / "config.json").read_text())
    del older["joint_d"]
    (tmp_path / "False" / "config.json").write_text(json.dumps(older))
    assert results.last_rows(results.collect(tmp_path)).set_index("run")["joint_d"].to_dict() == \
        {"False": False, "True": True}


def test_collect_on_an_empty_store(tmp_path):
    assert results.collect(tmp_path).empty


def test_appendix_tables_spot_checks():
    assert paper.TABLE7["+ SN"] == (7.20, .08, 32.0) and paper.TABLE7["+ Frobenius"] == (None, None, None)
    assert paper.TABLE8["+ SN, D widths x1.5"] == (8.60, .08, 17.5)


RESULTS = Path(__file__).resolve().parent.parent / "results"


def test_export_copies_finished_runs_as_compact_records_and_leaves_unfinished_ones(tmp_path, smoke_store,
                                                                                  fmnist_eval_dir, capsys):
    import shutil

    from snlab import experiments, sweep
    from snlab.__main__ import main

    trained, dest = tmp_path / "store", tmp_path / "results"
    shutil.copytree(smoke_store, trained)  # WN and SN at setting D, 2 G updates each
    configs = experiments.settings_grid("smoke", seeds=[0], methods=["wn", "sn"], settings=["D"],
                                        data_dir=str(fmnist_eval_dir))
    killed = trained / "killed-before-it-finished"
    killed.mkdir()
    shutil.copy2(next(trained.glob("*/config.json")), killed / "config.json")
    assert main(["export", str(trained), "--to", str(dest)]) == 0
    assert "2 exported to" in capsys.readouterr().out
    for run in dest.iterdir():  # what test_committed_records_are_complete_and_compact asks of results/
        files = sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file())
        assert files == ["config.json", "history.csv", "samples/step_0000002.png", "spectra.csv", "status.json"]
    assert sweep.stored(configs, dest).equals(sweep.stored(configs, trained))  # the notebooks read the same rows
    assert sweep.run_sweep(configs, dest, train=False).counts() == {"reused": 2, "resumed": 0, "trained": 0}
    assert main(["export", str(trained), "--to", str(dest)]) == 0
    assert "0 exported to" in (out := capsys.readouterr().out) and "2 there already, 1 unfinished left out" in out
    with pytest.raises(ValueError, match="killed-before-it-finished is not finished"):
        store.export(killed, dest)
    copy = sorted(dest.iterdir())[0]
    (copy / "status.json").unlink()  # a copy left partial is replaced, never counted as there already
    assert store.export(trained / copy.name, dest) == copy and store.run_status(copy) == "complete"
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in trained.iterdir() if p != killed)


def test_committed_records_are_complete_and_compact():
    """Every committed run is a finished record (config, history, status, final spectra and samples), and
    none carries a checkpoint or a partial status."""
    runs = sorted(p.parent for p in RESULTS.glob("*/config.json"))
    for run in runs:
        assert store.run_status(run) in ("complete", "diverged"), run
        assert (run / "history.csv").exists() and not (run / "checkpoint.pt").exists(), run
        if store.run_status(run) == "complete":
            assert (run / "spectra.csv").exists() and list((run / "samples").glob("step_*.png")), run


@pytest.mark.slow
def test_a_committed_record_is_reproduced_bitwise_by_retraining(tmp_path):
    """The first G updates of a committed run trained on this kind of CPU (its status.json's ``machine``),
    retrained from its config.json with one thread (as sweeps train), log the same losses and σ(W̄) to the
    last digit (evaluations aside: a shorter run evaluates on another schedule). Another kind of CPU rounds
    differently (``snlab.store.machine``), so a record from one is not expected to match bit for bit."""
    import torch

    from snlab.data import load_dataset
    from snlab.store import machine

    here = machine()
    made_here = [p.parent for p in sorted(RESULTS.glob("*/status.json"))
                 if json.loads(p.read_text()).get("machine") == here]
    cheapest = sorted(made_here, key=lambda r: json.loads((r / "config.json").read_text())["n_dis"])
    if not cheapest:
        pytest.skip(f"no committed record was trained on this kind of CPU ({here})")
    run = cheapest[0]
    try:
        load_dataset("fashion_mnist")
    except FileNotFoundError:
        pytest.skip("the real Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    cfg = json.loads((run / "config.json").read_text())
    cfg.update(iterations=100, eval_every=0, sample_every=0, checkpoint_every=100, tensorboard=False, device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rerun = snlab.train(snlab.TrainConfig(**cfg, progress=False, out_dir=str(tmp_path / "rerun")))
    finally:
        torch.set_num_threads(threads)
    columns = ["step", "loss_d", "loss_g", "lr"] + [c for c in rerun.history if c.startswith("sigma_")]
    stored = pd.read_csv(run / "history.csv")[columns]
    again = pd.read_csv(tmp_path / "rerun" / "history.csv")[columns]
    pd.testing.assert_frame_equal(again, stored[stored["step"] <= 100].reset_index(drop=True), check_exact=True)


def test_every_committed_record_keeps_its_store_key():
    """A committed run's directory name is the key its own config.json hashes to: a change to what makes a
    run's identity (a new field with a truthy default, a renamed one) fails here before any sweep retrains."""
    from snlab.store import default_run_dir

    runs = sorted(p.parent for p in RESULTS.glob("*/config.json"))
    for run in runs:
        cfg = snlab.TrainConfig(**json.loads((run / "config.json").read_text()))
        assert default_run_dir(cfg, RESULTS) == run, run.name


def test_tables_7_and_8_put_seed_means_beside_the_paper_and_count_diverged_runs():
    from snlab import tables

    final = pd.DataFrame({"arch": "standard", "method": ["wgan-gp", "wgan-gp", "sn-gamma", "frobenius"],
                          "IS_x": [6.0, 7.0, 8.0, float("nan")], "FID_x": [40.0, 30.0, 20.0, float("nan")]})
    t = tables.appendix_e_table(final, 7, "IS_x", "FID_x")
    assert t.loc["CNN baseline", ["our IS_x", "our FID_x", "our seeds"]].tolist() == [6.5, 35.0, 2]
    assert t.loc["CNN baseline", "our FID_x sd"] == pytest.approx(50 ** 0.5)  # sd of 40 and 30
    assert "| 35.00 ± 7.07 " in tables.to_markdown(t)
    assert t.loc["+ Frobenius", "our diverged"] == 1 and pd.isna(t.loc["+ WN", "our IS_x"])
    assert t.loc["+ SN", "paper IS (CIFAR-10, Inception)"] == 7.20 and len(t) == len(paper.TABLE7)
    assert type(t.loc["CNN baseline", "our seeds"]) is int and " 2.0 " not in tables.to_markdown(t)
    # With statuses: the baseline's IS-7 run diverged after its last evaluation, Frobenius's was never evaluated.
    t = tables.appendix_e_table(final.assign(status=["complete", "diverged", "complete", "complete"]), 7, "IS_x",
                                "FID_x")
    assert t.loc["CNN baseline", ["our IS_x", "our diverged"]].tolist() == [6.0, 1]
    assert t.loc["+ Frobenius", "our diverged"] == 0
    # ResNet runs go to their table's row by head and D width: AC-WGAN-GP's to Table 8, the others to Table 7.
    resnet = pd.DataFrame({"arch": "resnet", "method": ["wgan-gp", "sn-gamma", "sn-gamma", "sn-gamma", "wgan-gp"],
                           "conditional": ["", "", "", "ac", "ac"], "d_width": [None, None, 1.5, 1.5, None],
                           "IS_x": [5.0, 6.0, 7.0, 8.0, 9.0], "FID_x": [50.0, 40.0, 30.0, 20.0, 10.0]})
    t7, t8 = (tables.appendix_e_table(resnet, n, "IS_x", "FID_x") for n in (7, 8))
    assert t7.loc[["ResNet baseline", "ResNet + SN", "ResNet + SN, D widths x1.5"], "our IS_x"].tolist() == [5, 6, 7]
    assert t8.loc[["Baseline", "+ SN, D widths x1.5"], "our IS_x"].tolist() == [9, 8]
    assert pd.isna(t8.loc["+ SN", "our IS_x"])
    assert t8.loc["+ SN", "paper FID"] == 18.6 and len(t8) == len(paper.TABLE8) and pd.isna(t7.loc["+ WN", "our IS_x"])
