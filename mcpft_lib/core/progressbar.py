"""Progress bars for steps that take more than a few seconds: a widget in JupyterLab, text on stderr in a
terminal, and in a headless notebook run (`mcpft run`: papermill) text on the terminal the run was started
from, never a widget or text stored in the executed notebook.

The report runner sets `MCPFT_PROGRESS=terminal` for the kernels it starts (`report.runner`); that is what
makes a run headless here. A tqdm bar in a kernel is a widget whose stored text is its first frame (`0%`), all
that a batch report could show of it.
"""

from __future__ import annotations

import io
import os
import sys

ENV = "MCPFT_PROGRESS"
TERMINAL = "terminal"


def headless() -> bool:
    """True in a notebook run by the report runner: bars then go to the terminal, not into the notebook."""
    return os.environ.get(ENV, "") == TERMINAL


def terminal_stderr():
    """The process's own stderr, not the notebook's. Inside a kernel ipykernel redirects fd 2 into a pipe that
    it copies into the notebook (so `sys.__stderr__` lands in the report too); `sys.stderr.fileno()` is its
    duplicate of the original descriptor: the terminal the kernel was started from."""
    try:
        return open(sys.stderr.fileno(), "w", buffering=1, closefd=False)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return sys.__stderr__


def bar(
    iterable=None,
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
    to_terminal: bool | None = None,
    **kw,
):
    """A tqdm bar (items done / total, rate and ETA) over `iterable` or updated by hand (`total`).

    `to_terminal` (default: `headless()`) puts a text bar on the terminal's stderr (`terminal_stderr`, or the
    `file` given); otherwise `tqdm.auto` picks a widget in a notebook and text on stderr elsewhere. Other
    keywords go to tqdm.
    """
    if to_terminal is None:
        to_terminal = headless()
    if to_terminal:
        from tqdm.std import tqdm

        kw["file"] = kw.get("file") or terminal_stderr()
        return tqdm(iterable, total=total, desc=desc, unit=unit, **kw)
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, **kw)


def say(message: str) -> None:
    """One line for the person waiting, next to the bars: the terminal in a headless run, else stdout (the
    notebook cell, or the terminal)."""
    print(message, file=terminal_stderr() if headless() else sys.stdout, flush=True)
