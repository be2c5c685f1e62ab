"""Assertions that the exercises' test cells are written with.

Every helper fails with a message a student can act on:
what was expected, what happened, and, where a usual mistake explains it, which one.
Comparisons are strict about types, so an object that merely claims equality (an
``__eq__`` that returns ``True``) or a ``bool`` where an ``int`` belongs does not pass.
They raise ``ExerciseFailure``, an ``AssertionError`` that IPython shows as its
message alone, without a traceback through the helpers' own code.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from autograder.alarm import RealTimeLimit, RealTimeUp
from autograder.clock import DECIMALS, use_virtual_clock
from autograder.language import N_, _


class ExerciseFailure(AssertionError):
    """A test of an exercise failed; the message says what was expected and what happened."""

    def _render_traceback_(self) -> list[str]:
        """How IPython shows it: the message, with no traceback through the test helpers."""
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


#: How many items ``collect`` takes before it calls an iterator endless.
ENDLESS = 1_000


def same(actual: Any, expected: Any) -> bool:
    """Equal, and of exactly the same type all the way down (lists, tuples, dicts)."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, (list, tuple)):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            same(actual[key], value) for key, value in expected.items()
        )
    return bool(expected == actual)


def rounded(value: Any) -> Any:
    """``value`` with every float (also inside lists and tuples) rounded to microseconds.

    Differences of loop times carry float noise (``8.3 - 7.3`` is ``0.9999999999999991``);
    rounding to the virtual clock's resolution lets a test expect exactly ``1.0``.
    Types stay as they are, so an ``int`` where a ``float`` belongs still fails.
    """
    if type(value) is float:
        return round(value, DECIMALS)
    if type(value) in (list, tuple):
        return type(value)(map(rounded, value))
    return value


def describe(value: Any) -> str:
    """A value as a student should read it in a message: its repr and its type."""
    # Translators: a Python value and its type, as in "[3, 2] (type list)"; both stay in code form.
    return _("{value} (type {type})").format(value=repr(value), type=type(value).__name__)


def assert_same(actual: Any, expected: Any, what: str) -> None:
    """Fail unless ``actual`` equals ``expected`` with exactly the same types."""
    if not same(actual, expected):
        # Translators: {what} says what was checked (a test cell's description); {expected} and {actual}
        # are values as "{value} (type {type})" shows them.
        raise ExerciseFailure(_("{what}: expected {expected}, got {actual}.").format(
            what=what, expected=describe(expected), actual=describe(actual)))


def assert_async_iterator(obj: Any, what: str) -> AsyncIterator[Any]:
    """Check the two halves of the protocol on ``obj`` and return ``aiter(obj)``.

    ``__aiter__`` must be a plain method that returns an object with ``__anext__``;
    the tutorial's ``async def __aiter__`` is the mistake this is written to catch.
    """
    aiter_method = getattr(type(obj), "__aiter__", None)
    if aiter_method is None:
        raise ExerciseFailure(_("{what} has no __aiter__ method, so `async for` cannot loop over it.").format(what=what))
    if inspect.iscoroutinefunction(aiter_method):
        raise ExerciseFailure(_(
            "{what}.__aiter__ is an `async def`: `async for` calls it without awaiting, "
            "so it gets a coroutine. Make __aiter__ a plain `def` that returns the iterator."
        ).format(what=what))
    iterator = obj.__aiter__()
    if not hasattr(type(iterator), "__anext__"):
        raise ExerciseFailure(
            _("{what}.__aiter__() returned {value}, which has no __anext__ method.").format(
                what=what, value=describe(iterator))
        )
    return iterator


def not_written_yet(stub: str) -> str:
    """The message for an exercise whose stub still raises ``NotImplementedError``."""
    return _(
        "{stub} is not written yet: replace `raise NotImplementedError()` with your code, "
        "then run its cell again."
    ).format(stub=stub)


