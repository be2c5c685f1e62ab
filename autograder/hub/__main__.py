"""Start the local classroom: JupyterHub with nbgrader's exchange, on this machine only.

    python -m autograder.hub [--port 8000] [--students alice,bob,carol]   # or: make hub

It prints the address and the accounts once the hub answers, and runs until Ctrl+C.
Its state (the exchange, the students' homes, the hub's database) is kept in
``.hub/`` in the course folder, so a restart keeps released lessons and submissions;
delete that folder to start afresh.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from autograder.course import Course

LOCAL_CONFIG = Path(__file__).resolve().parent / "local_config.py"
#: Where ``make hub`` installs configurable-http-proxy from npm.
DEFAULT_PROXY = Path(sys.prefix) / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, hub: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise SystemExit(f"JupyterHub exited with code {hub.returncode}; its log is above")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"JupyterHub did not answer at {url} within {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course folder (default: here)")
    parser.add_argument("--state", type=Path, help="the classroom's folder (default: COURSE/.hub)")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default %(default)d)")
    parser.add_argument("--instructor", default="instructor", help="the instructor's account name")
    parser.add_argument("--students", default="alice,bob,carol", help="students' account names, comma-separated")
    parser.add_argument("--proxy", type=Path, default=DEFAULT_PROXY, help="configurable-http-proxy executable")
    args = parser.parse_args()

    course = Course.at(args.course)
    state = (args.state or course.root / ".hub").resolve()
    if not os.access(args.proxy, os.X_OK):
        raise SystemExit(f"configurable-http-proxy is missing at {args.proxy}: `make hub` installs it "
                         "(npm install --prefix .venv/proxy configurable-http-proxy)")
    students = [name.strip() for name in args.students.split(",") if name.strip()]
    if not students or args.instructor in students:
        raise SystemExit("name at least one student, and none with the instructor's name")
    (state / "homes").mkdir(parents=True, exist_ok=True)
    exchange = state / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777)  # as nbgrader's documentation sets it up: everyone releases or submits

    env = {
        **os.environ,
        "CLASSROOM_COURSE": str(course.root), "CLASSROOM_STATE": str(state),
        "CLASSROOM_PORT": str(args.port), "CLASSROOM_HUB_PORT": str(free_port()),
        "CLASSROOM_PROXY_API_PORT": str(free_port()), "CLASSROOM_PROXY": str(args.proxy.resolve()),
        "CLASSROOM_INSTRUCTOR": args.instructor, "CLASSROOM_STUDENTS": ",".join(students),
    }
    started = time.monotonic()
    hub = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(LOCAL_CONFIG)], cwd=state, env=env)
    signal.signal(signal.SIGTERM, lambda *_: hub.terminate())
    try:
        url = f"http://127.0.0.1:{args.port}"
        wait_until_healthy(f"{url}/hub/health", hub, seconds=120)
        print(f"\nThe classroom is ready at {url}/ (JupyterHub started in {time.monotonic() - started:.1f} s)\n"
              f"  instructor: {args.instructor}\n  students:   {', '.join(students)}\n"
              f"  password:   any (accounts only; the hub listens on this machine only)\n"
              f"  course:     {course.root}\n  exchange:   {exchange}\n"
              "Stop it with Ctrl+C.\n", flush=True)
        hub.wait()
    except KeyboardInterrupt:
        hub.terminate()
        hub.wait()
    finally:
        if hub.poll() is None:
            hub.terminate()
            hub.wait()


if __name__ == "__main__":
    main()
