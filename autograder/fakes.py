"""Stand-ins for the slow outside world that the exercises iterate over.

They take virtual time like a network would and remember every request, so a test
can ask not only "were the right items produced?" but "was anything fetched before it
was needed?".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    """One page of results: its items, and the cursor of the next page (``None`` on the last)."""

    items: tuple[Any, ...]
    next_cursor: str | None


class PagedAPI:
    """A fake web API that serves a list of pages by cursor.

    ``await api.fetch(None)`` returns the first page; each page's ``next_cursor`` is
    the argument that fetches the one after it. Every call is recorded in
    ``api.requests`` and takes ``latency`` seconds of loop time. With ``fail_on=n``,
    the n-th call (counting from 1) raises ``ConnectionError`` instead.
    """

    def __init__(self, pages: Sequence[Sequence[Any]], *, latency: float = 0.5, fail_on: int | None = None) -> None:
        if not pages:
            raise ValueError("a PagedAPI needs at least one page (it may be empty)")
        self._pages = [tuple(items) for items in pages]
        self.latency = latency
        self.fail_on = fail_on
        self.requests: list[str | None] = []

    def cursor_of(self, index: int) -> str | None:
        """The cursor that fetches page ``index`` (the first page's is ``None``)."""
        return None if index == 0 else f"page-{index + 1}"

    async def fetch(self, cursor: str | None = None) -> Page:
        """Return the page that ``cursor`` points at, after ``latency`` seconds."""
        self.requests.append(cursor)
        await asyncio.sleep(self.latency)
        if len(self.requests) == self.fail_on:
            raise ConnectionError("the API did not answer")
        for index, items in enumerate(self._pages):
            if self.cursor_of(index) == cursor:
                last = index == len(self._pages) - 1
                return Page(items, None if last else self.cursor_of(index + 1))
        raise ValueError(f"unknown cursor {cursor!r}: use None or a page's next_cursor")

    def __repr__(self) -> str:
        return f"PagedAPI({[list(items) for items in self._pages]!r})"


class Source:
    """An async iterable over ``items`` that counts, in ``taken``, the items handed out.

    With ``delays``, it waits ``delays[i]`` seconds before handing out item ``i``. Each
    ``aiter()`` starts again from the first item, as a list does for ``iter()``, and
    ``taken`` keeps counting across them.
    """

    def __init__(self, items: Sequence[Any], *, delays: Sequence[float] | None = None) -> None:
        self._items = list(items)
        self._delays = list(delays) if delays is not None else [0] * len(self._items)
        if len(self._delays) != len(self._items):
            raise ValueError("give one delay per item")
        self.taken = 0

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._hand_out()

    async def _hand_out(self) -> AsyncIterator[Any]:
        for item, delay in zip(self._items, self._delays):
            if delay:
                await asyncio.sleep(delay)
            self.taken += 1
            yield item

    def __repr__(self) -> str:
        return f"Source({self._items!r})"


class TransientError(Exception):
    """A failure that may go away if you try again (a timeout, a "503 Service Unavailable")."""


class FlakyFeed:
    """A fake feed of ``items`` whose streams break with ``TransientError`` at given positions.

    ``feed.open(start)`` returns an async generator over ``items[start:]``, one item per
    ``delay`` seconds. Before it hands out the item at a position listed in ``fail_at``,
    it raises ``TransientError`` instead, once per listed position (the next stream
    gets past it). With ``fatal_at=n``, the item at position ``n`` raises ``KeyError``
    every time. ``opened`` records the start of every stream, and ``open_streams``
    counts the streams not finished or closed yet.
    """

    def __init__(self, items: Sequence[Any], *, fail_at: Sequence[int] = (), fatal_at: int | None = None,
                 delay: float = 0.1) -> None:
        self._items = list(items)
        self._failures = list(fail_at)
        self._fatal_at = fatal_at
        self.delay = delay
        self.opened: list[int] = []
        self.open_streams = 0

    def open(self, start: int) -> AsyncIterator[Any]:
        self.opened.append(start)
        return self._stream(start)

    async def _stream(self, start: int) -> AsyncIterator[Any]:
        self.open_streams += 1
        try:
            for position in range(start, len(self._items)):
                await asyncio.sleep(self.delay)
                if position in self._failures:
                    self._failures.remove(position)
                    raise TransientError(f"the stream broke before item {position}")
                if position == self._fatal_at:
                    raise KeyError(f"item {position} does not exist")
                yield self._items[position]
        finally:
            self.open_streams -= 1

    def __repr__(self) -> str:
        return f"FlakyFeed({self._items!r})"


class Connection:
    """A fake network connection that serves ``lines``, then ``None`` at the end.

    ``state`` goes from ``"new"`` to ``"open"`` (``await connect()``) to ``"closed"``
    (``await close()``); ``closes`` counts the ``close()`` calls. With ``fail_after=n``,
    ``readline()`` raises ``ConnectionResetError`` after ``n`` lines.
    """

    def __init__(self, lines: Sequence[str], *, fail_after: int | None = None) -> None:
        self._lines = list(lines)
        self._fail_after = fail_after
        self._read = 0
        self.state = "new"
        self.closes = 0

    async def connect(self) -> None:
        if self.state != "new":
            raise RuntimeError(f"connect() on a connection that is {self.state}")
        await asyncio.sleep(0.1)
        self.state = "open"

    async def readline(self) -> str | None:
        if self.state != "open":
            raise RuntimeError(f"readline() on a connection that is {self.state}")
        await asyncio.sleep(0.1)
        if self._read == self._fail_after:
            raise ConnectionResetError("the server closed the connection")
        if self._read == len(self._lines):
            return None
        self._read += 1
        return self._lines[self._read - 1]

    async def close(self) -> None:
        self.closes += 1
        self.state = "closed"
        await asyncio.sleep(0)


class ConcurrencyProbe:
    """An async function that records how many of its calls run at the same time.

    ``await probe(x)`` takes ``latency`` seconds and returns ``result(x)``; afterwards
    ``probe.calls`` lists the arguments in call order and ``probe.most_in_flight`` is
    the largest number of calls that were running at once.
    """

    def __init__(self, result: Callable[[Any], Any] = lambda item: item, *, latency: float = 1.0) -> None:
        self.result = result
        self.latency = latency
        self.calls: list[Any] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, item: Any) -> Any:
        self.calls.append(item)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        return self.result(item)


