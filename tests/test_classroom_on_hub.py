"""The classroom on a real JupyterHub: release, fetch, submit, collect, grade, feedback.

``make hub`` starts the local classroom (JupyterHub, configurable-http-proxy from npm,
nbgrader's exchange) on a scratch copy of the course. In Debian's Chromium the
instructor releases lesson 00 in the formgrader; alice fetches it from the Assignment
List, solves it, validates and submits; bob fetches and submits it untouched; the
instructor collects in the formgrader, grades with the course's grading command in a
JupyterLab terminal, reads the scores in the formgrader and releases the feedback;
each student fetches and reads their own (after the formgrader's own Generate Feedback,
which must leave the hidden tests out too). Along the way: what the students' servers
can see holds no solution and no hidden test. Screenshots (``hub-*.png``) and the
measured times (``hub-timings.json``) go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect, sync_playwright

from autograder.course import CONFIG_FILE, Course
from tests.conftest import REPOSITORY
from tests.test_student_in_browser import (
    ANSWER, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LAB_SETTINGS, LESSON, cell_with, free_port, run_all_cells,
    wait_for_idle_kernel,
)

INSTRUCTOR, SOLVER, IDLE = "instructor", "alice", "bob"
POINTS = 2  # lesson 00's one exercise, `timed`
# The instructor reads the grading command's output in a terminal: xterm keeps a text
# copy of the screen for screen readers, which the test reads.
INSTRUCTOR_SETTINGS = {"@jupyterlab/terminal-extension/plugin.jupyterlab-settings": {"screenReaderMode": True}}
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


@dataclass(frozen=True)
class Hub:
    base: str
    course: Course
    state: Path
    started_in: float  # seconds from `make hub` to the hub answering

    def home(self, user: str) -> Path:
        return self.state / "homes" / user


def secret_lines(course: Course, lesson: str) -> list[str]:
    """The lines of the lesson's solutions and hidden tests that a student must never receive.

    Lines that the student version also shows (the lesson's prose and examples use
    ``asyncio.get_running_loop()`` too) are left out, and so are fragments too short
    to tell anything (``return 42``).
    """
    notebook = nbformat.read(course.solution_notebook(lesson), as_version=4)
    regions = [m.group(1) for cell in notebook.cells for pattern in (HIDDEN, SOLUTION)
               for m in pattern.finditer(cell.source)]
    student = nbformat.read(course.student_notebook(lesson), as_version=4)
    shown = {line.strip() for cell in student.cells for line in cell.source.splitlines()}
    lines = {line.strip() for region in regions for line in region.splitlines()} - shown
    secret = sorted(line for line in lines if len(line) > 12)
    assert secret, f"{lesson} has no solution or hidden test to keep from students"
    return secret


def write_settings(home: Path, settings: dict) -> None:
    for name, values in settings.items():
        path = home / ".jupyter" / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The README's ``make hub`` on a loopback port, for a scratch copy of the course."""
    scratch = tmp_path_factory.mktemp("classroom")
    root = scratch / "course"
    root.mkdir()
    shutil.copy(REPOSITORY.root / CONFIG_FILE, root / CONFIG_FILE)
    for folder in (REPOSITORY.source, REPOSITORY.release):
        shutil.copytree(folder, root / folder.name)
    state = scratch / "hub"
    for user in (INSTRUCTOR, SOLVER, IDLE):
        write_settings(state / "homes" / user, LAB_SETTINGS | (INSTRUCTOR_SETTINGS if user == INSTRUCTOR else {}))
    port = free_port()
    log = (scratch / "hub.log").open("w")
    started = time.monotonic()
    server = subprocess.Popen(
        ["make", "--no-print-directory", "-C", str(REPOSITORY.root), "hub",
         f"HUB_ARGS=--course {root} --state {state} --port {port} --instructor {INSTRUCTOR} --students {SOLVER},{IDLE}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = started + 180  # the first run also installs configurable-http-proxy from npm
        while True:
            if server.poll() is not None:
                pytest.fail(f"make hub exited with code {server.returncode}:\n{(scratch / 'hub.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/hub/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the hub did not answer within 180 s:\n{(scratch / 'hub.log').read_text()[-3000:]}")
                time.sleep(0.1)
        yield Hub(base, Course.at(root), state, time.monotonic() - started)
    finally:
        # Every process of the classroom (the hub, its proxy, the users' servers and
        # their kernels, which have sessions of their own) ends before the next test.
        processes = psutil.Process(server.pid).children(recursive=True)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        _, alive = psutil.wait_procs(processes, timeout=30)
        for process in alive:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def log_in(browser: Browser, hub: Hub, user: str) -> Page:
    """A fresh browser session logged in as ``user``, on their JupyterLab once the server is up."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{hub.base}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=120_000)
    expect(page.locator(".lm-MenuBar-itemLabel", has_text="File")).to_be_visible(timeout=60_000)
    return page


def shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"hub-{name}.png")


def formgrader_row(page: Page, hub: Hub) -> Locator:
    page.goto(f"{hub.base}/user/{INSTRUCTOR}/formgrader")
    row = page.locator("#main-table tr", has=page.locator(f'td.name[data-order="{LESSON}"]'))
    expect(row).to_be_visible(timeout=30_000)
    return row


def formgrader_action(page: Page, hub: Hub, column: str, success: str) -> None:
    """Click one of the formgrader's per-lesson buttons and read its Success dialog."""
    formgrader_row(page, hub).locator(f"td.{column} a").click()
    dialog = page.locator(".modal-dialog")
    expect(dialog).to_contain_text(success, timeout=120_000)
    shot(page, f"instructor-{column}")
    dialog.get_by_role("button", name="OK").click()


def assignment_list(page: Page) -> Locator:
    """Nbgrader > Assignment List, the only item of the students' Nbgrader menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu-content .lm-Menu-item:visible")
    expect(items).to_have_text(["Assignment List"])  # no Formgrader, no Course List
    items.first.click()
    panel = page.locator("#assignments")
    expect(panel.locator("#released_assignments_list_loading")).to_be_hidden(timeout=30_000)
    return panel


def fetched_lesson(panel: Locator) -> Locator:
    """The fetched lesson's row in the Assignment List (its notebooks are nested rows)."""
    return panel.locator("#fetched_assignments_list .list_item:not(.nested_list_item)", has_text=LESSON)


def fetch_lesson(page: Page, user: str) -> Locator:
    panel = assignment_list(page)
    released = panel.locator("#released_assignments_list .list_item", has_text=LESSON)
    released.get_by_role("button", name="Fetch").click()
    expect(fetched_lesson(panel)).to_be_visible(timeout=60_000)
    shot(page, f"{user}-fetched")
    return panel


def submit_lesson(page: Page, panel: Locator, user: str) -> None:
    fetched_lesson(panel).get_by_role("button", name="Submit").click()
    expect(panel.locator("#submitted_assignments_list .list_item", has_text=LESSON)).to_be_visible(timeout=60_000)
    shot(page, f"{user}-submitted")


def what_the_server_serves(page: Page, hub: Hub, user: str, path: str = "") -> tuple[int, dict]:
    """The student's own Jupyter server's contents API, as their browser session reaches it."""
    response = page.request.get(f"{hub.base}/user/{user}/api/contents/{path}")
    return response.status, (response.json() if response.ok else {})


def check_nothing_secret_reaches(page: Page, hub: Hub, user: str) -> None:
    """The student's home holds the fetched lesson and the progress notebook, and nothing secret."""
    status, home = what_the_server_serves(page, hub, user)
    assert status == 200
    assert sorted(item["name"] for item in home["content"]) == sorted([LESSON, "progress.ipynb"])
    status, lesson = what_the_server_serves(page, hub, user, LESSON)
    assert sorted(item["name"] for item in lesson["content"]) == [f"{LESSON}.ipynb"]
    assert page.request.get(f"{hub.base}/user/{user}/formgrader").status == 404  # no teacher tools on the server
    for outside in ("../course", "..%2F..%2Fcourse%2Fsolutions", "/etc/passwd"):
        assert what_the_server_serves(page, hub, user, outside)[0] in (403, 404), outside
    received = [path.read_bytes() for path in hub.home(user).rglob("*") if path.is_file()]
    received += [path.read_bytes() for path in (hub.state / "exchange").rglob("outbound/**/*") if path.is_file()]
    for line in secret_lines(hub.course, LESSON):
        assert not any(line.encode() in data for data in received), f"a student received {line!r}"


def open_feedback(page: Page, panel: Locator, user: str) -> FrameLocator:
    """Fetch Feedback, then "view feedback" (the file browser at it), then the page itself.

    JupyterLab shows the feedback page in its HTML viewer, a frame; the frame is returned.
    """
    submitted = panel.locator("#submitted_assignments_list .list_item:not(.nested_list_item)", has_text=LESSON)
    submitted.get_by_role("button", name="Fetch Feedback").click()
    view = panel.locator("#submitted_assignments_list a", has_text="view feedback")
    expect(view).to_be_visible(timeout=60_000)
    view.click()
    page.locator(".jp-DirListing-item", has_text=f"{LESSON}.html").dblclick()
    feedback = page.frame_locator(".jp-HTMLViewer iframe")
    expect(feedback.locator("body")).to_contain_text("Score", timeout=30_000)
    shot(page, f"{user}-feedback")
    return feedback


def test_release_to_feedback_with_an_instructor_and_two_students(hub: Hub, browser: Browser) -> None:
    timings = {"hub_start_s": round(hub.started_in, 1)}
    cycle_started = time.monotonic()

    instructor = log_in(browser, hub, INSTRUCTOR)
    formgrader_action(instructor, hub, "release", f"Successfully released '{LESSON}'")
    expect(formgrader_row(instructor, hub).locator("td.status")).to_have_text("released")
    shot(instructor, "instructor-released")

    alice = log_in(browser, hub, SOLVER)
    expect(alice.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")).to_be_visible()
    panel = fetch_lesson(alice, SOLVER)
    check_nothing_secret_reaches(alice, hub, SOLVER)
    # alice opens the fetched notebook from the list, solves the exercise and validates.
    fetched_lesson(panel).locator("a", has_text=LESSON).first.click()  # unfolds its notebooks
    panel.locator("#fetched_assignments_list .nested_list_item a", has_text=LESSON).click()
    wait_for_idle_kernel(alice)
    answer = cell_with(alice, "async def timed(coro):")
    answer.locator(".cm-content").click()
    alice.keyboard.press("Control+A")
    alice.keyboard.insert_text(ANSWER)
    alice.keyboard.press("Shift+Enter")
    alice.keyboard.press("Control+S")
    expect(alice.locator(".jp-mod-dirty")).to_have_count(0)
    alice.locator(".jp-ToolbarButtonComponent", has_text="Validate").click()
    dialog = alice.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.", timeout=120_000)
    shot(alice, "alice-validated")
    dialog.get_by_role("button").last.click()
    # The progress notebook, copied into every student's home, reads the fetched lesson.
    alice.goto(f"{hub.base}/user/{SOLVER}/lab/tree/progress.ipynb?reset")
    wait_for_idle_kernel(alice)
    run_all_cells(alice)
    expect(cell_with(alice, "await check_progress()").locator(".jp-OutputArea")).to_contain_text(
        "All 1 exercises pass their tests", timeout=120_000)
    shot(alice, "alice-progress")
    alice.goto(f"{hub.base}/user/{SOLVER}/lab?reset")
    submit_lesson(alice, assignment_list(alice), SOLVER)

    bob = log_in(browser, hub, IDLE)
    submit_lesson(bob, fetch_lesson(bob, IDLE), IDLE)
    check_nothing_secret_reaches(bob, hub, IDLE)

    formgrader_action(instructor, hub, "collect", f"Successfully collected submissions of '{LESSON}'")
    expect(formgrader_row(instructor, hub).locator("td.num-submissions")).to_have_text("2")

    # The course's grading command, typed in the instructor's JupyterLab terminal.
    instructor.goto(f"{hub.base}/user/{INSTRUCTOR}/lab?reset")
    instructor.locator(".lm-MenuBar-itemLabel", has_text="File").click()
    instructor.locator(".lm-Menu-item", has_text="New").first.hover()
    instructor.locator(".lm-Menu-item", has_text="Terminal").first.click()
    terminal = instructor.locator(".jp-Terminal")
    expect(terminal.locator(".xterm-accessibility-tree")).to_contain_text(re.compile(r"[$#]"), timeout=60_000)
    grading_started = time.monotonic()
    terminal.locator(".xterm-helper-textarea").focus()
    instructor.keyboard.type(f"python -m autograder.grade {LESSON}; echo grading exited with $?\n")
    expect(terminal.locator(".xterm-accessibility-tree")).to_contain_text("grading exited with 0", timeout=300_000)
    timings["grading_command_s"] = round(time.monotonic() - grading_started, 1)
    expect(terminal.locator(".xterm-accessibility-tree")).to_contain_text("graded 2 submissions")
    shot(instructor, "instructor-graded")

    # The formgrader shows the command's scores (nbgrader's own gradebook).
    instructor.goto(f"{hub.base}/user/{INSTRUCTOR}/formgrader/manage_students")
    for student, score in ((SOLVER, POINTS), (IDLE, 0)):
        row = instructor.locator("tr", has=instructor.get_by_text(student, exact=True))
        expect(row).to_contain_text(f"{score:g} / {POINTS:g}", timeout=30_000)
    shot(instructor, "instructor-scores")
    # The formgrader's own Generate Feedback (which a teacher may well press) writes the
    # feedback again with the course's settings: still without the hidden tests.
    formgrader_action(instructor, hub, "generate-feedback", f"Successfully generated feedback of '{LESSON}'")
    formgrader_action(instructor, hub, "release-feedback", f"Successfully released feedback of '{LESSON}'")

    for student, score, reads in ((SOLVER, POINTS, None), (IDLE, 0, "`timed` is not written yet")):
        page = alice if student == SOLVER else bob
        page.goto(f"{hub.base}/user/{student}/lab?reset")
        feedback = open_feedback(page, assignment_list(page), student)
        expect(feedback.locator("body")).to_contain_text(f"{LESSON} (Score: {score:.1f} / {POINTS:.1f})")
        if reads:
            expect(feedback.locator("body")).to_contain_text(reads)
            feedback.get_by_text(reads).first.scroll_into_view_if_needed()
            shot(page, f"{student}-feedback-failure")
        text = feedback.locator("body").inner_text()
        for line in secret_lines(hub.course, LESSON):
            if student == IDLE or line not in ANSWER:  # alice's own answer is hers to see
                assert line not in text, f"{student}'s feedback shows {line!r}"
    timings["cycle_s"] = round(time.monotonic() - cycle_started, 1)
    (ARTIFACTS / "hub-timings.json").write_text(json.dumps(timings, indent=1))
