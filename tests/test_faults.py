"""Bad files and faults, table-driven: each case breaks one file the way a disk, a kill or a stray copy
would, and checks that snlab refuses it by name, says what to do, and loads nothing half-way (or, for a
cache, rebuilds it). Add a case as one row."""
from __future__ import annotations

import gzip
import os
import shutil

import pytest
import torch

import snlab
from snlab.files import load_checkpoint
from snlab.train import load_run
from tests.conftest import write_fashion_mnist


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


CHECKPOINTS = {
    "empty": lambda p: p.write_bytes(b""),
    "random bytes": lambda p: p.write_bytes(os.urandom(4096)),
    "truncated": _truncate,
}


@pytest.fixture(scope="module")
def trained(fmnist_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "r"
    snlab.train(snlab.TrainConfig(preset="smoke", data_dir=str(fmnist_dir), out_dir=str(run), progress=False))
    return run


@pytest.mark.parametrize("damage", CHECKPOINTS, ids=list(CHECKPOINTS))
def test_a_damaged_checkpoint_is_refused_by_name(damage, trained, tmp_path, fmnist_dir):
    run = tmp_path / "r"
    shutil.copytree(trained, run)
    CHECKPOINTS[damage](run / "checkpoint.pt")
    for action in (lambda: load_run(run), lambda: load_checkpoint(run / "checkpoint.pt"),
                   lambda: snlab.train(snlab.TrainConfig(preset="smoke", data_dir=str(fmnist_dir), out_dir=str(run),
                                                         resume=True, iterations=6, progress=False))):
        with pytest.raises(ValueError, match=f"{run / 'checkpoint.pt'} is not a readable checkpoint") as e:
            action()
        assert "weights_only=False" not in str(e.value) and "Delete it" in str(e.value)


DATASET = {
    "truncated gz": ("train-images-idx3-ubyte.gz", _truncate, "is corrupt or truncated"),
    "not gzip": ("t10k-labels-idx1-ubyte.gz", lambda p: p.write_bytes(b"not gzip"), "is corrupt or truncated"),
}


@pytest.mark.parametrize("case", DATASET, ids=list(DATASET))
def test_a_damaged_dataset_file_is_named_with_how_to_get_a_good_one(case, tmp_path):
    name, damage, match = DATASET[case]
    write_fashion_mnist(tmp_path)
    damage(tmp_path / name)
    with pytest.raises(ValueError, match=match) as e:
        snlab.data.load_dataset("fashion_mnist", data_dir=tmp_path)
    assert name in str(e.value) and "dataset-fashion-mnist" in str(e.value)


def test_a_truncated_uncompressed_copy_is_checked_against_its_header_every_time(tmp_path):
    write_fashion_mnist(tmp_path)
    snlab.data.load_dataset("fashion_mnist", data_dir=tmp_path)  # decompresses into FashionMNIST/raw
    raw = tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    _truncate(raw, 0.9)
    with pytest.raises(ValueError, match=f"{raw} is corrupt or truncated .* its IDX header says"):
        snlab.data.load_dataset("fashion_mnist", data_dir=tmp_path)
    raw.write_bytes(gzip.decompress((tmp_path / "train-images-idx3-ubyte.gz").read_bytes()))
    assert len(snlab.data.load_dataset("fashion_mnist", data_dir=tmp_path)) == 64  # a good copy loads again


def test_a_corrupt_feature_cache_is_rebuilt(fmnist_eval_dir, tmp_path, capsys):
    from snlab.metrics import evaluate

    G = snlab.build_models("standard", "sn", 32, 1, width=0.125)[0]
    kw = dict(n_samples=40, is_splits=4, n_real=100, kid=False, prc=False, data_dir=fmnist_eval_dir,
              cache_dir=tmp_path, verbose=False)
    first = evaluate(G, "fashion_mnist", "fmnist", **kw)
    (cache,) = tmp_path.glob("real-*.pt")
    _truncate(cache)
    again = evaluate(G, "fashion_mnist", "fmnist", **kw)
    assert "Rebuilding the feature cache" in capsys.readouterr().out
    assert again["FID_fmnist"] == pytest.approx(first["FID_fmnist"])
    assert torch.load(cache, weights_only=True).shape[0] == 100


def test_a_failed_checkpoint_write_leaves_the_previous_one_and_no_tmp(trained, tmp_path, monkeypatch):
    """A full disk mid-write (torch.save raising after writing part of the file): the error names the file,
    the previous checkpoint loads unchanged, and no .tmp file is left."""
    from snlab import files

    run = tmp_path / "r"
    shutil.copytree(trained, run)
    before = (run / "checkpoint.pt").read_bytes()

    def full_disk(obj, f):
        open(f, "wb").write(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc] . PytorchStreamWriter failed writing file: "
                           "No space left on device")
    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match=f"could not write {run / 'checkpoint.pt'} .*No space left.* is intact"):
        files.atomic_save({"x": 1}, run / "checkpoint.pt")
    assert (run / "checkpoint.pt").read_bytes() == before and not list(run.glob("*.tmp"))


