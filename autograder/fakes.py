"""Stand-ins for the slow outside world that the exercises iterate over.

They take virtual time like a network would and remember every request, so a test
can ask not only "were the right items produced?" but "was anything fetched before it
was needed?".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
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
    ``api.requests`` and takes ``latency`` seconds of loop time.
    """

    def __init__(self, pages: Sequence[Sequence[Any]], *, latency: float = 0.5) -> None:
        if not pages:
            raise ValueError("a PagedAPI needs at least one page (it may be empty)")
        self._pages = [tuple(items) for items in pages]
        self.latency = latency
        self.requests: list[str | None] = []

    def cursor_of(self, index: int) -> str | None:
        """The cursor that fetches page ``index`` (the first page's is ``None``)."""
        return None if index == 0 else f"page-{index + 1}"

    async def fetch(self, cursor: str | None = None) -> Page:
        """Return the page that ``cursor`` points at, after ``latency`` seconds."""
        self.requests.append(cursor)
        await asyncio.sleep(self.latency)
        for index, items in enumerate(self._pages):
            if self.cursor_of(index) == cursor:
                last = index == len(self._pages) - 1
                return Page(items, None if last else self.cursor_of(index + 1))
        raise ValueError(f"unknown cursor {cursor!r}: use None or a page's next_cursor")

    def __repr__(self) -> str:
        return f"PagedAPI({[list(items) for items in self._pages]!r})"


class Source:
    """An async iterable over ``items`` that counts, in ``taken``, the items handed out.

    Each ``aiter()`` starts again from the first item, as a list does for ``iter()``,
    and ``taken`` keeps counting across them.
    """

    def __init__(self, items: Sequence[Any]) -> None:
        self._items = list(items)
        self.taken = 0

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._hand_out()

    async def _hand_out(self) -> AsyncIterator[Any]:
        for item in self._items:
            self.taken += 1
            yield item

    def __repr__(self) -> str:
        return f"Source({self._items!r})"
