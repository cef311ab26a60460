"""Engine drivers; each module exposes `run(workload, n) -> RunResult`.

`ENGINES` maps an engine label (as shown in reports) to its driver module and
the BPMN/input family it uses from the workload descriptor.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class EngineSpec:
    """How to run one engine row."""

    label: str
    module: str
    family: str
    options: tuple[tuple[str, str], ...] = ()


ENGINES: dict[str, EngineSpec] = {
    spec.label: spec
    for spec in [
        EngineSpec("windlass-memory", "windlass", "windlass", (("store", "memory"),)),
        EngineSpec("windlass-sqlite", "windlass", "windlass", (("store", "sqlite"),)),
        EngineSpec("spiffworkflow", "spiff", "spiff"),
        EngineSpec("adhesive", "adhesive_stream", "adhesive"),
        EngineSpec("adhesive-per-run", "adhesive_per_run", "adhesive"),
    ]
}

PEERS = ("spiffworkflow", "adhesive", "adhesive-per-run")
WINDLASS = ("windlass-memory", "windlass-sqlite")


def run(label: str, workload, n: int):
    """Runs engine `label` on `workload` with `n` instances in this process."""
    spec = ENGINES[label]
    module = importlib.import_module(f"{__name__}.{spec.module}")
    return module.run(workload, n, label=label, family=spec.family, **dict(spec.options))
