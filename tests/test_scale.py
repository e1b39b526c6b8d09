"""Streamed ensembles (scale/): statistics chunk by chunk against the in-memory run, the
DDSketch against the ddsketch package, members identical whatever the chunking, results on
disk, the model pickled as its IR, and ``reformsim run --stats``."""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import reformsim
from conftest import MODELS, model_path
from reformsim.cli import main
from reformsim.errors import ReformsimWarning, SimulationError
from reformsim.scale import Statistics, open_trajectories, simulate_stream
from reformsim.scale.reductions import Accumulator, Partial, finish
from reformsim.scale.sketch import Sketch

QS = np.array([0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1])


@pytest.fixture(scope="module")
def random_model():
    return reformsim.load_model(model_path("random"))


# --- the sketch -------------------------------------------------------------------------------

def _mixed(rng, rows=6, n=1500):
    values = rng.lognormal(0, 2, (rows, n))
    values[1] *= -1                                             # all negative
    values[2] = np.where(rng.random(n) < 0.3, -values[2], values[2])   # both signs
    values[3, :200] = 0.0                                      # zeros
    values[4] = 1e-320                                         # below the smallest magnitude
    return values


def test_the_sketch_answers_as_ddsketch_does_value_for_value():
    ddsketch = pytest.importorskip("ddsketch")
    values = _mixed(np.random.default_rng(3))
    ours, flags = Sketch.of(values).quantiles(QS)
    assert not flags.any()
    for r, row in enumerate(values):
        reference = ddsketch.DDSketch(0.005)
        for x in row:
            reference.add(float(x))
        assert np.array_equal(ours[:, r], [reference.get_quantile_value(q) for q in QS]), r


def test_the_sketch_is_within_its_relative_accuracy_of_the_exact_order_statistic():
    values = _mixed(np.random.default_rng(4), rows=20, n=3000)
    for accuracy in (0.01, 0.005, 0.001):
        ours, _ = Sketch.of(values, accuracy=accuracy, bins=8192).quantiles(QS)
        exact = np.quantile(values, QS, axis=1, method="lower")
        error = np.abs(ours - exact)
        assert (error <= accuracy * np.abs(exact) + 1e-300).all(), accuracy


def test_merging_sketches_is_exact_in_any_chunking_and_order():
    values = _mixed(np.random.default_rng(5))
    whole, _ = Sketch.of(values).quantiles(QS)
    for cuts in ([700], [1, 2, 3, 900], [100, 200, 1400]):
        parts = [Sketch.of(p) for p in np.split(values, cuts, axis=1)]
        for order in (parts, parts[::-1]):
            merged = order[0].merged(order[1])
            for part in order[2:]:
                merged.absorb(part)
            assert np.array_equal(merged.quantiles(QS)[0], whole, equal_nan=True)


def test_a_row_wider_than_its_bins_gathers_its_lowest_keys_like_ddsketch_and_says_so():
    ddsketch = pytest.importorskip("ddsketch")
    values = np.random.default_rng(6).lognormal(0, 8, (1, 4000))
    whole, flags = Sketch.of(values, bins=256).quantiles(QS)
    halves = Sketch.of(values[:, :2000], bins=256).merged(Sketch.of(values[:, 2000:], bins=256))
    assert np.array_equal(halves.quantiles(QS)[0], whole)
    reference = ddsketch.LogCollapsingLowestDenseDDSketch(0.005, bin_limit=256)
    for x in values[0]:
        reference.add(float(x))
    assert np.array_equal(whole[:, 0], [reference.get_quantile_value(q) for q in QS])
    exact = np.quantile(values, QS, axis=1, method="lower")
    fine = ~flags
    assert flags[0, 0] and not flags[-1, 0]
    assert (np.abs(whole - exact)[fine] <= 0.005 * np.abs(exact)[fine]).all()


# --- moments ----------------------------------------------------------------------------------

