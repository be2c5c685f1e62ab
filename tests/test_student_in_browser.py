"""A student's session in a real JupyterLab, driven in Debian's Chromium with Playwright.

The test opens lesson 00 of the student notebooks, runs every cell, reads what a
student reads, writes the exercise, re-runs its test, saves, and presses nbgrader's
Validate button; then the progress notebook. The same again in the Chinese edition
(``make lab LANG=zh_CN``), whose JupyterLab speaks Chinese, and so do the test messages
and the progress table. Screenshots go to ``test-artifacts/`` (``zh-`` for the Chinese).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from autograder.cells import exercises as exercises_of
from autograder.checks import not_written_yet
from autograder.i18n.editions import editions
from autograder.language import _, speaking
from tests.conftest import REPOSITORY

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPOSITORY.root / "test-artifacts"
LESSON = "00-running-async-in-jupyter"
ANSWER = """async def timed(coro):
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await coro
    return result, loop.time() - start"""
# Chromium flags for a machine without a display or a network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# JupyterLab settings for the test: no news or update prompts over the page, and every
# cell kept in the page (JupyterLab otherwise leaves cells out of view unrendered).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"JupyterLab did not answer at {url} within {seconds} s")


@dataclass(frozen=True)
class Lab:
    base: str
    token: str
    release: Path  # the student notebooks it serves (a scratch copy of them)
    lang: str  # the edition's language, which is also JupyterLab's
    screenshots: str  # the prefix of its screenshots' names

    def url(self, notebook: str) -> str:
        """The notebook alone in a fresh workspace (``reset`` drops tabs left by earlier tests)."""
        return f"{self.base}/lab/tree/{notebook}?token={self.token}&reset"


def started_lab(scratch: Path, release: Path, lang: str, make_args: list[str]) -> Iterator[Lab]:
    """The README's ``make lab``, on a loopback port and a scratch copy of ``release``."""
    notebooks = scratch / "notebooks"
    shutil.copytree(release, notebooks)
    settings = scratch / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    lab_args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.token={token}"
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "lab-workspaces")}
    log = (scratch / "jupyterlab.log").open("w")
    server = subprocess.Popen(
        ["make", "--no-print-directory", "-C", str(REPOSITORY.root), "lab", *make_args,
         f"NOTEBOOKS={notebooks}", f"LAB_ARGS={lab_args}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/api/status?token={token}", server)
        yield Lab(base, token, notebooks, lang, "" if lang == "en" else f"{lang}-")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module", params=["en", "zh-CN"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``make lab`` for the English edition, and ``make lab LANG=zh_CN`` for the Chinese one."""
    scratch = tmp_path_factory.mktemp(f"student-{request.param}")
    if request.param == "en":
        yield from started_lab(scratch, REPOSITORY.release, "en", [])
    else:
        edition = next(edition for edition in editions(REPOSITORY) if edition.lang == request.param)
        yield from started_lab(scratch, edition.course.release, edition.lang, [f"LANG={edition.language}"])


@pytest.fixture
def page(lab: Lab) -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        page.screenshot(path=ARTIFACTS / "last-page.png")  # what the page showed at the end, pass or fail
        browser.close()


def cell_with(page: Page, text: str):
    """The code cell whose input contains ``text``."""
    return page.locator(".jp-Notebook .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=text)
    )


def ui(lang: str, label: str, context: str = "") -> str:
    """JupyterLab's ``label`` as a lab in ``lang`` shows it: its language pack's translation in a translated edition."""
    if lang == "en":
        return label
    pack = importlib.import_module(f"jupyterlab_language_pack_{lang.replace('-', '_')}")
    strings = json.loads((Path(pack.__file__).parent / "locale" / lang.replace("-", "_") / "LC_MESSAGES"
                          / "jupyterlab.json").read_text(encoding="utf-8"))
    return strings[f"{context}\x04{label}" if context else label][0]


def run_all_cells(page: Page, lang: str = "en") -> None:
    """Run > Run All Cells, once the notebook is ready for it (the item is enabled)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=ui(lang, "Run", "menu")).first.click()
    run_all = page.locator(".lm-Menu-item:not(.lm-mod-disabled)", has_text=ui(lang, "Run All Cells")).first
    expect(run_all).to_be_visible()
    run_all.click()


def wait_for_idle_kernel(page: Page, lang: str = "en") -> None:
    """Until the notebook's kernel is started, connected and idle, as the status bar shows it.

    Not the toolbar's execution indicator: it says "idle" from the start, before the
    session has a kernel, and Run All clicked then runs nothing and clears every prompt
    (seen in CI when starting the first kernel was slow).
    """
    status_bar = page.get_by_role("contentinfo")
    expect(status_bar.get_by_text(f"Python 3 (ipykernel) | {ui(lang, 'Idle')}", exact=True)).to_be_visible(
        timeout=60_000)


def test_a_student_runs_solves_and_validates_lesson_00(lab: Lab, page: Page) -> None:
    page.goto(lab.url(f"{LESSON}/{LESSON}.ipynb"))
    wait_for_idle_kernel(page, lab.lang)
    expect(page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")).to_have_count(0)  # no teacher tools
    expect(page.locator(".lm-MenuBar-itemLabel").first).to_have_text(ui(lab.lang, "File", "menu"))  # the lab's language

    run_all_cells(page, lab.lang)
    tests = cell_with(page, 'exercise("timed")')
    with speaking(lab.lang):
        stub_message = not_written_yet("`timed`")
    expect(tests.locator(".jp-OutputArea")).to_contain_text(stub_message, timeout=60_000)
    wait_for_idle_kernel(page, lab.lang)

    # The explanations' outputs render, including after the cell that fails on purpose.
    expect(cell_with(page, 'print(await greet("Grace"))').locator(".jp-OutputArea")).to_contain_text("1.0 s of loop time passed")
    expect(cell_with(page, 'asyncio.run(main())').first.locator(".jp-OutputArea")).to_contain_text(
        "asyncio.run() cannot be called from a running event loop")
    expect(cell_with(page, "Hello from a script").locator(".jp-OutputArea")).to_contain_text("Hello from a script")
    tests.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / f"{lab.screenshots}1-untouched-exercise.png")

    answer = cell_with(page, "async def timed(coro):")
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(ANSWER)
    prompt = tests.locator(".jp-InputPrompt")
    first_run = prompt.inner_text()
    page.keyboard.press("Shift+Enter")  # runs the answer, moves to the test cell
    page.keyboard.press("Shift+Enter")  # runs the test cell
    expect(prompt).not_to_have_text(first_run)  # queued or run again
    expect(prompt).to_have_text(re.compile(r"\[\d+\]:"))  # and finished
    expect(tests.locator(".jp-OutputArea-output")).to_have_count(0)
    page.keyboard.press("Control+S")
    expect(page.locator(".jp-mod-dirty")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / f"{lab.screenshots}2-exercise-passes.png")

    page.locator(".jp-ToolbarButtonComponent", has_text="Validate").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.", timeout=120_000)
    page.screenshot(path=ARTIFACTS / f"{lab.screenshots}3-validate-success.png")


def test_the_progress_notebook_shows_every_exercise(lab: Lab, page: Page) -> None:
    page.goto(lab.url("progress.ipynb"))
    wait_for_idle_kernel(page, lab.lang)
    run_all_cells(page, lab.lang)
    table = cell_with(page, "await check_progress()").locator(".jp-OutputArea table")
    expect(table).to_be_visible(timeout=120_000)
    exercises = sum(len(exercises_of(nbformat.read(path, as_version=4))) for path in lab.release.glob("*/*.ipynb"))
    expect(table.locator("tbody tr")).to_have_count(exercises)
    with speaking(lab.lang):
        headers = [_("lesson"), _("exercise"), _("tests"), _("first failure")]
        summary = _("{passed} of {total} exercises pass their tests. Next up: {exercise} in {lesson}.")
    expect(table.locator("thead th")).to_have_text(headers)
    pattern = re.escape(summary).replace(r"\{passed\}", r"\d+").replace(r"\{total\}", str(exercises))
    pattern = pattern.replace(r"\{exercise\}", r"\S+").replace(r"\{lesson\}", r"\S+")
    expect(page.locator(".jp-OutputArea strong").first).to_have_text(re.compile(pattern))
    page.screenshot(path=ARTIFACTS / f"{lab.screenshots}4-progress.png")
