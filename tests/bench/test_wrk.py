"""Reading wrk's report (bench/wrk.py): the figures the page benchmark prints come from here."""

from __future__ import annotations

import pytest

from bench import wrk

# Captured from wrk 4.1 (Debian's package): a 404 page, so every response counts as an error.
ERRORS = """Running 2s test @ http://127.0.0.1:38999/missing
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.65ms    8.27ms  78.46ms   96.76%
    Req/Sec     1.49k   364.60     1.86k    90.00%
  Latency Distribution
     50%    0.95ms
     75%    1.43ms
     90%    3.02ms
     99%   56.19ms
  2976 requests in 2.00s, 1.48MB read
  Non-2xx or 3xx responses: 2976
Requests/sec:   1487.18
Transfer/sec:    755.39KB
"""

# A slow page: latencies in microseconds and seconds, socket errors (timeouts) and no failures.
SLOW = """Running 15s test @ http://127.0.0.1:8000/deals/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   1.02s   320.00ms   1.99s    70.00%
    Req/Sec     3.10      2.00    10.00     80.00%
  Latency Distribution
     50%  980.00us
     75%    1.10s
     90%    1.50s
     99%    1.99s
  90 requests in 15.02s, 2.90MB read
  Socket errors: connect 0, read 0, write 0, timeout 12
Requests/sec:      5.99
Transfer/sec:    197.00KB
"""


def test_a_report_with_error_responses() -> None:
    result = wrk.parse(ERRORS)
    assert result.requests_per_s == 1487.18
    assert (result.requests, result.seconds) == (2976, 2.0)
    assert result.latency_ms == {"50": 0.95, "75": 1.43, "90": 3.02, "99": 56.19}
    assert (result.non_2xx_3xx, result.errors) == (2976, 2976)


def test_units_and_socket_errors() -> None:
    result = wrk.parse(SLOW)
    assert result.p50 == pytest.approx(0.98)
    assert result.p99 == pytest.approx(1990.0)
    assert result.socket_errors == {"connect": 0, "read": 0, "write": 0, "timeout": 12}
    assert result.errors == 12
    assert result.seconds == pytest.approx(15.02)


def test_not_a_report() -> None:
    with pytest.raises(ValueError, match="not a wrk report"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused")


def test_no_latencies_when_every_answer_came_after_the_timeout() -> None:
    report = SLOW.replace("980.00us", "0.00us").replace("1.10s", "0.00us").replace("1.50s", "0.00us")
    result = wrk.parse(report.replace("99%    1.99s", "99%    0.00us"))
    assert result.latency_ms == {}
    assert result.p50 != result.p50  # NaN: shown as "—", not as 0 ms
    assert result.requests_per_s == 5.99
