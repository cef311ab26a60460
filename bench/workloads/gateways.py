"""Workload (b): 10 flow nodes with an exclusive split/merge and a parallel fork/join."""

WORKLOAD = {
    "title": "(b) 10 nodes: exclusive gateway + parallel fork/join",
    "bpmn": "gateways.bpmn",
    # amount > 100 routes every instance to "Review order".
    "input": {"amount": 150},
    "expected_per_instance": {
        "Review order": 1,
        "Notify customer": 1,
        "Record order": 1,
    },
    "notes": "The same BPMN file for every engine (condition `amount > 100`, default flow "
    "unconditioned).",
}
