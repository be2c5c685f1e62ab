"""The bubblewrap command line that walls a submission in.

Inside, a submission sees: the system's ``/usr`` and the Python that grades it, both
read-only; the ``autograder`` package, read-only; an empty private working folder and
``/tmp``, each a size-capped tmpfs; a minimal ``/dev`` and its own ``/proc``. It does
not see the course folder (solutions, gradebook, other students' work), the home
folder or ``/etc``'s secrets. It has no network, its own PID namespace (every process
it starts dies with it), no capabilities and no way to make new user namespaces, and
it runs as ``nobody`` inside its user namespace.

Flatpak runs applications in the same sandbox; see bwrap(1).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import autograder
from autograder.sandbox.limits import Limits

INSTALL_HINT = "install bubblewrap: sudo apt-get install bubblewrap (Debian, Ubuntu) or sudo dnf install bubblewrap"
#: The submission's working folder inside the sandbox; also its home.
SCRATCH = "/home/student"
#: The few files of /etc that programs need to start; nothing else of /etc is visible.
ETC_FILES = ("ld.so.cache", "localtime", "passwd", "group", "nsswitch.conf")
NOBODY = "65534"


#: Where the grader's ``autograder`` package and its virtual environment appear inside the sandbox.
#: Fixed places, away from ``/tmp`` and the working folder, wherever the course lives on the host.
GRADER_INSIDE = "/opt/grader"
VENV_INSIDE = "/opt/venv"


def package_root() -> Path:
    """The folder holding the ``autograder`` package that this grader runs."""
    return Path(autograder.__file__).resolve().parent.parent


def in_venv() -> bool:
    return Path(sys.prefix).resolve() != Path(sys.base_prefix).resolve()


def zygote_command(control_fd: int, *, contained: bool) -> list[str]:
    """The Python command that starts ``autograder.sandbox.zygote``, with only the grader's code importable.

    Inside the sandbox the virtual environment is at ``VENV_INSIDE`` (its ``pyvenv.cfg``
    still names the base interpreter, which is bound where it is) and the package at
    ``GRADER_INSIDE``; without the sandbox, both are where they are.
    """
    root = GRADER_INSIDE if contained else str(package_root())
    bootstrap = (f"import sys; sys.path.insert(0, {root!r}); "
                 f"from autograder.sandbox.zygote import main; main({control_fd}, {contained})")
    return [python(contained=contained), "-I", "-c", bootstrap]


def python(*, contained: bool) -> str:
    """This interpreter, as the sandbox (``contained``) or the host sees it."""
    if contained and in_venv():
        return str(Path(VENV_INSIDE, "bin", Path(sys.executable).name))
    return sys.executable


def bwrap_command(limits: Limits) -> list[str]:
    """``bwrap`` and its options, to be followed by the command to run inside."""
    command = [
        "bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--uid", NOBODY, "--gid", NOBODY,
        "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--hostname", "sandbox",
        "--ro-bind", "/usr", "/usr",
    ]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/", link)
        if target.is_symlink():
            command += ["--symlink", str(target.readlink()), str(target)]
        elif target.is_dir():
            command += ["--ro-bind", str(target), str(target)]
    for name in ETC_FILES:
        if Path("/etc", name).exists():
            command += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    size = str(limits.scratch_bytes)
    command += [
        "--proc", "/proc", "--dev", "/dev", "--size", str(64 * 1024 * 1024), "--tmpfs", "/dev/shm",
        "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", SCRATCH, "--chdir", SCRATCH,
    ]
    # After the tmpfs mounts: a base interpreter that lives under /tmp stays visible.
    base = str(Path(sys.base_prefix).resolve())
    command += ["--ro-bind", base, base, "--ro-bind", str(package_root() / "autograder"), f"{GRADER_INSIDE}/autograder"]
    if in_venv():
        command += ["--ro-bind", str(Path(sys.prefix).resolve()), VENV_INSIDE]
    command += [
        "--remount-ro", "/dev", "--remount-ro", "/",
        "--clearenv", "--setenv", "HOME", SCRATCH, "--setenv", "LANG", "C.UTF-8",
        "--setenv", "PATH", f"{VENV_INSIDE if in_venv() else base}/bin:/usr/bin:/bin",
        "--",
    ]
    return command


def bwrap_problem() -> str | None:
    """Why the sandbox cannot be used on this machine, or ``None`` when it can."""
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}"
    probe = subprocess.run([*bwrap_command(Limits()), python(contained=True), "-I", "-c", "pass"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        return (f"bubblewrap is installed but cannot make a sandbox here: {probe.stderr.strip()[:300]} "
                "(it needs unprivileged user namespaces, or root)")
    return None
