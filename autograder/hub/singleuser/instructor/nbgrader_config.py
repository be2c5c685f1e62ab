"""nbgrader's settings in an instructor's server on the course's JupyterHub.

The hub puts this folder, then the course folder (with the course's own
``nbgrader_config.py``), on ``JUPYTER_CONFIG_PATH`` for instructors
(``autograder/hub/roles.py``), so that the formgrader, the Nbgrader menu and
``nbgrader`` in a terminal all find the course and the exchange.
"""

import os

c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# Student ids are JupyterHub user names (see the students' settings), not the unix
# owners of the submitted files, so nbgrader's owner check would warn on every one.
c.ExchangeCollect.check_owner = False
