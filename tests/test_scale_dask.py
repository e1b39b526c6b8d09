"""Streamed ensembles on a Dask cluster (one LocalCluster of 2 workers for the session, the
``dask_client`` fixture): the same members and statistics as in this process, bit for bit,
progress across workers, and a worker killed mid-run changes nothing."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import reformsim
from conftest import model_path
from reformsim.scale import simulate_stream

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def random_model():
    return reformsim.load_model(model_path("random"))


def _same(a, b) -> None:
    assert np.array_equal(a.kpi_values, b.kpi_values)
    for name in a.statistics:
        assert np.array_equal(a.statistic(0, name), b.statistic(0, name), equal_nan=True), name
    assert a.failures == b.failures


def test_a_cluster_gives_every_member_and_statistic_of_a_single_process(random_model,
                                                                         dask_client):
    options = dict(size=3000, seed=5, chunk_size=128, kpi_times=[0, 5, 10])
    here = simulate_stream(random_model, **options)
    seen = []
    there = simulate_stream(random_model, client=dask_client,
                            progress=lambda done, total: seen.append((done, total)), **options)
    assert there.workers == 2 and there.chunks == 24
    _same(here, there)
    full = reformsim.simulate(random_model, size=3000, seed=5)
    assert np.array_equal(there.kpi_values, full.values[:, [0, 20, 40], :])
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (3000, 3000)


def test_a_worker_killed_mid_run_has_its_chunks_retried_and_the_result_is_the_same(
        random_model, dask_client):
    options = dict(size=4000, seed=9, chunk_size=50, kpi_times=[10])
    here = simulate_stream(random_model, **options)
    pids = dask_client.run(os.getpid)
    killed: dict[str, int] = {}

    def kill_one(done: int, total: int) -> None:
        if not killed and done < total:
            address, pid = next(iter(pids.items()))
            os.kill(pid, signal.SIGKILL)
            killed[address] = done

    there = simulate_stream(random_model, client=dask_client, progress=kill_one, **options)
    assert killed and next(iter(killed.values())) < 4000
    _same(here, there)
    deadline = time.monotonic() + 60      # the nanny restarts the worker: the cluster recovers
    while time.monotonic() < deadline and len(dask_client.scheduler_info()["workers"]) < 2:
        time.sleep(0.2)
    assert set(dask_client.run(os.getpid).values()) != set(pids.values())
