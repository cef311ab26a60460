"""Adhesive driver, "one execution per instance" mode.

This is how Adhesive runs a build: one process execution from start to end. The
BPMN is read once; each instance is a fresh `ProcessExecutor(...).execute()`
(what `adhesive.bpmn_build` does, minus re-reading the file), one after the
other. Latency is each execution's wall time. Adhesive's event loop polls its
task futures with a 0.1 s timeout and sleeps 0.1 s when none is pending, so
each execution costs at least about 0.2 s whatever the process does.
"""

from __future__ import annotations

import resource
import time

from ..result import RunResult
from .adhesive_common import TaskCounter, import_adhesive


def run(workload, n: int, *, label: str, family: str) -> RunResult:
    """Runs n separate Adhesive process executions of the workload."""
    adhesive = import_adhesive()
    from adhesive.logging import configure_logging
    from adhesive.model.ProcessExecutor import ProcessExecutor
    from adhesive.process_read.bpmn import read_bpmn_file

    counter = TaskCounter()
    counter.register(adhesive)
    adhesive.process.process = read_bpmn_file(str(workload.bpmn_for(family)))
    configure_logging(adhesive.config.current)
    initial = workload.input_for(family)

    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        ProcessExecutor(adhesive.process, ut_provider=None, wait_tasks=False).execute(
            initial_data=dict(initial)
        )
        latencies.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started

    return RunResult.from_latencies(
        engine=label,
        workload=workload.name,
        instances=n,
        seconds=seconds,
        latencies_s=latencies,
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        executed=counter.executed,
        completed=len(latencies),
    )
