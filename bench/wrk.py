"""wrk (https://github.com/wg/wrk), the HTTP load generator of the page benchmark: run it and read
its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field

INSTALL_HINT = (
    "wrk is not installed. On Debian/Ubuntu: sudo apt-get install wrk (package `wrk`); elsewhere "
    "build it from https://github.com/wg/wrk (make; put the `wrk` binary on PATH)."
)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


@dataclass
class WrkResult:
    requests_per_s: float
    requests: int
    seconds: float
    latency_ms: dict[str, float] = field(default_factory=dict)  # "50", "75", "90", "99"
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)  # connect, read, write, timeout

    @property
    def p50(self) -> float:
        return self.latency_ms.get("50", float("nan"))

    @property
    def p99(self) -> float:
        return self.latency_ms.get("99", float("nan"))

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())

    def as_dict(self) -> dict:
        return {**asdict(self), "p50_ms": self.p50, "p99_ms": self.p99}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse(report: str) -> WrkResult:
    """Read wrk's report (``--latency``)."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", report)
    if rps is None or total is None:
        raise ValueError(f"not a wrk report:\n{report}")
    latency = {
        pct: _ms(value, unit)
        for pct, value, unit in re.findall(
            r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", report, re.MULTILINE
        )
    }
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    if not any(latency.values()):
        # Every answer came after the timeout: wrk counts them, but records no latency (all 0).
        latency = {}
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        requests=int(total.group(1)),
        seconds=_ms(total.group(2), total.group(3)) / 1000,
        latency_ms=latency,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=(
            dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True))
            if sockets
            else {}
        ),
    )


def run(
    url: str,
    *,
    headers: dict[str, str],
    threads: int = 2,
    connections: int = 8,
    duration: int = 15,
    timeout: str = "2s",
) -> WrkResult:
    """``wrk -t threads -c connections -d duration --latency`` against ``url``; ``timeout`` is
    wrk's own (a request slower than it counts as a timeout error, not in the latencies)."""
    command = [
        require_wrk(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--timeout",
        timeout,
        "--latency",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    completed = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=duration + 60
    )
    return parse(completed.stdout)
