"""JupyterLab in a real browser: the notebooks open and run, the comparison widget redraws, figures show.

JupyterLab runs from this venv on a free loopback port with a random token, rooted in a tmp directory
where each notebook is staged with its parameters; Debian's ``chromium`` (never a downloaded browser)
is driven headless through Playwright, the way a user clicks: Run > Run All Cells, then a widget.
Select with ``-m browser``; screenshots go to each test's tmp dir and, with ``--screenshots DIR``, into
DIR too (the README's: ``figures/ui/``).
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

# chromium first: without it the tests skip (or, on CI, fail) before anything is trained or started.
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("chromium")]

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
#: Seconds allowed for JupyterLab (server, then kernel) to answer, for Run All Cells, and for a widget redraw.
START_S, RUN_ALL_S, REDRAW_S = 60, 120, 60
#: The image the comparison widget draws (ipywidgets' interactive: controls, then an Output widget).
WIDGET_IMAGE = ".widget-interact .widget-output img"
#: The code cells' prompts: "[ ]:" not run, "[*]:" queued or running, "[3]:" run.
PROMPTS = ".jp-Notebook .jp-CodeCell .jp-InputPrompt"

#: JS: the errors shown in the notebook, widget outputs included, as [{cell, error, where, source}]: cell
#: 1-based among all cells, the traceback's last line and its innermost "File ..." / "Cell In[...]" line.
#: JupyterLab 4 renders an error as text of MIME type application/vnd.jupyter.stderr, as it renders
#: stderr (warnings): a traceback is told by its header or its "SomeError: ..." line.
ERRORS_JS = r"""() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].flatMap((cell, i) =>
  [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map(output => output.textContent.split('\n').filter(line => line.trim()))
    .filter(lines => /Traceback \(most recent call last\)|^(\w+\.)*\w+(Error|Exception|Interrupt)\b/m
                       .test(lines.join('\n')))
    .map(lines => ({cell: i + 1, error: lines[lines.length - 1],
                    where: lines.filter(line => /^(File |Cell In\[)/.test(line)).pop() || '',
                    source: [...cell.querySelectorAll('.jp-InputArea-editor .cm-line')]
                              .map(line => line.textContent).join('\n')})))"""
#: JS: Run All Cells is over: no cell queued or running, and every code cell numbered or an error shown.
RUN_ALL_DONE_JS = f"""() => {{
  const prompts = [...document.querySelectorAll('{PROMPTS}')].map(p => p.textContent.trim());
  return !prompts.includes('[*]:') && (prompts.every(p => /^\\[\\d+\\]:$/.test(p)) || ({ERRORS_JS})().length > 0);
}}"""
#: JS, given the image's data URL before a change: the widget has drawn another image, or shows an error.
REDRAWN_JS = f"""before => {{
  const img = document.querySelector('{WIDGET_IMAGE}');
  return (img !== null && img.src !== before) || ({ERRORS_JS})().length > 0;
}}"""


class Lab(NamedTuple):
    """A running JupyterLab: its base URL, its token, and its root directory, where notebooks are staged."""
    url: str
    token: str
    root: Path


def _free_port() -> int:
    """A TCP port free on the loopback interface now (the server is told not to try another)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(proc: subprocess.Popen, url: str, log: Path) -> None:
    """Poll ``url`` until the server answers; fail with its log if it exits or stays silent for START_S."""
    deadline = time.monotonic() + START_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode} before answering:\n"
                               f"{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not answer within {START_S} s:\n"
                                   f"{log.read_text()[-3000:]}") from None
            time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (JupyterLab then shuts its kernels down); SIGKILL after 30 s."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab from this venv on a free loopback port with a random token, its kernels importing this
    checkout's ``snlab``; its config, data, settings and workspaces are private to the test. Stopped when
    the module's tests are done, whether they passed or not."""
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "root"
    root.mkdir()
    notifications = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notifications.parent.mkdir(parents=True)
    notifications.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))  # no news toast, offline
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's inline backend draws the figures
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    token, port, log = secrets.token_hex(16), _free_port(), home / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True"],  # CI runs as root
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(proc, f"{url}/api/status?token={token}", log)
        yield Lab(url, token, root)
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, headless, through Playwright. Missing, it skips the tests, except on CI (``$CI``
    set), where it fails them."""
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser page, 1400 × 1100 px: the comparison widget's controls and figure fit."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture
def shoot(page, tmp_path, request):
    """``shoot(name)`` saves a screenshot of the page as ``name`` in the test's tmp dir and, with
    ``--screenshots DIR``, in DIR (relative to where pytest was started)."""
    extra = request.config.getoption("screenshots")

    def save(name: str) -> None:
        page.screenshot(path=tmp_path / name)
        if extra:
            target = Path(request.config.invocation_params.dir, extra)
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp_path / name, target / name)
    return save


def _open(page, lab: Lab, name: str, **parameters) -> None:
    """Stage notebook ``name`` in the lab's root with ``parameters`` set in a cell after its ``parameters``
    cell (as papermill injects them), open it in JupyterLab and wait for its kernel to be idle."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = "# Parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))
    nb.metadata.pop("jupytext", None)  # a plain notebook: saving it writes no paired .py
    nbformat.write(nb, lab.root / name)
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset")  # reset: only this notebook open
    expect(page.get_by_text(re.compile(r"\| Idle$")), "the kernel never became idle").to_be_visible(
        timeout=START_S * 1000)
    page.keyboard.press("Control+b")  # hide the file browser: room for the figures


