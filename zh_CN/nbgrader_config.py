"""nbgrader's configuration for the Simplified Chinese edition, a course of its own.

`solutions/` and `notebooks/` here are generated (`make release`) from the English
course's `solutions/` and the catalogs in `translations/zh_CN/`: never edit them by hand.
Teacher work folders (`submitted/`, `autograded/`, `feedback/`, `reports/`) and this
edition's `gradebook.db` are created next to this file and kept out of git. The settings
are the English course's (`../nbgrader_config.py`, a test checks it); only the id differs.
"""

import os

c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "async-iterators-zh_CN"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# A cell that runs longer than this is stopped and scores 0 (as in the English course).
c.Execute.timeout = 30

# Feedback never shows the hidden tests' code, whoever generates it: the grading
# command, the formgrader's "Generate Feedback" button, or `nbgrader generate_feedback`.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
