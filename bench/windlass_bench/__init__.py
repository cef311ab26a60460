"""Benchmark harness: Windlass against its peers (Adhesive, SpiffWorkflow).

Each engine is one driver module in `drivers/` exposing
`run(workload, n) -> RunResult`; every run happens in its own subprocess
(`child.py`) so that peak RSS is per engine and run.
"""
