#!/usr/bin/env python3
"""The worker of examples/release-build.bpmn: builds and publishes a release (simulated).

    python3 examples/workers/python/release_worker.py --server http://127.0.0.1:8080 \
        --token-file windlass.db.token

Start an instance with ``{"processId": "release-build", "variables": {"name": "api",
"version": "1.4.0"}}``. A version that is not ``X.Y.Z`` is a BPMN error (``bad-version``, caught
by the model's boundary event); ``"flaky": true`` fails the build attempt once (the engine retries
it). Written for this project.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from windlass_worker import BpmnError, Worker  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", default=os.environ.get("WINDLASS_SERVER", "http://127.0.0.1:8080"))
    p.add_argument("--token-file", default=os.environ.get("WINDLASS_TOKEN_FILE"))
    p.add_argument("--jobs", type=int, default=None, help="stop after this many jobs")
    p.add_argument("--wait-ms", type=int, default=20_000, help="long-poll wait per fetch")
    args = p.parse_args()
    token = os.environ.get("WINDLASS_TOKEN")
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            token = f.read().strip()
    if not token:
        p.error("give --token-file or WINDLASS_TOKEN")

    worker = Worker(args.server, token, kinds=["python"], wait_millis=args.wait_ms)

    @worker.task("Build {name}")
    def build(job, name):
        version = str(job.variables.get("version", ""))
        if not re.fullmatch(r"\d+\.\d+\.\d+", version):
            raise BpmnError("bad-version", f"'{version}' is not a release version")
        if job.variables.get("flaky") and job.attempt == 1:
            raise RuntimeError("the build machine went away")
        job.heartbeat()  # a long build would do this now and then
        return {"artifact": f"{name}-{version}.tar.gz", "attempts": job.attempt}

    @worker.task("Publish {name}")
    def publish(job, name):
        return {"url": f"{job.settings['registry']}:{job.variables['version']}"}

    worker.run(jobs=args.jobs)


if __name__ == "__main__":
    main()
