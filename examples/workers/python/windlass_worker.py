"""A small Windlass worker for Python, on the server's REST API (standard library only).

Tasks are bound by their names, with Adhesive-style decorators::

    worker = Worker("http://127.0.0.1:8080", token, kinds=["python"])

    @worker.task("Build {name}")
    def build(job, name):
        return {"artifact": f"{name}.tar.gz"}     # output variables

    worker.run()

The worker fetches jobs of its kinds (``POST /api/v1/jobs/activate``, long polling), finds the
function whose pattern matches the task's name (``{placeholder}`` matches any text and is passed
as a keyword argument), and answers: the returned dict completes the job with those variables;
``BpmnError`` throws a BPMN error (caught by error boundary events); any other exception fails the
attempt (retried by the engine, then an incident). A job no pattern matches is failed without
retry, naming it. ``job.heartbeat()`` extends the lease of a long job; it raises ``JobGone`` when
the engine cancelled the job meanwhile.

Written for this project.
"""

import json
import re
import socket
import sys
import urllib.error
import urllib.request
import uuid


class BpmnError(Exception):
    """A business error: thrown as a BPMN error with this code."""

    def __init__(self, code, message=""):
        super().__init__(message or code)
        self.code = code
        self.message = message or code


class JobGone(Exception):
    """The job is no longer open (cancelled, answered, or its lease ran out)."""


class ApiError(Exception):
    """The server answered with an error: ``status``, ``code`` and ``message``."""

    def __init__(self, status, code, message):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Job:
    """One activated job: its key, variables, settings and name."""

    def __init__(self, worker, data):
        self._worker = worker
        self.key = data["jobKey"]
        self.kind = data["kind"]
        self.name = data.get("name") or data["nodeId"]
        self.node_id = data["nodeId"]
        self.instance_id = data["instanceId"]
        self.attempt = data["attempt"]
        self.max_attempts = data["maxAttempts"]
        self.variables = data.get("variables") or {}
        self.settings = data.get("settings") or {}

    def heartbeat(self, lock_millis=None):
        """Extends the lease; raises ``JobGone`` when the job is not open any more."""
        body = {"jobKey": self.key}
        if lock_millis is not None:
            body["lockMillis"] = lock_millis
        try:
            self._worker._post("/api/v1/jobs/heartbeat", body)
        except ApiError as e:
            if e.status == 404:
                raise JobGone(e.message) from e
            raise


def _pattern(template):
    """``Build {name}`` as a regular expression with a named group per placeholder."""
    out, pos = [], 0
    for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template):
        out.append(re.escape(template[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>.+?)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


class Worker:
    """Fetches jobs of ``kinds`` from a Windlass server and runs the bound functions."""

    def __init__(self, server, token, kinds=("python",), worker_id=None,
                 lock_millis=60_000, wait_millis=20_000, max_jobs=8):
        self.server = server.rstrip("/")
        self.token = token
        self.kinds = list(kinds)
        self.worker_id = worker_id or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.lock_millis = lock_millis
        self.wait_millis = wait_millis
        self.max_jobs = max_jobs
        self._tasks = []

    def task(self, template):
        """Binds the decorated function to tasks whose name matches ``template``."""

        def bind(fn):
            self._tasks.append((_pattern(template), template, fn))
            return fn

        return bind

    def _post(self, path, body, timeout=30):
        req = urllib.request.Request(
            self.server + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                text = resp.read()
                return json.loads(text) if text else {}
        except urllib.error.HTTPError as e:
            try:
                err = json.loads(e.read())
            except ValueError:
                err = {}
            raise ApiError(e.code, err.get("code", "?"), err.get("message", str(e))) from None

    def activate(self):
        """One fetch-and-lock: the jobs handed out (possibly none)."""
        body = {
            "kinds": self.kinds,
            "workerId": self.worker_id,
            "maxJobs": self.max_jobs,
            "lockMillis": self.lock_millis,
            "waitMillis": self.wait_millis,
        }
        answer = self._post("/api/v1/jobs/activate", body, timeout=self.wait_millis / 1000 + 30)
        return [Job(self, j) for j in answer.get("jobs", [])]

    def handle(self, job):
        """Runs the function bound to ``job`` and answers the server. Returns how it ended."""
        for regex, _template, fn in self._tasks:
            m = regex.match(job.name)
            if m:
                break
        else:
            self._post("/api/v1/jobs/fail", {
                "jobKey": job.key,
                "message": f"worker {self.worker_id} has no task for '{job.name}'",
                "retryable": False,
            })
            return "unbound"
        try:
            outputs = fn(job, **m.groupdict())
        except BpmnError as e:
            self._post("/api/v1/jobs/fail", {
                "jobKey": job.key, "message": e.message, "errorCode": e.code})
            return "bpmn-error"
        except JobGone:
            return "gone"
        except Exception as e:  # the task failed: the engine retries it
            self._post("/api/v1/jobs/fail", {
                "jobKey": job.key, "message": f"{type(e).__name__}: {e}", "retryable": True})
            return "failed"
        try:
            self._post("/api/v1/jobs/complete", {"jobKey": job.key, "variables": outputs or {}})
        except ApiError as e:
            if e.status in (404, 409):  # cancelled or lease lost meanwhile
                return "gone"
            raise
        return "completed"

    def run(self, jobs=None, log=sys.stderr):
        """Works until interrupted, or until ``jobs`` jobs were handled."""
        done = 0
        while jobs is None or done < jobs:
            for job in self.activate():
                how = self.handle(job)
                print(f"{job.name} ({job.key}): {how}", file=log, flush=True)
                done += 1
        return done
