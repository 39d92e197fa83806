"""What the training loop does around its updates, as callbacks (in the spirit of minGPT's
``Trainer.add_callback``): the run directory's check, history rows with σ(W̄) and metrics, sample grids,
TensorBoard, checkpoints and the progress bar. ``Trainer.fit`` only updates and calls them; each reads the
trainer and writes its own files into the run directory (``snlab.store``'s format).

A callback has any of ``on_start(trainer)``, ``on_step(trainer)`` (after every G update and its D
updates) and ``on_end(trainer)`` (also when the loop raises). The trainer's ``window`` holds the D and G
losses summed over the ``count`` updates since the last history row, ``logged`` whether this step wrote
one. Callbacks run in the order given; ``History`` sets ``trainer.status = "diverged"`` on a non-finite
loss, the loop then stops, and ``Samples`` and ``Checkpoints`` skip that step (the others still see it).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from snlab.files import atomic_save, atomic_write_text
from snlab.models import generate
from snlab.spectral import layer_label, spectral_norms
from snlab.store import sample_grid_path, save_samples


class History:
    """Every ``log_every`` G updates (and at the last): a history row of the window's mean losses, the
    cumulative training seconds (logging, evaluation and TensorBoard excluded), lr, σ(W̄) per D layer
    (exact) and, as the config asks, held-out critic losses, conv operator norms and IS/FID; to
    TensorBoard too when ``tb``. A non-finite loss ends the run as diverged (its history is written at
    once: no checkpoint follows)."""

    def __init__(self, tb=None):
        self.tb = tb

    def on_start(self, t) -> None:
        self.clock = t.clock()

    def on_step(self, t) -> None:
        t.logged = t.step % t.cfg.log_every == 0 or t.step == t.cfg.iterations
        if not t.logged:
            return
        finite = bool(torch.isfinite(t.window).all())  # waits for the GPU: its work counts as training
        t.seconds += t.clock() - self.clock
        loss_d, loss_g = (t.window / t.count).tolist()
        t.window.zero_()
        t.count = 0
        t.rows.append(self.row(t, loss_d, loss_g, with_sigmas=finite))
        if self.tb:
            self.tb.row(t.rows[-1])
        self.clock = t.clock()
        if not finite:
            t.status = "diverged"

    def on_end(self, t) -> None:
        if t.status == "diverged":
            write_history(t)

    @staticmethod
    def row(t, loss_d: float, loss_g: float, with_sigmas: bool) -> dict:
        cfg = t.cfg
        row = {"step": t.step, "loss_d": loss_d, "loss_g": loss_g, "seconds": round(t.seconds, 3),
               "lr": t.opt_g.param_groups[0]["lr"]}
        if with_sigmas:  # a diverged D has non-finite weights, which SVD rejects
            row.update({f"sigma_{layer_label(name)}": s for name, s in spectral_norms(t.D).items()})
            if cfg.log_heldout_loss:
                row.update(t.heldout_losses())
            if cfg.log_operator_norms:
                row.update({f"opnorm_{layer_label(name)}": s for name, s in t.opnorms(t.D).items()})
            if cfg.eval_every and (t.step % cfg.eval_every == 0 or t.step == cfg.iterations):
                row.update(t.evaluate())
        return row


class Samples:
    """A grid of G's samples from the fixed z (and classes), in eval mode, every ``sample_every`` G updates
    and at the last (``store.save_samples``, ``store.sample_grid_path``); to TensorBoard too at every
    evaluation when ``tb``."""

    def __init__(self, tb=None):
        self.tb = tb

    def on_step(self, t) -> None:
        cfg = t.cfg
        if t.status == "diverged":
            return
        save = cfg.sample_every and (t.step % cfg.sample_every == 0 or t.step == cfg.iterations)
        evaluated = t.logged and any(k.startswith("IS_") for k in t.rows[-1])
        if save or (self.tb and evaluated):
            x = generate(t.G, t.fixed_z, t.fixed_y)
            if save:
                save_samples(x, sample_grid_path(t.run_dir, t.step))
            if self.tb and x.dim() == 4:
                self.tb.samples(x, t.step)


class TensorBoardEnd:
    """At the end: the run's identity and last row as TensorBoard hparams, and the writer closed
    (``snlab.monitor``; ``History`` and ``Samples`` write the rows and grids). A run directory removed
    while training (``RunDirectory``) gets none: hparams open a writer of their own, which would create
    the folder again."""

    def __init__(self, tb):
        self.tb = tb

    def on_end(self, t) -> None:
        if t.rows and t.status != "removed":
            self.tb.hparams(t.cfg.run_fields(), t.rows[-1])
        self.tb.close()


class RunDirectoryGone(FileNotFoundError):
    """``RunDirectory``'s error: the run's folder was removed while it trained."""


class RunDirectory:
    """First at every G update: a run directory that held a ``config.json`` when training began (as every
    ``snlab.train`` run's does) and lost it since (removed by hand, say) stops the run with an error naming
    it (``RunDirectoryGone``; the trainer's status "removed"), before any callback writes a sample grid or a
    checkpoint that would recreate the folder with files no one can resume or read (one stat per update).
    A bare ``Trainer.fit`` into a folder without one is left alone."""

    def on_start(self, t) -> None:
        self.watched = (t.run_dir / "config.json").is_file()

    def on_step(self, t) -> None:
        if self.watched and not (t.run_dir / "config.json").is_file():
            t.status = "removed"  # the run stops, and nothing more is written for it
            raise RunDirectoryGone(f"{t.run_dir / 'config.json'} is gone: the run directory was removed or emptied "
                                    f"while training; stopped at G update {t.step}, nothing written since; train the "
                                    "run again from the start")


class Checkpoints:
    """Every ``checkpoint_every`` G updates and at the last: history, then the trainer's whole state,
    each written atomically (on resume, history rows past the checkpoint's step are dropped)."""

    def on_step(self, t) -> None:
        if t.status != "diverged" and (t.step % t.cfg.checkpoint_every == 0 or t.step == t.cfg.iterations):
            write_history(t)
            atomic_save(t.state_dict(), t.run_dir / "checkpoint.pt")


class Progress:
    """A tqdm bar over G updates, with the last row's losses."""

    def on_start(self, t) -> None:
        self.bar = tqdm(total=t.cfg.iterations, initial=t.step, desc=f"{t.cfg.method}/{t.cfg.setting}",
                        unit="G-upd", disable=not t.cfg.progress, mininterval=2.0, dynamic_ncols=True)

    def on_step(self, t) -> None:
        self.bar.update(1)
        if t.logged:
            row = t.rows[-1]
            self.bar.set_postfix(loss_d=f"{row['loss_d']:.3f}", loss_g=f"{row['loss_g']:.3f}", refresh=False)

    def on_end(self, t) -> None:
        self.bar.close()


def write_history(t) -> None:
    atomic_write_text(pd.DataFrame(t.rows).to_csv(index=False), t.run_dir / "history.csv")


def default_callbacks(cfg, run_dir: Path) -> list:
    """What every run does around its updates, in order: the run directory's check, history rows, samples,
    TensorBoard (when ``cfg.tensorboard``), checkpoints, progress."""
    tb = None
    if cfg.tensorboard:
        from snlab.monitor import TensorBoard
        tb = TensorBoard(run_dir)
    return [RunDirectory(), History(tb), Samples(tb), *([TensorBoardEnd(tb)] if tb else []), Checkpoints(), Progress()]