def _assert_no_errors(page, when: str) -> None:
    errors = page.evaluate(ERRORS_JS)
    if errors:
        pytest.fail("\n\n".join(f"cell {e['cell']} shows an error {when}: {e['error']}\n  raised in {e['where']}\n"
                                f"  the cell:\n{e['source']}" for e in errors), pytrace=False)


def _run_all(page, tmp_path: Path) -> None:
    """Run > Run All Cells; wait until it is over (screenshot in ``tmp_path``), then fail naming each cell
    that shows an error, or any left unrun."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    try:
        page.wait_for_function(RUN_ALL_DONE_JS, timeout=RUN_ALL_S * 1000)
    except PlaywrightTimeout:
        pytest.fail(f"Run All Cells did not finish within {RUN_ALL_S} s; the prompts: "
                    f"{page.locator(PROMPTS).all_text_contents()}", pytrace=False)
    finally:
        page.screenshot(path=tmp_path / "after_run_all.png")
    _assert_no_errors(page, "after Run All Cells")
    prompts = page.locator(PROMPTS).all_text_contents()
    assert all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in prompts), f"cells left unrun: {prompts}"


def _png(src: str) -> bytes:
    """The PNG bytes of an ``<img>``'s data URL."""
    head, data = src.split(",", 1)
    assert head == "data:image/png;base64", head
    return base64.b64decode(data)


def test_compare_normalizers_widget_redraws_in_jupyterlab(lab, page, shoot, request, tmp_path):
    """The comparison notebook on stored smoke runs (``--compare-store DIR``: that store's cpu-preset runs at
    setting C): Run All Cells without an error, then another layer in the widget's dropdown draws another image (its
    PNG bytes differ), still without an error."""
    store = request.config.getoption("compare_store")
    store, preset, setting = ((Path(store).resolve(), "cpu", "C") if store else
                              (request.getfixturevalue("smoke_store"), "smoke", "D"))
    _open(page, lab, "10_compare_normalizers.ipynb", preset=preset, store=str(store), interactive=True,
          methods=["wn", "sn"], setting=setting, layer="conv6", out_dir=str(tmp_path / "figures"))
    _run_all(page, tmp_path)
    image = page.locator(WIDGET_IMAGE)
    expect(image, "the widget shows no image after Run All Cells").to_have_count(1, timeout=REDRAW_S * 1000)
    src, layer = image.get_attribute("src"), "conv0"  # from conv6
    page.get_by_label("layer", exact=True).select_option(layer)
    try:
        page.wait_for_function(REDRAWN_JS, arg=src, timeout=REDRAW_S * 1000)
    except PlaywrightTimeout:
        page.screenshot(path=tmp_path / "after_select.png")
        pytest.fail(f"the widget's image did not change within {REDRAW_S} s after selecting layer {layer!r}",
                    pytrace=False)
    _assert_no_errors(page, f"after selecting layer {layer!r}")
    after = _png(image.get_attribute("src"))
    assert after.startswith(b"\x89PNG") and after != _png(src), "the redrawn image has the same bytes"
    page.locator(".widget-interact").evaluate("widget => widget.scrollIntoView()")  # controls and figure
    shoot("compare_normalizers.png")


def test_quickstart_shows_its_figures_in_jupyterlab(lab, page, shoot, fmnist_dir, tmp_path):
    """The quickstart at the smoke preset on the tiny Fashion-MNIST: Run All Cells without an error, and its
    static figures are shown and decode."""
    _open(page, lab, "00_quickstart.ipynb", preset="smoke", data_dir=str(fmnist_dir), run_dir=str(tmp_path / "run"),
          out_dir=str(tmp_path / "figures"))
    _run_all(page, tmp_path)
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    expect(figures, "3 figures: samples, losses, σ(W̄) (no IS/FID curves at the smoke preset)").to_have_count(3)
    widths = figures.evaluate_all("imgs => Promise.all(imgs.map(i => i.decode().then(() => i.naturalWidth, () => 0)))")
    assert all(w > 0 for w in widths), f"figures that did not decode (width 0): {widths}"
    figures.first.scroll_into_view_if_needed()
    shoot("quickstart.png")