def assert_async_generator_function(function: Any, name: str) -> None:
    """``function`` must be an ``async def`` with ``yield`` in its body.

    nbgrader's stub replaces the whole body, ``yield`` included, with
    ``raise NotImplementedError()``, which leaves a coroutine function; calling one
    in ``async for`` fails with a ``TypeError`` that says nothing about what to do.
    """
    if inspect.isasyncgenfunction(function):
        return
    if "NotImplementedError" in getattr(getattr(function, "__code__", None), "co_names", ()):
        raise ExerciseFailure(not_written_yet(f"`{name}`"))
    if inspect.iscoroutinefunction(function):
        raise ExerciseFailure(_(
            "`{name}` is an `async def` without `yield`: calling it makes a coroutine, not an "
            "async generator. Hand out each item with `yield item`."
        ).format(name=name))
    raise ExerciseFailure(_("`{name}` should be an async generator function (`async def` with `yield`), "
                            "but it is {value}.").format(name=name, value=describe(function)))


async def collect(source: AsyncIterable[Any], what: str) -> list[Any]:
    """All items of ``source`` as a list, or a clear failure if it never ends."""
    items = []
    async for item in source:
        items.append(item)
        if len(items) > ENDLESS:
            raise ExerciseFailure(_(
                "{what} gave more than {count} items and looks endless: does "
                "__anext__ raise StopAsyncIteration when it has nothing left?"
            ).format(what=what, count=ENDLESS))
    return items


async def assert_next(iterator: AsyncIterator[Any], expected: Any, what: str) -> None:
    """``await anext(iterator)`` must give exactly ``expected``."""
    try:
        item = await anext(iterator)
    except StopAsyncIteration:
        raise ExerciseFailure(_(
            "{what}: expected {expected}, but the iterator stopped "
            "(raised StopAsyncIteration) too early."
        ).format(what=what, expected=describe(expected))) from None
    assert_same(item, expected, what)


async def assert_exhausted(iterator: AsyncIterator[Any], what: str, times: int = 3) -> None:
    """Once finished, an async iterator raises ``StopAsyncIteration`` on every later call."""
    for attempt in range(1, times + 1):
        try:
            item = await anext(iterator)
        except StopAsyncIteration:
            continue
        raise ExerciseFailure(_(
            "{what}: call {attempt} of anext() after the end gave {value}; "
            "a finished async iterator must raise StopAsyncIteration every time it is asked again."
        ).format(what=what, attempt=attempt, value=describe(item)))


#: What a ``TypeError`` of the async iteration protocol usually means, by a clue in its text.
TYPE_ERROR_HINTS = [
    ("coroutine", N_("A coroutine turned up where an async iterator was expected: an `async def` "
     "function is an async generator only if its body contains `yield`, and `__aiter__` "
     "must be a plain `def`.")),
    ("is not an async iterator", N_("anext() needs an iterator: call aiter() on an async "
     "iterable first, or loop over it with `async for`.")),
    ("requires an object with __aiter__", N_("`async for` needs an async iterable: an object "
     "with an __aiter__ method, such as an async generator or your iterator class.")),
]


#: What the usual ways to break asyncio's own machinery look like from a test, in plain words.
CANCELLED_HINT = N_(
    "a CancelledError reached the test, although the test cancelled nothing. asyncio "
    "cancels a task to stop it: asyncio.timeout does it when its time is up, a TaskGroup "
    "when one of its tasks fails. If such a block in a generator contains a `yield`, the "
    "cancellation lands in the consumer's code (here, the test) instead of yours: keep "
    "every `yield` outside `asyncio.timeout` and `TaskGroup` blocks."
)
GENERATOR_EXIT_HINT = N_(
    "GeneratorExit is what `aclose()` raises inside a generator paused at a `yield`, to "
    "make it finish. The generator must let it go on: no `yield` in a `finally` or an "
    "`except` that catches it, and no `yield` inside a TaskGroup block (the group takes "
    "the GeneratorExit for a failure of its own and wraps it in a BaseExceptionGroup)."
)
GROUP_HINT = N_(
    "A TaskGroup collects the errors of its tasks into an exception group, but this "
    "exercise must raise the error itself. Catch the group with `except* SomeError as group:` "
    "and raise `group.exceptions[0]`, or let the error out of a task in another way."
)


