"""What one submission may use, and how long the grader waits for it."""

from __future__ import annotations

from dataclasses import dataclass

#: Seconds the grader waits beyond a cell's limit before it kills a sandbox that did not stop.
KILL_GRACE = 2.0
#: Seconds a new sandbox may take to start Python and import what the cells need.
STARTUP_LIMIT = 20.0
#: Seconds the zygote may take to clean up after a submission before its sandbox is thrown away.
CLEANUP_LIMIT = 5.0


@dataclass(frozen=True)
class Limits:
    """Limits for one submission, enforced by the kernel, not by the code they limit.

    ``memory_mb`` counts every process of the submission together; ``scratch_mb`` is
    the size of its private working folder (and of its ``/tmp``); ``processes`` counts
    every process it runs at once, the interpreter included.
    """

    cell_timeout: float = 30.0
    memory_mb: int = 2048
    output_kb: int = 256
    processes: int = 64
    scratch_mb: int = 128

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024

    @property
    def output_bytes(self) -> int:
        return self.output_kb * 1024

    @property
    def scratch_bytes(self) -> int:
        return self.scratch_mb * 1024 * 1024
