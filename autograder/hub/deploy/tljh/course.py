"""The course on The Littlest JupyterHub (one server, every account its own unix user).

Copy this file to /opt/tljh/config/jupyterhub_config.d/ and edit INSTRUCTORS, then
``sudo tljh-config reload hub``. The README's "A real class" section has every step:
the course package installed into the hub's and the users' environments (never
editable: students must not need to read the course folder), the exchange folder,
and the instructor's course folder at ~/course.
"""

from autograder.hub.roles import INSTRUCTORS_GROUP, role_hook

c = get_config()  # noqa: F821 (JupyterHub provides get_config)

#: The hub accounts that teach (each works in /home/jupyter-<name>/course).
INSTRUCTORS = ["teacher"]

c.JupyterHub.load_groups = {INSTRUCTORS_GROUP: {"users": INSTRUCTORS}}
c.Authenticator.admin_users = set(INSTRUCTORS)
c.Spawner.pre_spawn_hook = role_hook(course="/home/jupyter-{username}/course", exchange="/srv/nbgrader/exchange")
