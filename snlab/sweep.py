"""Sweeps: many ``TrainConfig``s trained once into a run store, reused when complete, resumed when partial.

A run's directory is keyed by a hash of the fields that determine its result
(``store.default_run_dir``), so the notebooks that share a run (Figs 1–3, 6 and Table 2 share the
A–F grid) train it once. Runs go to worker processes with one thread each: on 2 cores, two 1-thread
processes are faster than one 2-thread process, while two 2-thread processes thrash.

Faults: a run that raises leaves ``failed.json`` (error and traceback) in its directory and the others
go on (with ``pack``, its pack-mates fail with it); a killed run resumes from its checkpoint on the
next call; a run another process is training (its directory's lock is held, ``files.exclusive``) is
left to it and counted as busy.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import os
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from snlab import prices
from snlab.callbacks import RunDirectoryGone
from snlab.config import TrainConfig
from snlab.files import Busy, atomic_write_text, exclusive, held
from snlab.pack import check_speedups, pack_key, train_packed
from snlab.results import collect, last_rows
from snlab.store import default_run_dir, extend_into, run_status, shorter_run
from snlab.train import train


def grid(base: dict | None = None, **axes) -> list[TrainConfig]:
    """The product of ``axes`` (name → list of values) over ``base`` fields, as ``TrainConfig``s.

    ``grid(dict(preset="cpu"), method=["sn", "wn"], seed=[0, 1])`` → 4 configs, method-major.
    Every config is validated here, so a bad name fails before anything trains.
    """
    for name, values in axes.items():
        if not isinstance(values, (list, tuple)):
            raise ValueError(f"{name} takes a list of values, e.g. [0, 1, 2]; got {values!r}")
    names = list(axes)
    return [TrainConfig(**{**(base or {}), **dict(zip(names, values))})
            for values in itertools.product(*(axes[n] for n in names))]


def state(cfg: TrainConfig, store: str | Path) -> str:
    """"done" (complete, or diverged: a result too), "partial" (killed after a checkpoint, or still
    running) or "missing" (a run killed before its first checkpoint starts again: missing too)."""
    run = default_run_dir(cfg, store)
    if held(run / ".lock"):
        return "partial"  # another process is writing it (run_sweep then counts it busy)
    if not (run / "config.json").exists() or run_status(run) == "partial" and not (run / "checkpoint.pt").exists():
        return "missing"
    return "partial" if run_status(run) == "partial" else "done"


def todo(configs: list[TrainConfig], store: str | Path) -> pd.DataFrame:
    """What a sweep still has to train, training nothing: one row per run (run, method, setting, seed, arch,
    gradient_penalty, d_width, ``state``: done / partial / extends / missing, ``g_updates`` left: a partial run's from
    its last logged step, a missing run's that will continue a shorter complete one (``store.shorter_run``;
    state "extends") from that one's end, ``d_updates``: those × n_dis)."""
    rows = []
    for cfg in {default_run_dir(c, store): c for c in configs}.values():
        run, s = default_run_dir(cfg, store), state(cfg, store)
        so_far = run if s == "partial" else None  # the run whose logged steps count as done
        if s == "missing" and (shorter := shorter_run(cfg, store)) is not None:
            s, so_far = "extends", shorter
        done = 0
        if so_far is not None and (so_far / "history.csv").exists():
            done = int(pd.read_csv(so_far / "history.csv", usecols=["step"])["step"].max())
        left = 0 if s == "done" else cfg.iterations - done
        rows.append({"run": run.name, "method": cfg.method, "setting": cfg.setting, "seed": cfg.seed,
                     "arch": cfg.arch, "gradient_penalty": cfg.gradient_penalty, "d_width": cfg.d_width or 1.0,
                     "state": s, "g_updates": left, "d_updates": left * cfg.n_dis})
    return pd.DataFrame(rows)


