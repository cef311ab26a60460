"""Workload (c): one task run for 100 items as a parallel multi-instance activity."""

WORKLOAD = {
    "title": "(c) multi-instance loop over 100 items",
    "bpmn": "multi_instance.bpmn",
    "bpmn_by_engine": {"adhesive": "multi_instance.adhesive.bpmn"},
    "input": {},
    "input_by_engine": {"adhesive": {"items": list(range(100))}},
    "expected_per_instance": {"Process item": 100},
    "notes": "Windlass and SpiffWorkflow run `multiInstanceLoopCharacteristics "
    'isSequential="false"` with `loopCardinality` 100. Adhesive has no cardinality: its '
    "`standardLoopCharacteristics` `loopCondition` `items` iterates the 100-element list "
    "`items` given as input, in parallel (Adhesive's documented loop form). Only the loop "
    "element and the input differ.",
}
