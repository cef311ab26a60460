"""Adhesive driver, "message stream" mode: N instances as tokens of one long-running process.

This is how Adhesive runs event-driven work: the process's start event becomes a
message start event (the only change made to the BPMN), and one
`@adhesive.message` generator yields N events; Adhesive starts one token per
event inside a single `adhesive.bpmn_build(...)` execution. The workload input
is the process's `initial_data`, which every token inherits.

Latency per instance: from the moment the generator yields its event to the
moment that token's end event is done (recorded by a thin wrapper around
`ProcessExecutor.done_event`; it changes no behaviour). All N events are yielded
as fast as Adhesive takes them, so latency includes the time spent queued
behind earlier instances.
"""

from __future__ import annotations

import io
import re
import resource
import time

from ..result import RunResult
from .adhesive_common import TaskCounter, import_adhesive


class AdhesiveModelError(Exception):
    """The workload BPMN cannot be turned into Adhesive's message-start form."""


def message_start_bpmn(xml: str) -> tuple[str, str]:
    """Adds a messageEventDefinition to the first start event; returns (xml, event name)."""
    match = re.search(r'<startEvent\b([^>]*?)\bname="([^"]+)"([^>]*)>', xml)
    if match is None or match.group(0).endswith("/>"):
        raise AdhesiveModelError("the process needs a named, non-empty <startEvent ...>")
    changed = xml.replace(
        match.group(0), match.group(0) + '<messageEventDefinition id="bench_start_message"/>', 1
    )
    return changed, match.group(2)


def run(workload, n: int, *, label: str, family: str) -> RunResult:
    """Feeds n message events into one Adhesive process execution."""
    adhesive = import_adhesive()
    from adhesive.model.ProcessExecutor import ProcessExecutor

    xml, start_name = message_start_bpmn(workload.bpmn_for(family).read_text())
    counter = TaskCounter()
    counter.register(adhesive)
    yielded: dict[int, float] = {}
    ended: dict[int, float] = {}
    end_events = 0

    @adhesive.message(start_name)
    def generate(_context):
        for index in range(n):
            yielded[index] = time.perf_counter()
            yield {"bench_instance": index}

    original_done_event = ProcessExecutor.done_event

    def done_event(self, event, data):
        nonlocal end_events
        if type(event.task).__name__ == "EndEvent":
            end_events += 1
            index = event.context.data.event["bench_instance"]
            ended.setdefault(index, time.perf_counter())
        return original_done_event(self, event, data)

    ProcessExecutor.done_event = done_event
    started = time.perf_counter()
    adhesive.bpmn_build(
        io.StringIO(xml), wait_tasks=False, initial_data=dict(workload.input_for(family))
    )
    seconds = time.perf_counter() - started

    notes = []
    if len(ended) < min(n, end_events):
        notes.append(
            f"{end_events} end events were reached but only {len(ended)} distinct instance ids "
            "were seen there: some tokens carried another instance's event data"
        )
    return RunResult.from_latencies(
        engine=label,
        workload=workload.name,
        instances=n,
        seconds=seconds,
        latencies_s=[ended[i] - yielded[i] for i in ended],
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        executed=counter.executed,
        completed=end_events,
        notes=notes,
    )
