"""One cell's outputs in nbformat's shape, collected the way ipykernel would send them.

The runner points IPython's display hook, display publisher and ``sys.stdout`` /
``sys.stderr`` here. Everything a cell shows counts against one size budget, so a
cell cannot make the grader read more than the limit, whatever it prints or displays.
"""

from __future__ import annotations

import json
from typing import Any

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

CUT = "\n[output cut: over the size limit]\n"
#: Characters kept of an exception's message, and of its traceback (IPython's, with colour codes).
MESSAGE_TEXT = 4_000
TRACEBACK_TEXT = 20_000


class Capture:
    """Collects one cell's outputs, with a cap on their total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.begin()

    def begin(self) -> None:
        self.outputs: list[dict[str, Any]] = []
        self.used, self.cut = 0, False

    def write(self, name: str, text: str) -> None:
        if self.cut or not text:
            return
        room = self.max_bytes - self.used
        if len(text) > room:
            text, self.cut = text[:room] + CUT, True
        self.used += len(text)
        if self.outputs and self.outputs[-1]["output_type"] == "stream" and self.outputs[-1]["name"] == name:
            self.outputs[-1]["text"].append(text)  # joined once, in finished(): += on a long text is quadratic
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": [text]})

    def add(self, output: dict[str, Any]) -> None:
        """A rich output (display data, a result), replaced by a note when it does not fit."""
        size = len(json.dumps(output, default=str))
        if self.used + size > self.max_bytes:
            self.write("stderr", f"[a displayed output of {size} bytes was left out: over the size limit]\n")
            return
        self.used += size
        self.outputs.append(output)

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        """An error is always kept (it decides the cell's score); its text is cut to a fixed size."""
        kept, room = [], TRACEBACK_TEXT
        for line in traceback:
            if len(line) > room:
                kept.append(line[:room] + CUT)
                break
            kept.append(line)
            room -= len(line)
        self.outputs.append({"output_type": "error", "ename": ename[:200], "evalue": evalue[:MESSAGE_TEXT],
                             "traceback": kept})

    def has_error(self) -> bool:
        return any(output["output_type"] == "error" for output in self.outputs)

    def finished(self) -> list[dict[str, Any]]:
        """The cell's outputs in nbformat's shape."""
        return [{**output, "text": "".join(output["text"])} if output["output_type"] == "stream" else output
                for output in self.outputs]


class Stream:
    """``sys.stdout`` or ``sys.stderr`` for the cells."""

    def __init__(self, capture: Capture, name: str) -> None:
        self.capture, self.name = capture, name

    def write(self, text: str) -> int:
        self.capture.write(self.name, str(text))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class CapturingDisplayHook(DisplayHook):
    """The value of a cell's last expression, as an ``execute_result``."""

    def __init__(self, *, shell: InteractiveShell, capture: Capture) -> None:
        super().__init__(shell=shell)
        self.capture = capture

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict: dict, md_dict: dict | None = None) -> None:
        self.capture.add({
            "output_type": "execute_result", "data": format_dict, "metadata": md_dict or {},
            "execution_count": self.shell.execution_count,
        })

    def finish_displayhook(self) -> None:
        pass


class CapturingDisplayPublisher(DisplayPublisher):
    """``display(...)`` calls, as ``display_data``."""

    def __init__(self, *, shell: InteractiveShell, capture: Capture) -> None:
        super().__init__(shell=shell)
        self.capture = capture

    def publish(self, data: dict, metadata: dict | None = None, **kwargs: Any) -> None:
        self.capture.add({"output_type": "display_data", "data": data, "metadata": metadata or {}})

    def clear_output(self, wait: bool = False) -> None:
        self.capture.outputs.clear()