def _leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside an exception group, however deeply nested."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def explain_asyncio_error(name: str, error: BaseException) -> str | None:
    """A plain-words message for a cancellation, a GeneratorExit or an exception group, else None."""
    if isinstance(error, BaseExceptionGroup):
        leaves = _leaves(error)
        listed = ", ".join(map(repr, leaves))
        if any(isinstance(leaf, GeneratorExit) for leaf in leaves):
            hint = _(GENERATOR_EXIT_HINT)
        else:
            hint = _(GROUP_HINT)
        return _("{name} raised {group} holding {listed}. {hint}").format(
            name=name, group=type(error).__name__, listed=listed, hint=hint)
    if isinstance(error, asyncio.CancelledError):
        return f"{name}: {_(CANCELLED_HINT)}"
    if isinstance(error, GeneratorExit):
        return _("{name}: a GeneratorExit reached the test. {hint}").format(name=name, hint=_(GENERATOR_EXIT_HINT))
    if isinstance(error, RuntimeError) and "ignored GeneratorExit" in str(error):
        return f"{name}: {error}. {_(GENERATOR_EXIT_HINT)}"
    return None


class exercise:
    """``async with exercise("name"):`` wraps one exercise's test code.

    It runs the code on the virtual clock with a time limit and turns the failures
    that say nothing to a beginner into messages that do:

    - a stub that still raises ``NotImplementedError`` names the function to write;
    - a ``TypeError`` of the iteration protocol (a coroutine where an iterator belongs,
      ``anext()`` on an iterable) gets the usual cause and its fix;
    - a ``CancelledError`` that nobody asked for, a ``GeneratorExit`` and an exception
      group from a ``TaskGroup`` are explained, with the usual mistake behind each;
    - code that waits forever fails after ``time_limit`` virtual seconds, which
      takes no real time, instead of freezing the kernel;
    - code that never lets the loop run (``while True:`` without ``await``) is
      stopped after ``real_time_limit`` seconds of real time.
    """

    def __init__(self, name: str, *, time_limit: float = 60.0, real_time_limit: float = 10.0) -> None:
        self.name = name
        self.time_limit = time_limit
        self.real_time_limit = real_time_limit

    async def __aenter__(self) -> exercise:
        use_virtual_clock()
        self.timeout = asyncio.timeout(self.time_limit)
        await self.timeout.__aenter__()
        self.alarm = RealTimeLimit(self.real_time_limit).__enter__()
        return self

    async def __aexit__(self, exc_type: Any, error: BaseException | None, tb: Any) -> bool:
        self.alarm.__exit__()
        if self.alarm.expired and isinstance(error, (RealTimeUp, asyncio.CancelledError)):
            if isinstance(error, asyncio.CancelledError):
                asyncio.current_task().uncancel()
            raise ExerciseFailure(_(
                "{name} was stopped after {seconds} s of real time: look for a "
                "loop that never ends, such as `while True:` without a `break` or an `await`."
            ).format(name=self.name, seconds=f"{self.real_time_limit:g}")) from None
        try:
            await self.timeout.__aexit__(exc_type, error, tb)
        except TimeoutError:
            raise ExerciseFailure(_(
                "{name} did not finish within {seconds} s of (virtual) time: "
                "something awaits an event that never happens, or loops without end."
            ).format(name=self.name, seconds=f"{self.time_limit:g}")) from None
        if isinstance(error, NotImplementedError):
            raise ExerciseFailure(not_written_yet(_raising_function(error))) from None
        explained = None if error is None else explain_asyncio_error(self.name, error)
        if explained is not None:
            task = asyncio.current_task()
            if isinstance(error, asyncio.CancelledError) and task is not None and task.cancelling():
                task.uncancel()
            _raise_without_context(ExerciseFailure(explained))
        if isinstance(error, TypeError):
            hint = next((hint for clue, hint in TYPE_ERROR_HINTS if clue in str(error)), None)
            if hint is not None:
                raise ExerciseFailure(f"{self.name}: {error}. {_(hint)}") from error
        return False


def _raise_without_context(failure: ExerciseFailure) -> None:
    """Raise ``failure`` with no ``__context__``, even while an exception group is handled.

    IPython (9.x) shows an exception whose ``__context__`` chain holds an exception
    group with ``traceback.print_exc()`` on stderr instead of as an error output, so
    nbgrader would score the failed test cell as passed.
    """
    try:
        raise failure
    finally:
        failure.__context__ = None
        failure.__suppress_context__ = True


def _raising_function(error: BaseException) -> str:
    """The qualified name of the function that raised ``error``, as ``Class.method``."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return _("this exercise")
    return f"`{tb.tb_frame.f_code.co_qualname}`"
