"""The benchmark machinery (not its timings): variants are what they claim and the table is well formed."""
from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch.nn.utils.parametrizations import _SpectralNorm

from snlab import bench
from snlab.normalizers import SpectralNorm
from snlab.speed import SPEEDUPS


def test_variants_share_raw_weights_and_use_the_named_sn():
    v = bench._d_variants("fashion_mnist", width=0.125)
    assert any(isinstance(m, SpectralNorm) for m in v["sn"].modules())
    assert any(isinstance(m, _SpectralNorm) for m in v["torch-sn"].modules())
    assert not any(isinstance(m, (SpectralNorm, _SpectralNorm)) for m in v["none"].modules())
    for k in ("sn", "torch-sn"):
        assert torch.equal(v["none"].features.conv3.weight, v[k].features.conv3.parametrizations.weight.original)


def test_sn_overhead_table():
    df = bench.sn_overhead("smoke", rounds=3, steps=1)
    assert len(df) == 12 and set(df["variant"]) == {"none", "sn", "sn-once", "torch-sn"}
    assert (df["seconds_per_d_step"] > 0).all()
    summary = bench.summarize(df)
    assert list(summary.index) == ["sn / none", "sn / torch-sn", "torch-sn / none", "sn-once / none"]
    assert list(summary.columns) == ["q25", "median", "q75"]


def test_metrics_bench_rows(fmnist_dir):
    df = bench.metrics_time(n_samples=16, rounds=1, n_real=16, data_dir=fmnist_dir)
    assert list(df["kind"]) == ["cold", "warm"] and (df["seconds"] > 0).all()


def test_methods_bench_times_every_method_and_a_joint_d_twin_but_bns(fmnist_dir):
    df = bench.methods_time("smoke", methods=("wgan-gp", "bn"), updates=1, rounds=2, n_dis=2,
                            data_dir=fmnist_dir, device="cpu", joint_d=True)
    assert len(df) == 6 and set(df["method"]) == {"wgan-gp", "bn", "wgan-gp+joint"}
    assert (df["seconds_per_100_g_updates"] > 0).all() and df["device"][0].startswith("CPU")


def test_methods_table_takes_medians_of_per_round_ratios():
    times = {"none": [10, 20, 30], "sn": [12, 22, 45], "sn+joint": [6, 22, 90]}
    df = pd.DataFrame([{"round": r, "method": m, "seconds_per_100_g_updates": t[r]}
                       for m, t in times.items() for r in range(3)])
    table = bench.methods_table(df)
    assert table.loc["sn", "median s / 100 G updates"] == 22
    assert table.loc["sn", "median ratio to none"] == pytest.approx(1.2)  # of 1.2, 1.1, 1.5
    assert table.loc["sn", "median joint / two calls"] == 1.0  # of 0.5, 1.0, 2.0
    assert pd.isna(table.loc["none", "median joint / two calls"])


def test_sweep_bench_times_both_ways_of_running_a_sweep(fmnist_dir):
    df = bench.sweep_parallelism("smoke", runs=2, updates=1, rounds=2, data_dir=str(fmnist_dir))
    assert len(df) == 4 and df["variant"].nunique() == 2 and (df["seconds"] > 0).all()
    assert df.groupby("round")["variant"].first().nunique() == 2  # the order alternates


def test_throughput_bench_checks_each_variant_against_eager(fmnist_dir):
    """Every training speedup runs on the CPU (compile through Inductor's C++ backend; the CUDA-graph
    path without a graph) and matches eager; bf16 autocast is CUDA-only and left out."""
    df = bench.throughput("smoke", updates=1, rounds=2, device="cpu", variants=(*SPEEDUPS, "bf16"),
                          data_dir=fmnist_dir)
    assert set(df["variant"]) == set(SPEEDUPS) and (df["error"] == "").all()
    assert len(df) == 2 * len(SPEEDUPS) and (df["g_updates_per_second"] > 0).all()
    assert (df.loc[df["variant"].isin(["eager", "cudagraphs"]), "loss_rel_err"] == 0).all()
    assert (df["loss_rel_err"] < 1e-3).all() and df["correct"].all()


def test_throughput_bench_reports_a_variant_that_fails(fmnist_dir, monkeypatch):
    real = bench._throughput_trainer

    def trainer(variant, *args):
        if variant == "channels_last":
            raise RuntimeError("not on this device")
        return real(variant, *args)

    monkeypatch.setattr(bench, "_throughput_trainer", trainer)
    df = bench.throughput("smoke", updates=1, rounds=1, device="cpu", variants=("eager", "channels_last"),
                          data_dir=fmnist_dir)
    failed = df[df["variant"] == "channels_last"]
    assert len(failed) == 1 and failed["error"].iloc[0] == "RuntimeError: not on this device"
    assert (df.loc[df["variant"] == "eager", "g_updates_per_second"] > 0).all()


