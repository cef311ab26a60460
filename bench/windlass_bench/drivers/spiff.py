"""SpiffWorkflow 3.2.0 driver.

Driven as its users embed it: the BPMN is parsed once (`BpmnParser`), then one
`BpmnWorkflow` per instance is created from the shared spec; the driver calls
`do_engine_steps()` and completes every READY manual task (plain `<task>`s are
manual in Spiff) until the workflow is complete. Instances run one after the
other; latency is each instance's wall time from creation to completion.
"""

from __future__ import annotations

import resource
import time

from ..result import RunResult


class SpiffStuck(Exception):
    """A workflow has neither ready tasks nor completed."""


def run(workload, n: int, *, label: str, family: str) -> RunResult:
    """Runs n instances of the workload's process in SpiffWorkflow."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser()
    parser.add_bpmn_file(str(workload.bpmn_for(family)))
    spec = parser.get_spec(parser.get_process_ids()[0])
    initial = workload.input_for(family)

    executed: dict[str, int] = {}
    latencies: list[float] = []
    completed = 0
    started = time.perf_counter()
    for index in range(n):
        t0 = time.perf_counter()
        workflow = BpmnWorkflow(spec)
        workflow.task_tree.data.update(initial)
        workflow.do_engine_steps()
        while not workflow.is_completed():
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                raise SpiffStuck(f"instance {index}: no READY task and not completed")
            for task in ready:
                task.run()
                name = task.task_spec.bpmn_name
                executed[name] = executed.get(name, 0) + 1
            workflow.do_engine_steps()
        completed += 1
        latencies.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started

    return RunResult.from_latencies(
        engine=label,
        workload=workload.name,
        instances=n,
        seconds=seconds,
        latencies_s=latencies,
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        executed=executed,
        completed=completed,
    )