def test_chan_merge_gives_numpys_mean_and_std_where_naive_sums_cancel():
    rng = np.random.default_rng(7)
    values = 1e9 + rng.normal(0, 1, (3, 4000))        # sum of squares cancels catastrophically
    accumulator = Accumulator()
    cuts = [0, 13, 1000, 1001, 2500, 4000]
    parts = [(i, {0: Partial.of(values[:, a:b], Statistics(), True, a)})
             for i, (a, b) in enumerate(zip(cuts, cuts[1:]))]
    for index, partial in reversed(parts):             # arriving in any order
        accumulator.add(index, partial)
    final = finish(accumulator.totals[0], 3, (0.5,))
    assert final.count == 4000
    np.testing.assert_allclose(final.mean, values.mean(axis=1), rtol=1e-15)
    np.testing.assert_allclose(final.std, values.std(axis=1, ddof=1), rtol=1e-6)
    naive = (np.sum(values ** 2, axis=1) - 4000 * values.mean(axis=1) ** 2) / 3999
    assert not np.allclose(naive, values.var(axis=1, ddof=1), rtol=1e-3)   # what Chan avoids
    np.testing.assert_array_equal(final.low, values.min(axis=1))
    np.testing.assert_array_equal(final.quantiles[0], np.quantile(values, 0.5, axis=1))


# --- streams against the in-memory run ----------------------------------------------------------

def test_every_member_is_the_same_whatever_the_chunking(random_model):
    """RANDOM functions: member i of any chunking is member i of one big run, bit for bit."""
    full = reformsim.simulate(random_model, size=300, seed=11)
    for chunk in (1, 7, 64, 300):
        summary = simulate_stream(random_model, size=300, seed=11, chunk_size=chunk,
                                  kpi_times=[0, 2.5, 10])
        assert np.array_equal(summary.kpi_values, full.values[:, [0, 10, 40], :])


def test_streamed_statistics_match_the_in_memory_run(random_model):
    full = reformsim.simulate(random_model, size=2000, seed=3)
    values = full.values
    exact = simulate_stream(random_model, size=2000, seed=3, chunk_size=300)
    sketched = simulate_stream(random_model, size=2000, seed=3, chunk_size=300,
                               statistics=Statistics(exact_bytes=0))
    assert exact.quantile_method == "exact (linear)"
    assert sketched.quantile_method.startswith("DDSketch")
    for summary in (exact, sketched):
        np.testing.assert_allclose(summary.statistic(0, "mean"), values.mean(axis=0),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(summary.statistic(0, "std"), values.std(axis=0, ddof=1),
                                   rtol=1e-10, atol=1e-12)
        assert np.array_equal(summary.statistic(0, "max"), values.max(axis=0))
    np.testing.assert_array_equal(exact.statistic(0, "p50"), np.quantile(values, 0.5, axis=0))
    lower = np.quantile(values, 0.95, axis=0, method="lower")
    assert (np.abs(sketched.statistic(0, "p95") - lower) <= 0.005 * np.abs(lower)).all()


def test_groups_get_statistics_of_their_own_and_failed_members_are_left_out():
    model = reformsim.load_model(model_path("blowup"))
    name = next(e.name for e in model.constants() if e.ident not in (
        "initial_time", "final_time", "time_step", "saveper"))
    values = np.array([0.5, 1.0, 2.0, 3.0, 0.5, 2.0, 4.0, 5.0])   # K = 1 blows up
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReformsimWarning)
        full = reformsim.simulate(model, params={name: values})
        with pytest.warns(ReformsimWarning, match="left out of the statistics"):
            summary = simulate_stream(model, params={name: values}, group_size=4, chunk_size=3)
    assert set(summary.failures) == set(full.failures) and summary.failures
    dataset = summary.to_xarray()
    for group in range(2):
        members = [m for m in range(4 * group, 4 * group + 4) if m not in full.failures]
        np.testing.assert_allclose(summary.statistic(group, "mean"),
                                   full.values[members].mean(axis=0), rtol=1e-13)
        assert int(dataset["count"][group]) == len(members)
        assert int(dataset["failed"][group]) == 4 - len(members)


