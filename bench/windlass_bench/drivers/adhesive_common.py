"""Shared Adhesive 2021.4.3 setup: quiet configuration and a counting catch-all task.

Adhesive reads its configuration from `ADHESIVE_*` variables when it is first
imported, so `import_adhesive()` sets them first: log level `warning` (the
default `info` prints two lines per task) and `stdout=true` (the default
redirects every task's output into its own files under /tmp/adhesive).
Tasks run with `wait_tasks=False`, the BPMN 2.0 token semantics the corpus uses.
"""

from __future__ import annotations

import os
import threading


def import_adhesive():
    """Imports adhesive with the benchmark configuration and returns the module."""
    os.environ.setdefault("ADHESIVE_LOG_LEVEL", "warning")
    os.environ.setdefault("ADHESIVE_STDOUT", "true")
    os.environ.setdefault("ADHESIVE_TEMP_FOLDER", "/tmp/windlass-bench-adhesive")
    import adhesive

    return adhesive


class TaskCounter:
    """Counts completed tasks by resolved name; Adhesive runs tasks on a thread pool."""

    def __init__(self) -> None:
        self.executed: dict[str, int] = {}
        self._lock = threading.Lock()

    def register(self, adhesive) -> None:
        """Registers one catch-all `@adhesive.task` implementation for every task."""

        @adhesive.task(re=".*")
        def any_task(token, *_params):  # the task does nothing but count itself
            with self._lock:
                self.executed[token.task_name] = self.executed.get(token.task_name, 0) + 1
