"""JupyterHub's configuration for the local classroom (``make hub``), for one machine.

Every account runs as the unix user who started the hub (``SimpleLocalProcessSpawner``),
logs in with any password (``DummyAuthenticator``, limited to the listed accounts), and
the hub listens on 127.0.0.1 only. That is enough to try the whole nbgrader cycle with
an instructor and a few students; it is no protection between them (any of them can
read the others' files and the course's solutions from a terminal or a kernel). For a
real class see ``autograder/hub/deploy/``.

``python -m autograder.hub`` sets the ``CLASSROOM_*`` variables read here.
"""

import os
import sys
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner

from autograder.course import Course
from autograder.hub.roles import INSTRUCTORS_GROUP, role_hook

c = get_config()  # noqa: F821 (JupyterHub provides get_config)

course = Course.at(Path(os.environ["CLASSROOM_COURSE"]))
state = Path(os.environ["CLASSROOM_STATE"])
instructor = os.environ["CLASSROOM_INSTRUCTOR"]
students = os.environ["CLASSROOM_STUDENTS"].split(",")

c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['CLASSROOM_PORT']}"
c.JupyterHub.hub_port = int(os.environ["CLASSROOM_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['CLASSROOM_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [os.environ["CLASSROOM_PROXY"]]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {instructor, *students}
c.Authenticator.admin_users = {instructor}
c.JupyterHub.load_groups = {INSTRUCTORS_GROUP: {"users": [instructor]}}


class ClassroomSpawner(SimpleLocalProcessSpawner):
    """Starts a server in its folder (the instructor's: the course), not in the home.

    A JupyterLab terminal opens in the server process's folder, and the instructor
    runs nbgrader and the grading command in the course folder.
    """

    def make_preexec_fn(self, name):
        in_home = super().make_preexec_fn(name)
        folder = self.notebook_dir

        def preexec():
            in_home()
            if folder:
                os.chdir(folder)

        return preexec


c.JupyterHub.spawner_class = ClassroomSpawner
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "homes" / "{username}")
c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
# The servers find the course's Python, the grader's bwrap and the system's tools.
c.Spawner.environment = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])}
# Terminals run bash as it is, not as a login shell (whose /etc/profile resets PATH).
c.Spawner.args = ['--ServerApp.terminado_settings=shell_command=["/bin/bash"]']
if os.geteuid() == 0:  # containers and CI run as root; Jupyter refuses it unless told
    c.Spawner.args.append("--allow-root")
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
c.Spawner.pre_spawn_hook = role_hook(
    course=str(course.root), exchange=str(state / "exchange"), welcome=course.release / "progress.ipynb",
)
