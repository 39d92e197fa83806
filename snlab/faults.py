"""Faults survived, measured: ``python -m snlab faults soak|full-disk`` (never part of the test suite:
each takes minutes, and full-disk needs root to mount a small tmpfs).

- ``soak``: a small sweep (Fig 15's WGAN-GP runs at the smoke preset, 2 worker processes) is started
  again and again, and after a random delay each time a random process of it is SIGKILLed: the parent,
  or one of its workers. When a start finishes by itself, its store is compared with an uninterrupted
  sweep's, and a new round begins in a fresh store, until ``kills`` kills have been made.
- ``full-disk``: the same sweep into a tmpfs too small for it, so a checkpoint write fails with ENOSPC;
  then the tmpfs is enlarged and the sweep started again.

After every kill of a parent, its workers must be gone within ``GRACE_S`` seconds. At the end of each
round: every run complete, equal to the uninterrupted sweep's (``same_record``), no ``.tmp`` file left.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from snlab.files import load_checkpoint

#: Seconds a killed parent's workers may take to die (they get SIGKILL from the kernel: ``sweep._die_with_parent``).
GRACE_S = 10.0
#: Wall time, in history's columns and status.json's fields: the only thing a resumed run may differ in.
WALL_TIME = ("seconds",)


def sweep_command(store: Path, iterations: int) -> list[str]:
    """The sweep every fault is tried on: Fig 15's 4 runs at the smoke preset, 2 workers."""
    return [sys.executable, "-m", "snlab", "sweep", "fig15", "--preset", "smoke", "--iterations", str(iterations),
            "--seeds", "0", "--store", str(store), "--workers", "2"]


def same_record(ref: Path, run: Path) -> list[str]:
    """What differs between two directories of one run (empty: the same result). Compared: config, spectra
    and sample files byte for byte, status and history but their wall time, and the checkpoint's G and D
    weights exactly. TensorBoard's ``tb/`` is a log, not a record, and is not compared."""
    diffs = []
    for name in ("config.json", "spectra.csv", *sorted(p.relative_to(ref).as_posix()
                                                       for p in (ref / "samples").glob("*"))):
        if not (run / name).exists() or (run / name).read_bytes() != (ref / name).read_bytes():
            diffs.append(name)
    a, b = ({k: v for k, v in json.loads((d / "status.json").read_text()).items() if k not in WALL_TIME}
            for d in (ref, run))
    if a != b:
        diffs.append(f"status.json ({b})")
    a, b = (pd.read_csv(d / "history.csv").drop(columns=list(WALL_TIME), errors="ignore") for d in (ref, run))
    if not a.equals(b):
        diffs.append(f"history.csv ({len(a)} vs {len(b)} rows)")
    ca, cb = (load_checkpoint(d / "checkpoint.pt") for d in (ref, run))
    for net in ("G", "D"):
        if ca[net].keys() != cb[net].keys() or any(not torch.equal(ca[net][k], cb[net][k]) for k in ca[net]):
            diffs.append(f"checkpoint {net}")
    return diffs


def check_store(ref: Path, store: Path) -> dict:
    """A finished store against the uninterrupted one: runs equal / differing / missing / extra, ``.tmp`` files."""
    refs = {p.name for p in ref.iterdir() if p.is_dir()}
    runs = {p.name for p in store.iterdir() if p.is_dir()}
    differing = {name: d for name in sorted(refs & runs) if (d := same_record(ref / name, store / name))}
    return {"equal": len(refs & runs) - len(differing), "differing": differing, "missing": sorted(refs - runs),
            "extra": sorted(runs - refs), "tmp_files": len(list(store.rglob("*.tmp")))}


def _cmdline(p) -> list[str]:
    import psutil
    try:
        return p.cmdline()
    except psutil.Error:  # it ended meanwhile
        return []


def _kill_one(proc: subprocess.Popen, rng: random.Random) -> dict:
    """SIGKILL the parent or one of its workers (chosen at random) and wait for the aftermath: the parent
    must exit (at once when killed; a killed worker's sweep raises), then every child within ``GRACE_S``."""
    import psutil  # only here: the soak's one extra requirement

    parent = psutil.Process(proc.pid)
    children = parent.children(recursive=True)  # the workers and multiprocessing's resource tracker
    workers = [p for p in children if "spawn_main" in " ".join(_cmdline(p))]
    target = "parent" if not workers or rng.random() < 0.5 else "worker"
    victim = parent if target == "parent" else rng.choice(workers)
    victim.send_signal(signal.SIGKILL)
    start = time.monotonic()
    try:
        proc.wait(timeout=60)  # at once for a killed parent; a killed worker's sweep raises, and it exits
        hung = False
    except subprocess.TimeoutExpired:  # a parent that hangs on a dead worker is a fault too
        hung = True
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    _, alive = psutil.wait_procs(children, timeout=GRACE_S)
    for p in alive:
        p.kill()
    return {"target": target, "workers": len(workers), "parent_hung": hung, "strays": len(alive),
            "aftermath_s": round(time.monotonic() - start, 2)}


