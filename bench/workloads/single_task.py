"""Workload (a): start -> task -> end."""

WORKLOAD = {
    "title": "(a) start → task → end",
    "bpmn": "single_task.bpmn",
    "input": {},
    "expected_per_instance": {"Do work": 1},
    "notes": "The same BPMN file for every engine.",
}
