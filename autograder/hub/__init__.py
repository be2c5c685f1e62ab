"""The course as a classroom on JupyterHub, with nbgrader's exchange.

Teachers use this folder. ``python -m autograder.hub`` (``make hub``) starts a local
classroom to try the whole cycle on one machine (``local_config.py``); ``roles.py``
gives each account its role's configuration when its server starts (the instructor's
and the students' nbgrader and JupyterLab settings are in ``singleuser/``); ``deploy/``
holds the configuration for a real class (The Littlest JupyterHub, Zero to JupyterHub,
LTI 1.3 login from an LMS).
"""
