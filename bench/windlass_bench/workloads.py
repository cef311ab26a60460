"""Loads workload descriptors: one small `bench/workloads/<name>.py` file per workload."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

WORKLOAD_DIR = Path(__file__).resolve().parent.parent / "workloads"


class WorkloadError(Exception):
    """A workload descriptor is missing or malformed."""


@dataclass(frozen=True)
class Workload:
    """One benchmark workload; the BPMN and input may differ per engine."""

    name: str
    title: str
    bpmn: Path
    bpmn_by_engine: dict[str, Path]
    input: dict
    input_by_engine: dict[str, dict]
    expected_per_instance: dict[str, int]
    notes: str

    def bpmn_for(self, engine_family: str) -> Path:
        """The BPMN file given to an engine family (windlass, spiff, adhesive)."""
        return self.bpmn_by_engine.get(engine_family, self.bpmn)

    def input_for(self, engine_family: str) -> dict:
        """The initial variables given to an engine family."""
        return self.input_by_engine.get(engine_family, self.input)

    def expected(self, n: int) -> dict[str, int]:
        """Expected executed-task counts for n instances."""
        return {task: count * n for task, count in self.expected_per_instance.items()}


def _load_descriptor(path: Path) -> dict:
    spec = importlib.util.spec_from_file_location(f"workload_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise WorkloadError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    descriptor = getattr(module, "WORKLOAD", None)
    if not isinstance(descriptor, dict):
        raise WorkloadError(f"{path}: defines no WORKLOAD dict")
    return descriptor


def load(name: str) -> Workload:
    """Loads workload `name` from `bench/workloads/<name>.py`."""
    path = WORKLOAD_DIR / f"{name}.py"
    if not path.is_file():
        raise WorkloadError(f"no workload descriptor {path}")
    d = _load_descriptor(path)
    try:
        workload = Workload(
            name=name,
            title=d["title"],
            bpmn=WORKLOAD_DIR / d["bpmn"],
            bpmn_by_engine={k: WORKLOAD_DIR / v for k, v in d.get("bpmn_by_engine", {}).items()},
            input=d.get("input", {}),
            input_by_engine=d.get("input_by_engine", {}),
            expected_per_instance=d["expected_per_instance"],
            notes=d.get("notes", ""),
        )
    except KeyError as missing:
        raise WorkloadError(f"{path}: WORKLOAD lacks key {missing}") from None
    for file in [workload.bpmn, *workload.bpmn_by_engine.values()]:
        if not file.is_file():
            raise WorkloadError(f"{path}: BPMN file {file} does not exist")
    return workload


def names() -> list[str]:
    """All workload names, sorted."""
    return sorted(p.stem for p in WORKLOAD_DIR.glob("*.py") if not p.name.startswith("_"))
