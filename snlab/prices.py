"""What training the runs a sweep still lacks costs on this kind of machine, and whether that is sensible on
2 CPU cores: core-hours at the median rate of a store's complete runs (``sweep.todo`` lists the runs)."""
from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import pandas as pd

from snlab.results import collect, last_rows

#: Core-hours of training a figure may cost at the ``cpu`` preset: a night (12 h) of a 2-core laptop. A figure
#: none of whose runs is stored and whose price is higher is not tested at this scale, but on a GPU.
SENSIBLE_CORE_HOURS = 24.0
#: How ``too_costly`` begins that reason in ``sweep.NotInStore``'s message (``reproduce`` finds it there: the
#: exception crosses papermill's kernel boundary as text).
NOT_SENSIBLE = "too costly for 2 CPU cores"


def price(left: pd.DataFrame, store: str | Path) -> str:
    """What training ``todo``'s rows ``left`` costs, in core-hours at the median rate of the store's complete
    runs of the same architecture, method and gradient penalty (with none of that method: of the
    architecture with the same gradient penalty, then of the architecture; ``update_rates``; evaluations
    not counted), e.g. "≈ 3.7 core-hours at the store's median rate
    (evaluations not counted)"; runs of an architecture the store has no run of are named as not priced
    and left out of the hours."""
    return price_text(*core_hours(left, store), left)


def price_text(hours: float, unpriced: list[str], floors: list[str], left: pd.DataFrame) -> str:
    """``price``'s words for ``core_hours``'s numbers of ``left``."""
    parts = [] if len(unpriced) == left["arch"].nunique() > 0 else \
        [f"≈ {hours:.1f} core-hours at the store's median rate (evaluations not counted)"]
    if floors:
        parts[-1] += ", a lower bound: " + " and ".join(floors)
    if unpriced:
        parts.append(f"{', '.join(unpriced)} runs not priced: none complete in the store")
    return "; ".join(parts)


def core_hours(left: pd.DataFrame, store: str | Path) -> tuple[float, list[str], list[str]]:
    """``price``'s numbers: core-hours of training ``left``; the architectures it could not price (their runs
    count for nothing in the hours); and why the hours are a lower bound, in words: runs with the gradient
    penalty priced at the architecture's runs without it (the penalty's second backward costs more), or runs
    with a widened D (``d_width`` > 1) at the rate of D as built (rates are not kept per width)."""
    rates, hours, unpriced, floors = update_rates(store), 0.0, [], []
    for (arch, method, gp), rows in left.groupby(["arch", "method", "gradient_penalty"]):
        rate = _median_rate(rates, arch=arch, method=method, gradient_penalty=gp)
        if math.isnan(rate):  # a gradient penalty doubles D's backward: priced at the other kind's rate last
            rate = _median_rate(rates, arch=arch, gradient_penalty=gp)
        if math.isnan(rate) and gp and not math.isnan(_median_rate(rates, arch=arch)):
            floors.append(f"{arch} runs with the gradient penalty priced at the rate of the architecture's runs "
                          "without it, none with it being complete in the store")
        if "d_width" in rows and (rows["d_width"] > 1).any():
            floors.append(f"{arch} runs with D {rows['d_width'].max():g}× wider priced at the rate of D as built")
        if math.isnan(rate):
            rate = _median_rate(rates, arch=arch)
        if math.isnan(rate):  # nothing to time it by
            unpriced.append(arch)
        else:
            hours += (rows["g_updates"] + rows["d_updates"]).sum() * rate / 3600
    return hours, sorted(set(unpriced)), list(dict.fromkeys(floors))


def update_rates(store: str | Path) -> pd.DataFrame:
    """Training seconds per network update (one G or one D step: seconds / (G updates × (1 + n_dis))) of
    each complete run in ``store``: columns arch, method, gradient_penalty, rate. One process per core."""
    final = last_rows(collect(store))
    if final.empty:  # no run at all: not even the columns
        return pd.DataFrame(columns=["arch", "method", "gradient_penalty", "rate"])
    final = final[final["status"] == "complete"]
    return pd.DataFrame({"arch": final["arch"], "method": final["method"],
                         "gradient_penalty": final["gradient_penalty"],
                         "rate": final["seconds"] / (final["step"] * (1 + final["n_dis"]))})


def _median_rate(rates: pd.DataFrame, **where) -> float:
    """The median rate of the ``rates`` rows whose columns equal ``where``'s values (None: any)."""
    for column, value in where.items():
        if value is not None:
            rates = rates[rates[column] == value]
    return float(rates["rate"].median()) if len(rates) else float("nan")


