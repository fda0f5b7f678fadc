"""AdaptiveDebounce: the wait before asking the fast model, learned from the user's typing."""

from __future__ import annotations

import pytest

from sparkforge.predict.debounce import AdaptiveDebounce


def type_keys(debounce: AdaptiveDebounce, gaps_ms: list[float], start: float = 100.0) -> None:
    now = start
    debounce.keystroke(now)
    for gap in gaps_ms:
        now += gap / 1000
        debounce.keystroke(now)


def test_a_fixed_value_wins_whatever_the_typing():
    debounce = AdaptiveDebounce(fixed_ms=120)
    type_keys(debounce, [30.0] * 20)
    debounce.model_latency(500)
    assert debounce.delay_ms() == 120.0


def test_until_five_intervals_are_known_the_wait_is_50_ms():
    debounce = AdaptiveDebounce()
    assert debounce.delay_ms() == 50.0
    type_keys(debounce, [100.0] * 4)
    assert debounce.delay_ms() == 50.0


def test_steady_typing_waits_a_little_longer_than_the_usual_gap():
    debounce = AdaptiveDebounce()
    type_keys(debounce, [100.0] * 10)
    assert debounce.delay_ms() == pytest.approx(105.0)  # every gap 100 ms: its 90th percentile x 1.05


def test_the_90th_percentile_ignores_the_odd_slow_keystroke():
    debounce = AdaptiveDebounce()
    # 18 gaps of 80 ms and 2 of 180 ms. The 90th percentile (the "exclusive" method: position
    # 0.9 * (20 + 1) = 18.9) lies between the 18th (80) and the 19th (180) sorted gap:
    # 80 + 0.9 * 100 = 170, and x 1.05 = 178.5
    type_keys(debounce, [80.0] * 18 + [180.0] * 2)
    assert debounce.delay_ms() == pytest.approx(178.5)


def test_pauses_are_not_typing_intervals():
    four = AdaptiveDebounce()
    type_keys(four, [100.0] * 3 + [5000.0] + [100.0])  # 4 intervals once the 5 s pause is dropped
    assert four.delay_ms() == 50.0
    five = AdaptiveDebounce()
    type_keys(five, [100.0] * 3 + [5000.0] + [100.0] * 2)
    # 5 intervals of 100 ms: had the pause counted, the wait would be the 200 ms cap
    assert five.delay_ms() == pytest.approx(105.0)


def test_slow_typing_is_capped():
    debounce = AdaptiveDebounce()
    type_keys(debounce, [400.0] * 10)
    assert debounce.delay_ms() == 200.0  # the cap: 420 would leave no time to show anything


def test_a_slow_model_shortens_the_wait_so_the_suggestion_still_shows_in_time():
    debounce = AdaptiveDebounce()
    type_keys(debounce, [100.0] * 10)
    for ms in (150.0, 200.0, 250.0):  # median 200: 260 - 200 leaves 60 ms to wait
        debounce.model_latency(ms)
    assert debounce.delay_ms() == 60.0


def test_the_wait_never_drops_below_the_floor():
    debounce = AdaptiveDebounce()
    type_keys(debounce, [100.0] * 10)
    debounce.model_latency(400.0)  # slower than show_within_ms on its own
    assert debounce.delay_ms() == 15.0
