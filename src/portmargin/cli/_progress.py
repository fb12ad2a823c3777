"""Stage timings and a Rich progress display on stderr for long CLI runs."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from portmargin.cli._common import stderr

__all__ = ["SHOW_AFTER_SECONDS", "Stages"]

SHOW_AFTER_SECONDS = 1.0
"""The display appears only once a run has lasted this long (short runs print nothing)."""


class Stages:
    """Times named stages of a command and shows them on stderr while it runs.

    The display is transient (it disappears when the run ends), is shown only when ``show``
    is true and stderr is a terminal, and only after :data:`SHOW_AFTER_SECONDS`. Use as a
    context manager; :meth:`stage` times one stage.

    Parameters
    ----------
    show
        False for ``--quiet``.
    """

    def __init__(self, *, show: bool) -> None:
        self.seconds: dict[str, float] = {}
        self._progress: Progress | None = None
        self._timer: threading.Timer | None = None
        if show and sys.stderr.isatty():
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=stderr,
                transient=True,
            )
            self._timer = threading.Timer(SHOW_AFTER_SECONDS, self._progress.start)
            self._timer.daemon = True

    def __enter__(self) -> Stages:
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the display (stage timings are kept)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()
        if self._progress is not None:
            self._progress.stop()
        self._progress = self._timer = None

    @contextmanager
    def stage(self, name: str, description: str) -> Iterator[None]:
        """Time the block as stage ``name`` (seconds add up if a name repeats)."""
        task = None
        if self._progress is not None:
            task = self._progress.add_task(description, total=None)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            if self._progress is not None and task is not None:
                self._progress.update(task, total=1, completed=1)

    def write(self, path: Path, **extra: Any) -> None:
        """Write ``{"stages": {name: seconds}, **extra}`` as JSON to ``path``."""
        path.write_text(json.dumps({"stages": self.seconds, **extra}, indent=2), encoding="utf-8")
