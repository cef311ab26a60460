"""Unit tests of the harness's formatting, ratios and checks (pytest; not run by CI)."""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from windlass_bench import report, runner, workloads  # noqa: E402
from windlass_bench.result import RunResult, percentile  # noqa: E402


def ok_run(engine, throughput, n=1000):
    return {"engine": engine, "workload": "single_task", "instances": n, "status": "ok",
            "mismatch": [], "result": {"throughput": throughput, "notes": []}}


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert math.isnan(percentile([], 50))


def test_ratio_meets_and_misses_target():
    assert report.fmt_ratio(ok_run("w", 10_000), ok_run("p", 100), 50) == "100.0× (meets ≥50×)"
    assert report.fmt_ratio(ok_run("w", 1_000), ok_run("p", 100), 50) == (
        "10.0× (misses by 5.0× ≥50×)"
    )
    assert report.fmt_ratio(None, ok_run("p", 100), 50) == "n/a (no Windlass run)"


def test_units():
    assert report.fmt_us(250) == "250 µs"
    assert report.fmt_us(2500) == "2.5 ms"
    assert report.fmt_us(2_500_000) == "2.5 s"
    assert report.fmt_kib(2048) == "2.0 MiB"


def test_check_flags_wrong_counts_and_missing_completions():
    workload = workloads.load("gateways")
    result = RunResult.from_latencies(
        engine="adhesive", workload="gateways", instances=10, seconds=1.0,
        latencies_s=[0.1] * 10, peak_rss_kib=1, completed=1,
        executed={"Review order": 10, "Notify customer": 1, "Record order": 1},
    )
    record = {"status": "ok", "instances": 10, "result": result.to_json()}
    problems = runner.check(record, workload)
    assert len(problems) == 2
    assert "completed 1 of 10" in problems[1]
    good = dict(record, result=dict(record["result"], completed=10,
                                    executed=workload.expected(10)))
    assert runner.check(good, workload) == []


def test_every_workload_loads():
    for name in workloads.names():
        workload = workloads.load(name)
        assert workload.bpmn.is_file()
        assert workload.expected_per_instance
