"""Throughput against N per engine (log-log), one panel per workload."""

from __future__ import annotations

from pathlib import Path


def throughput_plot(doc: dict, path: Path) -> None:
    """Writes the plot of measured runs only (capped and unavailable runs are absent)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = doc["workloads"]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        engines = sorted({r["engine"] for r in doc["runs"] if r["workload"] == name})
        for engine in engines:
            points = [
                (r["instances"], r["result"]["throughput"])
                for r in doc["runs"]
                if r["workload"] == name and r["engine"] == engine and r["status"] == "ok"
            ]
            if points:
                xs, ys = zip(*sorted(points))
                mismatch = any(
                    r["mismatch"] for r in doc["runs"]
                    if r["workload"] == name and r["engine"] == engine
                )
                label = engine + (" (mismatch)" if mismatch else "")
                ax.plot(xs, ys, marker="o", linestyle="--" if mismatch else "-", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("instances (N)")
        ax.set_ylabel("instances / s")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