#: The paper's dataset for a notebook whose figure is not on CIFAR-10 (Figs 5 / 13b: conditional ImageNet).
PAPER_DATASETS = {"fig05_fig13_conditional": "imagenet"}


def gpu_command(notebook: str) -> str:
    """The command that trains ``notebook``'s runs at the paper's scale on a GPU."""
    return (f"`make reproduce PRESET=paper TRAIN=1 ONLY={notebook}` with the paper's dataset in SET "
            f'(e.g. `SET="dataset={PAPER_DATASETS.get(notebook, "cifar10")}"`)')


def next_step(left: pd.DataFrame, store: str | Path, notebook: str, preset: str, what: str,
              iterations: int | None = None, dataset: str | None = None, seeds=None) -> tuple[bool, str]:
    """What training ``left`` (``sweep.todo``'s rows of the runs ``notebook`` lacks, or of its runs made longer,
    ``what`` in words, e.g. "the 142 runs of this figure not stored") costs from ``store``, and how:
    (whether it is too costly, the words). At the ``cpu`` preset above ``SENSIBLE_CORE_HOURS`` they begin
    with ``NOT_SENSIBLE`` and end with the GPU command; otherwise they end with the command that trains them
    here (``iterations``: the length to set; ``dataset``: the runs' data; ``seeds``: theirs; they and ``store``
    enter the command as ``train_command`` takes them)."""
    hours, unpriced, floors = core_hours(left, store)
    if costly := too_costly(preset, hours, what):
        return True, f"{costly.removeprefix('; ')}; on a GPU: {gpu_command(notebook)}"
    train = train_command(notebook, preset, iterations, dataset, store, seeds)
    return False, f"{what}: {price_text(hours, unpriced, floors, left)}; {train} trains them"


def train_command(notebook: str, preset: str = "cpu", iterations: int | None = None, dataset: str | None = None,
                  store: str | Path | None = None, seeds=None, train: bool = True) -> str:
    """The command that trains ``notebook``'s missing runs at ``preset``, ``iterations`` G updates long (None:
    its protocol's length, named by nothing), e.g. "`make reproduce TRAIN=1 ONLY=fig04_final_width`"; with
    ``train`` False, the one that only draws the figure from stored runs.
    ``dataset``, ``store`` and ``seeds`` (the notebook's parameters; a relative store from the working folder,
    which is notebooks/ in a notebook) enter its SET where they are not the notebooks' own (``TrainConfig``'s
    dataset, results/, ``experiments.SEEDS``), so that the runs are trained on that data, with those seeds,
    into the store the notebook then reads. SET survives the three readers it has: a value is quoted for the
    shell make runs the recipe in (``--set $(SET)``, unquoted), each ``$`` doubled for make, and the whole
    escaped for the double quotes the user's shell reads it in, so that any path comes back whole."""
    from snlab.config import TrainConfig
    from snlab.experiments import SEEDS
    from snlab.reproduce import RESULTS

    where = "" if preset == "cpu" else f" PRESET={preset}"
    sets = [f"iterations={iterations}"] if iterations else []
    if dataset and dataset != TrainConfig.dataset:
        sets.append(f"dataset={shlex.quote(dataset)}")
    if store and (folder := Path(store).resolve()) != RESULTS.resolve():
        sets.append(f"store={shlex.quote(str(folder))}")
    if seeds is not None and sorted(seeds) != sorted(SEEDS):
        sets.append(f"seeds={shlex.quote(str(sorted(seeds)).replace(' ', ''))}")  # no spaces: SET splits on them
    for_make = " ".join(sets).replace("$", "$$")
    given = ' SET="' + re.sub(r'([\\"$`])', r"\\\1", for_make) + '"' if sets else ""
    return f"`make reproduce{where}{' TRAIN=1' if train else ''} ONLY={notebook}{given}`"


def too_costly(preset: str, hours: float, what: str = "") -> str:
    """The clause ``sweep.from_store`` adds to ``NotInStore``'s message when a ``cpu``-preset sweep none of
    whose runs is stored costs more than ``SENSIBLE_CORE_HOURS`` (starting "; " + ``NOT_SENSIBLE``, then
    ``what`` costs); else ""."""
    if preset != "cpu" or hours <= SENSIBLE_CORE_HOURS:
        return ""
    return (f"; {NOT_SENSIBLE}: {what + ' ' if what else ''}≈ {hours:.1f} core-hours of training, more than a "
            f"night of a 2-core laptop ({SENSIBLE_CORE_HOURS:.0f})")
