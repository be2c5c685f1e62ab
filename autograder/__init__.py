"""Grading code and test helpers for the async iterators course.

What the notebooks import: ``autograder.checks`` (assertions with messages a student
can act on), ``autograder.clock`` (the virtual clock), ``autograder.fakes`` (slow
services to iterate over), ``autograder.progress`` (the progress table).

What teachers run: ``autograder.grade`` (a lesson for a whole class). It grades each
submission from end to end in a warm worker process (``autograder.workers``,
``autograder.grading``): runs it in ``autograder.sandbox`` (bubblewrap around a warm
zygote), reads it with ``autograder.tamper`` (code that reaches for the grading
machinery), scores it with nbgrader's own preprocessors and gradebook, and writes
nbgrader's feedback page without the hidden tests (``autograder.feedback``); each
worker's first submission starts running while nbgrader loads, once the lesson is in the
gradebook (``autograder.early_start``);
``autograder.report`` writes what it found (its pages with ``autograder.report_html``,
its pictures with ``autograder.report_plots``, the LMS grade files with
``autograder.exports``);
``autograder.hub`` runs the course as a classroom on JupyterHub (``make hub``, and the
configuration for a real class).

What course authors run: ``autograder.release`` and ``autograder.outputs``.
"""
