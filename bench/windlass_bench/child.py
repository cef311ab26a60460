"""Subprocess entry point: `python -m windlass_bench.child ENGINE WORKLOAD N`.

Runs one engine on one workload once and prints one line `RESULT <json>` (or
`UNAVAILABLE <reason>`) so that each run has its own process and peak RSS.
"""

from __future__ import annotations

import json
import sys

from . import drivers, workloads
from .result import EngineUnavailable


def main(argv: list[str]) -> int:
    """Runs the requested engine/workload/N and prints its result line."""
    if len(argv) != 3:
        print("usage: python -m windlass_bench.child ENGINE WORKLOAD N", file=sys.stderr)
        return 2
    engine, workload_name, n = argv[0], argv[1], int(argv[2])
    if engine not in drivers.ENGINES:
        print(f"unknown engine {engine!r}; known: {', '.join(drivers.ENGINES)}", file=sys.stderr)
        return 2
    workload = workloads.load(workload_name)
    try:
        result = drivers.run(engine, workload, n)
    except EngineUnavailable as why:
        print(f"UNAVAILABLE {why}", flush=True)
        return 0
    print("RESULT " + json.dumps(result.to_json()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
