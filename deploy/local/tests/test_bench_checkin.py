"""The check-in benchmark reports the median of its windows, not whichever fell on a slow spell."""

from ticketflow_local.bench.checkin import median_rate, median_window, windows_text

WINDOWS = [
    {"requests": 15_000, "seconds": 10.0, "p99_ms": 41.0},
    {"requests": 20_000, "seconds": 10.0, "p99_ms": 30.0},
    {"requests": 17_000, "seconds": 10.0, "p99_ms": 44.5},
]


def test_the_median_window_by_p99_and_by_rate():
    assert median_window(WINDOWS)["p99_ms"] == 41.0
    assert median_window(WINDOWS, by="requests")["requests"] == 17_000
    assert median_rate(WINDOWS) == 1_700


def test_every_window_is_shown():
    assert windows_text(WINDOWS) == "1,500/s p99 41.0 ms; 2,000/s p99 30.0 ms; 1,700/s p99 44.5 ms"
