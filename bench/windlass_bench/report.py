"""Markdown tables and Windlass/peer throughput ratios from a results document."""

from __future__ import annotations

import math

from . import workloads

TARGETS = {"spiffworkflow": 50.0, "adhesive": 100.0, "adhesive-per-run": 100.0}

HOW_DRIVEN = """\
- **SpiffWorkflow 3.2.0** — embedded as its users do: `BpmnParser` parses the file once,
  then one `BpmnWorkflow(spec)` per instance; the driver calls `do_engine_steps()` and runs
  every READY manual task (plain `<task>`s are manual in Spiff) until `is_completed()`.
  Instances run one after the other in one Python process. Latency = wall time of one instance.
- **Adhesive 2021.4.3** (`adhesive` row) — the way Adhesive handles a stream of events: one
  long-running process whose start event is a *message* start event (the only BPMN change),
  fed by one `@adhesive.message` generator yielding N events; Adhesive starts one token per
  event inside a single `adhesive.bpmn_build(..., wait_tasks=False)`. Workload input is the
  process's `initial_data`. One catch-all `@adhesive.task(re=".*")` counts completions. Latency =
  from the generator yielding the event to that token's end event being done (a thin wrapper
  around `ProcessExecutor.done_event` records it), so it includes time queued behind earlier
  instances. Configuration: `ADHESIVE_LOG_LEVEL=warning`, `ADHESIVE_STDOUT=true` (no per-task
  log files), default thread pool of 8.
- **Adhesive, one execution per instance** (`adhesive-per-run` row) — the way Adhesive runs a
  build: one `ProcessExecutor(...).execute()` per instance, BPMN read once. Semantically exact,
  but Adhesive's event loop polls its futures with a 0.1 s timeout and sleeps 0.1 s when idle,
  so every execution costs ≈ 0.2 s regardless of the process.
- **Windlass** — `windlass bench FILE --instances N --store memory|sqlite --format json`
  (release build); latency and peak RSS as that command reports them.
- Every run is a separate subprocess; peak RSS is that process's `ru_maxrss`.
- Adhesive ran on Python 3.11 with `networkx==3.2.1`, `schedule==1.2.2` and its other pins
  relaxed (see `bench/requirements.txt`); installed with `pip install --no-deps adhesive==2021.4.3`.

Where Adhesive's semantics differ (shown, not hidden, by the verification table): in the
message-stream mode a parallel gateway merges the waiting tokens of *all* instances in the
process (Adhesive looks for any other token waiting at the same gateway), so the gateways
workload runs its parallel branches once instead of N times; and a collection loop does not
join its iterations, so each of the 100 iteration tokens reaches the end event on its own.
The per-run mode keeps instances apart and matches, but is bounded by its 0.2 s floor.
"""


def fmt_rate(value: float) -> str:
    """Instances per second, three significant digits."""
    return f"{value:,.3g}" if value < 1000 else f"{value:,.0f}"


def fmt_us(value: float) -> str:
    """A latency given in microseconds, in the most readable unit."""
    if value is None or math.isnan(value):
        return "–"
    if value < 1000:
        return f"{value:.0f} µs"
    if value < 1_000_000:
        return f"{value / 1000:.3g} ms"
    return f"{value / 1e6:.3g} s"


def fmt_kib(value: int) -> str:
    """Peak RSS in MiB."""
    return f"{value / 1024:.1f} MiB"


def fmt_ratio(windlass: dict | None, peer: dict, target: float | None) -> str:
    """Windlass throughput ÷ peer throughput, with the target verdict."""
    if windlass is None:
        return "n/a (no Windlass run)"
    ratio = windlass["result"]["throughput"] / peer["result"]["throughput"]
    if target is None:
        return f"{ratio:,.1f}×"
    verdict = "meets" if ratio >= target else f"misses by {target / ratio:.1f}×"
    return f"{ratio:,.1f}× ({verdict} ≥{target:.0f}×)"


def _ok(runs: list[dict], engine: str, workload: str, n: int) -> dict | None:
    for run in runs:
        if (run["engine"], run["workload"], run["instances"]) == (engine, workload, n):
            return run if run["status"] == "ok" else None
    return None


def check_cell(run: dict) -> str:
    """`ok`, or the mismatch / capped / unavailable reason."""
    if run["status"] != "ok":
        reason = run["reason"]
        return reason if reason.startswith(run["status"]) else f"{run['status']}: {reason}"
    verdict = "**MISMATCH**: " + "; ".join(run["mismatch"]) if run["mismatch"] else "ok"
    notes = run["result"].get("notes", [])
    return verdict + "".join(f"; note: {note}" for note in notes)


def workload_table(doc: dict, name: str) -> list[str]:
    """The table for one workload: every engine and N, with ratios on peer rows."""
    workload = workloads.load(name)
    runs = [r for r in doc["runs"] if r["workload"] == name]
    lines = [
        f"### {workload.title} — `{name}`",
        "",
        workload.notes,
        "",
        "| engine | N | instances/s | p50 latency | p99 latency | peak RSS | check "
        "| windlass-memory ÷ this | windlass-sqlite ÷ this |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for run in runs:
        if run["status"] != "ok":
            lines.append(f"| {run['engine']} | {run['instances']:,} | – | – | – | – "
                         f"| {check_cell(run)} | | |")
            continue
        res = run["result"]
        ratios = ["", ""]
        if run["engine"] in TARGETS:
            target = TARGETS[run["engine"]]
            ratios = [
                fmt_ratio(_ok(doc["runs"], w, name, run["instances"]), run, target)
                for w in ("windlass-memory", "windlass-sqlite")
            ]
        lines.append(
            f"| {run['engine']} | {run['instances']:,} | {fmt_rate(res['throughput'])} "
            f"| {fmt_us(res['latency_p50_us'])} | {fmt_us(res['latency_p99_us'])} "
            f"| {fmt_kib(res['peak_rss_kib'])} | {check_cell(run)} | {ratios[0]} | {ratios[1]} |"
        )
    return lines + [""]


def verification_table(doc: dict) -> list[str]:
    """What every engine executed at the verification size."""
    lines = [
        f"### Verification (N = {doc['plan']['verify_n']} per engine, before timing)",
        "",
        "| workload | engine | executed | completed | instances/s | check |",
        "|---|---|---|---:|---:|---|",
    ]
    for run in doc["verification"]:
        if run["status"] == "ok":
            res = run["result"]
            executed = ", ".join(f"{k}: {v}" for k, v in sorted(res["executed"].items()))
            lines.append(f"| {run['workload']} | {run['engine']} | {executed} "
                         f"| {res['completed']} | {fmt_rate(res['throughput'])} "
                         f"| {check_cell(run)} |")
        else:
            lines.append(f"| {run['workload']} | {run['engine']} | – | – | – "
                         f"| {check_cell(run)} |")
    return lines + [""]


def markdown(doc: dict) -> str:
    """The whole "Peers" section."""
    machine = doc["machine"]
    lines = [
        "## Peers",
        "",
        f"Produced by `{doc['command']}` on {doc['finished']} in {doc['duration_s']:.0f} s. "
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, "
        f"{machine['os']}, Python {machine['python']}. Peer runs are capped at "
        f"{doc['plan']['peer_budget_s']:.0f} s each (predicted linearly from the previous N; a "
        "capped size is not run, and nothing is extrapolated). Windlass ÷ peer ratios compare "
        "throughput at the same N.",
        "",
        "How each engine is driven:",
        "",
        HOW_DRIVEN,
        *verification_table(doc),
    ]
    for name in doc["workloads"]:
        lines += workload_table(doc, name)
    return "\n".join(lines)
