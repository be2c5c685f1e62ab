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


def package_root() -> Path:
    """The folder holding the ``autograder`` package that this grader runs."""
    return Path(autograder.__file__).resolve().parent.parent


def python_folders() -> list[Path]:
    """The interpreter's installation and the virtual environment (if any), resolved."""
    folders = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(folders)


def zygote_command(control_fd: int, *, contained: bool) -> list[str]:
    """The Python command that starts ``autograder.sandbox.zygote``, with only the grader's code importable."""
    bootstrap = (f"import sys; sys.path.insert(0, {str(package_root())!r}); "
                 f"from autograder.sandbox.zygote import main; main({control_fd}, {contained})")
    return [sys.executable, "-I", "-c", bootstrap]


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
    # After the tmpfs mounts, so that a Python or a grader that lives under /tmp is not hidden by them.
    for folder in [*python_folders(), package_root() / "autograder"]:
        command += ["--ro-bind", str(folder), str(folder)]
    command += [
        "--remount-ro", "/dev", "--remount-ro", "/",
        "--clearenv", "--setenv", "HOME", SCRATCH, "--setenv", "LANG", "C.UTF-8",
        "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "--",
    ]
    return command


def bwrap_problem() -> str | None:
    """Why the sandbox cannot be used on this machine, or ``None`` when it can."""
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}"
    probe = subprocess.run([*bwrap_command(Limits()), sys.executable, "-I", "-c", "pass"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        return (f"bubblewrap is installed but cannot make a sandbox here: {probe.stderr.strip()[:300]} "
                "(it needs unprivileged user namespaces, or root)")
    return None
