"""Grading code and test helpers for the async iterators course.

What the notebooks import: ``autograder.checks`` (assertions with messages a student
can act on), ``autograder.clock`` (the virtual clock), ``autograder.fakes`` (slow
services to iterate over), ``autograder.progress`` (the progress table).

What teachers run: ``autograder.grade`` (a lesson for a whole class), which runs each
submission in ``autograder.sandbox`` (bubblewrap around a warm zygote), reads it with
``autograder.tamper`` (code that reaches for the grading machinery), and hands nbgrader
``autograder.nbgrader_execute`` and ``autograder.feedback`` in place of its kernel and
of its feedback's hidden tests; ``autograder.report`` writes what it found (its pages with
``autograder.report_html``, the LMS grade files with ``autograder.exports``);
``autograder.hub`` runs the course as a classroom on JupyterHub (``make hub``, and the
configuration for a real class).

What course authors run: ``autograder.release`` and ``autograder.outputs``.
"""
