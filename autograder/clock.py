"""A virtual clock for the notebooks' event loop.

Examples and tests in this course are about time: "these two run concurrently, so
the whole takes 3 s, not 4 s". Measured on the wall clock, such numbers wobble and
make the suite slow. With looptime, the running loop's clock only moves when every
task is waiting, and then jumps straight to the next timer: `await asyncio.sleep(3)`
returns at once, `loop.time()` reads exactly 3.0 more, and a coroutine that waits
forever runs into its timeout immediately instead of freezing the kernel.
"""

from __future__ import annotations

import asyncio

import looptime

#: Loop times are rounded to this many decimals, the virtual clock's microsecond resolution.
DECIMALS = 6


def use_virtual_clock() -> None:
    """Switch the running event loop to virtual time.

    Safe to call again: the first call starts the clock at 0, later calls leave it
    where it is, so a notebook's outputs are the same however often tests run.
    """
    loop = asyncio.get_running_loop()
    if not isinstance(loop, looptime.LoopTimeEventLoop):
        looptime.patch_event_loop(loop, start=0)


def now() -> float:
    """The running loop's time, rounded to microseconds so that sums print cleanly."""
    return round(asyncio.get_running_loop().time(), DECIMALS)


def since(start: float) -> float:
    """Loop time passed since ``start`` (a ``now()`` reading), rounded like ``now()``.

    Loop times are floats, so ``8.3 - 7.3`` is ``0.9999999999999991``; rounding to the
    clock's microsecond resolution gives back the exact ``1.0``.
    """
    return round(now() - start, DECIMALS)


class Stopwatch:
    """Measures how much loop time passes inside a ``with`` block.

    >>> with Stopwatch() as watch:          # doctest: +SKIP
    ...     await asyncio.sleep(2)
    >>> watch.elapsed                        # doctest: +SKIP
    2.0
    """

    def __enter__(self) -> Stopwatch:
        self.started = now()
        self.elapsed: float | None = None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.elapsed = since(self.started)
