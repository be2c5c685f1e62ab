"""The one way results leave a sandbox: length-prefixed JSON, checked field by field.

(The grader's messages to the runner, one cell at a time, use the same framing.)

The process that sends these messages runs the student's code, so everything it sends
may be forged. The grader never unpickles or evaluates it: it reads at most a fixed
number of bytes, parses JSON, and rebuilds each output from the fields it expects,
with the types it expects. Anything else is a ``ChannelViolation``, and the grader
stops believing that sandbox.
"""

from __future__ import annotations

import base64
import json
import os
import select
import struct
import time
from dataclasses import dataclass
from typing import Any

_HEADER = struct.Struct("!I")
#: Bytes of JSON allowed per cell beyond the printed-output limit: tracebacks, escapes, field names.
SLACK_BYTES = 256 * 1024


class ChannelViolation(Exception):
    """The sandbox sent something that is not a well-formed, expected message."""


@dataclass
class CellResult:
    execution_count: int | None
    outputs: list[dict[str, Any]]


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one message (runner side)."""
    data = frame(message)
    while data:
        data = data[os.write(fd, data):]


def read_frame(fd: int) -> dict[str, Any] | None:
    """The next message from the grader (runner side, blocking); ``None`` when the grader has no more."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    return json.loads(_read_exactly(fd, _HEADER.unpack(header)[0]) or b"null")


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def frame(message: dict[str, Any]) -> bytes:
    # UTF-8 as it is (an emoji is 4 bytes, not a 12-byte escape); a lone surrogate becomes "?".
    payload = json.dumps(message, default=_plain, ensure_ascii=False).encode("utf-8", "replace")
    return _HEADER.pack(len(payload)) + payload


def _plain(value: Any) -> str:
    """What JSON cannot hold directly: bytes (an image) as base64, anything else as its ``str``."""
    return base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)


class Receiver:
    """Reads messages from the sandbox's end of the channel (grader side), never more than ``max_bytes`` each."""

    def __init__(self, fd: int, max_bytes: int) -> None:
        self.fd, self.max_bytes = fd, max_bytes
        self.buffer = b""

    def receive(self, deadline: float, poll: float = 0.1) -> dict[str, Any] | None | bool:
        """The next message; ``None`` at end of file; ``False`` when ``poll`` seconds passed without one.

        Raises ``TimeoutError`` past ``deadline`` and ``ChannelViolation`` for bytes
        that are not a message.
        """
        while True:
            if len(self.buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack(self.buffer[:_HEADER.size])
                if size > self.max_bytes:
                    raise ChannelViolation(f"a message of {size} bytes, over the limit of {self.max_bytes}")
                end = _HEADER.size + size
                if len(self.buffer) >= end:
                    payload, self.buffer = self.buffer[_HEADER.size:end], self.buffer[end:]
                    return _decode(payload)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if not select.select([self.fd], [], [], min(poll, remaining))[0]:
                return False
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                if self.buffer:
                    raise ChannelViolation("the channel closed in the middle of a message")
                return None
            self.buffer += chunk


def _decode(payload: bytes) -> dict[str, Any]:
    try:
        message = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ChannelViolation(f"a message that is not JSON ({type(error).__name__})") from None
    if not isinstance(message, dict):
        raise ChannelViolation("a message that is not a JSON object")
    return message


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def is_ready(message: dict[str, Any]) -> bool:
    """The runner's first message: it has started (and replayed any earlier cells)."""
    if message != {"ready": True}:
        raise ChannelViolation("the first message was not the runner's ready signal")
    return True


def cell_result(message: dict[str, Any], expected_index: int, last_index: int) -> tuple[int, CellResult]:
    """Validate one cell's result: the index comes in order, the outputs in nbformat's shape."""
    _keys(message, {"cell", "execution_count", "outputs"}, "a cell result")
    index = message["cell"]
    if type(index) is not int or not expected_index <= index <= last_index:
        raise ChannelViolation(f"a result for cell {index!r}, expected one of cells {expected_index}..{last_index}")
    count = message["execution_count"]
    if count is not None and (type(count) is not int or count < 0):
        raise ChannelViolation("an execution count that is not a number")
    outputs = message["outputs"]
    if type(outputs) is not list:
        raise ChannelViolation("outputs that are not a list")
    return index, CellResult(count, [_output(output) for output in outputs])


def _output(output: Any) -> dict[str, Any]:
    if type(output) is not dict:
        raise ChannelViolation("an output that is not an object")
    kind = output.get("output_type")
    if kind == "stream":
        _keys(output, {"output_type", "name", "text"}, "a stream output")
        if output["name"] not in ("stdout", "stderr"):
            raise ChannelViolation("a stream that is neither stdout nor stderr")
        return {"output_type": "stream", "name": output["name"], "text": _text(output["text"])}
    if kind == "error":
        _keys(output, {"output_type", "ename", "evalue", "traceback"}, "an error output")
        traceback = output["traceback"]
        if type(traceback) is not list:
            raise ChannelViolation("a traceback that is not a list")
        return {"output_type": "error", "ename": _text(output["ename"]), "evalue": _text(output["evalue"]),
                "traceback": [_text(line) for line in traceback]}
    if kind == "display_data":
        _keys(output, {"output_type", "data", "metadata"}, "a display output")
        return {"output_type": kind, "data": _bundle(output["data"]), "metadata": _json_object(output["metadata"])}
    if kind == "execute_result":
        _keys(output, {"output_type", "data", "metadata", "execution_count"}, "a result output")
        count = output["execution_count"]
        if count is not None and type(count) is not int:
            raise ChannelViolation("an execution count that is not a number")
        return {"output_type": kind, "data": _bundle(output["data"]), "metadata": _json_object(output["metadata"]),
                "execution_count": count}
    raise ChannelViolation(f"an output of unknown type {str(kind)[:40]!r}")


def _keys(obj: dict[str, Any], expected: set[str], what: str) -> None:
    if set(obj) != expected:
        raise ChannelViolation(f"{what} with fields {sorted(map(str, obj))[:8]}, expected {sorted(expected)}")


def _text(value: Any) -> str:
    if type(value) is not str:
        raise ChannelViolation("text that is not a string")
    return value


def _bundle(data: Any) -> dict[str, Any]:
    """A MIME bundle: text for text types, any JSON for ``application/*json``."""
    if type(data) is not dict:
        raise ChannelViolation("a MIME bundle that is not an object")
    bundle = {}
    for mime, value in data.items():
        if type(mime) is not str or "/" not in mime:
            raise ChannelViolation("a MIME type that is not a MIME type")
        bundle[mime] = _json_value(value) if mime.endswith("json") else _text(value)
    return bundle


def _json_object(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise ChannelViolation("metadata that is not an object")
    return _json_value(value)


def _json_value(value: Any) -> Any:
    """Plain JSON, rebuilt: only dicts with string keys, lists, strings, numbers, booleans, null."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if type(value) is list:
        return [_json_value(item) for item in value]
    if type(value) is dict and all(type(key) is str for key in value):
        return {key: _json_value(item) for key, item in value.items()}
    raise ChannelViolation("a value that is not plain JSON")
