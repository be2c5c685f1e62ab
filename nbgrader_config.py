"""nbgrader's configuration for this course: the one place that names its folders.

`solutions/` holds the instructor notebooks (nbgrader's source folder); `notebooks/`
holds the student notebooks that `make release` generates from them. Each lesson
folder is one nbgrader assignment. Teacher work folders (`submitted/`, `autograded/`,
`feedback/`) and `gradebook.db` are created next to this file and kept out of git.
"""

import os

c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "async-iterators"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# A cell that runs longer than this is stopped and scores 0. The exercises' tests
# run on a virtual clock and take milliseconds, so this only catches runaway code.
c.Execute.timeout = 30

# Feedback never shows the hidden tests' code, whoever generates it: the grading
# command, the formgrader's "Generate Feedback" button, or `nbgrader generate_feedback`.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
