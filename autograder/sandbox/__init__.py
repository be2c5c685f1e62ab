"""Running submissions that may be hostile: an operating-system sandbox per submission.

- ``limits``: what one submission may use.
- ``bwrap``: the bubblewrap command that walls it in, and whether this machine can run it.
- ``runner``: the program inside, which runs the cells as ipykernel does.
- ``channel``: the only way results come out, as JSON checked field by field.
- ``capture``: how the runner collects a cell's outputs.
- ``supervisor``: starts, watches, restarts and kills sandboxes; ``execute_cells`` is the entry point.
"""

from autograder.sandbox.channel import CellResult
from autograder.sandbox.limits import Limits
from autograder.sandbox.supervisor import (
    Execution, SandboxFailed, adopt_sandbox, close_sandboxes, execute_cells, prestart_sandboxes, submission_files,
)

__all__ = [
    "CellResult", "Execution", "Limits", "SandboxFailed", "adopt_sandbox", "close_sandboxes", "execute_cells",
    "prestart_sandboxes", "submission_files",
]
