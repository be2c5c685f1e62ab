"""Plausible wrong answers ("mutants") that the exercises' tests must reject.

Each mutant is a small edit of one solution cell: the text ``old`` (which must occur
exactly once in that cell) becomes ``new``. A mutant that no longer applies because
the solution changed fails loudly instead of silently testing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    lesson: str
    cell: str  # grade_id of the solution cell it edits
    name: str  # the mistake, as a student would make it
    old: str
    new: str

    @property
    def id(self) -> str:
        return f"{self.lesson}:{self.cell}:{self.name}"

    def apply(self, solution: str) -> str:
        count = solution.count(self.old)
        if count != 1:
            raise ValueError(f"mutant {self.id!r}: its old text occurs {count} times in the cell, not once")
        return solution.replace(self.old, self.new)


LESSON_00 = "00-running-async-in-jupyter"
LESSON_01 = "01-async-iterator-protocol"

MUTANTS = [
    Mutant(LESSON_00, "timed", "returns (elapsed, result)",
           "return result, loop.time() - start",
           "return loop.time() - start, result"),
    Mutant(LESSON_00, "timed", "measures the wall clock",
           "loop = asyncio.get_running_loop()\n    start = loop.time()\n"
           "    result = await coro\n    return result, loop.time() - start",
           "import time\n    start = time.monotonic()\n"
           "    result = await coro\n    return result, time.monotonic() - start"),
    Mutant(LESSON_00, "timed", "rounds to whole seconds",
           "return result, loop.time() - start",
           "return result, round(loop.time() - start)"),
    Mutant(LESSON_00, "timed", "spins forever instead of awaiting",
           "result = await coro",
           "while True:\n        pass"),

    Mutant(LESSON_01, "countdown", "counts down to 0",
           "if self.current <= 0:",
           "if self.current < 0:"),
    Mutant(LESSON_01, "countdown", "async def __aiter__, as in the tutorial",
           "    def __aiter__(self):",
           "    async def __aiter__(self):"),
    Mutant(LESSON_01, "countdown", "never raises StopAsyncIteration",
           "raise StopAsyncIteration",
           "return None"),
    Mutant(LESSON_01, "countdown", "sleeps before noticing the end",
           "        if self.current <= 0:\n            raise StopAsyncIteration\n"
           "        await asyncio.sleep(1)\n",
           "        await asyncio.sleep(1)\n"
           "        if self.current <= 0:\n            raise StopAsyncIteration\n"),

    Mutant(LESSON_01, "countdown", "changes the state before sleeping, as the tutorial does",
           "        await asyncio.sleep(1)\n        value = self.current\n        self.current -= 1\n",
           "        value = self.current\n        self.current -= 1\n        await asyncio.sleep(1)\n"),

    Mutant(LESSON_01, "first", "reads the whole source first",
           "    async for item in source:\n",
           "    items = [item async for item in source]\n    for item in items:\n"),
    Mutant(LESSON_01, "first", "takes a falsy match for no match",
           "    async for item in source:\n        if predicate(item):\n"
           "            return item\n    return default",
           "    found = None\n    async for item in source:\n        if predicate(item):\n"
           "            found = item\n            break\n    return found or default"),
    Mutant(LESSON_01, "first", "returns the last match",
           "    async for item in source:\n        if predicate(item):\n"
           "            return item\n    return default",
           "    found = default\n    async for item in source:\n        if predicate(item):\n"
           "            found = item\n    return found"),
    Mutant(LESSON_01, "first", "calls anext() without aiter()",
           "    async for item in source:\n        if predicate(item):\n"
           "            return item\n    return default",
           "    missing = object()\n    while (item := await anext(source, missing)) is not missing:\n"
           "        if predicate(item):\n            return item\n    return default"),

    Mutant(LESSON_01, "first", "takes only True for a match",
           "        if predicate(item):\n",
           "        if predicate(item) is True:\n"),
    Mutant(LESSON_01, "first", "takes a None match for no match",
           "    async for item in source:\n        if predicate(item):\n"
           "            return item\n    return default",
           "    found = None\n    async for item in source:\n        if predicate(item):\n"
           "            found = item\n            break\n    return default if found is None else found"),
    Mutant(LESSON_01, "first", "hides the source's errors",
           "    async for item in source:\n        if predicate(item):\n"
           "            return item\n    return default",
           "    try:\n        async for item in source:\n            if predicate(item):\n"
           "                return item\n    except Exception:\n        pass\n    return default"),

    Mutant(LESSON_01, "paginated", "fetches every page at the first anext()",
           "        while not self.waiting:\n            if self.fetched_last:\n"
           "                raise StopAsyncIteration\n"
           "            page = await self.api.fetch(self.cursor)\n"
           "            self.waiting.extend(page.items)\n"
           "            self.cursor = page.next_cursor\n"
           "            self.fetched_last = page.next_cursor is None\n",
           "        while not self.fetched_last:\n"
           "            page = await self.api.fetch(self.cursor)\n"
           "            self.waiting.extend(page.items)\n"
           "            self.cursor = page.next_cursor\n"
           "            self.fetched_last = page.next_cursor is None\n"
           "        if not self.waiting:\n            raise StopAsyncIteration\n"),
    Mutant(LESSON_01, "paginated", "assumes no page is empty",
           "        while not self.waiting:\n            if self.fetched_last:\n"
           "                raise StopAsyncIteration\n",
           "        if not self.waiting and self.fetched_last:\n            raise StopAsyncIteration\n"
           "        if not self.waiting:\n"),
    Mutant(LESSON_01, "paginated", "fetches the next page as soon as one runs out",
           "        return self.waiting.popleft()",
           "        item = self.waiting.popleft()\n"
           "        if not self.waiting and not self.fetched_last:\n"
           "            page = await self.api.fetch(self.cursor)\n"
           "            self.waiting.extend(page.items)\n"
           "            self.cursor = page.next_cursor\n"
           "            self.fetched_last = page.next_cursor is None\n"
           "        return item"),
    Mutant(LESSON_01, "paginated", "forgets to move the cursor",
           "            self.cursor = page.next_cursor\n",
           ""),
    Mutant(LESSON_01, "paginated", "prefetches the next page in a background task",
           "            page = await self.api.fetch(self.cursor)\n",
           "            prefetched = getattr(self, \"prefetched\", None)\n"
           "            page = await (prefetched or self.api.fetch(self.cursor))\n"
           "            self.prefetched = None\n"
           "            if page.next_cursor is not None:\n"
           "                self.prefetched = asyncio.ensure_future(self.api.fetch(page.next_cursor))\n"),
]

LESSON_02 = "02-async-generators"

MUTANTS += [
    Mutant(LESSON_02, "countdown", "counts down to 0",
           "range(start, 0, -1)",
           "range(start, -1, -1)"),
    Mutant(LESSON_02, "countdown", "yields before sleeping",
           "        await asyncio.sleep(1)\n        yield number\n",
           "        yield number\n        await asyncio.sleep(1)\n"),
    Mutant(LESSON_02, "countdown", "returns a list instead of yielding",
           "    for number in range(start, 0, -1):\n        await asyncio.sleep(1)\n        yield number\n",
           "    await asyncio.sleep(max(start, 0))\n    return list(range(start, 0, -1))\n"),

    Mutant(LESSON_02, "countdown", "sleeps all the seconds first",
           "    for number in range(start, 0, -1):\n        await asyncio.sleep(1)\n        yield number\n",
           "    await asyncio.sleep(max(start, 0))\n    for number in range(start, 0, -1):\n        yield number\n"),
    Mutant(LESSON_02, "countdown", "raises for a start of 0 or less",
           "    for number in range(start, 0, -1):\n",
           "    if start <= 0:\n        raise ValueError(\"start must be positive\")\n    for number in range(start, 0, -1):\n"),

    Mutant(LESSON_02, "paginate", "fetches every page before yielding",
           "    cursor = None\n    while True:\n        page = await api.fetch(cursor)\n"
           "        for item in page.items:\n            yield item\n"
           "        if page.next_cursor is None:\n            return\n        cursor = page.next_cursor\n",
           "    items = []\n    cursor = None\n    while True:\n        page = await api.fetch(cursor)\n"
           "        items.extend(page.items)\n        if page.next_cursor is None:\n            break\n"
           "        cursor = page.next_cursor\n    for item in items:\n        yield item\n"),
    Mutant(LESSON_02, "paginate", "stops at an empty page",
           "        for item in page.items:\n",
           "        if not page.items:\n            return\n        for item in page.items:\n"),
    Mutant(LESSON_02, "paginate", "forgets to move the cursor",
           "        cursor = page.next_cursor\n",
           ""),

    Mutant(LESSON_02, "paginate", "prefetches the next page in a background task",
           "    cursor = None\n    while True:\n        page = await api.fetch(cursor)\n",
           "    next_page = asyncio.ensure_future(api.fetch(None))\n    while True:\n        page = await next_page\n"
           "        if page.next_cursor is not None:\n"
           "            next_page = asyncio.ensure_future(api.fetch(page.next_cursor))\n"),
    Mutant(LESSON_02, "paginate", "fetches the next page before yielding this one's items",
           "    cursor = None\n    while True:\n        page = await api.fetch(cursor)\n"
           "        for item in page.items:\n            yield item\n"
           "        if page.next_cursor is None:\n            return\n        cursor = page.next_cursor\n",
           "    page = await api.fetch(None)\n    while True:\n"
           "        following = None if page.next_cursor is None else await api.fetch(page.next_cursor)\n"
           "        for item in page.items:\n            yield item\n"
           "        if following is None:\n            return\n        page = following\n"),
    Mutant(LESSON_02, "paginate", "ends quietly when a fetch fails",
           "        page = await api.fetch(cursor)\n",
           "        try:\n            page = await api.fetch(cursor)\n        except Exception:\n            return\n"),

    Mutant(LESSON_02, "abatch", "drops the last short batch",
           "    if batch:\n        yield batch\n",
           ""),
    Mutant(LESSON_02, "abatch", "yields an empty batch at the end",
           "    if batch:\n        yield batch\n",
           "    yield batch\n"),
    Mutant(LESSON_02, "abatch", "reuses one list for every batch",
           "            batch = []\n",
           "            batch.clear()\n"),
    Mutant(LESSON_02, "abatch", "reads the whole source first",
           "    async for item in source:\n",
           "    for item in [item async for item in source]:\n"),

    Mutant(LESSON_02, "abatch", "takes one item more before yielding a full batch",
           "    async for item in source:\n        batch.append(item)\n        if len(batch) == size:\n"
           "            yield batch\n            batch = []\n",
           "    async for item in source:\n        if len(batch) == size:\n"
           "            yield batch\n            batch = []\n        batch.append(item)\n"),

    Mutant(LESSON_02, "running_average", "divides with //",
           "average = total / count",
           "average = total // count"),
    Mutant(LESSON_02, "running_average", "starts at 0.0 instead of None",
           "    average = None\n",
           "    average = 0.0\n"),
    Mutant(LESSON_02, "running_average", "yields the first number as it was sent",
           "        average = total / count\n",
           "        average = number if count == 1 else total / count\n"),
    Mutant(LESSON_02, "running_average", "averages the last average with the new number",
           "        average = total / count\n",
           "        average = float(number) if average is None else (average + number) / 2\n"),
    Mutant(LESSON_02, "running_average", "rounds to two decimal places",
           "        average = total / count\n",
           "        average = round(total / count, 2)\n"),
    Mutant(LESSON_02, "running_average", "keeps the numbers of every generator in one list",
           "async def running_average():\n    ### BEGIN SOLUTION\n    total = 0\n    count = 0\n    average = None\n"
           "    while True:\n        number = yield average\n        total += number\n        count += 1\n"
           "        average = total / count\n",
           "seen = []\n\n\nasync def running_average():\n    ### BEGIN SOLUTION\n    average = None\n"
           "    while True:\n        number = yield average\n        seen.append(number)\n"
           "        average = sum(seen) / len(seen)\n"),
]

LESSON_03 = "03-exceptions-and-cleanup"

MUTANTS += [
    Mutant(LESSON_03, "stream_lines", "closes only after the last line",
           "    try:\n        while (line := await connection.readline()) is not None:\n"
           "            yield line\n    finally:\n        await connection.close()\n",
           "    while (line := await connection.readline()) is not None:\n"
           "        yield line\n    await connection.close()\n"),
    Mutant(LESSON_03, "stream_lines", "swallows the read error",
           "    finally:\n",
           "    except ConnectionResetError:\n        pass\n    finally:\n"),
    Mutant(LESSON_03, "stream_lines", "stops at an empty line",
           "        while (line := await connection.readline()) is not None:\n",
           "        while line := await connection.readline():\n"),
    Mutant(LESSON_03, "stream_lines", "closes only after an error or the last line",
           "    finally:\n        await connection.close()\n",
           "    except Exception:\n        await connection.close()\n        raise\n"
           "    else:\n        await connection.close()\n"),
    Mutant(LESSON_03, "stream_lines", "closes twice at the end",
           "            yield line\n",
           "            yield line\n        await connection.close()\n"),

    Mutant(LESSON_03, "resumed", "starts every new stream from the beginning",
           "        stream = open_stream(position)\n",
           "        stream = open_stream(0)\n"),
    Mutant(LESSON_03, "resumed", "skips the item that failed",
           "        stream = open_stream(position)\n",
           "        stream = open_stream(position if position == 0 else position + 1)\n"),
    Mutant(LESSON_03, "resumed", "retries every exception",
           "except TransientError:",
           "except Exception:"),
    Mutant(LESSON_03, "resumed", "allows one retry too many",
           "            if retries == 0:\n",
           "            if retries < 0:\n"),
    Mutant(LESSON_03, "resumed", "ends quietly when the retries are used up",
           "            if retries == 0:\n                raise\n",
           "            if retries == 0:\n                return\n"),
    Mutant(LESSON_03, "resumed", "leaves the stream open when closed early",
           "        finally:\n            await stream.aclose()\n",
           ""),

    Mutant(LESSON_03, "with_timeout", "yields inside the timeout block",
           "        try:\n            async with asyncio.timeout(seconds):\n"
           "                item = await anext(iterator)\n        except StopAsyncIteration:\n"
           "            return\n        yield item\n",
           "        async with asyncio.timeout(seconds):\n            try:\n"
           "                item = await anext(iterator)\n            except StopAsyncIteration:\n"
           "                return\n            yield item\n"),
    Mutant(LESSON_03, "with_timeout", "one time limit for the whole stream",
           "    iterator = aiter(source)\n    while True:\n        try:\n"
           "            async with asyncio.timeout(seconds):\n                item = await anext(iterator)\n"
           "        except StopAsyncIteration:\n            return\n        yield item\n",
           "    async with asyncio.timeout(seconds):\n        async for item in source:\n            yield item\n"),
    Mutant(LESSON_03, "with_timeout", "ends quietly on a timeout",
           "except StopAsyncIteration:",
           "except (StopAsyncIteration, TimeoutError):"),
    Mutant(LESSON_03, "with_timeout", "starts the source again for every item",
           "                item = await anext(iterator)\n",
           "                item = await anext(aiter(source))\n"),
    Mutant(LESSON_03, "with_timeout", "lets StopAsyncIteration out of the generator",
           "        except StopAsyncIteration:\n            return\n",
           "        except StopAsyncIteration:\n            raise\n"),
    Mutant(LESSON_03, "with_timeout", "limits only the first item",
           "    iterator = aiter(source)\n    while True:\n        try:\n"
           "            async with asyncio.timeout(seconds):\n                item = await anext(iterator)\n"
           "        except StopAsyncIteration:\n            return\n        yield item\n",
           "    iterator = aiter(source)\n    try:\n        async with asyncio.timeout(seconds):\n"
           "            item = await anext(iterator)\n    except StopAsyncIteration:\n        return\n"
           "    yield item\n    async for item in iterator:\n        yield item\n"),

    Mutant(LESSON_03, "heartbeat", "swallows the cancellation",
           "    finally:\n        log.append(\"stopped\")\n",
           "    except asyncio.CancelledError:\n        log.append(\"stopped\")\n"),
    Mutant(LESSON_03, "heartbeat", "cleans up only after an Exception",
           "    finally:\n",
           "    except Exception:\n"),
    Mutant(LESSON_03, "heartbeat", "yields before sleeping",
           "            await asyncio.sleep(interval)\n            beat += 1\n            yield beat\n",
           "            beat += 1\n            yield beat\n            await asyncio.sleep(interval)\n"),
    Mutant(LESSON_03, "heartbeat", "logs twice when cancelled",
           "    finally:\n        log.append(\"stopped\")\n",
           "    except asyncio.CancelledError:\n        log.append(\"stopped\")\n        raise\n"
           "    finally:\n        log.append(\"stopped\")\n"),
    Mutant(LESSON_03, "heartbeat", "cleans up only when cancelled",
           "    finally:\n        log.append(\"stopped\")\n",
           "    except asyncio.CancelledError:\n        log.append(\"stopped\")\n        raise\n"),
]

LESSON_04 = "04-concurrency"

MUTANTS += [
    Mutant(LESSON_04, "azip", "awaits the sources one after the other",
           "            items = await asyncio.gather(*(anext(iterator) for iterator in iterators))\n",
           "            items = [await anext(iterator) for iterator in iterators]\n"),
    Mutant(LESSON_04, "azip", "yields lists, not tuples",
           "        yield tuple(items)\n",
           "        yield items\n"),
    Mutant(LESSON_04, "azip", "reads every source to the end first",
           "    iterators = [aiter(source) for source in sources]\n    if not iterators:\n        return\n",
           "    async def read(source):\n        return [item async for item in source]\n\n"
           "    async def replay(items):\n        for item in items:\n            yield item\n\n"
           "    iterators = [replay(items) for items in await asyncio.gather(*map(read, sources))]\n"
           "    if not iterators:\n        return\n"),
    Mutant(LESSON_04, "azip", "ends quietly when a source fails",
           "        except StopAsyncIteration:\n",
           "        except Exception:\n"),
    Mutant(LESSON_04, "azip", "waits for every source before raising",
           "            items = await asyncio.gather(*(anext(iterator) for iterator in iterators))\n"
           "        except StopAsyncIteration:\n            return\n",
           "            items = await asyncio.gather(*(anext(iterator) for iterator in iterators), return_exceptions=True)\n"
           "        except StopAsyncIteration:\n            return\n"
           "        for item in items:\n            if isinstance(item, StopAsyncIteration):\n                return\n"
           "            if isinstance(item, Exception):\n                raise item\n"),
    Mutant(LESSON_04, "azip", "gathers in a TaskGroup",
           "        try:\n            items = await asyncio.gather(*(anext(iterator) for iterator in iterators))\n"
           "        except StopAsyncIteration:\n            return\n        yield tuple(items)\n",
           "        async def next_item(iterator):\n            return await anext(iterator)\n\n"
           "        ended = False\n        try:\n            async with asyncio.TaskGroup() as group:\n"
           "                tasks = [group.create_task(next_item(iterator)) for iterator in iterators]\n"
           "        except* StopAsyncIteration:\n            ended = True\n        if ended:\n            return\n"
           "        yield tuple(task.result() for task in tasks)\n"),

    Mutant(LESSON_04, "merge", "yields one source after the other",
           "    tasks = [asyncio.create_task(forward(source)) for source in sources]\n    try:\n"
           "        running = len(tasks)\n        while running:\n",
           "    for source in sources:\n        async for item in source:\n            yield item\n"
           "    tasks = []\n    try:\n        running = 0\n        while running:\n"),
    Mutant(LESSON_04, "merge", "does not cancel the sources when closed early",
           "        for task in tasks:\n            task.cancel()\n",
           ""),
    Mutant(LESSON_04, "merge", "swallows a source's error",
           "        except Exception as error:\n            await queue.put((finished, error))\n",
           "        except Exception:\n            await queue.put((finished, None))\n"),

    Mutant(LESSON_04, "merge", "waits forever when a source fails",
           "        except Exception as error:\n            await queue.put((finished, error))\n        else:\n"
           "            await queue.put((finished, None))\n",
           "        finally:\n            await queue.put((finished, None))\n"),
    Mutant(LESSON_04, "merge", "does not wait for the cancelled sources",
           "        await asyncio.gather(*tasks, return_exceptions=True)\n",
           ""),
    Mutant(LESSON_04, "merge", "yields inside a TaskGroup",
           "    tasks = [asyncio.create_task(forward(source)) for source in sources]\n    try:\n"
           "        running = len(tasks)\n        while running:\n            item, error = await queue.get()\n"
           "            if error is not None:\n                raise error\n            if item is finished:\n"
           "                running -= 1\n            else:\n                yield item\n    finally:\n"
           "        for task in tasks:\n            task.cancel()\n"
           "        await asyncio.gather(*tasks, return_exceptions=True)\n",
           "    async with asyncio.TaskGroup() as group:\n        for source in sources:\n"
           "            group.create_task(forward(source))\n"
           "        running = len(sources)\n        while running:\n            item, error = await queue.get()\n"
           "            if error is not None:\n                raise error\n            if item is finished:\n"
           "                running -= 1\n            else:\n                yield item\n"),

    Mutant(LESSON_04, "bounded_map", "has no bound",
           "            started.append(asyncio.create_task(func(item)))\n            if len(started) == limit:\n"
           "                yield await started.popleft()\n",
           "            started.append(asyncio.create_task(func(item)))\n"),
    Mutant(LESSON_04, "bounded_map", "calls one at a time",
           "            started.append(asyncio.create_task(func(item)))\n            if len(started) == limit:\n"
           "                yield await started.popleft()\n",
           "            yield await func(item)\n"),
    Mutant(LESSON_04, "bounded_map", "bounds with a Semaphore over the whole source",
           "        async for item in source:\n            started.append(asyncio.create_task(func(item)))\n"
           "            if len(started) == limit:\n                yield await started.popleft()\n",
           "        semaphore = asyncio.Semaphore(limit)\n\n        async def call(item):\n"
           "            async with semaphore:\n                return await func(item)\n\n"
           "        started.extend([asyncio.create_task(call(item)) async for item in source])\n"),
    Mutant(LESSON_04, "bounded_map", "waits for each batch of limit calls",
           "            started.append(asyncio.create_task(func(item)))\n            if len(started) == limit:\n"
           "                yield await started.popleft()\n",
           "            started.append(asyncio.create_task(func(item)))\n            if len(started) == limit:\n"
           "                for result in await asyncio.gather(*started):\n                    yield result\n"
           "                started.clear()\n"),
    Mutant(LESSON_04, "bounded_map", "takes the next item before there is room for it",
           "            started.append(asyncio.create_task(func(item)))\n            if len(started) == limit:\n"
           "                yield await started.popleft()\n",
           "            if len(started) == limit:\n                yield await started.popleft()\n"
           "            started.append(asyncio.create_task(func(item)))\n"),
    Mutant(LESSON_04, "bounded_map", "leaves the calls running when it stops",
           "        for task in started:\n            task.cancel()\n        await asyncio.gather(*started, return_exceptions=True)\n",
           "        pass\n"),

    Mutant(LESSON_04, "pipeline", "uses an unbounded queue",
           "asyncio.Queue(maxsize)",
           "asyncio.Queue()"),
    Mutant(LESSON_04, "pipeline", "forgets the sentinel",
           "        await queue.put(done)\n",
           ""),
    Mutant(LESSON_04, "pipeline", "makes the queue one item longer",
           "asyncio.Queue(maxsize)",
           "asyncio.Queue(maxsize + 1)"),
    Mutant(LESSON_04, "pipeline", "uses None as the sentinel",
           "    done = object()\n",
           "    done = None\n"),
    Mutant(LESSON_04, "pipeline", "reads the whole source first",
           "        async for item in source:\n",
           "        for item in [item async for item in source]:\n"),
    Mutant(LESSON_04, "pipeline", "produces everything before consuming",
           "    async with asyncio.TaskGroup() as group:\n        group.create_task(produce())\n"
           "        group.create_task(consume())\n",
           "    await produce()\n    await consume()\n"),
]

LESSON_05 = "05-patterns-and-performance"

MUTANTS += [
    Mutant(LESSON_05, "in_thread", "iterates on the loop's thread",
           "    iterator = iter(iterable)\n    exhausted = object()\n"
           "    while (item := await asyncio.to_thread(next, iterator, exhausted)) is not exhausted:\n        yield item\n",
           "    for item in iterable:\n        yield item\n"),
    Mutant(LESSON_05, "in_thread", "waits for StopIteration from the thread",
           "    exhausted = object()\n"
           "    while (item := await asyncio.to_thread(next, iterator, exhausted)) is not exhausted:\n        yield item\n",
           "    while True:\n        try:\n            item = await asyncio.to_thread(next, iterator)\n"
           "        except StopIteration:\n            return\n        yield item\n"),
    Mutant(LESSON_05, "in_thread", "reads the whole iterable in one thread call",
           "    iterator = iter(iterable)\n    exhausted = object()\n"
           "    while (item := await asyncio.to_thread(next, iterator, exhausted)) is not exhausted:\n        yield item\n",
           "    for item in await asyncio.to_thread(list, iterable):\n        yield item\n"),
    Mutant(LESSON_05, "in_thread", "starts the iterable again for every item",
           "await asyncio.to_thread(next, iterator, exhausted)",
           "await asyncio.to_thread(next, iter(iterable), exhausted)"),
    Mutant(LESSON_05, "in_thread", "stops at a falsy item",
           "    while (item := await asyncio.to_thread(next, iterator, exhausted)) is not exhausted:\n",
           "    while item := await asyncio.to_thread(next, iterator, None):\n"),
    Mutant(LESSON_05, "in_thread", "hides the iterator's error",
           "    while (item := await asyncio.to_thread(next, iterator, exhausted)) is not exhausted:\n        yield item\n",
           "    while True:\n        try:\n            item = await asyncio.to_thread(next, iterator, exhausted)\n"
           "        except Exception:\n            return\n        if item is exhausted:\n            return\n        yield item\n"),

    Mutant(LESSON_05, "throttle", "waits the whole interval every time",
           "            wait = last + interval - loop.time()\n            if wait > 0:\n                await asyncio.sleep(wait)\n",
           "            await asyncio.sleep(interval)\n"),
    Mutant(LESSON_05, "throttle", "waits before the first item too",
           "        if last is not None:\n            wait = last + interval - loop.time()\n",
           "        if True:\n            wait = (last if last is not None else loop.time()) + interval - loop.time()\n"),
    Mutant(LESSON_05, "throttle", "sleeps after yielding",
           "        if last is not None:\n            wait = last + interval - loop.time()\n            if wait > 0:\n"
           "                await asyncio.sleep(wait)\n        last = loop.time()\n        yield item\n",
           "        yield item\n        await asyncio.sleep(interval)\n"),
    Mutant(LESSON_05, "throttle", "counts the interval from when the consumer asks again",
           "        last = loop.time()\n        yield item\n",
           "        yield item\n        last = loop.time()\n"),
    Mutant(LESSON_05, "throttle", "reads the time from the wall clock",
           "    loop = asyncio.get_running_loop()\n",
           "    import time\n\n    class loop:\n        time = time.monotonic\n\n"),

    Mutant(LESSON_05, "run_pipeline", "scores on the event loop",
           "        return await asyncio.to_thread(score, enriched)\n",
           "        return score(enriched)\n"),
    Mutant(LESSON_05, "run_pipeline", "has no bound on the transform",
           "                started.append(asyncio.create_task(process(item)))\n"
           "                if len(started) == limit:\n                    yield await started.popleft()\n",
           "                started.append(asyncio.create_task(process(item)))\n"),
    Mutant(LESSON_05, "run_pipeline", "processes one item at a time",
           "                if len(started) == limit:\n",
           "                if started:\n"),
    Mutant(LESSON_05, "run_pipeline", "lets the work run on after a failure",
           "            for task in started:\n                task.cancel()\n"
           "            await asyncio.gather(*started, return_exceptions=True)\n",
           "            pass\n"),
    Mutant(LESSON_05, "run_pipeline", "reads every page before the first item",
           "        cursor = None\n        while True:\n            page = await api.fetch(cursor)\n"
           "            for item in page.items:\n                yield item\n"
           "            if page.next_cursor is None:\n                return\n            cursor = page.next_cursor\n",
           "        pages = [await api.fetch(None)]\n        while pages[-1].next_cursor is not None:\n"
           "            pages.append(await api.fetch(pages[-1].next_cursor))\n"
           "        for page in pages:\n            for item in page.items:\n                yield item\n"),
    Mutant(LESSON_05, "run_pipeline", "drops the last short batch",
           "        if batch:\n            yield batch\n",
           ""),
]