@dataclass
class SweepResult:
    """``table``: ``results.collect`` rows of the sweep's runs (one per run × logged step);
    ``final``: the last row of each run; counts of runs reused, resumed and trained from scratch, of
    runs left to another process that was training them (``busy``; their rows are as stored), and of
    runs not complete in the store when nothing was trained (``missing``; no rows)."""

    table: pd.DataFrame
    reused: int
    resumed: int
    trained: int
    busy: int = 0
    missing: int = 0

    @property
    def final(self) -> pd.DataFrame:
        return last_rows(self.table)

    def counts(self) -> dict:
        return {"reused": self.reused, "resumed": self.resumed, "trained": self.trained,
                **({"missing": self.missing} if self.missing else {})}

    def summary(self) -> str:
        busy = f", {self.busy} busy (being trained by another process)" if self.busy else ""
        missing = f", {self.missing} not stored (left out)" if self.missing else ""
        return f"runs: {self.reused} reused, {self.resumed} resumed, {self.trained} trained{busy}{missing}"


def stored(configs: list[TrainConfig], store: str | Path = "runs") -> pd.DataFrame:
    """``results.collect`` rows of those ``configs`` already in ``store``, training nothing (for browsing)."""
    return collect(store, {default_run_dir(cfg, store).name for cfg in configs})


class NotInStore(RuntimeError):
    """None of a sweep's runs is complete in its store, and training was not asked for."""


def from_store(configs: list[TrainConfig], store: str | Path, log=print) -> SweepResult:
    """The sweep's complete runs in ``store``, training nothing: partial and missing runs are left out,
    counted, and priced in a log line. Raises ``NotInStore`` (with that price) when none is complete."""
    if not configs:
        raise NotInStore("no runs asked for")
    left = todo(configs, store)  # one row per run directory
    done = left["state"] == "done"
    if not done.all():
        hours, unpriced, floors = prices.core_hours(left[~done], store)
        what = (f"{(~done).sum()} of {len(left)} runs are not complete in {store}: "
                f"{left.loc[~done, 'g_updates'].sum():,} G updates to train, "
                f"{prices.price_text(hours, unpriced, floors, left[~done])}")
        if not done.any():
            raise NotInStore(f"{what}{prices.too_costly(configs[0].preset, hours)}; train=True trains them")
        log(f"{what}; left out")
    table = stored(configs, store)
    return SweepResult(table[table["run"].isin(left.loc[done, "run"])].reset_index(drop=True), int(done.sum()),
                       0, 0, missing=int((~done).sum()))


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG), so a killed sweep
    leaves no worker behind (its run resumes from the last checkpoint next time). Elsewhere a no-op.
    Hand-written: ProcessPoolExecutor has no such option, and the call is one line of libc."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _init_worker(threads: int, parent: int | None = None) -> None:
    import torch
    if parent is not None:
        _die_with_parent(parent)
    torch.set_num_threads(threads)


