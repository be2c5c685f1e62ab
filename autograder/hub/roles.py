"""Each account's role, applied when its server starts: instructor or student.

An instructor (a member of the hub group ``instructors``) works in the course folder
with nbgrader's teacher tools: the formgrader, and ``nbgrader`` and the grading
command in a terminal. A student works in their home with the Assignment List and
Validate only, and never sees the course folder: what reaches them is what the
instructor releases through nbgrader's exchange (student notebooks, no solutions, no
hidden tests) and their own feedback.

``role_hook`` returns the hub's ``Spawner.pre_spawn_hook``; the local classroom and
The Littlest JupyterHub configuration both use it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

SINGLEUSER = Path(__file__).resolve().parent / "singleuser"
INSTRUCTOR_CONFIG = SINGLEUSER / "instructor"
STUDENT_CONFIG = SINGLEUSER / "student"
INSTRUCTORS_GROUP = "instructors"
#: nbgrader's default exchange folder, used unless the hub names another.
DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"


def is_instructor(user) -> bool:
    return any(group.name == INSTRUCTORS_GROUP for group in user.groups)


def role_hook(course: str, exchange: str = DEFAULT_EXCHANGE,
              welcome: Path | None = None) -> Callable[[object], None]:
    """The pre-spawn hook: an instructor's server opens ``course``, a student's their home.

    ``course`` may hold ``{username}`` (for example ``/home/jupyter-{username}/course``).
    ``welcome`` is a notebook copied into a student's home when it is missing there
    (the progress notebook), for spawners whose home the hub can write.
    """

    def pre_spawn_hook(spawner) -> None:
        environment = {**spawner.environment, "NBGRADER_EXCHANGE": exchange}
        if is_instructor(spawner.user):
            folder = course.format(username=spawner.user.name)
            spawner.notebook_dir = folder
            environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(INSTRUCTOR_CONFIG), folder])
        else:
            environment["JUPYTER_CONFIG_PATH"] = str(STUDENT_CONFIG)
            home = getattr(spawner, "home_dir", None)
            if welcome is not None and home:
                Path(home).mkdir(parents=True, exist_ok=True)
                if not (Path(home) / welcome.name).exists():
                    shutil.copy(welcome, Path(home) / welcome.name)
        spawner.environment = environment

    return pre_spawn_hook
