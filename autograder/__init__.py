"""Grading code and test helpers for the async iterators course.

The notebooks' test cells import from ``autograder.checks`` (assertions with messages
a student can act on), ``autograder.clock`` (the virtual clock) and
``autograder.fakes`` (slow services to iterate over). The teacher's and author's
commands live in ``autograder.release`` and ``autograder.outputs``.
"""
