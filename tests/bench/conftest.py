"""Benchmarks that assert a ratio against the raw library, measured in the same run.

A ratio measured while another process holds the CPU can fall below its goal for a few
hundred milliseconds; a real regression stays below it. So a bench test whose assertion
fails is measured again, twice at most (pytest-rerunfailures), and fails only if every
measurement misses: the report shows each rerun.
"""

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/bench/" in item.nodeid.replace("\\", "/") or item.nodeid.startswith("bench/"):
            item.add_marker(pytest.mark.flaky(reruns=2, only_rerun=["AssertionError"]))
