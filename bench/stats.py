"""Summary statistics of timings in milliseconds: percentiles, their summary and its one-line form."""

from __future__ import annotations


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def describe(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
        "mean": sum(values) / len(values) if values else float("nan"),
    }


def fmt(stats: dict[str, float]) -> str:
    return (
        f"n={stats['n']} p50={stats['p50']:.1f} ms  p95={stats['p95']:.1f} ms  "
        f"p99={stats['p99']:.1f} ms  max={stats['max']:.1f} ms  mean={stats['mean']:.1f} ms"
    )
