"""The result of one benchmark run, shared by every driver."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


class EngineUnavailable(Exception):
    """The engine cannot run here (e.g. `windlass bench` is missing); never faked."""


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (pct in 0..100); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class RunResult:
    """What one driver measured for one workload at one N."""

    engine: str
    workload: str
    instances: int
    seconds: float
    latency_p50_us: float
    latency_p99_us: float
    peak_rss_kib: int
    executed: dict[str, int]
    completed: int
    notes: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Instances per second."""
        return self.instances / self.seconds if self.seconds > 0 else math.inf

    @classmethod
    def from_latencies(cls, *, latencies_s: list[float], **kwargs) -> "RunResult":
        """Builds a result from raw per-instance latencies in seconds."""
        return cls(
            latency_p50_us=percentile(latencies_s, 50) * 1e6,
            latency_p99_us=percentile(latencies_s, 99) * 1e6,
            **kwargs,
        )

    def to_json(self) -> dict:
        """A JSON-ready dict including the derived throughput."""
        data = asdict(self)
        data["throughput"] = self.throughput
        return data
