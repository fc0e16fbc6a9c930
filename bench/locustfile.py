"""The load shape bench/load.py drives with locust: one page kind per run, its URLs taken
in turn from BENCH_LOAD_PATHS (one per line), as fast as each simulated shopper can go."""

from __future__ import annotations

import itertools
import os

from locust import FastHttpUser, constant, task

PATHS = [line for line in os.environ.get("BENCH_LOAD_PATHS", "/").splitlines() if line.strip()]
_cycle = itertools.cycle(PATHS)


class Shopper(FastHttpUser):
    wait_time = constant(0)  # closed loop: the next request as soon as the last answered

    @task
    def page(self):
        path = next(_cycle)
        # One name per page kind, so the statistics are per kind, not per URL.
        with self.client.get(path, name="page", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{path}: HTTP {response.status_code}")
