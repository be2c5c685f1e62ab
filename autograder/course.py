"""Where the course keeps its lessons, read from the course's ``nbgrader_config.py``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
#: nbval's patterns for volatile output text; pyproject.toml passes the same file to nbval.
SANITIZE_FILE = "tests/nbval-sanitize.cfg"


@dataclass(frozen=True)
class Course:
    """A course folder: its nbgrader config, source (solutions) and release (student) folders."""

    root: Path

    @classmethod
    def at(cls, root: Path) -> Course:
        root = root.resolve()
        if not (root / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{root} is not a course folder: it has no {CONFIG_FILE}")
        return cls(root)

    def _folder(self, option: str) -> Path:
        config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
        return self.root / config.CourseDirectory[option]

    @property
    def source(self) -> Path:
        return self._folder("source_directory")

    @property
    def release(self) -> Path:
        return self._folder("release_directory")

    @property
    def sanitize_patterns_file(self) -> Path:
        """The repository's file: in this folder, or above it for a translated edition (``zh_CN/``)."""
        return next((folder / SANITIZE_FILE for folder in (self.root, *self.root.parents)
                     if (folder / SANITIZE_FILE).is_file()), self.root / SANITIZE_FILE)

    def lessons(self) -> list[str]:
        """The lesson (nbgrader assignment) names, in teaching order."""
        return sorted(path.parent.name for path in self.source.glob("*/*.ipynb"))

    def course_notebooks(self) -> list[Path]:
        """Notebooks beside the lessons (such as the progress check): not graded, released as they are."""
        return sorted(self.source.glob("*.ipynb"))

    def solution_notebook(self, lesson: str) -> Path:
        return self.source / lesson / f"{lesson}.ipynb"

    def student_notebook(self, lesson: str) -> Path:
        return self.release / lesson / f"{lesson}.ipynb"

    @property
    def gradebook(self) -> Path:
        """nbgrader's gradebook, beside the configuration."""
        return self.root / "gradebook.db"

    @property
    def gradebook_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    @property
    def submitted(self) -> Path:
        """nbgrader's folder of collected submissions, ``submitted/<student>/<lesson>/``."""
        return self.root / "submitted"

    def submissions(self, lesson: str) -> list[Path]:
        """The ``submitted/<student>/<lesson>`` folders of every student who submitted ``lesson``."""
        return sorted(path for path in self.submitted.glob(f"*/{lesson}") if path.is_dir())