def soak(kills: int = 100, iterations: int = 24, seed: int = 0, workdir=None, log=print) -> tuple[pd.DataFrame,
                                                                                            pd.DataFrame]:
    """Kill a sweep ``kills`` times at random (module docstring). Each kill comes uniformly between 1 s and
    the uninterrupted sweep's wall time after a start, so most starts get past their imports and train a
    little. A start that finishes unkilled ends a round; after the last kill the sweep is run to its end.
    Returns one row per kill (round, delay, target, workers alive, whether the parent hung, strays, seconds
    until the aftermath was over) and one per round (``check_store`` against the uninterrupted sweep, starts)."""
    rng = random.Random(seed)
    root = Path(workdir or tempfile.mkdtemp(prefix="snlab-soak-"))
    ref = root / "uninterrupted"
    start = time.monotonic()
    subprocess.run(sweep_command(ref, iterations), check=True, capture_output=True)
    longest = time.monotonic() - start
    log(f"uninterrupted sweep: {longest:.0f} s")
    kill_rows, rounds = [], []
    while len(kill_rows) < kills:
        store, starts = root / f"round{len(rounds)}", 0
        while True:
            starts += 1
            proc = subprocess.Popen(sweep_command(store, iterations), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            delay = rng.uniform(1.0, longest) if len(kill_rows) < kills else None  # the last start runs out
            try:
                rc = proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                kill_rows.append({"round": len(rounds), "delay_s": round(delay, 2), **_kill_one(proc, rng)})
                log(f"kill {len(kill_rows)}: {kill_rows[-1]}")
                continue
            if rc != 0:
                raise RuntimeError(f"round {len(rounds)}: an unkilled sweep exited {rc}: {' '.join(proc.args)}")
            break
        rounds.append({"round": len(rounds), "starts": starts, **check_store(ref, store)})
        log(f"round {rounds[-1]}")
        shutil.rmtree(store)
    return pd.DataFrame(kill_rows), pd.DataFrame(rounds)


def full_disk(size_kb: int = 6000, iterations: int = 24, workdir=None) -> dict:
    """The sweep into a tmpfs of ``size_kb``, too small for it; then the tmpfs enlarged and the sweep
    started again. Returns the first start's exit code and last error line, the ``.tmp`` files and
    unreadable checkpoints it left, and ``check_store`` after the second start. Needs root (mount)."""
    if os.geteuid() != 0:
        raise PermissionError("full-disk mounts a small tmpfs: run it as root (e.g. in a container)")
    root = Path(workdir or tempfile.mkdtemp(prefix="snlab-full-disk-"))
    ref, disk = root / "uninterrupted", root / "disk"
    subprocess.run(sweep_command(ref, iterations), check=True, capture_output=True)
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(disk)], check=True)
    try:
        first = subprocess.run(sweep_command(disk / "store", iterations), capture_output=True, text=True)
        errors = [line for line in first.stderr.splitlines() if "No space" in line or line.startswith("error")]
        left = {"tmp_files": len(list(disk.rglob("*.tmp"))), "unreadable_checkpoints": 0, "checkpoints": 0}
        for ckpt in disk.rglob("checkpoint.pt"):
            left["checkpoints"] += 1
            try:
                load_checkpoint(ckpt)
            except ValueError:  # load_checkpoint's answer to every way a file can be unreadable
                left["unreadable_checkpoints"] += 1
        subprocess.run(["mount", "-o", "remount,size=200m", str(disk)], check=True)
        second = subprocess.run(sweep_command(disk / "store", iterations), capture_output=True, text=True)
        return {"size_kb": size_kb, "first_rc": first.returncode, "first_error": errors[-1] if errors else "",
                **{f"after_first_{k}": v for k, v in left.items()}, "second_rc": second.returncode,
                **check_store(ref, disk / "store")}
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def add_parser(sub) -> None:
    p = sub.add_parser("faults", help="fault soak and full-disk measurements, writing CSV (see snlab/faults.py)")
    p.add_argument("which", choices=("soak", "full-disk"))
    p.add_argument("--kills", type=int, default=100, help="soak: SIGKILLs to make in all")
    p.add_argument("--iterations", type=int, default=24, help="G updates per run of the sweep tried")
    p.add_argument("--size-kb", type=int, default=6000, help="full-disk: the tmpfs's size at first")
    p.add_argument("--seed", type=int, default=0, help="soak: the kills' random choices")
    p.add_argument("--out", default="bench", help="folder for the CSVs")


def run(args: dict) -> None:
    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)
    if args["which"] == "full-disk":
        row = full_disk(args["size_kb"], args["iterations"])
        pd.DataFrame([row]).to_csv(out / "faults-full-disk.csv", index=False)
        print("\n".join(f"{k}: {v}" for k, v in row.items()))
        return
    kills, rounds = soak(args["kills"], args["iterations"], args["seed"])
    kills.to_csv(out / "faults-soak-kills.csv", index=False)
    rounds.to_csv(out / "faults-soak-rounds.csv", index=False)
    print(f"{len(kills)} SIGKILLs ({(kills['target'] == 'parent').sum()} parents, "
          f"{(kills['target'] == 'worker').sum()} workers) over {len(rounds)} rounds; "
          f"stray workers after {GRACE_S:.0f} s: {kills['strays'].sum()}; "
          f"longest aftermath {kills['aftermath_s'].max():.1f} s")
    print(rounds.drop(columns=["differing"]).to_string(index=False))
    print(f"runs equal to the uninterrupted sweep's: {rounds['equal'].sum()} of "
          f"{rounds['equal'].sum() + rounds['differing'].map(len).sum() + rounds['missing'].map(len).sum()}; "
          f".tmp files left: {rounds['tmp_files'].sum()}")