def test_pack_bench_times_each_pack_size_both_ways(fmnist_dir):
    from snlab.bench_pack import pack_time
    df = pack_time("smoke", sizes=(1, 2), updates=1, rounds=2, data_dir=str(fmnist_dir))
    assert len(df) == 8 and set(df["variant"]) == {"packed", "separate"} and set(df["K"]) == {1, 2}
    assert (df["run_updates_per_second"] > 0).all() and df["width"][0] == 0.125


def test_pack_table_takes_medians_of_per_round_ratios():
    from snlab.bench_pack import pack_table
    rates = {"separate": [10, 10, 10], "packed": [5, 20, 30]}
    df = pd.DataFrame([{"round": r, "K": 4, "variant": v, "run_updates_per_second": x[r]}
                       for v, x in rates.items() for r in range(3)])
    table = pack_table(df)
    assert table.loc[4, "median packed / separate"] == 2.0  # of 0.5, 2.0, 3.0
    assert table.loc[4, "separate run-upd/s"] == 10 and table.loc[4, "packed run-upd/s"] == 20


def test_pack_layers_bench_times_every_layout_of_every_layer_and_checks_it_against_per_run_calls():
    from snlab.bench_pack import LAYOUTS, layer_layouts
    df = layer_layouts("smoke", sizes=(3,), rounds=1, steps=1)
    layers = df.groupby("net")["layer"].nunique()
    assert layers["G"] == 8 and layers["D"] == 7  # G: 3 deconvs, 4 BNs, 1 conv; D: 7 convs (fc is not a layout layer)
    assert set(df["layout"]) == set(LAYOUTS) and (df["seconds"] > 0).all()
    assert (df["rel_err"] < 1e-5).all()  # each layout computes what the per-run calls compute


def test_layouts_table_sums_each_layouts_median_layer_times_and_takes_the_best_per_layer():
    from snlab.bench_pack import layouts_table
    seconds = {("a", "separate"): [4, 4, 4], ("a", "vmap"): [2, 3, 9], ("a", "grouped"): [8, 8, 8],
               ("a", "grouped channels_last"): [8, 8, 8], ("b", "separate"): [6, 6, 6], ("b", "vmap"): [6, 6, 6],
               ("b", "grouped"): [1, 1, 1], ("b", "grouped channels_last"): [7, 7, 7]}
    df = pd.DataFrame([{"round": r, "K": 2, "net": "D", "layer": layer, "layout": layout, "seconds": s[r] / 1e3,
                        "rel_err": 0.0} for (layer, layout), s in seconds.items() for r in range(3)])
    table = layouts_table(df).loc[2]
    assert table.loc["separate", "ms, all layers"] == pytest.approx(10)
    assert table.loc["vmap", "ms, all layers"] == pytest.approx(9)  # medians 3 + 6
    assert table.loc["best per layer", "ms, all layers"] == pytest.approx(4)  # 3 (vmap) + 1 (grouped)
    assert table.loc["best per layer", "separate / layout"] == pytest.approx(2.5)


def test_pack_table_on_a_gpu_also_compares_graphed_packs_with_graphed_and_eager_lone_runs():
    from snlab.bench_pack import pack_table
    rates = {"separate": [10, 10, 10], "packed": [20, 20, 20], "separate graphs": [40, 40, 40],
             "packed graphs": [80, 160, 120]}
    df = pd.DataFrame([{"round": r, "K": 8, "variant": v, "run_updates_per_second": x[r]}
                       for v, x in rates.items() for r in range(3)])
    table = pack_table(df).loc[8]
    assert table["median packed / separate"] == 2.0
    assert table["median packed graphs / separate graphs"] == 3.0  # of 2, 4, 3
    assert table["median packed graphs / separate"] == 12.0  # of 8, 16, 12
    assert table["packed graphs run-upd/s"] == 120


@pytest.mark.parametrize("flag", ["--rounds", "--steps", "--updates"])
def test_a_bench_refuses_zero_rounds_steps_or_updates_by_name(flag, capsys):
    from snlab.__main__ import main
    assert main(["bench", "pack", flag, "0"]) == 2
    assert f"{flag} must be >= 1 (or left out for the benchmark's default), got 0" in capsys.readouterr().err
