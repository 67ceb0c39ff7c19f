"""The check-in benchmark reports the median of its windows, not whichever fell on a slow spell."""

from ticketflow_local.bench.checkin import median_rate, median_window, pause_for, paced, windows_text

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


def test_the_gates_pause_for_the_rate_asked():
    # 32 gates at 1,000 scans/s: a 32 ms cycle each, all of it pause before the latency is known.
    assert pause_for(1000, 32) == 32.0
    # A probe paused 32 ms and scanned 800/s: a 40 ms cycle, so 8 ms of latency; 24 ms of pause is left.
    assert pause_for(1000, 32, {"requests": 8_000, "seconds": 10.0}, 32.0) == 24.0
    # A service slower than the rate asked leaves no pause at all.
    assert pause_for(1000, 32, {"requests": 500, "seconds": 1.0}, 32.0) == 0.0


def test_the_pause_is_random_in_wrks_delay_hook():
    hook = paced(24.0)
    assert "function delay()" in hook and "math.log(1 - math.random())" in hook and "24.000" in hook