def test_a_write_under_a_file_where_its_folder_should_be_is_an_error_naming_it(tmp_path):
    import re

    from snlab import files

    (tmp_path / "runs").write_text("a file, not a folder")
    with pytest.raises(OSError, match=re.escape(f"could not write {tmp_path / 'runs' / 'x.json'} (FileExistsError")):
        files.atomic_write_text("{}", tmp_path / "runs" / "x.json")


def test_two_writers_of_one_file_at_once_each_rename_a_whole_file(tmp_path):
    """Two sweep workers filling one feature cache: the second writes and renames the file between the
    first's write and its rename. Both succeed, the last rename wins, no .tmp is left."""
    from snlab import files

    path = tmp_path / "real-features.pt"

    def first(tmp):
        tmp.write_text("first, whole")
        files.atomic_write_text("second, whole", path)  # the other worker, start to finish, meanwhile

    files.atomic_write(path, first)
    assert path.read_text() == "first, whole" and not list(tmp_path.glob("*.tmp"))


def test_a_killed_writers_temporary_files_are_removed_when_its_run_resumes(trained, tmp_path, fmnist_dir):
    """Each write has its own temporary name, so a kill mid-write leaves one behind; resuming removes those
    of writers no longer running, in the run's folder and its samples, and nothing else."""
    run = tmp_path / "r"
    shutil.copytree(trained, run)
    dead = 2**22 + 1  # above Linux's largest pid: no such process
    stale = [run / f"checkpoint.pt.{dead}.0badf00d.tmp", run / "samples" / f"step_0000002.png.{dead}.0badf00d.tmp"]
    live = run / f"history.csv.{os.getpid()}.0badf00d.tmp"  # a writer still running
    kept = [live, run / "tb" / f"x.{dead}.0badf00d.tmp", run / "notes.tmp", run / "notes.v1.draft.tmp"]
    for f in stale + kept:
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(b"partial")
    snlab.train(snlab.TrainConfig(preset="smoke", data_dir=str(fmnist_dir), out_dir=str(run), resume=True,
                                  progress=False))
    assert not any(f.exists() for f in stale) and all(f.exists() for f in kept)


def test_npz_files_are_written_atomically_under_numpys_name_into_a_folder_made_for_them(tmp_path):
    """FID statistics and sample archives go through a temporary file too, and, as ``np.savez`` does, a
    name without ".npz" gets it. Like every atomic write, it makes the folder it writes into."""
    import numpy as np

    from snlab import files

    path = files.atomic_savez(tmp_path / "new" / "stats", mu=np.arange(3.0), sigma=np.eye(3))
    assert path == tmp_path / "new" / "stats.npz" and not list(path.parent.glob("*.tmp"))
    with np.load(path) as f:
        assert np.array_equal(f["mu"], np.arange(3.0)) and np.array_equal(f["sigma"], np.eye(3))


def test_a_shared_cache_keeps_a_dead_pids_temporary_file_until_it_is_old(tmp_path):
    """Another host's live writer has a pid that means nothing here: in a folder several hosts write,
    only an old temporary file is removed."""
    from snlab import files

    tmp = tmp_path / f"real-features.pt.{2**22 + 1}.0badf00d.tmp"
    tmp.write_bytes(b"partial")
    files.remove_stale_temporaries(tmp_path, older_than=3600)
    assert tmp.exists()
    os.utime(tmp, (tmp.stat().st_atime, tmp.stat().st_mtime - 7200))
    files.remove_stale_temporaries(tmp_path, older_than=3600)
    assert not tmp.exists()


