"""Execute the notebooks with papermill, each into the figure folder it names, with a summary line each.

``python -m snlab reproduce [--train] [--only fig10 fig14] [--preset cpu] [--set dataset=cifar10 …]``. Only
parameters a notebook declares are passed to it; a name no notebook declares is refused. Without
``--train`` each notebook reads the runs complete in its store (the committed ``results/``) and trains
nothing: a notebook none of whose runs is stored leaves no figure, only the reason and the price of its
training (``sweep.NotInStore``), and its claims are marked not measured. With ``--train`` the missing
runs are trained first; runs a notebook shares with others are trained once. Parameters are checked
before anything runs: a name no notebook declares, or a value of another kind than the notebook's default
(an int where it has a list, text where it has a number), is refused with the notebook, the parameter and its
default; the values themselves are then checked by the library the notebook calls. Each notebook that trains leaves
``metrics.json`` in its folder (runs reused / resumed / trained, claim records); ``write_claims``
gathers the claims into ``figures/CLAIMS.md``.
"""
from __future__ import annotations

import ast
import json
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
FIGURES = NOTEBOOKS.parent / "figures"
#: The committed run store: the notebooks' ``store`` by default.
RESULTS = NOTEBOOKS.parent / "results"
#: ``make quickstart``'s notebook: it plots its run's checkpoint, which lives in ``runs/`` (not kept by git),
#: so reproduce executes it only with ``train``, or when ``only`` names it.
QUICKSTART = "00_quickstart"


def _order(path: Path) -> tuple:
    """Quickstart first, then figures and tables (fig01 trains the grid others read), then the rest."""
    name = path.stem
    return (0 if name.startswith("00") else 1 if name.startswith(("fig", "table")) else 2, name)


def notebooks(only: list[str] | None = None, train: bool = True) -> list[Path]:
    """The notebooks in run order, optionally those whose name contains an ``only`` entry; without
    ``train``, not the quickstart (``QUICKSTART``) unless ``only`` names it."""
    found = sorted(NOTEBOOKS.glob("*.ipynb"), key=_order)
    if not train and not only:
        found = [p for p in found if p.stem != QUICKSTART]
    if only:
        chosen = [p for p in found if any(o in p.stem for o in only)]
        missing = [o for o in only if not any(o in p.stem for p in found)]
        if missing:
            raise ValueError(f"no notebook matches {', '.join(missing)}; valid: {', '.join(p.stem for p in found)}")
        found = chosen
    return found


def reproduce(only: list[str] | None = None, parameters: dict | None = None, log=print,
              stream: bool = False, train: bool = False) -> list[dict]:
    """Execute each notebook; returns one summary dict per notebook (name, seconds, output folder).
    ``train``: the value of each notebook's ``train`` parameter unless ``parameters`` sets it (False:
    stored runs only). ``stream``: relay what the notebooks print (their sweeps' run counts, training
    progress) as they run."""
    import logging

    import papermill

    if stream:  # papermill relays cell output through its logger
        logger = logging.getLogger("papermill")
        logger.setLevel(logging.INFO)
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler())

    declared_by = {path: papermill.inspect_notebook(str(path)) for path in notebooks()}
    known = set().union(*declared_by.values())
    unknown = sorted(set(parameters or {}) - known)
    if unknown:  # a typo would otherwise be dropped silently, and the default trained for hours
        raise ValueError(f"no notebook declares {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    chosen = {path: {k: v for k, v in (parameters or {}).items() if k in declared_by[path]}
              for path in notebooks(only, train)}
    for path, params in chosen.items():
        check_kinds(path.stem, declared_by[path], params)
    return [_execute(path, params, declared_by[path], train, stream, log) for path, params in chosen.items()]


def _execute(path: Path, params: dict, declared: dict, train: bool, stream: bool, log) -> dict:
    """Execute one notebook into its figure folder with ``params`` (``declared``: its parameters cell);
    a notebook none of whose runs is stored ends in ``not_in_store``. Its summary row."""
    import papermill

    if "interactive" in declared:  # papermill hangs on interactive widgets (nteract/papermill#723)
        params.setdefault("interactive", False)
    if "train" in declared:
        params.setdefault("train", train)
    out_dir = _parameter("out_dir", params, declared)
    out = (NOTEBOOKS / out_dir).resolve() if not Path(out_dir).is_absolute() else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "NOT_MEASURED.md").unlink(missing_ok=True)  # from a call when none of its runs was stored
    start = time.perf_counter()
    log(f"{path.stem}: starting -> {out}")
    try:
        papermill.execute_notebook(str(path), str(out / path.name), parameters=params, cwd=str(NOTEBOOKS),
                                   kernel_name="python3", progress_bar=False, log_output=stream)
    except papermill.PapermillExecutionError as e:
        if e.ename != "NotInStore":
            raise
        why = from_root(e.evalue, _parameter("store", params, declared))
        not_in_store(path.stem, out, why, trains="train" in declared,
                     preset=_parameter("preset", params, declared, "cpu"), iterations=params.get("iterations"),
                     dataset=params.get("dataset"), store=params.get("store") and NOTEBOOKS / params["store"],
                     seeds=params.get("seeds"))
        log(f"{path.stem}: no figure: {e.evalue}")
    metrics = out / "metrics.json"
    runs = json.loads(metrics.read_text()).get("runs") if metrics.exists() else None
    row = {"notebook": path.stem, "seconds": round(time.perf_counter() - start, 1), "out": str(out),
           "runs": runs, "parameters": params}
    counts = ", ".join(f"{n} {k}" for k, n in runs.items()) if runs else ""
    log(f"{row['notebook']}: {row['seconds']} s  {counts} -> {out}  {params or ''}")
    return row


