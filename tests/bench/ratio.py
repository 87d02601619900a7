"""Measurement helpers shared by the bench files: each bench measures winpki against the raw
library doing the same work in the same run, and asserts the ratio.

- rates: best throughput of each function over short interleaved slices (the machine's
  load drifts and comes in bursts; interleaving exposes every side to the same drift, and
  a burst spoils a slice, not a side).
- rate_ratio: rates of the raw library and of the facade, the ratio printed and asserted.
- best_of / time_ratio: best wall time of a few alternating rounds of each side, the ratio
  recorded in the benchmark's extra_info, printed and asserted against a floor.
- repeated: one call that makes ``n`` calls, for a side too quick to time alone.
- benchmarks_enabled: whether this run measures (--benchmark-enable, or not
  --benchmark-disable), for benches that size their data by it.
"""

from __future__ import annotations

import time

__all__ = ["benchmarks_enabled", "best_of", "rate_ratio", "rates", "repeated", "time_ratio"]


# A slice of calls lasts about this long: short enough that a quiet one turns up between
# a loaded machine's bursts (a CI runner's neighbours take the CPU for tens of milliseconds
# at a time), long enough that the clock's resolution and the loop cost nothing.
SLICE_SECONDS = 0.002


def rates(*fns, rounds: int, passes: int = 5, slice_seconds: float | None = SLICE_SECONDS
          ) -> list[float]:
    """Best throughput (calls per second) of each function over ``rounds`` x ``passes``
    calls each, run as interleaved slices of about ``slice_seconds`` (sized by the slowest
    function's second call; None: ``passes`` slices of ``rounds`` calls, for a call that
    crosses threads, where one call alone would time the scheduler). Each function's best
    slice counts: load only ever adds time, and a short slice has a chance to miss it."""
    size = rounds
    if slice_seconds is not None:
        for fn in fns:  # warm every side, then time its second call
            fn()
        slowest = 0.0
        for fn in fns:
            started = time.perf_counter()
            fn()
            slowest = max(slowest, time.perf_counter() - started)
        size = max(1, min(rounds, int(slice_seconds / max(slowest, 1e-9))))
    best = [0.0] * len(fns)
    for _ in range(max(passes, rounds * passes // size)):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(size):
                fn()
            best[i] = max(best[i], size / (time.perf_counter() - start))
    return best


def rate_ratio(label: str, raw, facade, floor: float, *, rounds: int) -> float:
    """``rates(raw, facade)``; facade / raw is printed and must reach ``floor``. Returns it."""
    raw_rate, facade_rate = rates(raw, facade, rounds=rounds)
    ratio = facade_rate / raw_rate
    print(f"\n{label}: raw {raw_rate:.0f}/s facade {facade_rate:.0f}/s ratio {ratio:.3f}")
    assert ratio >= floor
    return ratio


def best_of(rounds: int, fn, clock=time.perf_counter) -> float:
    """The shortest time of ``rounds`` calls of ``fn``, in seconds of ``clock`` (wall
    time; time.process_time for this process's CPU time)."""
    best = float("inf")
    for _ in range(rounds):
        started = clock()
        fn()
        best = min(best, clock() - started)
    return best


def repeated(fn, n: int):
    """A function that calls ``fn`` ``n`` times."""
    def run() -> None:
        for _ in range(n):
            fn()

    return run


def time_ratio(benchmark, label: str, raw, mine, floor: float, *, rounds: int = 3,
               side: str = "winpki", raw_side: str = "raw") -> float:
    """Best of ``rounds`` of ``raw`` and of ``mine``, alternating (so a burst of load lands
    on one round, not one side); the throughput ratio (raw time / our time) goes into
    ``benchmark.extra_info`` as ``raw_seconds``, ``<side>_seconds`` and
    ``throughput_ratio``, is printed, and must reach ``floor``. Returns the ratio."""
    raw_time = my_time = float("inf")
    for _ in range(rounds):
        raw_time = min(raw_time, best_of(1, raw))
        my_time = min(my_time, best_of(1, mine))
    ratio = raw_time / my_time
    benchmark.extra_info.update({"raw_seconds": raw_time, f"{side}_seconds": my_time,
                                 "throughput_ratio": round(ratio, 3)})
    print(f"\n{label}: {side} {my_time:.4f}s, {raw_side} {raw_time:.4f}s, ratio {ratio:.2f}")
    assert ratio >= floor
    return ratio


def benchmarks_enabled(config) -> bool:
    """Whether this run measures: --benchmark-enable, or not --benchmark-disable."""
    if config.getoption("benchmark_enable", default=False):
        return True
    return not config.getoption("benchmark_disable", default=False)
