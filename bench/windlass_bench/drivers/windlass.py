"""Windlass driver: runs `windlass bench` (implemented in the windlass binary) and reads its JSON.

Contract: `windlass bench FILE --instances N --store memory|sqlite [--db PATH]
[--input JSON] --format json` prints one JSON object with seconds, latency_us
p50/p99, peak_rss_kib, executed and completed. When the binary or its `bench`
verb is missing, the run raises `EngineUnavailable`; no number is made up.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
from pathlib import Path

from ..result import EngineUnavailable, RunResult

MISSING = "not available: `windlass bench` missing"


def binary() -> Path:
    """The windlass binary: $WINDLASS_BIN, else $CARGO_TARGET_DIR/release/windlass."""
    if os.environ.get("WINDLASS_BIN"):
        return Path(os.environ["WINDLASS_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache/windlass/target"))
    return Path(target) / "release" / "windlass"


def check_available() -> None:
    """Raises EngineUnavailable unless `windlass bench --help` succeeds."""
    exe = binary()
    if not exe.is_file():
        raise EngineUnavailable(f"{MISSING} (no binary at {exe})")
    probe = subprocess.run(
        [str(exe), "bench", "--help"], capture_output=True, text=True, timeout=30
    )
    if probe.returncode != 0:
        raise EngineUnavailable(f"{MISSING} (`{exe} bench --help` exited {probe.returncode})")


def run(workload, n: int, *, label: str, family: str, store: str) -> RunResult:
    """Runs n instances through `windlass bench` with the given store."""
    check_available()
    with tempfile.TemporaryDirectory(prefix="windlass-bench-") as tmp:
        cmd = [
            str(binary()),
            "bench",
            str(workload.bpmn_for(family)),
            "--instances",
            str(n),
            "--store",
            store,
            "--format",
            "json",
        ]
        if store == "sqlite":
            cmd += ["--db", str(Path(tmp) / "bench.db")]
        initial = workload.input_for(family)
        if initial:
            cmd += ["--input", json.dumps(initial)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` exited {proc.returncode}: {proc.stderr.strip()}")
    try:
        report = json.loads(proc.stdout)
        latency = report["latency_us"]
        return RunResult(
            engine=label,
            workload=workload.name,
            instances=int(report["instances"]),
            seconds=float(report["seconds"]),
            latency_p50_us=float(latency["p50"]),
            latency_p99_us=float(latency["p99"]),
            peak_rss_kib=int(
                report.get("peak_rss_kib")
                or resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            ),
            executed={str(k): int(v) for k, v in report["executed"].items()},
            completed=int(report["completed"]),
        )
    except (ValueError, KeyError, TypeError) as bad:
        raise RuntimeError(
            f"`windlass bench` printed output outside the contract ({bad!r}): {proc.stdout[:500]}"
        ) from None
