"""Runs the verification pass and the timed matrix, one subprocess per run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import drivers, workloads

BENCH_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Plan:
    """What to run: instance counts, verification size and the per-run peer time budget."""

    sizes: tuple[int, ...]
    verify_n: int
    peer_budget_s: float
    windlass_timeout_s: float = 1800.0


QUICK = Plan(sizes=(100, 1000), verify_n=10, peer_budget_s=8.0, windlass_timeout_s=120.0)
FULL = Plan(sizes=(1000, 10_000, 100_000), verify_n=10, peer_budget_s=300.0)


def run_child(engine: str, workload: str, n: int, timeout_s: float) -> dict:
    """Runs one engine/workload/N in its own Python process and returns a run record."""
    cmd = [sys.executable, "-m", "windlass_bench.child", engine, workload, str(n)]
    record = {"engine": engine, "workload": workload, "instances": n}
    try:
        proc = subprocess.run(
            cmd, cwd=BENCH_DIR, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return record | {"status": "capped", "reason": f"killed after the {timeout_s:.0f} s limit"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return record | {"status": "ok", "result": json.loads(line[len("RESULT ") :])}
        if line.startswith("UNAVAILABLE "):
            return record | {"status": "unavailable", "reason": line[len("UNAVAILABLE ") :]}
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return record | {"status": "error", "reason": f"exit {proc.returncode}: {tail}"}


def check(record: dict, workload: workloads.Workload) -> list[str]:
    """Differences between what a run executed and what the workload expects."""
    if record["status"] != "ok":
        return []
    result, n = record["result"], record["instances"]
    problems = []
    expected = workload.expected(n)
    if result["executed"] != expected:
        problems.append(f"executed {result['executed']} != expected {expected}")
    if result["completed"] != n:
        problems.append(f"completed {result['completed']} of {n} instances")
    return problems


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def verify(plan: Plan, names: list[str], engines: list[str]) -> list[dict]:
    """Runs every engine once at plan.verify_n and checks the executed task counts."""
    records = []
    for name in names:
        workload = workloads.load(name)
        _log(f"-- verification: {name}, N={plan.verify_n} (expected {workload.expected(plan.verify_n)})")
        for engine in engines:
            record = run_child(engine, name, plan.verify_n, plan.windlass_timeout_s)
            record["mismatch"] = check(record, workload)
            records.append(record)
            if record["status"] == "ok":
                verdict = "MISMATCH: " + "; ".join(record["mismatch"]) if record["mismatch"] else "ok"
                _log(f"   {engine:18} executed={record['result']['executed']} "
                     f"completed={record['result']['completed']} -> {verdict}")
            else:
                _log(f"   {engine:18} {record['status']}: {record['reason']}")
    return records


def timed(plan: Plan, names: list[str], engines: list[str], verified: list[dict]) -> list[dict]:
    """Runs the timed matrix; a peer is capped once a run is predicted to exceed the budget."""
    records = []
    for name in names:
        workload = workloads.load(name)
        for engine in engines:
            is_peer = engine in drivers.PEERS
            last = next(
                (r for r in verified if r["workload"] == name and r["engine"] == engine), None
            )
            for n in plan.sizes:
                if last is not None and last["status"] in ("unavailable", "capped", "error"):
                    records.append(_skipped(engine, name, n, last))
                    last = records[-1]
                    continue
                if is_peer and last is not None and last["status"] == "ok":
                    done = last["result"]
                    predicted = done["seconds"] * n / done["instances"]
                    if predicted > plan.peer_budget_s:
                        reason = (
                            f"capped: N={n} would take at least {predicted:.0f} s "
                            f"(linear from N={done['instances']}), budget {plan.peer_budget_s:.0f} s"
                        )
                        records.append(_capped(engine, name, n, reason))
                        last = records[-1]
                        continue
                timeout = 2 * plan.peer_budget_s if is_peer else plan.windlass_timeout_s
                started = time.perf_counter()
                record = run_child(engine, name, n, timeout)
                record["mismatch"] = check(record, workload)
                records.append(record)
                status = "MISMATCH" if record["mismatch"] else record["status"]
                _log(f"   {name:15} {engine:18} N={n:<7} {status:11} "
                     f"{time.perf_counter() - started:6.1f} s wall")
                last = record
    return records


def _capped(engine: str, workload: str, n: int, reason: str) -> dict:
    return {"engine": engine, "workload": workload, "instances": n, "status": "capped",
            "reason": reason, "mismatch": []}


def _skipped(engine: str, workload: str, n: int, previous: dict) -> dict:
    status = previous["status"]
    reason = previous["reason"]
    if status == "capped" and not reason.startswith("capped"):
        reason = f"capped: a smaller N was already over the budget ({reason})"
    return {"engine": engine, "workload": workload, "instances": n, "status": status,
            "reason": reason, "mismatch": []}
