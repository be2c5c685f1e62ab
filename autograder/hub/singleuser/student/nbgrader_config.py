"""nbgrader's settings in a student's server on the course's JupyterHub.

The hub puts this folder on ``JUPYTER_CONFIG_PATH`` for every account that is not an
instructor (``autograder/hub/roles.py``).
"""

import os

c = get_config()  # noqa: F821 (nbgrader provides get_config)

# The exchange that the instructor releases into and collects from, shared by everyone.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# The student id is the JupyterHub user name. nbgrader itself takes the unix user's
# name, and JUPYTERHUB_USER only when that is "jovyan" (Zero to JupyterHub's images);
# on The Littlest JupyterHub the unix user is "jupyter-<name>", and in the local
# classroom every account shares one unix user. The hub name is the same everywhere.
if os.environ.get("JUPYTERHUB_USER"):
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
