"""Running nbgrader's own command line from Python, as a teacher would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries its output."""


def run_nbgrader(*args: str, course: Path, check: bool = True) -> str:
    """Run ``nbgrader ARGS`` in the course folder and return what it printed.

    nbgrader starts ``alembic`` as a subprocess to set up its gradebook, so this
    interpreter's ``bin/`` goes first on ``PATH`` even when no virtual environment is
    activated. With ``check=False`` a failure is returned as output, not raised: a
    batch command exits 1 when one student fails, after grading all the others.
    """
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    completed = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
    )
    if check and completed.returncode != 0:
        raise NbgraderError(
            f"`nbgrader {' '.join(args)}` failed with exit code {completed.returncode}:\n"
            f"{completed.stdout}{completed.stderr}"
        )
    return completed.stdout + completed.stderr
