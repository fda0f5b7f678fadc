"""RoleHealth: when a role is paused, for how long, and who probes when the pause ends.
Times are plain numbers (the clock is the caller's)."""

from __future__ import annotations

from sparkforge.models.health import RoleHealth


def test_a_429_pauses_until_retry_after_then_one_request_probes():
    h = RoleHealth()
    pause = h.rate_limited(False, 4.0, "429", now=100.0)
    assert pause.until == 104.0 and pause.reason == "rate_limit"
    assert pause.text(100.0) == "rate-limited, resuming in 4 s"
    assert pause.text(102.5) == "rate-limited, resuming in 2 s"  # whole seconds, rounded up
    assert pause.text(103.9) == "rate-limited, resuming in 1 s"
    assert h.admit(103.9) == "paused"
    assert h.admit(104.0) == "probe"  # the first request after the window
    assert h.admit(104.0) == "probing"  # the others wait for its outcome
    assert h.verdict(104.5) == "probing"
    h.reached(True)
    assert h.admit(104.6) == "go" and h.admit(104.6) == "go"


def test_a_probe_that_is_rate_limited_again_starts_the_next_window():
    h = RoleHealth()
    h.rate_limited(False, 1.0, "429", now=0.0)
    assert h.admit(1.0) == "probe"
    h.rate_limited(True, 1.0, "429", now=1.1)
    assert h.admit(1.5) == "paused"
    assert h.admit(2.1) == "probe"


def test_a_cancelled_probe_lets_the_next_request_probe():
    h = RoleHealth()
    h.rate_limited(False, 1.0, "429", now=0.0)
    assert h.admit(2.0) == "probe"
    h.released(True)
    assert h.admit(2.0) == "probe"


def test_a_429_without_retry_after_pauses_five_seconds_and_a_huge_one_is_capped():
    h = RoleHealth()
    assert h.rate_limited(False, None, "429", now=0.0).until == 5.0
    assert RoleHealth().rate_limited(False, 86400.0, "429", now=0.0).until == 600.0


def test_three_failures_in_a_row_pause_for_30_s_and_the_backoff_doubles_while_it_lasts():
    h = RoleHealth()
    assert h.failed(False, "unreachable", "refused", now=0.0) is None
    assert h.failed(False, "unreachable", "refused", now=1.0) is None
    pause = h.failed(False, "unreachable", "refused", now=2.0)
    assert pause is not None and pause.until == 32.0
    assert pause.text(2.0) == "unreachable, retrying in 30 s"
    assert h.admit(31.0) == "paused"
    assert h.admit(32.0) == "probe"
    second = h.failed(True, "unreachable", "refused", now=32.5)  # the probe fails: at once, twice as long
    assert second is not None and second.until == 92.5
    assert h.admit(92.5) == "probe"
    third = h.failed(True, "failing (HTTP 503)", "503", now=93.0)
    assert third is not None and third.until == 213.0 and third.text(93.0) == "failing (HTTP 503), retrying in 120 s"
    assert h.admit(213.0) == "probe"
    h.reached(True)  # it answers: healthy again, and the next outage starts from 30 s
    assert [h.failed(False, "unreachable", "x", now=300.0 + i) for i in range(2)] == [None, None]
    assert h.failed(False, "unreachable", "x", now=302.0).until == 332.0


def test_an_answer_in_between_resets_the_count_of_failures():
    h = RoleHealth()
    h.failed(False, "unreachable", "x", now=0.0)
    h.failed(False, "unreachable", "x", now=1.0)
    h.reached(False)
    assert h.failed(False, "unreachable", "x", now=2.0) is None
    assert h.verdict(2.0) == "go"


def test_a_one_off_failure_after_a_rate_limit_does_not_start_an_outage():
    h = RoleHealth()
    h.rate_limited(False, 1.0, "429", now=0.0)
    assert h.admit(1.0) == "probe"
    assert h.failed(True, "failing (HTTP 500)", "500", now=1.1) is None
    assert h.admit(1.2) == "probe"  # still no answer since the pause: the next request probes


def test_a_shorter_pause_never_cuts_a_longer_one():
    h = RoleHealth()
    h.rate_limited(False, 10.0, "429", now=0.0)
    assert h.rate_limited(False, 1.0, "429", now=0.5).until == 10.0
