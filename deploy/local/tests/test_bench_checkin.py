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


def test_the_paced_windows_keep_to_the_rate_as_the_latency_moves(monkeypatch):
    """Each window's pause comes from the one before: slower answers, shorter pauses."""
    import argparse

    from ticketflow_local.bench import checkin

    latencies = iter([10.0, 20.0, 5.0])
    sent = []

    def window(payloads, *, first, seconds, concurrency, token, pause_ms):
        sent.append(pause_ms)
        cycle_ms = next(latencies) + pause_ms
        return {"requests": int(seconds * 1000 * concurrency / cycle_ms), "seconds": seconds, "other": 0,
                "errors": 0}

    class Sampler:
        def start(self):
            return self

        def stop(self):
            return None

    monkeypatch.setattr(checkin, "scan_with_wrk", window)
    monkeypatch.setattr(checkin, "ResourceSampler", Sampler)
    monkeypatch.setattr(checkin, "cpu_per_unit", lambda *_: "")
    args = argparse.Namespace(windows=3, seconds=10, concurrency=32)

    runs, _ = checkin.scan_windows([], 0, args, "token", pause_ms=22.0, aim=1000)

    assert [run["pause_ms"] for run in runs] == sent
    assert sent[0] == 22.0
    assert abs(sent[1] - 22.0) < 0.1, "a 10 ms answer and a 22 ms pause make the 32 ms cycle of 1,000/s"
    assert abs(sent[2] - 12.0) < 0.1, "answers slowed to 20 ms: pauses shorten to keep the cycle"
