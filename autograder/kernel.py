"""Running a whole notebook in a fresh Jupyter kernel, as a student's JupyterLab would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode

#: A lesson cell that runs longer than this is stopped; tests finish in milliseconds.
CELL_TIMEOUT = 60


def fresh_kernel_client(notebook: NotebookNode, folder: Path, **options: Any) -> NotebookClient:
    """A client that runs ``notebook`` in a new ``python3`` kernel whose working folder is ``folder``."""
    return NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        **options,
    )
