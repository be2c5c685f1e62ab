"""Log in from an LMS with LTI 1.3 (``jupyterhub-ltiauthenticator``): Canvas, Moodle, ...

Use it after the hub's course configuration: on The Littlest JupyterHub copy it to
/opt/tljh/config/jupyterhub_config.d/ next to course.py (it is read after it); on
Zero to JupyterHub paste it under ``hub.extraConfig`` after ``course`` (see
values.yaml). The LMS's values come from the environment (or write them in):

- LTI13_ISSUER: the platform's issuer, e.g. https://canvas.instructure.com
- LTI13_AUTHORIZE_URL: its OIDC authorization end point,
  e.g. https://sso.canvaslms.com/api/lti/authorize_redirect
- LTI13_JWKS_ENDPOINT: its key set, e.g. https://sso.canvaslms.com/api/lti/security/jwks
- LTI13_CLIENT_ID: the client id the LMS gave this tool (Canvas: the developer key's id)

Register the tool in the LMS with the hub's ``/hub/lti13/config`` (JSON), or by hand:
login initiation ``https://HUB/hub/lti13/oauth_login``, redirect
``https://HUB/hub/lti13/oauth_callback``.

The LMS decides who teaches: a launch with the LTI Instructor role puts the account in
the ``instructors`` group (the formgrader and the course folder), every other launch
is a student. The user name is the LMS login id (Canvas: add the custom field
``canvas_user_login_id=$Canvas.user.loginId`` to the developer key), which is the
student id in nbgrader, so ``make grade ... GRADE_ARGS="--export canvas"`` matches
Canvas's ``SIS Login ID`` column.
"""

import os

c = get_config()  # noqa: F821 (JupyterHub provides get_config)

INSTRUCTORS_GROUP = "instructors"  # as in autograder/hub/roles.py
LTI_ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
INSTRUCTOR_ROLES = ("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
                    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor")

c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
c.LTI13Authenticator.issuer = os.environ.get("LTI13_ISSUER", "https://canvas.instructure.com")
c.LTI13Authenticator.authorize_url = os.environ.get(
    "LTI13_AUTHORIZE_URL", "https://sso.canvaslms.com/api/lti/authorize_redirect")
c.LTI13Authenticator.jwks_endpoint = os.environ.get(
    "LTI13_JWKS_ENDPOINT", "https://sso.canvaslms.com/api/lti/security/jwks")
c.LTI13Authenticator.client_id = {os.environ.get("LTI13_CLIENT_ID", "CHANGE-ME")}
c.LTI13Authenticator.username_key = os.environ.get("LTI13_USERNAME_KEY", "custom_canvas_user_login_id")
c.LTI13Authenticator.tool_name = "Async iterators and async generators"
c.LTI13Authenticator.tool_description = "The course's notebooks, graded with nbgrader"

# Everyone the LMS launches may log in; the LMS course is the guest list.
c.Authenticator.allow_all = True
# Groups come from the LMS's roles at each login, not from a list in the hub's config.
c.Authenticator.manage_groups = True
c.JupyterHub.load_groups = {}


def instructors_from_lms_roles(authenticator, handler, authentication: dict) -> dict:
    """An LTI Instructor joins the instructors group; anyone else is (or becomes) a student."""
    roles = (authentication.get("auth_state") or {}).get(LTI_ROLES, [])
    authentication["groups"] = [INSTRUCTORS_GROUP] if any(role in INSTRUCTOR_ROLES for role in roles) else []
    return authentication


c.Authenticator.post_auth_hook = instructors_from_lms_roles
