"""The classroom's configuration for a real class, checked as far as it runs here.

No Kubernetes cluster, LMS or Littlest JupyterHub server is reachable from CI, so these
tests load the shipped files with the loaders that read them (JupyterHub's config
loader, YAML, nbgrader's), import every class they name, run their spawn and login
hooks on the objects those hooks receive, and build the package a classroom installs
for its users. ``test_classroom_on_hub.py`` runs the same roles on a live hub.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import yaml
from jupyterhub.spawner import LocalProcessSpawner
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item

from autograder.hub import roles
from tests.conftest import REPOSITORY

DEPLOY = REPOSITORY.root / "autograder" / "hub" / "deploy"
LTI_INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LTI_LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def load(*files: Path) -> Config:
    """JupyterHub's way: each file in turn, later files overriding earlier ones."""
    config = Config()
    for file in files:
        config.merge(PyFileConfigLoader(file.name, path=str(file.parent)).load_config())
    return config


def user(name: str, *groups: str) -> SimpleNamespace:
    """A hub user as a spawn hook sees it: a name and its groups (orm.Group has .name)."""
    return SimpleNamespace(name=name, groups=[SimpleNamespace(name=group) for group in groups])


def nbgrader_settings(config_path: str, **environment: str) -> Config:
    """The nbgrader config a server with this JUPYTER_CONFIG_PATH and environment reads."""
    config = Config()
    saved = dict(os.environ)
    os.environ.update(environment)
    try:
        for folder in config_path.split(os.pathsep):
            if (Path(folder) / "nbgrader_config.py").is_file():
                config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return config


def test_the_littlest_jupyterhub_gives_each_role_its_settings() -> None:
    config = load(DEPLOY / "tljh" / "course.py")
    assert config.JupyterHub.load_groups == {roles.INSTRUCTORS_GROUP: {"users": ["teacher"]}}
    assert config.Authenticator.admin_users == {"teacher"}
    hook = config.Spawner.pre_spawn_hook

    teacher = LocalProcessSpawner(user=user("teacher", roles.INSTRUCTORS_GROUP))
    hook(teacher)
    assert teacher.notebook_dir == "/home/jupyter-teacher/course"
    assert teacher.environment["NBGRADER_EXCHANGE"] == "/srv/nbgrader/exchange"
    assert teacher.environment["JUPYTER_CONFIG_PATH"] == f"{roles.INSTRUCTOR_CONFIG}:/home/jupyter-teacher/course"
    settings = nbgrader_settings(teacher.environment["JUPYTER_CONFIG_PATH"], **teacher.environment)
    assert settings.Exchange.root == "/srv/nbgrader/exchange"
    assert settings.ExchangeCollect.check_owner is False
    assert "student_id" not in settings.CourseDirectory  # the instructor collects everyone's

    alice = LocalProcessSpawner(user=user("alice"))
    hook(alice)
    assert alice.notebook_dir == ""  # her home
    assert alice.environment["JUPYTER_CONFIG_PATH"] == str(roles.STUDENT_CONFIG)
    settings = nbgrader_settings(alice.environment["JUPYTER_CONFIG_PATH"], JUPYTERHUB_USER="alice", **alice.environment)
    assert settings.Exchange.root == "/srv/nbgrader/exchange"
    assert settings.CourseDirectory.student_id == "alice"
    assert (roles.STUDENT_CONFIG / "labconfig" / "page_config.json").is_file()


def test_lti_13_login_loads_after_the_course_and_lets_the_lms_name_the_instructors() -> None:
    config = load(DEPLOY / "tljh" / "course.py", DEPLOY / "lti13.py")
    authenticator_class = import_item(config.JupyterHub.authenticator_class)
    assert authenticator_class.__name__ == "LTI13Authenticator"
    authenticator = authenticator_class(config=config)
    assert authenticator.client_id == {"CHANGE-ME"} and authenticator.issuer.startswith("https://")
    assert authenticator.username_key == "custom_canvas_user_login_id"
    assert authenticator.manage_groups
    # JupyterHub refuses to start when groups are both managed by the authenticator and loaded.
    assert not config.JupyterHub.load_groups
    hook = config.Authenticator.post_auth_hook

    def launch(*lti_roles: str) -> dict:
        token = {"https://purl.imsglobal.org/spec/lti/claim/roles": list(lti_roles)}
        return hook(authenticator, None, {"name": "someone", "auth_state": token})

    assert launch(LTI_INSTRUCTOR, LTI_LEARNER)["groups"] == [roles.INSTRUCTORS_GROUP]
    assert launch(LTI_LEARNER)["groups"] == []
    assert launch()["groups"] == []
    # The username the authenticator reads from a launch (its custom claim) is the nbgrader student id.
    custom = {"https://purl.imsglobal.org/spec/lti/claim/custom": {"canvas_user_login_id": "s1234567"}}
    assert authenticator.get_username(custom) == "s1234567"