class BatchSink:
    """A fake database table that takes rows in batches: ``await sink.write(rows)``.

    Each write takes ``latency`` seconds and is recorded in ``batches``. With
    ``fail_on=n``, the n-th write (counting from 1) raises ``OSError("disk full")``.
    """

    def __init__(self, *, latency: float = 0.25, fail_on: int | None = None) -> None:
        self.latency = latency
        self.fail_on = fail_on
        self.batches: list[list[Any]] = []
        self.writes = 0

    async def write(self, rows: Sequence[Any]) -> None:
        self.writes += 1
        await asyncio.sleep(self.latency)
        if self.writes == self.fail_on:
            raise OSError("disk full")
        self.batches.append(list(rows))


class ThreadProbe:
    """A plain function wrapped to record whether each call ran on the event loop's thread.

    ``on_loop_thread`` gets ``True`` for a call made directly from a coroutine (which
    blocks the loop while it runs) and ``False`` for one run in a worker thread, as
    ``await asyncio.to_thread(probe, x)`` does.
    """

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function
        self.on_loop_thread: list[bool] = []

    def __call__(self, item: Any) -> Any:
        self.on_loop_thread.append(_on_loop_thread())
        return self.function(item)

    def __reduce__(self) -> Any:
        raise TypeError(
            "this ThreadProbe cannot be sent to another process: it records which thread ran "
            "it, in a list that another process could not update, so it cannot be pickled. "
            "It stands for a blocking call: run it in a worker thread with asyncio.to_thread."
        )


def _on_loop_thread() -> bool:
    """Whether the caller runs on a thread with a running event loop (the loop's own thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class BlockingRows:
    """A plain iterator over ``rows``, standing for a synchronous database cursor.

    ``on_loop_thread`` gets, for every ``next()`` call (the last one, which raises
    ``StopIteration``, included), whether it ran on the event loop's thread. With
    ``fail_at=n``, the call for row ``n`` (counting from 0) raises ``OSError``.
    """

    def __init__(self, rows: Sequence[Any], *, fail_at: int | None = None) -> None:
        self._rows = list(rows)
        self._fail_at = fail_at
        self._position = 0
        self.on_loop_thread: list[bool] = []

    def __iter__(self) -> BlockingRows:
        return self

    def __next__(self) -> Any:
        self.on_loop_thread.append(_on_loop_thread())
        if self._position == self._fail_at:
            raise OSError("the database connection was lost")
        if self._position == len(self._rows):
            raise StopIteration
        self._position += 1
        return self._rows[self._position - 1]
