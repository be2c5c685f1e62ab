"""The HTML pages of a grading run: a report per student and the class summary.

Plain HTML with its own stylesheet, written with the standard library: no Jupyter,
no network, no script. Every piece of text that comes from a submission (failure
messages, problems, flagged lines) is escaped. Pages fit a phone's width and print
on paper without their colours.

Nothing here reads a test cell's source: a student's page shows each failure's message
(a hidden test's too) and links to the test in nbgrader's feedback page, from which
``autograder.feedback`` has removed the hidden tests.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from autograder.language import N_, _, current_language, ngettext, translate_message

if TYPE_CHECKING:
    from autograder.report import Failure, Mistake, StudentResult

COURSE_TITLE = N_("Async iterators and async generators, hands on")

STYLE = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dee8; --ok: #1f7a3f; --bad: #b3261e;
        --warn: #8a5a00; --accent: #2f6fbf; --paper: #ffffff; --soft: #f4f6fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--soft); color: var(--ink);
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main, header > div { max-width: 52rem; margin: 0 auto; padding: 1rem; }
header > div { padding: 0; }
header { background: var(--paper); border-bottom: 4px solid var(--accent); padding: 1rem; }
header .course { color: var(--muted); font-size: .9rem; margin: 0; }
h1 { font-size: 1.5rem; margin: .2rem 0; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 0; }
.meta { color: var(--muted); font-size: .9rem; margin: 0; }
.score { font-size: 2rem; font-weight: 700; }
section.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
               padding: .8rem 1rem; margin: .8rem 0; break-inside: avoid; }
.card.passed { border-left: 6px solid var(--ok); }
.card.failed { border-left: 6px solid var(--bad); }
.card.problem { border-left: 6px solid var(--warn); }
.row { display: flex; justify-content: space-between; align-items: baseline; gap: .5rem; flex-wrap: wrap; }
.badge { font-size: .85rem; font-weight: 600; padding: .1rem .5rem; border-radius: 1rem; white-space: nowrap; }
.badge.passed { background: #e3f3e8; color: var(--ok); }
.badge.failed { background: #fbe6e4; color: var(--bad); }
.message { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .5rem .7rem;
           font: .9rem/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
           white-space: pre-wrap; overflow-wrap: anywhere; margin: .3rem 0; }
.hint { margin: .3rem 0; }
.next { color: var(--muted); margin: .3rem 0; }
ul.failures { list-style: none; padding: 0; margin: .5rem 0 0; }
ul.failures li { margin: .6rem 0; }
table { border-collapse: collapse; width: 100%; background: var(--paper); }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: .35rem .5rem; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
.bar { background: var(--soft); border-radius: 4px; height: .7rem; min-width: 4rem; }
.bar span { display: block; height: 100%; background: var(--accent); border-radius: 4px; }
.scroll { overflow-x: auto; }
img { max-width: 100%; height: auto; background: var(--paper); }
a { color: var(--accent); }
footer { color: var(--muted); font-size: .85rem; margin: 2rem 0 1rem; }
@media (max-width: 36rem) { body { font-size: 15px; } .score { font-size: 1.6rem; } main { padding: .5rem; } }
@media print {
  body { background: none; font-size: 11pt; }
  header { border-bottom: 2px solid #000; }
  section.card { border: 1px solid #999; }
  .message, .bar { background: none; }
  a { color: inherit; text-decoration: none; }
  a[href^="http"]::after { content: " (" attr(href) ")"; }
}
"""

#: What each kind of error means in plain words, before its message.
ERROR_WORDS = {
    "ExerciseFailure": N_("The test says:"),
    "CellTimeoutError": N_("The test ran longer than the time limit and was stopped. Look for a loop that never "
                           "ends, or an `await` on something that never happens:"),
    "NameError": N_("A name your code should define did not exist when the test ran. Did your answer cell run "
                    "without an error, and is the name spelled as in the exercise?"),
    "AssertionError": N_("A check of the test failed:"),
    "NotImplementedError": N_("The exercise is not written yet:"),
    "CellError": N_("The cell did not finish running:"),
}

