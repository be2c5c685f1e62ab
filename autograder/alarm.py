"""A real-time limit for code that never gives the event loop a chance.

The virtual clock stops an ``await`` that waits forever, but not a loop that never
awaits (``while True: pass``) or one that only ever awaits ``sleep(0)``: loop time
does not move while such code runs. A ``SIGALRM`` timer does interrupt it. The
handler raises inside the code when that code is running, and otherwise cancels the
task from the loop, because an exception raised in the middle of the event loop's
own machinery would break the loop (and the kernel with it).
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from types import FrameType


class RealTimeUp(BaseException):
    """Raised in the limited code when its time is up.

    A ``BaseException``, like ``KeyboardInterrupt``, so that a student's
    ``except Exception`` does not swallow it.
    """


class RealTimeLimit:
    """``with RealTimeLimit(seconds, task=...):`` limits ``task`` (by default, the current one).

    ``expired`` tells afterwards whether the time ran out. Where no alarm signal is
    available (another thread, another platform), it limits nothing.
    """

    def __init__(self, seconds: float, *, task: asyncio.Task | None = None) -> None:
        self.seconds = seconds
        self.expired = False
        self._task = task

    def __enter__(self) -> RealTimeLimit:
        if self._task is None:
            self._task = asyncio.current_task()
        self._armed = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        if self._armed:
            # A limit inside another (a test's inside the grader's cell limit) ends no later than the outer one,
            # and hands the outer one back what is left of it.
            self._outer = signal.getitimer(signal.ITIMER_REAL)[0]
            self._entered = time.monotonic()
            self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, min(self.seconds, self._outer) if self._outer else self.seconds)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            if self._outer:
                left = self._outer - (time.monotonic() - self._entered)
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._outer and self._outer < self.seconds and callable(self._previous):
            return self._previous(signum, frame)  # the outer limit's time ran out, not this one's
        self.expired = True
        if self._task is None or _running_task() is self._task:
            raise RealTimeUp
        self._task.get_loop().call_soon_threadsafe(self._task.cancel)


def _running_task() -> asyncio.Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
