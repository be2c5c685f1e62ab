"""The warm process inside a sandbox: it forks one child per submission and cleans up after each.

Starting Python and importing IPython costs about 0.2 s; forking a process that has
done it costs a few milliseconds. The zygote is started by ``exec`` (it never held
anything of the grader's), loads IPython and the test helpers, and then waits on its
control socket. For each submission the grader sends two pipe ends (the request in,
the results out); the zygote forks, the child runs the submission
(``autograder.sandbox.runner``), and the zygote itself never reads either pipe, so it
never holds a student's code or data that a later child could inherit.

When the child has ended, the zygote (``--contained``, inside bubblewrap) kills every
other process of the sandbox with ``kill(-1, SIGKILL)``, waits until none is left,
empties the working folder, ``/tmp`` and ``/dev/shm`` and removes System V IPC objects,
then reports ``clean`` with the child's exit code. Anything it cannot undo makes it
report ``dirty``, and the grader throws the whole sandbox away. It makes itself
non-dumpable, so a child cannot trace it or open its memory or descriptors.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from autograder.sandbox.runner import run_submission, warm_shell

#: The folders a submission can write to inside the sandbox, emptied after each one.
WRITABLE = ("/home/student", "/tmp", "/dev/shm")
PR_SET_DUMPABLE = 4
#: Seconds the zygote waits for a submission's processes to be gone after killing them.
SWEEP_LIMIT = 2.0


def main(control_fd: int, contained: bool) -> None:
    control = socket.socket(fileno=control_fd)
    if contained and Path("/proc/1/comm").read_text().strip() != "bwrap":
        raise SystemExit("--contained outside a bubblewrap PID namespace: kill(-1) would reach the whole machine")
    shell = warm_shell()
    if contained:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    control.send(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 64, 2)
        except OSError:
            return
        if message != b"fork" or len(fds) != 2:
            return  # the grader closed the socket
        request_fd, channel_fd = fds
        workdir = None if contained else tempfile.mkdtemp(prefix="grading-")
        child = os.fork()
        if child == 0:
            _child(control, request_fd, channel_fd, shell, workdir)
        os.close(request_fd)
        os.close(channel_fd)
        _, status = os.waitpid(child, 0)
        clean = _sweep() if contained else _sweep_loosely(child, workdir)
        control.send(f"{'clean' if clean else 'dirty'} {os.waitstatus_to_exitcode(status)}".encode())


def _child(control: socket.socket, request_fd: int, channel_fd: int, shell, workdir: str | None) -> None:
    code = 0
    try:
        control.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if workdir is not None:
            os.setsid()  # without bubblewrap, its process group is what the zygote can kill afterwards
            os.chdir(workdir)
            os.environ["HOME"] = workdir
        run_submission(request_fd, channel_fd, shell)
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _sweep() -> bool:
    """Kill every process of the sandbox but this one, and undo every change a submission can make."""
    try:
        os.kill(-1, signal.SIGKILL)  # every process this one may signal, in this PID namespace, but init and itself
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + SWEEP_LIMIT
    while _others():
        _reap()
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    try:
        for folder in WRITABLE:
            _empty(Path(folder))
        if any(len(Path(f"/proc/sysvipc/{kind}").read_text().splitlines()) > 1 for kind in ("shm", "sem", "msg")):
            subprocess.run(["ipcrm", "--all"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def _others() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, os.getpid())]


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _empty(folder: Path) -> None:
    os.chmod(folder, 0o1777 if folder.name == "tmp" else 0o755)
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, onerror=_writable_and_retry)
        else:
            os.unlink(entry.path)


def _writable_and_retry(function, path: str, _exc_info) -> None:
    """A folder the submission made read-only or unlistable is still its own: open it up and go on."""
    os.chmod(os.path.dirname(path), stat.S_IRWXU)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, stat.S_IRWXU)
    function(path)


def _sweep_loosely(child: int, workdir: str) -> bool:
    """Without bubblewrap: kill the child's process group and remove its folder (a process that left the group lives on)."""
    try:
        os.killpg(child, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _reap()
    shutil.rmtree(workdir, ignore_errors=True)
    return True