def test_a_run_killed_before_its_first_checkpoint_is_missing_not_resumed(fmnist_dir, tmp_path):
    from snlab import sweep
    from snlab.store import default_run_dir

    cfg = sweep.grid(dict(preset="smoke", data_dir=str(fmnist_dir), iterations=2, progress=False), method=["sn"])[0]
    run = default_run_dir(cfg, tmp_path)
    run.mkdir(parents=True)
    (run / "config.json").write_text(cfg.to_json())  # what a kill before the first checkpoint leaves
    assert sweep.state(cfg, tmp_path) == "missing"
    assert sweep.run_sweep([cfg], tmp_path, workers=0, log=lambda _: None).counts() == \
        {"reused": 0, "resumed": 0, "trained": 1}


def test_a_checkpoint_without_its_config_is_refused(trained, tmp_path, fmnist_dir):
    run = tmp_path / "r"
    shutil.copytree(trained, run)
    (run / "config.json").unlink()
    with pytest.raises(ValueError, match="holds a checkpoint but no config.json"):
        snlab.train(snlab.TrainConfig(preset="smoke", data_dir=str(fmnist_dir), out_dir=str(run), resume=True,
                                      progress=False))


def test_a_read_only_run_folder_is_an_error_naming_it_not_a_traceback(fmnist_dir, tmp_path, monkeypatch, capsys):
    """What a folder without write permission makes the first atomic write raise (as root, chmod does not
    stop writes, so the refusal is injected where the OS would give it)."""
    from pathlib import Path

    from snlab.__main__ import main

    def read_only(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(Path, "write_text", read_only)
    assert main(["train", "--preset", "smoke", "--data-dir", str(fmnist_dir), "--out", str(tmp_path / "ro")]) == 2
    err = capsys.readouterr().err
    assert f"error: could not write {tmp_path / 'ro' / 'config.json'} (PermissionError" in err
    assert "fix the folder's permissions" in err and "Traceback" not in err


def test_scoring_a_diverged_run_says_which_checkpoint_it_scores(trained, tmp_path, capsys, fmnist_eval_dir):
    from snlab.__main__ import main

    run = tmp_path / "r"
    shutil.copytree(trained, run)
    (run / "status.json").write_text('{"status": "diverged"}')
    assert main(["evaluate", "--run", str(run), "--extractor", "fmnist", "--n-samples", "20", "--fid-samples", "20",
                 "--n-real", "20", "--data-dir", str(fmnist_eval_dir), "--is-splits", "2"]) == 0
    assert f"note: {run} is diverged: scoring its last checkpoint, at step 4 or before" in capsys.readouterr().err


def test_every_case_names_a_test_that_exists():
    """docs/faults.md's ledger of bad inputs and faults cannot point at a test that was renamed or deleted."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    named = re.findall(r"`(tests/\w+\.py)::(\w+)`", (root / "docs" / "faults.md").read_text())
    assert len(named) >= 40
    for path, name in named:
        tree = ast.parse((root / path).read_text())
        assert name in {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}, f"{path}::{name}"


@pytest.mark.parametrize("tensorboard", [False, True], ids=["plain", "tensorboard"])
def test_a_run_folder_removed_while_training_stops_the_run_by_name(fmnist_dir, tmp_path, tensorboard):
    """Deleting the run directory mid-run: the next G update raises, naming the missing config.json, before
    a sample grid, a checkpoint or TensorBoard's closing hparams (as sweeps log) recreates the folder with
    files that resume would then refuse."""
    run = tmp_path / "r"

    class RemoveRunDir:
        def on_step(self, t):
            if t.step == 1:
                shutil.rmtree(run)

    cfg = snlab.TrainConfig(preset="smoke", data_dir=str(fmnist_dir), out_dir=str(run), iterations=3,
                            checkpoint_every=1, sample_every=1, progress=False, tensorboard=tensorboard)
    with pytest.raises(FileNotFoundError, match=r"config.json is gone: .* at G update 2, nothing written since"):
        snlab.train(cfg, callbacks=[RemoveRunDir()])
    assert not run.exists()
