"""`python -m windlass_bench [--quick]`: verify, time, and write JSON, Markdown and a plot."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import drivers, machine, plot, report, runner, workloads

BENCH_DIR = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    """Parses arguments and runs the benchmark."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N, peers capped at 8 s")
    parser.add_argument("--workload", action="append", help="only these workloads")
    parser.add_argument("--engine", action="append", help="only these engines")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--markdown", type=Path, default=BENCH_DIR / "RESULTS.md")
    args = parser.parse_args(argv)

    plan = runner.QUICK if args.quick else runner.FULL
    names = args.workload or sorted(workloads.names(), key=lambda n: workloads.load(n).title)
    engines = args.engine or list(drivers.ENGINES)
    unknown = [e for e in engines if e not in drivers.ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; known: {list(drivers.ENGINES)}")

    started = time.time()
    verified = runner.verify(plan, names, engines)
    runs = runner.timed(plan, names, engines, verified)
    doc = {
        "command": "scripts/bench" + (" --quick" if args.quick else ""),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "duration_s": time.time() - started,
        "machine": machine.describe(),
        "plan": {"sizes": plan.sizes, "verify_n": plan.verify_n,
                 "peer_budget_s": plan.peer_budget_s},
        "workloads": names,
        "verification": verified,
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(doc, indent=2) + "\n")
    text = report.markdown(doc)
    args.markdown.write_text(text + "\n")
    plot.throughput_plot(doc, args.out / "throughput.png")
    print(text)
    print(f"\nwrote {args.out / 'latest.json'}, {args.markdown}, {args.out / 'throughput.png'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