def test_zero_to_jupyterhub_values_mount_the_exchange_and_the_course_for_instructors() -> None:
    values = yaml.safe_load((DEPLOY / "z2jh" / "values.yaml").read_text())
    claims = {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all((DEPLOY / "z2jh" / "volumes.yaml").read_text())}
    assert all(claim["spec"]["accessModes"] == ["ReadWriteMany"] for claim in claims.values())

    storage = values["singleuser"]["storage"]
    volumes = {volume["name"]: volume for volume in storage["extraVolumes"]}
    mounts = {mount["name"]: mount["mountPath"] for mount in storage["extraVolumeMounts"]}
    assert mounts == {"nbgrader-exchange": roles.DEFAULT_EXCHANGE}
    assert volumes["nbgrader-exchange"]["persistentVolumeClaim"]["claimName"] in claims

    config = Config()
    exec(values["hub"]["extraConfig"]["course"], {"c": config})  # as the chart's hub does
    hook = config.KubeSpawner.pre_spawn_hook

    def spawned(account) -> SimpleNamespace:
        spawner = SimpleNamespace(user=account, volumes=[], volume_mounts=[], environment={}, notebook_dir="")
        hook(spawner)
        return spawner

    teacher, alice = spawned(user("teacher", roles.INSTRUCTORS_GROUP)), spawned(user("alice"))
    assert [v["persistentVolumeClaim"]["claimName"] for v in teacher.volumes] == ["course"]
    assert "course" in claims
    assert teacher.volume_mounts == [{"name": "course", "mountPath": "/home/jovyan/course"}]
    assert teacher.notebook_dir == "/home/jovyan/course"
    assert alice.volumes == [] and alice.volume_mounts == [] and alice.notebook_dir == ""
    for spawner, role in ((teacher, roles.INSTRUCTOR_CONFIG), (alice, roles.STUDENT_CONFIG)):
        assert spawner.environment["NBGRADER_EXCHANGE"] == roles.DEFAULT_EXCHANGE
        settings = spawner.environment["JUPYTER_CONFIG_PATH"].split(":")[0]
        assert settings == f"/srv/course/singleuser/{role.name}"  # the image links the package's folder there
    assert values["hub"]["config"]["JupyterHub"]["load_groups"]["instructors"]["users"] == \
        values["hub"]["config"]["Authenticator"]["admin_users"]


def test_the_users_image_copies_no_solutions() -> None:
    dockerfile = (DEPLOY / "z2jh" / "Dockerfile").read_text()
    copied = [source for line in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile, re.M) for source in line.split()]
    assert copied and all((REPOSITORY.root / source).exists() for source in copied)
    assert not any(source.startswith((REPOSITORY.source.name, "tests", ".")) for source in copied)
    # The image links the settings folder the package reports; it must be where the hook expects.
    link = re.search(r"ln -s \"\$\(python -c '(.+?)'\)\" (\S+)", dockerfile)
    printed = subprocess.run([sys.executable, "-c", link.group(1)], capture_output=True, text=True, check=True)
    assert Path(printed.stdout.strip()) == roles.SINGLEUSER and link.group(2) == "/srv/course/singleuser"


def test_the_package_for_the_users_holds_the_hub_settings_and_no_course(tmp_path: Path) -> None:
    """What a classroom installs for its users (``pip install`` of this folder, not editable)."""
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(REPOSITORY.root / "pyproject.toml", source)
    shutil.copytree(REPOSITORY.root / "autograder", source / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(source)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for settings in (roles.STUDENT_CONFIG, roles.INSTRUCTOR_CONFIG):
        for file in settings.rglob("*"):
            if file.is_file() and "__pycache__" not in file.parts:
                assert str(file.relative_to(REPOSITORY.root)) in names
    assert "autograder/sandbox/zygote.py" in names and "autograder/progress.py" in names
    assert not any(name.endswith(".ipynb") or name.startswith(REPOSITORY.source.name) for name in names)
