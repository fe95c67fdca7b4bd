"""Progress lines of the benchmarks, flushed at once so a run in the background can be followed."""

from __future__ import annotations


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)