#: A problem of the run, recognised by a part of its text, and what to do next time.
PROBLEM_ADVICE = [
    (("ran past", "ran longer", "did not stop within"),
     N_("A cell ran longer than the time limit and was stopped: it scored 0, and the cells after it still ran. "
        "Next time, run the whole notebook (Kernel > Restart Kernel and Run All Cells) before handing it in and "
        "check that every cell finishes; a loop that never ends or an `await` on something that never happens "
        "is the usual cause.")),
    (("kernel died", "crash"),
     N_("Python itself stopped while running a cell (for example `os._exit()`, or running out of memory). "
        "The grader started it again and went on after that cell, which scored 0. Next time, run the whole "
        "notebook from the top before handing it in.")),
    (("was deleted",),
     N_("A test cell was deleted from your notebook, so it could not run and scored 0. Next time, leave the "
        "test cells where they are; if you lost one, take a fresh copy of the notebook and copy your answers in.")),
    (("was edited",),
     N_("A test cell was changed. The grader puts the original test back, so your changes to it did not count. "
        "Next time, change only the cells marked `# YOUR CODE HERE`.")),
    (("malformed notebook",),
     N_("Your file could not be read as a notebook, so nothing in it could be graded. Next time, save it from "
        "JupyterLab and hand in the .ipynb file itself, without opening it in another editor first; the "
        "Validate button tells you whether it runs.")),
    (("missing notebook", "renamed"),
     N_("The grader did not find the notebook under its original name, so nothing could be graded. Next time, "
        "hand in the notebook under the name it had when you got it.")),
    (("not run", "could not be run"),
     N_("Some cells never ran, because the cells before them could not be run again after a crash. Next time, "
        "run the whole notebook from the top before handing it in.")),
    (("no graded notebook",),
     N_("nbgrader could not grade this submission. Your teacher has been told.")),
]
GENERIC_ADVICE = N_("Your teacher has been told and will look at it.")
REVIEW_ADVICE = N_(
    "Some of your code uses something that no exercise needs (below). Your score stands until your teacher "
    "has read that code. Next time, use only what the lesson uses."
)


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


def words(text: str) -> str:
    """The course's own explanations, escaped, with `code` in backticks set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", e(text))


def advice(problem: str) -> str:
    return _(next((words for clues, words in PROBLEM_ADVICE if any(c in problem for c in clues)), GENERIC_ADVICE))


def _page(title: str, header: str, body: str, generated: datetime) -> str:
    written = _("page written {time} UTC").format(time=f"{generated:%Y-%m-%d %H:%M}")
    return (
        f"<!doctype html>\n<html lang='{e(current_language())}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><div>{header}</div></header><main>{body}"
        f"<footer>{e(_(COURSE_TITLE))} · {e(written)}</footer></main></body></html>\n"
    )


def _failure(failure: Failure, lesson: str, full_feedback: bool) -> str:
    if failure.ename:
        meaning = (_(ERROR_WORDS[failure.ename]) if failure.ename in ERROR_WORDS
                   else _("Your code raised {name} during the test:").format(name=failure.ename))
        shown = f"{failure.ename}: {failure.message}" if failure.message else failure.ename
        text = f"<p class='hint'>{words(meaning)}</p><div class='message'>{e(shown)}</div>"
    else:
        text = f"<p class='hint'>{e(_(failure.message).capitalize())}.</p>"
    test = f"<code>{e(failure.test)}</code>"
    if full_feedback:
        see = e(_("See test {test} in your notebook")).format(test=test)
        link = f"<a href='{e(lesson)}.html#{e(failure.test)}'>{see}</a>"
    else:
        link = e(_("Test {test}")).format(test=test)
    return f"<li>{text}<div>{link}</div></li>"


def student_page(lesson: str, result: StudentResult, full_feedback: bool, generated: datetime) -> str:
    """A student's report: points and failing tests per exercise, problems with what to do next time."""
    graded = (_("graded {time} UTC").format(time=f"{result.graded_at:%Y-%m-%d %H:%M}") if result.graded_at
              else _("not graded: there was no notebook to run"))
    header = (f"<p class='course'>{e(_(COURSE_TITLE))}</p><h1>{e(lesson)}</h1>"
              f"<div class='row'><p class='meta'>{e(result.student)} · {e(graded)}</p>"
              f"<span class='score'>{result.score:g} / {result.max_score:g}</span></div>")
    body = ["<h2>" + e(_("Exercises")) + "</h2>"]
    for exercise, (score, most) in result.points.items():
        passed = score == most
        failures = [f for f in result.failures if f.exercise == exercise]
        lost = ngettext("lost {points} point", "lost {points} points", 1 if most - score == 1 else 2)
        status = ("<span class='badge passed'>" + e(_("passed")) + "</span>" if passed
                  else f"<span class='badge failed'>{e(lost.format(points=f'{most - score:g}'))}</span>")
        items = "".join(_failure(f, lesson, full_feedback) for f in failures)
        if not passed and not failures:
            items = "<li><p class='hint'>" + e(_("Its tests did not run: see what happened below.")) + "</p></li>"
        body.append(
            f"<section class='card {'passed' if passed else 'failed'}' id='exercise-{e(exercise)}'>"
            f"<div class='row'><h3><code>{e(exercise)}</code></h3>"
            f"<span>{score:g} / {most:g} {status}</span></div>"
            + (f"<ul class='failures'>{items}</ul>" if items else "")
            + "</section>")
    if any(f.ename for f in result.failures):
        body.append("<p class='next'>" + e(_("The graded tests include hidden ones that your copy of the notebook "
                                             "did not show: their messages are here, their code is not. Make the code "
                                             "right, not only the cases you can see.")) + "</p>")
    body.append("<h2>" + e(_("What happened")) + "</h2>")
    if result.problems:
        for problem in result.problems:
            body.append(f"<section class='card problem'><p class='message'>{e(translate_message(problem))}</p>"
                        f"<p class='hint'>{words(advice(problem))}</p></section>")
    else:
        body.append("<p>" + e(_("Your notebook ran from top to bottom; nothing went wrong in grading.")) + "</p>")
    if result.review:
        lines = "".join(f"<li><div class='message'>{e(translate_message(reason))}</div></li>" for reason in result.review)
        body.append("<section class='card problem'><h3>" + e(_("Needs review")) + "</h3>"
                    f"<p class='hint'>{words(_(REVIEW_ADVICE))}</p>"
                    f"<ul class='failures'>{lines}</ul></section>")
    notebook_link = f"<a href='{e(lesson)}.html'>{e(lesson)}.html</a>"
    whole = e(_("Your whole notebook, with every test's output: {link}")).format(link=notebook_link)
    body.append(f"<p>{whole}</p>"
                if full_feedback else "<p>" + e(_("There is no graded notebook to show.")) + "</p>")
    return _page(f"{lesson}: {result.student}", header, "".join(body), generated)


