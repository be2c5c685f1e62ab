"""The reports of a grading run, read as a student and as a teacher would read them.

One synthetic class takes lesson 01 (three exercises, 9 points), graded once by the
real command with real nbgrader: a student who solved everything, one who solved
half, one who handed in the untouched notebook, one whose ``first`` hangs, and two
who got ``first`` wrong with different wrong values (the same mistake for the class
overview). The tests read the pages and files the command wrote.
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder.cells import is_answer, is_test, nbgrader_meta
from autograder.course import CONFIG_FILE, Course
from tests.classroom import Classroom, Submission, answer_from_solution
from tests.conftest import REPOSITORY
from tests.mutants import MUTANTS
from tests.test_student_in_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

LESSON = "01-async-iterator-protocol"


def mutant(cell: str, name: str):
    return next(m for m in MUTANTS if m.lesson == LESSON and m.cell == cell and m.name == name)


SPINS = "async def first(source, predicate, default):\n    while True:\n        pass"
RETURNS_DEFAULT = "async def first(source, predicate, default):\n    return default"

#: student -> {answer cell: source}, applied on top of a submission of the solutions;
#: None is the untouched stub.
CLASS = {
    "solves": {},
    "half-solves": {"first": mutant("first", "takes a falsy match for no match"), "paginated": None},
    "untouched": {"countdown": None, "first": None, "paginated": None},
    "hangs": {"first": SPINS},
    "returns-last": {"first": mutant("first", "returns the last match")},
    "returns-default": {"first": RETURNS_DEFAULT},
}
SCORES = {"solves": 9, "half-solves": 3, "untouched": 0, "hangs": 7, "returns-last": 7, "returns-default": 7}


def notebook_path(root: Path, student: str) -> Path:
    return root / "submitted" / student / LESSON / f"{LESSON}.ipynb"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The course with the repository's student notebooks as its release, which
    # test_release_matches_solutions keeps equal to what nbgrader generates: the grading
    # command registers the lesson itself, and releasing every lesson again would cost ~10 s.
    folder = tmp_path_factory.mktemp("reports-class")
    shutil.copy(REPOSITORY.root / CONFIG_FILE, folder / CONFIG_FILE)
    shutil.copytree(REPOSITORY.source, folder / REPOSITORY.source.name)
    shutil.copytree(REPOSITORY.release, folder / REPOSITORY.release.name)
    classroom = Classroom(Course.at(folder))
    root = classroom.course.root
    stubs = {nbgrader_meta(c)["grade_id"]: c.source
             for c in nbformat.read(classroom.course.student_notebook(LESSON), as_version=4).cells if is_answer(c)}
    solution = {nbgrader_meta(c)["grade_id"]: c.source
                for c in nbformat.read(classroom.course.solution_notebook(LESSON), as_version=4).cells if is_answer(c)}
    for student, edits in CLASS.items():
        classroom.submit(Submission(student, LESSON))
        path = notebook_path(root, student)
        notebook = nbformat.read(path, as_version=4)
        for cell in filter(is_answer, notebook.cells):
            grade_id = nbgrader_meta(cell)["grade_id"]
            if grade_id not in edits:
                continue
            edit = edits[grade_id]
            if edit is None:
                cell.source = stubs[grade_id]
            elif isinstance(edit, str):
                cell.source = edit
            else:  # a mutant of the solution, as the classroom writes it (no solution markers)
                cell.source = answer_from_solution(edit.apply(solution[grade_id]))
        nbformat.write(notebook, path)
    subprocess.run(
        [sys.executable, "-m", "autograder.grade", LESSON, "--cell-timeout", "3", "--jobs", "2",
         "--export", "canvas", "--export", "moodle"],
        # as `make grade` runs it: nbgrader starts the environment's alembic to create the gradebook
        cwd=root, capture_output=True, text=True, check=True,
        env={**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])},
    )
    return root


def page_of(root: Path, student: str) -> str:
    return (root / "feedback" / student / LESSON / "report.html").read_text()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(page: str) -> str:
    """What a reader of the page sees (and what a copy of it holds): its text, tags removed, unescaped."""
    parser = _Text()
    parser.feed(re.sub(r"<style>.*?</style>", "", page, flags=re.S))
    return "".join(parser.parts)


def exercise_card(page: str, exercise: str) -> tuple[str, str]:
    """The (status, inner HTML) of one exercise's section on a student's page."""
    found = re.search(rf"<section class='card (\w+)' id='exercise-{exercise}'>(.*?)</section>", page, re.S)
    assert found, f"no section for {exercise}"
    return found.group(1), found.group(2)


def failing_tests(root: Path, student: str) -> dict[str, list[str]]:
    """Each test cell's error messages (ename: evalue) in the student's autograded notebook."""
    notebook = nbformat.read(root / "autograded" / student / LESSON / f"{LESSON}.ipynb", as_version=4)
    return {nbgrader_meta(cell)["grade_id"]: [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
            for cell in filter(is_test, notebook.cells)
            if any(o.output_type == "error" for o in cell.outputs)}


def grades(root: Path) -> dict[str, dict[str, str]]:
    with (root / "reports" / LESSON / "grades.csv").open() as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def test_the_scores_are_right(reports: Path) -> None:
    assert {s: float(row["score"]) for s, row in grades(reports).items()} == SCORES
    for student, score in SCORES.items():
        assert f"<span class='score'>{score} / 9</span>" in page_of(reports, student), student


def test_each_failing_test_shows_its_message_and_links_to_the_test(reports: Path) -> None:
    checked = 0
    for student in CLASS:
        page = page_of(reports, student)
        nbgrader_page = (reports / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        row = grades(reports)[student]
        failing = failing_tests(reports, student)
        for exercise in ("countdown", "first", "paginated"):
            status, card = exercise_card(page, exercise)
            assert status == ("failed" if float(row[exercise]) < {"countdown": 3, "first": 2, "paginated": 4}[exercise]
                              else "passed"), (student, exercise)
        for test, messages in failing.items():
            exercise = test.split("-")[0]
            _, card = exercise_card(page, exercise)
            for message in messages:
                assert html.escape(message) in card, (student, test)
                checked += 1
            assert f"href='{LESSON}.html#{test}'" in card, (student, test)
            assert f'<a name="{test}"></a>' in nbgrader_page, (student, test)  # the link lands on the test
    assert checked >= 8, "too few failures in the class: this test would prove little"
    assert "badge failed" not in page_of(reports, "solves")
    assert failing_tests(reports, "solves") == {}


@pytest.mark.parametrize("student, shown", [
    # from a hidden test: its message is shown
    ("half-solves", "first(Source([3, 0, 5]), n < 1, None), where the match is 0: expected 0 (type int), "
                    "got None (type NoneType)."),
    ("half-solves", "`Paginated.__init__` is not written yet"),
    ("returns-last", "first(Source([1, 4, 6, 9]), is even, None): expected 4 (type int), got 6 (type int)."),
    ("returns-default", "first(Source([1, 4, 6, 9]), is even, None): expected 4 (type int), got None (type NoneType)."),
    ("untouched", "`Countdown.__init__` is not written yet"),
    ("hangs", "CellTimeoutError: the cell"),
    ("hangs", "Kernel > Restart Kernel and Run All Cells"),  # what to do next time
])
def test_the_students_page_says_what_went_wrong(reports: Path, student: str, shown: str) -> None:
    assert shown in text_of(page_of(reports, student))


def hidden_test_lines() -> list[str]:
    solution = nbformat.read(REPOSITORY.solution_notebook(LESSON), as_version=4)
    lines = []
    for cell in filter(is_test, solution.cells):
        for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
            lines += [line.strip() for line in region.splitlines() if len(line.strip()) > 12]
    return lines


def test_no_student_page_holds_hidden_test_source(reports: Path) -> None:
    hidden = hidden_test_lines()
    assert len(hidden) >= 10
    graded = nbformat.read(reports / "autograded" / "half-solves" / LESSON / f"{LESSON}.ipynb", as_version=4)
    graded_source = "\n".join(cell.source for cell in graded.cells)
    assert all(line in graded_source for line in hidden), "the reports are made from data that holds these lines"
    assert "where the match is 0" in "\n".join(hidden), "the shown message above comes from a hidden test"
    for student in CLASS:
        page = text_of(page_of(reports, student))
        assert [line for line in hidden if line in page] == [], student


def markdown_section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n#", 1)[0]


def counts_in_markdown(summary: str, exercise: str) -> dict[str, int]:
    section = markdown_section(summary, f"### `{exercise}`\n")
    return {message.replace("\\|", "|"): int(count)
            for count, message in re.findall(r"^\| (\d+) \| (.*) \|$", section, re.M)}


def counts_in_html(summary: str, exercise: str) -> dict[str, int]:
    section = summary.split(f"id='mistakes-{exercise}'", 1)[1].split("</section>", 1)[0]
    return {html.unescape(message): int(count) for count, message in
            re.findall(r"<tr><td class='num'>(\d+)</td><td><div class='message'>(.*?)</div>", section, re.S)}


def timeout_as_one(counts: dict[str, int]) -> dict[str, int]:
    """The time limit's message says how the cell was stopped, which depends on the machine's timing."""
    return {("CellTimeoutError" if m.startswith("CellTimeoutError: the cell") else m): n for m, n in counts.items()}


NOT_WRITTEN = "is not written yet: replace `raise NotImplementedError()` with your code, then run its cell again."
COMMON_MISTAKES = {
    "countdown": {f"ExerciseFailure: `Countdown.__init__` {NOT_WRITTEN}": 1},
    "first": {
        # returns-last got 6, returns-default got None: one mistake, two students
        "ExerciseFailure: first(Source([1, 4, 6, 9]), is even, None): expected 4 (type int), got ….": 2,
        "ExerciseFailure: first(Source([3, 0, 5]), n < 1, None), where the match is 0: expected 0 (type int), got ….": 1,
        f"ExerciseFailure: `first` {NOT_WRITTEN}": 1,
        "CellTimeoutError": 1,
    },
    # two test cells each, failed by two students: counted once per student
    "paginated": {f"ExerciseFailure: `Paginated.__init__` {NOT_WRITTEN}": 2},
}


@pytest.mark.parametrize("exercise", list(COMMON_MISTAKES))
def test_the_common_mistakes_are_counted_by_student(reports: Path, exercise: str) -> None:
    folder = reports / "reports" / LESSON
    assert timeout_as_one(counts_in_markdown((folder / "summary.md").read_text(), exercise)) == COMMON_MISTAKES[exercise]
    assert timeout_as_one(counts_in_html((folder / "summary.html").read_text(), exercise)) == COMMON_MISTAKES[exercise]


def test_students_who_need_attention(reports: Path) -> None:
    folder = reports / "reports" / LESSON
    section = markdown_section((folder / "summary.md").read_text(), "## Students who need attention\n")
    assert sorted(re.findall(r"^- (\S+) \(", section, re.M)) == ["hangs", "untouched"]
    assert "- untouched (0 / 9): 0 points" in section and "- hangs (7 / 9): 1 problem" in section
    summary = (folder / "summary.html").read_text()
    attention = summary.split("class='attention'", 1)[1].split("</table>", 1)[0]
    assert re.findall(r"report.html'>([^<]+)</a>", attention) == ["hangs", "untouched"]
    assert "## Needs review" in (folder / "summary.md").read_text()


def test_the_histogram_and_the_summary_page(reports: Path) -> None:
    folder = reports / "reports" / LESSON
    for image in ("scores.png", "pass-rates.png"):
        assert (folder / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
        assert f"src='{image}'" in (folder / "summary.html").read_text()
    assert (folder / "scores.png").read_bytes() != (folder / "pass-rates.png").read_bytes()


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_canvas_and_moodle_imports(reports: Path) -> None:
    folder = reports / "reports" / LESSON
    canvas = read_csv(folder / "canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LESSON]
    assert canvas[1] == ["    Points Possible", "", "", "", "", "9"]
    assert {row[3]: row[5] for row in canvas[2:]} == {s: str(n) for s, n in SCORES.items()}
    moodle = read_csv(folder / "moodle.csv")
    assert moodle[0] == ["Username", LESSON, "Feedback"]
    assert {row[0]: row[1] for row in moodle[1:]} == {s: str(n) for s, n in SCORES.items()}
    feedback = {row[0]: row[2] for row in moodle[1:]}
    assert feedback["hangs"].startswith("countdown 3/3, first 0/2, paginated 4/4; code cell")


def test_a_student_report_and_the_summary_in_chromium(reports: Path) -> None:
    """A phone-sized student page (no sideways scrolling, the link to the test works) and the class summary."""
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto((reports / "feedback" / "hangs" / LESSON / "report.html").as_uri())
            expect(phone.locator("#exercise-first")).to_contain_text("CellTimeoutError")
            assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            phone.screenshot(path=ARTIFACTS / "report-student-phone.png", full_page=True)
            phone.emulate_media(media="print")  # on paper: no page colour, the cards stay whole
            assert phone.evaluate("getComputedStyle(document.body).backgroundColor") == "rgba(0, 0, 0, 0)"
            assert phone.evaluate("getComputedStyle(document.querySelector('#exercise-first')).breakInside") == "avoid"
            phone.emulate_media(media="screen")
            phone.locator("#exercise-first a", has_text="first-tests").click()
            phone.wait_for_url(re.compile(r"#first-tests$"))
            expect(phone.locator('a[name="first-tests"]')).to_have_count(1)

            desk = browser.new_page(viewport={"width": 1200, "height": 900})
            desk.goto((reports / "reports" / LESSON / "summary.html").as_uri())
            expect(desk.locator("#mistakes-first")).to_contain_text("is even, None): expected 4 (type int), got …")
            for image in ("scores.png", "pass-rates.png"):
                img = desk.locator(f"img[src='{image}']")
                img.scroll_into_view_if_needed()
                expect(img).to_be_visible()
                assert img.evaluate("i => i.complete && i.naturalWidth > 0"), image
            desk.screenshot(path=ARTIFACTS / "report-class-summary.png", full_page=True)
        finally:
            browser.close()


@pytest.mark.parametrize("one, other", [
    ("Countdown(3): call 1 of anext() after the end gave 0 (type int); a finished async iterator must stop.",
     "Countdown(3): call 1 of anext() after the end gave None (type NoneType); a finished async iterator must stop."),
    ("Paginated(api).__aiter__() returned <coroutine object f at 0x7f3a>, which has no __anext__ method.",
     "Paginated(api).__aiter__() returned <coroutine object f at 0x55b1>, which has no __anext__ method."),
    ("the items: expected ['a'] (type list), got ['a', 'b'] (type list).",
     "the items: expected ['a'] (type list), got [] (type list)."),
])
def test_one_mistake_with_different_values_is_one_message(one: str, other: str) -> None:
    from autograder.report import common_form
    assert common_form("ExerciseFailure", one) == common_form("ExerciseFailure", other)
    assert common_form("ExerciseFailure", one) != common_form("ExerciseFailure", one.replace("expected ['a']", "expected ['b']")
                                                             .replace("Countdown(3)", "Countdown(4)")
                                                             .replace("Paginated(api)", "Paginated(other)"))