def _train_job(job: list[dict], threads: int | None = None) -> list[str]:
    """Train one job, a run or a pack of runs (``snlab.pack``; fields of each), with ``threads`` torch
    threads when given: each run's status, "busy" for a run whose directory another process holds (its
    pack-mates train without it), "removed" for one whose directory was removed while it trained (its
    pack-mates go on). A failure leaves ``failed.json`` (error, traceback) in each of the job's run
    directories (a pack fails as one), then propagates."""
    if threads:
        _init_worker(threads)
    cfgs = [TrainConfig(**fields) for fields in job]
    failed = [Path(cfg.out_dir) / "failed.json" for cfg in cfgs]
    try:
        statuses = [train(cfgs[0]).status] if len(cfgs) == 1 else [r.status for r in train_packed(cfgs)]
    except RunDirectoryGone:  # a lone run's folder removed while it trained: nowhere to write failed.json
        return ["removed"] * len(cfgs)
    except Busy:  # another process trains a run of the job: leave it busy, train the others without it
        free = [f for f, cfg in zip(job, cfgs) if not held(Path(cfg.out_dir) / ".lock")]
        if not free or len(free) == len(job):
            return ["busy"] * len(cfgs)
        done = dict(zip((f["out_dir"] for f in free), _train_job(free)))
        return [done.get(cfg.out_dir, "busy") for cfg in cfgs]
    except Exception as e:
        record = json.dumps({"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}, indent=2)
        try:
            for path in failed:
                atomic_write_text(record, path)
        except OSError as unwritten:  # a full disk: say what failed, not only that its report could not be written
            raise OSError(f"{type(e).__name__}: {e}; its failed.json was not written either: {unwritten}") from e
        raise
    for path in failed:
        path.unlink(missing_ok=True)
    return statuses


def _jobs(todo: list[TrainConfig], pack: int) -> list[list[TrainConfig]]:
    """``todo`` as jobs: packs of at most ``pack`` runs that ``snlab.pack`` can train together (one
    ``pack_key``), grouped by key in the order each key first appears; ``pack`` 1: a job per run."""
    if pack == 1:
        return [[cfg] for cfg in todo]
    groups: dict[tuple, list[TrainConfig]] = {}
    for cfg in todo:
        groups.setdefault(pack_key(cfg), []).append(cfg)
    return [group[i:i + pack] for group in groups.values() for i in range(0, len(group), pack)]


def default_workers(device: str = "auto") -> int:
    """One process per core on CPU; 4 processes sharing one GPU (small models leave it mostly idle)."""
    import torch
    on_gpu = device.startswith("cuda") or device == "auto" and torch.cuda.is_available()
    return 4 if on_gpu else (os.cpu_count() or 1)


#: Seconds between updates of the sweep's progress bar while no run finishes.
POLL_SECONDS = 5.0

#: Where runs train: this process, a local process pool, a Ray cluster, SLURM (through submitit).
EXECUTORS = ("serial", "process", "ray", "slurm")


def _submit(executor: str, jobs: list[list[TrainConfig]], workers: int, threads: int, store: Path, *,
            address: str | None = None, gpus_per_run: float = 0.0, timeout_min: int = 24 * 60,
            slurm_cluster: str | None = None, slurm_parameters: dict | None = None) -> dict[Future, tuple]:
    """One ``concurrent.futures.Future`` (→ ``_train_job``'s result) per job (``_jobs``: a run or a pack),
    keyed to its run directories.

    ray: one task per job on the cluster at ``address`` ("auto": the running one; None: a local
    instance), ``threads`` CPUs and ``gpus_per_run`` GPUs each (fractions let small GANs share one GPU).
    slurm: one submitit array job of at most ``workers`` runs at once, ``timeout_min`` minutes each
    (always set: a SLURM job without a limit is killed at the partition's), logs under
    ``<store>/slurm/``; ``slurm_cluster="local"`` runs it with submitit's local executor.
    """
    fields = [[dataclasses.asdict(cfg) for cfg in job] for job in jobs]
    dirs = [tuple(cfg.out_dir for cfg in job) for job in jobs]
    if executor == "process":
        pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=get_context("spawn"),
                                   initializer=_init_worker, initargs=(threads, os.getpid()))
        futures = {pool.submit(_train_job, f): d for f, d in zip(fields, dirs)}
        pool.shutdown(wait=False)  # workers exit once the queued runs are done
        return futures
    if executor == "ray":
        import ray
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        task = ray.remote(num_cpus=threads, num_gpus=gpus_per_run)(_train_job)
        return {task.remote(f, threads).future(): d for f, d in zip(fields, dirs)}
    import submitit  # slurm
    ex = submitit.AutoExecutor(folder=store / "slurm" / "%j", cluster=slurm_cluster)
    ex.update_parameters(timeout_min=timeout_min, cpus_per_task=threads, slurm_array_parallelism=workers,
                         **(slurm_parameters or {}))
    submitted = ex.map_array(_train_job, fields, [threads] * len(fields))
    waiters = ThreadPoolExecutor(len(submitted))  # a Future per job: a thread waits on each job's result
    futures = {waiters.submit(job.result): d for job, d in zip(submitted, dirs)}
    waiters.shutdown(wait=False)
    return futures


def run_sweep(configs: list[TrainConfig], store: str | Path = "runs", workers: int | None = None,
              threads: int | None = None, log=print, executor: str = "process", tensorboard: bool = True,
              accept_partial: bool = False, train: bool = True, pack: int = 1, **options) -> SweepResult:
    """Train every config not yet done into ``store`` and return the sweep's results (``train`` False:
    train nothing and return the complete runs, ``from_store``).

    Runs go to ``executor`` (``EXECUTORS``; ``options`` as ``_submit`` takes them): ``workers`` processes
    (default ``default_workers``) of ``threads`` torch threads each (default: cores // workers for the
    local pool, so workers never oversubscribe the cores; 1 per run on Ray and SLURM); ``workers=0`` or
    "serial" trains in this process (for debugging). Each run also logs to TensorBoard under
    ``<run>/tb`` unless ``tensorboard`` is False (not part of a run's identity). A failing run does
    not stop the others; the sweep raises at the end, naming each failed run and its error. A run
    another process is training is skipped and counted as busy; then the sweep raises (its table would
    hold that run's partial rows as if final) unless ``accept_partial``, whose table marks them
    "partial" in its ``status`` column. Local workers die with the calling process (``_die_with_parent``).
    A missing run that continues a shorter complete run of the same identity in the store starts from it
    (``store.shorter_run``, ``store.extend_into``) and counts as resumed.
    ``pack``: train up to that many runs that can share a pack (``snlab.pack.pack_key``) as one job, one
    model under vmap (``snlab.pack``), eagerly, or as one CUDA graph with speedup "cudagraphs"; 1 (default)
    trains each run alone. A job's runs then share its worker, threads, GPU share and SLURM time limit,
    and a run that raises fails its pack-mates too (but for one whose directory is removed while it trains).
    Not automatic: on the 2-core CPU it measured at most 1.3× (docs/benchmarks.md), on a GPU not yet.
    """
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise ValueError(f"pack must be a whole number >= 1 (runs per job; 1: no packing), got {pack!r}")
    if pack > 1:
        check_speedups(configs)
    if not train:
        return from_store(configs, store, log)
    store = Path(store)
    configs = list({default_run_dir(c, store): c for c in configs}.values())  # one entry per run directory
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    todo, reused, partial, extended = _plan(configs, store, tensorboard)
    if todo:
        log(f"{len(configs)} runs: {reused} stored, {len(partial)} to resume, {len(todo) - len(partial)} to train "
            f"into {store}")
    workers = default_workers(configs[0].device if configs else "auto") if workers is None else workers
    jobs = _jobs(todo, pack)
    if threads is None:  # the cores shared by the workers that will run (fewer than asked when packs are few)
        running = min(workers, len(jobs)) if pack > 1 else workers
        threads = max(1, (os.cpu_count() or 1) // running) if executor == "process" and running else 1
    serial = workers == 0 or executor == "serial"
    failed, busy = _train_serially(jobs) if serial else _train_pooled(jobs, executor, workers, threads, store,
                                                                     **options)
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(todo)} runs failed (tracebacks in their failed.json, where "
                           "their directory is left):\n" +
                           "\n".join(f"  {run}: {type(e).__name__}: {e}" for run, e in failed.items()))
    if busy and not accept_partial:
        raise RuntimeError(f"{len(busy)} of {len(configs)} runs are being trained by another process, so their "
                           "results are partial; wait for it, or pass accept_partial=True:\n" +
                           "\n".join(f"  {run}" for run in sorted(busy)))
    resumed = len(partial - busy)
    result = SweepResult(stored(configs, store), reused, resumed, len(todo) - resumed - len(busy), len(busy))
    continued = f" ({extended} continued from shorter runs)" if extended else ""
    log(f"{len(configs)} configs; {result.summary()}{continued}")
    return result


def _plan(configs: list[TrainConfig], store: Path, tensorboard: bool) -> tuple[list[TrainConfig], int, set, int]:
    """(configs to train, as resumable runs in their store directories; runs stored; directories of partial
    runs; runs continued from a shorter one). A missing run with a shorter complete one of its identity in
    the store starts from a copy of it, under the run's lock (another process holding it: busy later)."""
    todo, reused, partial, extended = [], 0, set(), 0
    for cfg in configs:
        run = default_run_dir(cfg, store)
        s = state(cfg, store)
        if s == "missing" and (shorter := shorter_run(cfg, store)) is not None:
            run.mkdir(parents=True, exist_ok=True)
            try:
                with exclusive(run / ".lock"):  # nobody else may be writing it meanwhile
                    extend_into(shorter, cfg, run)  # continue it: cheaper, same record
                extended += 1
            except Busy:
                pass  # another process took it: counted busy when trained
            s = "partial"
        reused += s == "done"
        if s == "partial":
            partial.add(str(run))
        if s != "done":
            todo.append(dataclasses.replace(cfg, out_dir=str(run), resume=True, progress=False,
                                            tensorboard=tensorboard))
    return todo, reused, partial, extended


def _train_serially(jobs: list[list[TrainConfig]]) -> tuple[dict, set]:
    """Train ``jobs`` in this process; ({run: its exception} for failed runs, busy runs)."""
    failed, busy = {}, set()
    with tqdm(total=sum(map(len, jobs)), desc="runs", unit="run", disable=not jobs) as bar:
        for job in jobs:
            bar.set_postfix(failed=len(failed), busy=len(busy), running=len(job))
            try:
                _tally([cfg.out_dir for cfg in job], _train_job([dataclasses.asdict(cfg) for cfg in job]), failed, busy)
            except Exception as e:  # noqa: BLE001 - reported with the run's name by run_sweep
                failed |= {cfg.out_dir: e for cfg in job}
            bar.update(len(job))
    return failed, busy


def _tally(runs: list[str], statuses: list[str], failed: dict, busy: set) -> None:
    """Add a job's outcome (its ``runs``' ``statuses``, ``_train_job``'s) to ``failed`` and ``busy``: a run
    another process holds is busy; one whose directory was removed while it trained failed."""
    busy |= {run for run, status in zip(runs, statuses) if status == "busy"}
    failed |= {run: RunDirectoryGone("its directory was removed while it trained; nothing of it is kept, and the "
                                     "next sweep trains it from the start")
               for run, status in zip(runs, statuses) if status == "removed"}


def _train_pooled(jobs: list[list[TrainConfig]], executor: str, workers: int, threads: int, store: Path,
                  **options) -> tuple[dict, set]:
    """Train ``jobs`` on ``executor`` (``_submit``), polling for progress; as ``_train_serially``."""
    failed, busy = {}, set()
    if not jobs:
        return failed, busy
    futures = _submit(executor, jobs, workers, threads, store, **options)
    pending = set(futures)
    with tqdm(total=sum(map(len, jobs)), desc="runs", unit="run") as bar:
        while pending:
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                runs = futures[future]
                if future.exception() is not None:
                    failed |= {run: future.exception() for run in runs}
                else:
                    _tally(runs, future.result(), failed, busy)
                bar.update(len(runs))
            # Running: a pending run whose directory lock is held (by any executor's worker, on any host).
            running = sum(held(Path(run) / ".lock") for f in pending for run in futures[f])
            bar.set_postfix(failed=len(failed), busy=len(busy), running=running)
    return failed, busy