def test_a_request_that_cannot_run_fails_before_anything_streams(random_model, tmp_path):
    with pytest.raises(SimulationError, match="is not in the model"):
        simulate_stream(random_model, params={"Shock SDD": 1.0}, size=10)
    with pytest.raises(SimulationError, match="outside the run"):
        simulate_stream(random_model, size=10, kpi_times=[99])
    with pytest.raises(SimulationError, match="does not divide"):
        simulate_stream(random_model, size=10, group_size=3)
    with pytest.raises(SimulationError, match="KPI variable 'Stok'"):
        simulate_stream(random_model, size=10, kpi_outputs=["Stok"])


def test_trajectories_are_written_as_chunks_finish_and_open_lazily(random_model, tmp_path):
    pytest.importorskip("dask")
    path = tmp_path / "trajectories.nc"
    summary = simulate_stream(random_model, size=500, seed=2, chunk_size=64, trajectories=path)
    full = reformsim.simulate(random_model, size=500, seed=2)
    dataset = open_trajectories(path)
    assert summary.trajectories == path
    assert dataset["Stock"].chunks is not None          # dask arrays: nothing read yet
    assert np.array_equal(dataset["Stock"].values, full["Stock"])
    assert (dataset[dataset.attrs["status_variable"]].values == "ok").all()
    np.testing.assert_allclose(dataset["Stock"].mean("member").values,
                               summary.statistic(0, "mean")[:, summary.names.index("Stock")])


# --- the model travels as its IR ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["random", "goal_seek", "discrete", "lookup"])
def test_a_compiled_model_pickles_as_its_ir_and_runs_the_same(name):
    model = reformsim.load_model(model_path(name))
    copy = pickle.loads(pickle.dumps(model))
    assert copy is not model and copy.init_source == model.init_source
    a, b = reformsim.simulate(model, size=20), reformsim.simulate(copy, size=20)
    assert np.array_equal(a.values, b.values, equal_nan=True)


def test_a_variant_with_schedules_and_tables_pickles_too():
    from reformsim.engine.compiler import variant

    tables = reformsim.load_model(model_path("lookup"))
    lookups = frozenset(e.ident for e in tables.elements if e.kind == "lookup")
    scheduled = reformsim.load_model(model_path("random"))
    for chosen in (variant(tables, frozenset(), lookups),
                   variant(scheduled, frozenset({"shock_sd"}), frozenset())):
        copy = pickle.loads(pickle.dumps(chosen))
        assert copy.init_source == chosen.init_source
        assert copy.input_keys() == chosen.input_keys() and copy.input_keys()


# --- the command line ---------------------------------------------------------------------------

EXAMPLE = MODELS.parents[1] / "models" / "examples" / "roadmap_uncertain.yaml"


def test_run_stats_writes_statistics_and_a_kpi_table_equal_to_the_in_memory_runs(tmp_path):
    runner = CliRunner()
    streamed = runner.invoke(main, ["run", str(EXAMPLE), "--samples", "300", "--stats",
                                    "--format", "json", "-o", str(tmp_path / "s")])
    assert streamed.exit_code == 0, streamed.output
    plain = runner.invoke(main, ["run", str(EXAMPLE), "--samples", "300", "--figures", "none",
                                 "--format", "json", "-o", str(tmp_path / "p")])
    assert plain.exit_code == 0, plain.output
    a, b = json.loads(streamed.stdout), json.loads(plain.stdout)
    assert a["runs"][0]["kpis"] == b["runs"][0]["kpis"]
    files = {p.name for p in (tmp_path / "s").iterdir()}
    assert {"stats.nc", "members.nc", "kpis.csv", "manifest.json"} <= files
    assert "results.nc" not in files
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["streamed"]["quantile_method"] == "exact (linear)"
    assert manifest["members"] == 600


@pytest.mark.parametrize("args, message", [
    (["--workers", "2"], "--workers goes with --stats"),
    (["--stats", "--workers", "two"], "expected a number of workers"),
    (["--stats", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
    (["--stats", "--quantiles", "5,50"], "a quantile is between 0 and 1"),
])
def test_run_stats_options_are_checked_before_anything_runs(tmp_path, args, message):
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), *args, "-o", str(tmp_path / "r")])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "r").exists()