def from_root(why: str, store: str | None) -> str:
    """``why`` (a sweep's ``NotInStore`` message, naming the notebook's ``store`` parameter as its kernel read
    it, relative to notebooks/) with that store named as from the repository's root, where CLAIMS.md and
    the README are read: "… not complete in ../results: …" → "… not complete in results/: …"."""
    if not store:
        return why
    folder = (NOTEBOOKS / store).resolve()
    root = NOTEBOOKS.parent.resolve()
    shown = f"{folder.relative_to(root)}/" if folder.is_relative_to(root) else str(folder)
    return why.replace(f" in {store}:", f" in {shown}:")


def _parameter(name: str, params: dict, declared: dict, fallback=None):
    """The value of a notebook's parameter ``name`` in a run with ``params``: the one passed, else the default
    in its parameters cell (``declared``: papermill's ``inspect_notebook``), else ``fallback``."""
    if params.get(name):
        return params[name]
    return ast.literal_eval(declared[name]["default"]) if name in declared else fallback


def not_in_store(notebook: str, out: Path, why: str, trains: bool = True, preset: str = "cpu",
                 iterations: int | None = None, dataset: str | None = None, store: str | Path | None = None,
                 seeds=None) -> None:
    """``notebook`` found none of its runs in its store: its folder ``out`` keeps only the executed notebook,
    a ``NOT_MEASURED.md`` with ``why`` and what trains them at ``preset``, ``iterations`` G updates long, on
    ``dataset`` into ``store`` with ``seeds`` (the notebook's parameters as passed; None: its own, the
    protocol's length for ``iterations``; ``prices.train_command``), if ``trains`` (the notebook trains
    with ``train``; otherwise ``why`` names the notebooks that do), and a ``metrics.json`` marking its claims
    not measured, or not testable at this scale with the GPU command when ``why`` says they cost more than
    ``prices.SENSIBLE_CORE_HOURS`` (``prices.NOT_SENSIBLE``). Everything else there goes, the paper-only
    tables too: figures of runs no longer stored would not show what the store holds."""
    from snlab.claims import UNTESTABLE, record, unmeasured
    from snlab.prices import NOT_SENSIBLE, gpu_command, train_command

    for f in out.iterdir():
        if f.is_file() and f.suffix != ".ipynb":
            f.unlink()
    gpu = gpu_command(notebook)
    costly = next((part for part in why.split("; ") if part.startswith(NOT_SENSIBLE)), None)
    protocol = " at the preset's protocol" if iterations is None else ""
    here = (f"{train_command(notebook, preset, iterations, dataset, store, seeds)} trains them{protocol} "
            f"(`python -m snlab sweep <name> --status` prices it)")
    how = ((f"On a GPU: {gpu}. Here, at that price: {here}" if costly else
            f"{here[0].upper()}{here[1:]}; at the paper's scale on a GPU: {gpu}") if trains
           else "It trains nothing itself")
    (out / "NOT_MEASURED.md").write_text(f"# {notebook}: no figure\n\n{why}.\n\n{how}.\n")
    verdict = (f"{UNTESTABLE}: {costly}; on a GPU: {gpu}" if costly else
               f"not measured: no runs in results/ (`figures/{notebook}/NOT_MEASURED.md`)")
    record(out, unmeasured(notebook, verdict, why), runs=None)


def _kind_ok(value, default) -> bool:
    """Whether ``value`` may stand where a notebook's parameters cell has ``default``."""
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple)) and (not default or all(_kind_ok(v, default[0]) for v in value))
    return isinstance(value, type(default))


def check_kinds(notebook: str, declared: dict, params: dict) -> None:
    """Refuse a parameter whose value is of another kind than the default in ``notebook``'s parameters cell
    (``declared``: papermill's ``inspect_notebook``); a default of None accepts anything."""
    for name, value in params.items():
        default = ast.literal_eval(declared[name]["default"])
        if not _kind_ok(value, default):
            raise ValueError(f"{notebook}: parameter {name}={value!r} ({type(value).__name__}) is not of the kind "
                             f"of its default {default!r} ({type(default).__name__}); pass a value of that kind")


def write_claims(figures: Path = FIGURES, log=print) -> Path:
    """``figures/CLAIMS.md`` from the claim records the notebooks left in ``figures/*/metrics.json``."""
    from snlab.claims_report import write_markdown

    path = write_markdown(figures)
    log(f"claims: {path}")
    return path
