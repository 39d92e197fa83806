"""Notebooks: committed clean and in sync with their py:percent twins; they execute under papermill."""
from __future__ import annotations

import json
from pathlib import Path

import jupytext
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


def test_fig10_runs_and_names_the_device(tmp_path, fmnist_dir):
    _run("fig10_timing.ipynb", tmp_path, preset="smoke", methods=["none", "sn"], updates=1, rounds=1,
         data_dir=str(fmnist_dir), out_dir=str(tmp_path / "fig"), device="cpu")
    assert (tmp_path / "fig" / "fig10.png").stat().st_size > 1000
    assert "CPU" in (tmp_path / "fig" / "fig10_timing.csv").read_text()


def test_fig09_logs_and_plots_operator_norms(tmp_path, fmnist_dir):
    _run("fig09_sigma_during_training.ipynb", tmp_path, preset="smoke", data_dir=str(fmnist_dir),
         run_dir=str(tmp_path / "run"), out_dir=str(tmp_path / "fig"))
    assert (tmp_path / "fig" / "fig09.png").stat().st_size > 1000
    header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0]
    assert "opnorm_conv0" in header and "opnorm_conv6" in header and "sigma_conv6" in header


def test_reproduce_runs_the_chosen_notebooks_with_declared_parameters_only(tmp_path):
    from snlab.reproduce import reproduce

    lines = []
    rows = reproduce(["fig14"], {"out_dir": str(tmp_path), "samples": 2, "preset": "smoke"}, log=lines.append)
    assert [r["notebook"] for r in rows] == ["fig14_permissible_spectra"]
    assert rows[0]["parameters"] == {"out_dir": str(tmp_path), "samples": 2}  # no "preset" in fig14
    assert (tmp_path / "fig14.png").exists() and (tmp_path / "fig14_permissible_spectra.ipynb").exists()
    assert lines and lines[0].startswith("fig14_permissible_spectra: ")
    with pytest.raises(ValueError, match="valid: 00_quickstart"):
        reproduce(["fig99"])
