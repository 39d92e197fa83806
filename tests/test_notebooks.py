"""Notebooks: committed clean and in sync with their py:percent twins; they execute under papermill."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import jupytext
import numpy as np
import pandas as pd
import papermill
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_committed_clean_with_parameters_and_in_sync(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert not any(c.get("outputs") or c.get("execution_count") for c in code), "strip outputs before committing"
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1
    for line in "".join(params[0]["source"]).splitlines():  # literals only: papermill overrides them
        assert not line.strip() or line.startswith("#") or " = " in line and "(" not in line, line
    twin = jupytext.read(path.with_suffix(".py"))
    assert [c.source for c in twin.cells] == ["".join(c["source"]) for c in nb["cells"]], \
        "notebook and its .py twin differ: run `make notebooks`"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_a_gate_priced_by_its_notebook_gets_the_notebooks_runs_at_any_length(path):
    """A gate that prices its runs twice as long (``gate.assess(notebook=…)``) must see them as the notebook's
    ``iterations`` would build them (``runs_at``): with the schedule kept instead, runs already made at that
    length are priced again (test_gate has the numbers). A count suffices because each such notebook builds
    its ``configs`` as ``runs_at(iterations)``: the two cannot disagree."""
    source = path.with_suffix(".py").read_text()
    assert source.count('notebook="') == source.count("runs_at=")


def _run(name, tmp_path, **parameters):
    return papermill.execute_notebook(str(NOTEBOOKS / name), str(tmp_path / name), parameters=parameters,
                                      cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False)


def test_quickstart_runs_at_smoke_preset(tmp_path, fmnist_dir):
    _run("00_quickstart.ipynb", tmp_path, preset="smoke", data_dir=str(fmnist_dir),
         run_dir=str(tmp_path / "run"), out_dir=str(tmp_path / "fig"))
    for name in ("samples", "losses", "sigmas"):
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 1000
        assert (tmp_path / "fig" / f"{name}.pdf").exists()
    assert (tmp_path / "run" / "checkpoint.pt").exists()


def test_bad_parameter_fails_right_after_the_parameters_cell(tmp_path, fmnist_dir):
    with pytest.raises(papermill.PapermillExecutionError) as e:
        _run("00_quickstart.ipynb", tmp_path, method="spectral", data_dir=str(fmnist_dir),
             run_dir=str(tmp_path / "run"))
    assert e.value.ename == "ValueError" and "valid: none, sn" in e.value.evalue
    code = [c for c in json.loads((tmp_path / "00_quickstart.ipynb").read_text())["cells"] if c["cell_type"] == "code"]
    failed = next(i for i, c in enumerate(code) if any(o.get("output_type") == "error" for o in c["outputs"]))
    assert "injected-parameters" in code[failed - 1]["metadata"]["tags"], \
        "the error must come from the cell that reads the parameters"


def test_fig14_runs_and_writes_its_figure(tmp_path):
    _run("fig14_permissible_spectra.ipynb", tmp_path, out_dir=str(tmp_path / "fig"), samples=3)
    assert (tmp_path / "fig" / "fig14.png").stat().st_size > 1000 and (tmp_path / "fig" / "fig14.pdf").exists()


def test_fig10_times_the_device_and_replots_its_stored_timing(tmp_path, fmnist_dir):
    cpu_timings = tmp_path / "timing_cpu.csv"
    common = dict(preset="smoke", cpu_timings=str(cpu_timings), out_dir=str(tmp_path / "fig"))
    _run("fig10_timing.ipynb", tmp_path, **common, methods=["none", "sn"], updates=1, rounds=1,
         data_dir=str(fmnist_dir), device="cpu")
    assert (tmp_path / "fig" / "fig10.png").stat().st_size > 1000
    measured = pd.read_csv(tmp_path / "fig" / "fig10_timing.csv")
    assert measured["device"][0].startswith("CPU") and set(measured["method"]) == {"none", "sn"}
    assert not cpu_timings.exists()  # a smoke-preset timing of 2 methods never replaces the stored one
    measured.to_csv(cpu_timings, index=False)
    (tmp_path / "fig" / "fig10.png").unlink()
    _run("fig10_timing.ipynb", tmp_path, **common, train=False)  # make reproduce: the stored rows, nothing timed
    assert (tmp_path / "fig" / "fig10.png").stat().st_size > 1000
    assert pd.read_csv(tmp_path / "fig" / "fig10_timing.csv").equals(measured)
    with pytest.raises(papermill.PapermillExecutionError, match="holds a timing at preset 'smoke', not 'cpu'"):
        _run("fig10_timing.ipynb", tmp_path, **{**common, "preset": "cpu"}, train=False)


def test_fig09_logs_and_plots_operator_norms(tmp_path, fmnist_eval_dir):
    _run("fig09_sigma_during_training.ipynb", tmp_path, preset="smoke", data_dir=str(fmnist_eval_dir), seeds=[0],
         store=str(tmp_path / "runs"), workers=0, out_dir=str(tmp_path / "fig"))
    assert (tmp_path / "fig" / "fig09.png").stat().st_size > 1000
    assert pd.read_csv(tmp_path / "fig" / "phases.csv")["phase"].notna().all()  # as every figure's
    claim = json.loads((tmp_path / "fig" / "metrics.json").read_text())["claims"][0]
    assert claim["id"] == "C1" and claim["verdict"].startswith("not testable at this scale: 1 seed(s)")
    header = next((tmp_path / "runs").glob("*/history.csv")).read_text().splitlines()[0]
    assert "opnorm_conv0" in header and "opnorm_conv6" in header and "sigma_conv6" in header


@pytest.mark.slow
def test_convergence_study_gates_its_runs_and_plots_them(tmp_path, fmnist_eval_dir):
    _run("convergence.ipynb", tmp_path, preset="smoke", seeds=[0, 1], methods=["wn", "sn"], workers=0,
         data_dir=str(fmnist_eval_dir), store=str(tmp_path / "runs"), out_dir=str(tmp_path / "fig"))
    assert (tmp_path / "fig" / "convergence.png").stat().st_size > 1000
    phases = pd.read_csv(tmp_path / "fig" / "phases.csv")
    assert len(phases) == 8 and set(phases["phase"]) <= {"diverged", "early", "learning", "settled"}
    lengths = pd.read_csv(tmp_path / "fig" / "lengths.csv")
    assert sorted(zip(lengths["method"], lengths["setting"])) == [("sn", "C"), ("sn", "D"), ("wn", "C"), ("wn", "D")]
    metrics = json.loads((tmp_path / "fig" / "metrics.json").read_text())
    assert metrics["untrained_fid"] > 0 and metrics["runs"]["trained"] == 8
    assert "Does \"settled\" forecast the next doubling?" in (tmp_path / "fig" / "settle_forecasts.md").read_text()
    forecasts = pd.read_csv(tmp_path / "fig" / "settle_forecasts.csv")
    assert list(forecasts.columns[:3]) == ["run", "phase_at_half", "fid_half"]


def test_reproduce_without_training_reads_the_store_and_says_what_it_lacks(tmp_path, fmnist_eval_dir):
    """Without ``train`` (make reproduce's default) nothing trains: fig09 plots the one of its two runs that is
    stored (the second seed's, so the figure cannot lean on the first); fig04, none of whose runs is stored,
    leaves no stale figure, only why, and marks C4 not measured."""
    from snlab import experiments, sweep
    from snlab.reproduce import QUICKSTART, notebooks, reproduce

    store = tmp_path / "store"
    sweep.run_sweep(experiments.sigma_runs("smoke", seeds=[1], data_dir=str(fmnist_eval_dir)), store, workers=0,
                    tensorboard=False, log=lambda _: None)
    before = sorted(p.name for p in store.iterdir())
    common = {"preset": "smoke", "store": str(store), "data_dir": str(fmnist_eval_dir)}
    lines = []
    (tmp_path / "fig09").mkdir()
    (tmp_path / "fig09" / "NOT_MEASURED.md").write_text("left by a call when none of its runs was stored")
    reproduce(["fig09"], {**common, "seeds": [0, 1], "out_dir": str(tmp_path / "fig09")}, log=lines.append)
    assert not (tmp_path / "fig09" / "NOT_MEASURED.md").exists()
    assert json.loads((tmp_path / "fig09" / "metrics.json").read_text())["runs"] == \
        {"reused": 1, "resumed": 0, "trained": 0, "missing": 1}
    assert (tmp_path / "fig09" / "fig09.png").stat().st_size > 1000
    assert "2 seeds asked, 1 stored (1)" in json.loads((tmp_path / "fig09" / "metrics.json").read_text())["caption"]
    stale = tmp_path / "fig04" / "fig04.png"
    stale.parent.mkdir()
    stale.write_bytes(b"a figure of runs no longer stored")
    reproduce(["fig04"], {**common, "out_dir": str(stale.parent)}, log=lines.append)
    assert not stale.exists() and sorted(p.name for p in store.iterdir()) == before  # nothing trained
    why = (stale.parent / "NOT_MEASURED.md").read_text()
    assert "runs are not complete in" in why  # the command trains into the store the notebook was given:
    assert f'`make reproduce PRESET=smoke TRAIN=1 ONLY=fig04_final_width SET="store={store}"` trains them' in why
    claim, = json.loads((stale.parent / "metrics.json").read_text())["claims"]
    assert claim["id"] == "C4" and claim["verdict"].startswith("not measured: no runs in results/")
    assert "runs are not complete in" in claim["gate"]
    assert any(line.startswith("fig04_final_width: no figure:") for line in lines)
    assert QUICKSTART not in [p.stem for p in notebooks(train=False)]
    assert [p.stem for p in notebooks(["00"], train=False)] == [QUICKSTART]


def test_fig03_plots_the_methods_stored_and_says_which_are_not(tmp_path, smoke_store, fmnist_eval_dir):
    """Without training, a store holding WN and SN at setting D (not clip, not setting A) gives Fig 3 of
    those two, a caption that counts what is stored, and C3 not testable for want of clip, with what the
    runs the store lacks cost and the command that trains them, with its seeds."""
    out = tmp_path / "fig03"
    (out / "fig03_setting_A.png").parent.mkdir()
    (out / "fig03_setting_A.png").write_bytes(b"a figure of runs no longer stored")
    _run("fig03_singular_values.ipynb", tmp_path, preset="smoke", methods=["clip", "wn", "sn"], settings=["A", "D"],
         seeds=[0, 1], common_setting="A", store=str(smoke_store), train=False, data_dir=str(fmnist_eval_dir),
         out_dir=str(out))
    assert (out / "fig03.png").stat().st_size > 1000 and (out / "fig03_init.png").stat().st_size > 1000
    assert not (out / "fig03_setting_A.png").exists()  # nothing stored at A
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["best_setting"] == {"wn": "D", "sn": "D"}
    assert metrics["caption"].endswith("2 seeds asked, 1 stored (0); 2 of 12 runs stored")
    claim, = metrics["claims"]
    assert claim["measured"] == "no final spectrum of clip (no evaluated run)"
    assert claim["verdict"].startswith("not testable at this scale: 1 of 3 points have no run: clip; ")
    assert claim["verdict"].endswith(
        f'`make reproduce PRESET=smoke TRAIN=1 ONLY=fig03_singular_values SET="store={smoke_store} seeds=\'[0,1]\'"` '
        "trains them")  # the notebook's seeds, not its default three
    assert claim["gate"].startswith("points with runs: 2/3; ")


def _with_wn_diverged(smoke_store, tmp_path):
    """A copy of the smoke store whose WN run is marked diverged, as a run that ended in a NaN loss is (no
    spectra.csv); the copy and that run's directory."""
    store = tmp_path / "store"
    shutil.copytree(smoke_store, store)
    wn, = store.glob("*-wn-D-s0-*")
    status = wn / "status.json"
    status.write_text(json.dumps({**json.loads(status.read_text()), "status": "diverged"}))
    (wn / "spectra.csv").unlink()
    return store, wn


def test_fig03_leaves_a_diverged_runs_spectrum_out_and_counts_the_run(tmp_path, smoke_store, fmnist_eval_dir):
    """A diverged run has no final spectrum (its checkpoint predates the divergence): Fig 3 draws the other
    runs at the common setting and the gate counts it, rather than read that checkpoint or fail."""
    store, wn = _with_wn_diverged(smoke_store, tmp_path)
    out = tmp_path / "fig03"
    _run("fig03_singular_values.ipynb", tmp_path, preset="smoke", methods=["wn", "sn"], settings=["D"], seeds=[0],
         common_setting="D", store=str(store), train=False, data_dir=str(fmnist_eval_dir), out_dir=str(out))
    assert (out / "fig03_setting_D.png").stat().st_size > 1000
    claim, = json.loads((out / "metrics.json").read_text())["claims"]
    assert "1 diverged" in claim["gate"] and not (wn / "spectra.csv").exists()
    assert claim["measured"].startswith("no final spectrum of clip (no evaluated run), wn (every run diverged); "
                                        "diverged, so not ranked (no final spectrum): wn 1")


def test_reproduce_runs_the_chosen_notebooks_with_declared_parameters_only(tmp_path):
    from snlab.reproduce import reproduce

    lines = []
    rows = reproduce(["fig14"], {"out_dir": str(tmp_path), "samples": 2, "preset": "smoke"}, log=lines.append)
    assert [r["notebook"] for r in rows] == ["fig14_permissible_spectra"]
    assert rows[0]["parameters"] == {"out_dir": str(tmp_path), "samples": 2}  # no "preset" in fig14
    assert (tmp_path / "fig14.png").exists() and (tmp_path / "fig14_permissible_spectra.ipynb").exists()
    assert lines[0].startswith("fig14_permissible_spectra: starting")
    assert lines[1].startswith("fig14_permissible_spectra: ")
    with pytest.raises(ValueError, match="valid: 00_quickstart"):
        reproduce(["fig99"])
    with pytest.raises(ValueError, match="no notebook declares datset; valid: .*dataset"):  # a typo is refused
        reproduce(["fig14"], {"datset": "cifar10"})
    with pytest.raises(ValueError, match=r"fig14_permissible_spectra: parameter n_singular_values='abc' \(str\) is not "
                                         r"of the kind of its default 50 \(int\)"):
        reproduce(["fig14"], {"n_singular_values": "abc"})
    with pytest.raises(ValueError, match=r"fig09_sigma_during_training: parameter seeds=3 \(int\)"):
        reproduce(["fig09"], {"seeds": 3})  # checked before fig09 trains anything


@pytest.mark.slow
def test_sweep_notebooks_share_one_run_store_and_write_their_figures(tmp_path, fmnist_eval_dir, monkeypatch):
    """The figure notebooks at smoke size, in reproduce's order: fig01 trains the grid that fig03, fig06,
    table2 and the comparison notebook then read; each writes its figures and metrics.json."""
    common = dict(preset="smoke", data_dir=str(fmnist_eval_dir), store=str(tmp_path / "runs"))
    grid = dict(methods=["clip", "wn", "sn"], settings=["A", "D"], seeds=[0])
    jobs = [("fig01_fig02_settings", dict(grid, workers=2),
             ["fig01_inception_score.png", "fig02_fid.png", "results.csv"]),
            ("fig03_singular_values", dict(grid, common_setting="D"), ["fig03.png", "fig03_setting_D.png",
                                                                        "fig03_init.png"]),
            ("fig06_samples", grid, ["fig06.png"]),
            ("table2", dict(grid, workers=0, resnet_seeds=[0, 1]), ["table2.md", "table2.csv"]),
            ("fig04_final_width", dict(widths=[0.5, 8], seeds=[0, 1], workers=2), ["fig04.png"]),
            ("fig11_ndis", dict(n_dis=[1, 2], seeds=[0, 1], workers=2), ["fig11.png"]),
            ("fig15_table7_reparam", dict(workers=2, resnet=True, seeds=[0]),
             ["fig15.png", "fig15_resnet.png", "table7.md", "table8.md"]),
            ("fig05_fig13_conditional", dict(workers=2, seeds=[0]),
             ["curves_projection.png", "samples_projection.png"])]
    for name, params, files in jobs:
        out = tmp_path / name
        _run(f"{name}.ipynb", tmp_path, **common, **params, out_dir=str(out))
        for f in files:
            assert (out / f).stat().st_size > 500, (name, f)
        metrics = json.loads((out / "metrics.json").read_text())
        if name == "fig01_fig02_settings":
            assert metrics["runs"] == {"reused": 0, "resumed": 0, "trained": 6}
            assert [c["id"] for c in metrics["claims"]] == ["C2"]
        if name in ("fig03_singular_values", "fig06_samples"):  # the grid's runs, not trained again
            assert metrics["runs"] == {"reused": 6, "resumed": 0, "trained": 0}
        if name == "table2":  # plus SN with the hinge loss at both settings, and the ResNet rows' 2 methods × 2 seeds
            assert metrics["runs"] == {"reused": 6, "resumed": 0, "trained": 2 + 4}
        if name == "fig15_table7_reparam":  # T8 from the AC-WGAN-GP runs it trained: one seed, so not testable
            t8 = metrics["claims"][-1]
            assert [c["id"] for c in metrics["claims"]] == ["C7", "T7", "T8"] and "sn-gamma" in t8["measured"]
            assert t8["verdict"].startswith("not testable at this scale: 1 seed(s)")
        if name == "fig05_fig13_conditional":
            assert [c["id"] for c in metrics["claims"]] == ["C8"] and metrics["claims"][0]["verdict"] != "not measured"
    table = (tmp_path / "table2" / "table2.md").read_text()
    assert "| SN-GANs " in table and "7.42" in table and "Fashion-MNIST classifier" in table
    ours = pd.read_csv(tmp_path / "table2" / "table2.csv", index_col="row")
    assert np.isfinite(ours.loc[["SN-GANs", "Weight Norm.", "Real data"], "our IS_fmnist"]).all()
    assert ours.loc["SN-GANs", "our setting"] in ("A", "D")
    assert np.isfinite(ours.loc["SN-GANs, hinge", ["our IS_fmnist", "our IS_fmnist sd"]]).all()
    assert ours.loc["SN-GANs, hinge", "our seeds"] == 2 and ours.loc["SN-GANs, hinge", "our setting"] == "resnet"
    table7 = pd.read_csv(tmp_path / "fig15_table7_reparam" / "table7.csv", index_col=0)
    assert np.isfinite(table7.loc[["CNN baseline", "ResNet baseline", "ResNet + SN", "ResNet + SN, D widths x1.5"],
                                  "our IS_fmnist"]).all()
    table8 = pd.read_csv(tmp_path / "fig15_table7_reparam" / "table8.csv", index_col=0)
    assert np.isfinite(table8.loc[["Baseline", "+ SN", "+ SN, D widths x1.5"], "our IS_fmnist"]).all()
    curves = pd.read_csv(tmp_path / "fig05_fig13_conditional" / "final_projection.csv", index_col="method")
    assert np.isfinite(curves.loc[["sn", "orthonormal"], "intraFID_fmnist"]).all()
    _run("10_compare_normalizers.ipynb", tmp_path, preset="smoke", store=str(tmp_path / "runs"), interactive=False,
         methods=["wn", "sn"], setting="D", out_dir=str(tmp_path / "compare"))
    assert (tmp_path / "compare" / "compare_D_conv6.png").stat().st_size > 1000
    _widget_redraws_from_the_store(tmp_path / "runs", monkeypatch)
    from snlab.claims_report import write_markdown
    text = write_markdown(tmp_path).read_text()
    assert text.count("not measured") == 2  # C1 (fig09) and C5 (fig10) are not in this test


def test_sweep_notebook_rejects_a_bad_setting_in_the_first_cell(tmp_path, fmnist_eval_dir):
    with pytest.raises(papermill.PapermillExecutionError) as e:
        _run("fig01_fig02_settings.ipynb", tmp_path, preset="smoke", settings=["A", "G"], store=str(tmp_path / "runs"),
             out_dir=str(tmp_path / "out"), data_dir=str(fmnist_eval_dir))
    assert e.value.ename == "ValueError" and "valid: A, B, C, D, E, F" in e.value.evalue
    assert not (tmp_path / "runs").exists()  # nothing trained


def _widget_redraws_from_the_store(store, monkeypatch):
    """The comparison widget (built outside papermill, which hangs on it) redraws on each change, training nothing."""
    import matplotlib

    matplotlib.use("Agg")
    from snlab import compare, experiments

    calls, real = [], compare.figure
    monkeypatch.setattr(compare, "figure", lambda *a: calls.append(a[2:]) or real(*a))
    table = compare.stored_runs([experiments.settings_grid("smoke"), experiments.ndis_sweep("smoke")], store)
    ui = compare.widget(table, store, ["wn", "sn"], "D", "conv6")
    methods, condition, layer = ui.children[:3]
    assert set(methods.options) == {"clip", "wn", "sn"}
    assert ("D", 2) in [v for _, v in condition.options] and "fc" in layer.options
    before = sorted(p.name for p in store.iterdir())
    layer.value = "fc"
    condition.value = ("D", 2)
    methods.value = ("clip",)  # clip was not run at n_dis 2: a message, not an exception
    assert calls == [(["wn", "sn"], "D", 5, "conv6"), (["wn", "sn"], "D", 5, "fc"), (["wn", "sn"], "D", 2, "fc"),
                     (["clip"], "D", 2, "fc")]
    assert sorted(p.name for p in store.iterdir()) == before


def test_the_comparison_takes_each_cell_from_the_first_sweep_that_stored_it(fmnist_dir, tmp_path):
    """SN at D stored at 2 and at 4 G updates: the first sweep's 2-update run is shown, not both; WN at D,
    which only the second sweep has, comes from it."""
    from snlab import compare, experiments, sweep
    from snlab.results import last_rows

    def at(iterations, methods):
        return experiments.settings_grid("smoke", seeds=[0], iterations=iterations, methods=methods, settings=["D"],
                                         data_dir=str(fmnist_dir))

    first, second = at(2, ["sn"]), at(4, ["wn", "sn"])
    sweep.run_sweep(first + second, tmp_path, workers=0, tensorboard=False, log=lambda _: None)
    table = last_rows(compare.stored_runs([first, second], tmp_path)).set_index("method")
    assert table["step"].to_dict() == {"sn": 2, "wn": 4}


def test_the_comparison_draws_a_diverged_run_without_its_spectrum(tmp_path, smoke_store):
    """A diverged run has no final spectrum: the comparison still draws, its sample title saying diverged."""
    import matplotlib

    matplotlib.use("Agg")
    from snlab import compare, experiments

    store, _ = _with_wn_diverged(smoke_store, tmp_path)
    table = compare.stored_runs([experiments.settings_grid("smoke", seeds=[0], methods=["wn", "sn"])], store)
    fig = compare.figure(table, store, ["wn", "sn"], "D", 5, "conv6")
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("WN") and t.endswith("· diverged") for t in titles)
    spectrum, = [ax for ax in fig.axes if ax.get_xlabel() == "index of singular value"]
    assert [line.get_label() for line in spectrum.lines] == ["SN"]


def test_quickstart_run_directory_is_keyed_by_its_parameters(tmp_path, fmnist_dir):
    """Two quickstarts with other parameters train two runs, not one that refuses to resume."""
    import shutil
    runs = NOTEBOOKS.parent / "runs"
    before = set(runs.glob("*")) if runs.exists() else set()
    try:
        for method in ("sn", "wn"):
            _run("00_quickstart.ipynb", tmp_path, preset="smoke", method=method, data_dir=str(fmnist_dir),
                 out_dir=str(tmp_path / method), seed=90_210)  # a seed no real quickstart run uses
        made = sorted(set(runs.glob("*")) - before)
        assert [p.name.split("-")[1] for p in made] == ["sn", "wn"]
    finally:
        for p in set(runs.glob("*")) - before:
            shutil.rmtree(p)


def test_the_comparison_compares_fid_at_each_settings_shortest_run():
    """SN trained 16 G updates at C, WN 8: both compared at 8 (SN's evaluation at 8, not its final one); at D,
    WN diverged at 2 and does not shorten SN's 8, and has no bar."""
    from snlab import compare

    def run(name, setting, steps, fids, status="complete"):
        return pd.DataFrame({"run": name, "method": name.split("-")[0], "setting": setting, "step": steps,
                             "FID_x": fids, "status": status})
    table = pd.concat([run("sn-C", "C", [4, 8, 12, 16], [90.0, 50.0, 30.0, 20.0]),
                       run("wn-C", "C", [4, 8], [80.0, 60.0]),
                       run("sn-D", "D", [4, 8], [70.0, 40.0]),
                       run("wn-D", "D", [1, 2], [300.0, float("nan")], status="diverged")])
    at = compare.at_common_length(table, "FID_x").set_index("run")
    assert at["FID_x"].drop("wn-D").to_dict() == {"sn-C": 50.0, "wn-C": 60.0, "sn-D": 40.0}
    assert np.isnan(at.loc["wn-D", "FID_x"])
    assert at["length"].to_dict() == {"sn-C": 8, "wn-C": 8, "sn-D": 8, "wn-D": 8}
    # A run still at its start, not evaluated yet, neither hides nor shortens the others; runs evaluated at
    # different steps meet at the last step they share (12), not at one only some of them have.
    table = pd.concat([run("sn-C", "C", [4, 8, 12, 16], [90.0, 50.0, 30.0, 20.0]),
                       run("wn-C", "C", [6, 12, 18], [80.0, 60.0, 55.0]),
                       run("bn-C", "C", [1, 2], [float("nan")] * 2, status="partial")])
    at = compare.at_common_length(table, "FID_x").set_index("run")
    assert at["FID_x"].drop("bn-C").to_dict() == {"sn-C": 30.0, "wn-C": 60.0} and np.isnan(at.loc["bn-C", "FID_x"])
    assert set(at["length"]) == {12}