def _names(students: Sequence[str], shown: int = 12) -> str:
    more = len(students) - shown
    return ", ".join(students[:shown]) + (f" and {more} more" if more > 0 else "")


def summary_page(lesson: str, results: Sequence[StudentResult], rates: dict[str, float],
                 mistakes: dict[str, list[Mistake]], generated: datetime) -> str:
    """The class overview: pass rates, scores, common mistakes, who needs attention, problems, review."""
    scores = sorted(r.score for r in results)
    most = max((r.max_score for r in results), default=0)
    mean = sum(scores) / len(scores) if scores else 0
    median = (scores[(len(scores) - 1) // 2] + scores[len(scores) // 2]) / 2 if scores else 0
    header = (f"<p class='course'>{e(COURSE_TITLE)}</p><h1>{e(lesson)}: class summary</h1>"
              f"<p class='meta'>{len(results)} submissions · mean {mean:.1f} / {most:g} · median {median:g} / {most:g}</p>")
    body = ["<h2>Pass rates</h2><div class='scroll'><table><tr><th>exercise</th><th class='num'>points</th>"
            "<th class='num'>full marks</th><th></th></tr>"]
    for exercise, rate in rates.items():
        body.append(f"<tr><td><code>{e(exercise)}</code></td><td class='num'>{results[0].points[exercise][1]:g}</td>"
                    f"<td class='num'>{rate:.0%}</td><td><div class='bar'><span style='width:{100 * rate:.0f}%'>"
                    "</span></div></td></tr>")
    body.append("</table></div><p><img src='pass-rates.png' alt='pass rate of each exercise'></p>")
    body.append("<h2>Scores</h2><p><img src='scores.png' alt='histogram of the scores'></p>")
    body.append("<h2>Common mistakes</h2><p class='next'>Each failure message, with the number of students who "
                "met it; their own values are replaced by …</p>")
    for exercise in rates:
        found = mistakes.get(exercise, [])
        body.append(f"<section class='card' id='mistakes-{e(exercise)}'><h3><code>{e(exercise)}</code></h3>")
        if found:
            body.append("<div class='scroll'><table class='mistakes'><tr><th class='num'>students</th>"
                        "<th>message</th><th>who</th></tr>")
            body += [f"<tr><td class='num'>{len(m.students)}</td><td><div class='message'>{e(m.message)}</div></td>"
                     f"<td>{e(_names(m.students))}</td></tr>" for m in found]
            body.append("</table></div>")
        else:
            body.append("<p>No failures.</p>")
        body.append("</section>")
    body.append("<h2>Students who need attention</h2><p class='next'>0 points, a problem, or a review flag.</p>")
    attention = [r for r in results if r.attention]
    if attention:
        body.append("<div class='scroll'><table class='attention'><tr><th>student</th><th class='num'>score</th>"
                    "<th>why</th></tr>")
        body += [f"<tr><td><a href='../../feedback/{e(r.student)}/{e(lesson)}/report.html'>{e(r.student)}</a></td>"
                 f"<td class='num'>{r.score:g} / {r.max_score:g}</td><td>{e(', '.join(r.attention))}</td></tr>"
                 for r in attention]
        body.append("</table></div>")
    else:
        body.append("<p>None.</p>")
    body.append("<h2>Problems</h2>")
    problems = [(r.student, p) for r in results for p in r.problems]
    body.append("<ul>" + "".join(f"<li><b>{e(s)}</b>: {e(p)}</li>" for s, p in problems) + "</ul>"
                if problems else "<p>None.</p>")
    body.append("<h2>Needs review</h2><p class='next'>Code that reaches for the grading machinery: the score "
                "stands until a teacher has read it.</p>")
    flagged = [r for r in results if r.review]
    for r in flagged:
        body.append(f"<section class='card problem'><h3>{e(r.student)} ({r.score:g} / {r.max_score:g})</h3>"
                    + "".join(f"<div class='message'>{e(reason)}</div>" for reason in r.review) + "</section>")
    if not flagged:
        body.append("<p>None.</p>")
    return _page(f"{lesson}: class summary", header, "".join(body), generated)
