"""Checkpoints and --resume: a run stopped anywhere and resumed from its checkpoint gives the
trace and final iterates of an uninterrupted run, bit for bit (same machine); checkpoints that
are not this run's are refused in one line."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from dadao import checkpoint, cli, events, rundir, runs
from dadao.errors import DadaoWarning, RunDirError, UsageError
from dadao.problems.streams import PROBLEM_DATA_VERSION
from helpers import SMALL_CONFIG


@pytest.fixture(autouse=True)
def small_windows(monkeypatch):
    """Windows of a few hundred events, so that these short runs have many boundaries (window
    sizes never change the schedule: dadao.events)."""
    monkeypatch.setattr(events, "EVENTS_PER_WINDOW", 64)
    monkeypatch.setattr(events, "EVENTS_PER_CLOCK", 4)
    monkeypatch.setattr(events, "MIN_EVENTS_PER_CLOCK", 1)


def stop_at_window(monkeypatch, k: int) -> None:
    """The lifecycle's journal asks the run to stop (as SIGTERM would) from its k-th look on."""
    looks = [0]

    def stop_requested(self):
        looks[0] += 1
        return "SIGTERM" if looks[0] >= k else None

    monkeypatch.setattr(runs._Journal, "stop_requested", stop_requested)


def same_trace(a, b) -> None:
    assert list(a.columns) == list(b.columns)
    for column in a.columns:
        assert np.array_equal(a[column], b[column]), column
    assert np.array_equal(a.final_x, b.final_x)


#: {case: extra config}; each case stops at another look, inside a window or at a sample
CASES = {
    "dadao": "",
    "time-varying": '[graph]\nfamily = "random_geometric"\nn = 10\ntime_varying = 3\n',
    "dgd": '[algorithm]\nname = "dgd"\n',
    "continuized": '[algorithm]\nname = "continuized"\n',
    "adom_plus": '[algorithm]\nname = "adom_plus"\n',
}


def config_text(case: str) -> str:
    extra = CASES[case]
    text = SMALL_CONFIG
    if extra.startswith("[graph]"):
        text = text.replace('[graph]\nfamily = "cycle"\nn = 8\n', extra)
    else:
        text += extra
    return text


STOPS = {"dadao": 2, "time-varying": 9, "dgd": 5, "continuized": 9, "adom_plus": 3}


@pytest.mark.parametrize("case", list(CASES))
def test_a_resumed_run_equals_an_uninterrupted_one(case, write_config, tmp_path, monkeypatch):
    stop = STOPS[case]
    path = write_config(config_text(case))
    whole = runs.run_config(path, out=str(tmp_path / "whole"))
    assert whole.status == "completed"
    with monkeypatch.context() as m:
        stop_at_window(m, stop)
        cut = runs.run_config(path, out=str(tmp_path / "cut"), checkpoint_every=1e-9)
    assert cut.status == "interrupted" and "SIGTERM" in cut.meta["error"]
    assert os.path.exists(tmp_path / "cut" / rundir.CHECKPOINT)
    assert len(cut.trace) < len(whole.trace)
    resumed = runs.run_config(path, out=str(tmp_path / "cut"), resume=True)
    assert (resumed.code, resumed.status) == (0, "completed")
    same_trace(whole.trace, resumed.trace)
    assert ((tmp_path / "whole" / "trace.csv").read_bytes()
            == (tmp_path / "cut" / "trace.csv").read_bytes())
    w, r = whole.meta["run"], resumed.meta["run"]
    for key in ("t_end", "gradients", "communications", "gradient_events", "gossip_events",
                "iterations", "gossip_rounds"):
        assert w[key] == r[key], key
    assert [entry["at"] for entry in resumed.meta["resumed"]] == [cut.meta["run"]["t_end"]]


def test_resuming_twice_and_from_periodic_checkpoints(write_config, tmp_path, monkeypatch):
    """Two interruptions in a row; the second resume starts from the second checkpoint."""
    path = write_config(SMALL_CONFIG)
    whole = runs.run_config(path, out=str(tmp_path / "whole"))
    out = str(tmp_path / "cut")
    for k in (3, 4):
        with monkeypatch.context() as m:
            stop_at_window(m, k)
            cut = runs.run_config(path, out=out, resume=True, checkpoint_every=1e-9)
        assert cut.status == "interrupted"
    resumed = runs.run_config(path, out=out, resume=True)
    same_trace(whole.trace, resumed.trace)
    assert len(resumed.meta["resumed"]) == 2


def test_the_clocks_go_on_from_a_snapshot_as_if_never_stopped():
    rng = np.random.default_rng(0)
    edges = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    rates = rng.uniform(0.5, 2.0, 4)
    make = [lambda: events.PoissonClocks(7, np.ones(4), edges, rates),
            lambda: events.SwitchingClocks(7, np.ones(4), [edges, edges[:2]], [rates, rates[:2]],
                                           period=1.5)]
    for new in make:
        whole = new()
        t1, c1 = whole.until(3.3)
        t2, c2 = whole.until(9.0)
        first = new()
        first.until(3.3)
        header, arrays = events.snapshot(first)
        header = json.loads(json.dumps(header))  # as a checkpoint stores it
        second = new()
        events.restore(second, header, arrays)
        t3, c3 = second.until(9.0)
        assert np.array_equal(t2, t3) and np.array_equal(c2, c3)


def test_resume_without_a_checkpoint_starts_from_the_beginning(write_config, tmp_path):
    path = write_config(SMALL_CONFIG)
    result = runs.run_config(path, out=str(tmp_path / "new"), resume=True)
    assert result.status == "completed" and result.meta["resumed"] == []


def test_resume_of_a_finished_run_finds_it_done(write_config, tmp_path):
    path = write_config(SMALL_CONFIG)
    runs.run_config(path, out=str(tmp_path / "r"))
    assert runs.run_config(path, out=str(tmp_path / "r"), resume=True).status == "done"


def test_resume_and_rerun_together_are_refused(write_config, tmp_path):
    with pytest.raises(UsageError, match="--resume"):
        runs.run_config(write_config(SMALL_CONFIG), out=str(tmp_path / "r"), resume=True,
                        rerun=True)
    assert not (tmp_path / "r").exists()


def test_a_damaged_checkpoint_is_refused_in_one_line(write_config, tmp_path, monkeypatch,
                                                     capsys):
    path = write_config(SMALL_CONFIG)
    out = tmp_path / "cut"
    with monkeypatch.context() as m:
        stop_at_window(m, 3)
        runs.run_config(path, out=str(out), checkpoint_every=1e-9)
    data = (out / rundir.CHECKPOINT).read_bytes()
    (out / rundir.CHECKPOINT).write_bytes(data[: len(data) // 2])
    code = cli.main(["run", str(out), "--resume"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"dadao run: error: {out / rundir.CHECKPOINT}: unreadable checkpoint")
    # nothing was overwritten: the interrupted run is still there, as it was
    assert rundir.read_meta(str(out))["status"] == "interrupted"


def test_a_checkpoint_whose_trace_was_cut_is_refused(write_config, tmp_path, monkeypatch):
    path = write_config(SMALL_CONFIG)
    out = tmp_path / "cut"
    with monkeypatch.context() as m:
        stop_at_window(m, 5)
        runs.run_config(path, out=str(out), checkpoint_every=1e-9)
    lines = (out / "trace.csv").read_text().splitlines(keepends=True)
    (out / "trace.csv").write_text("".join(lines[:2]))
    with pytest.raises(RunDirError, match="rows"):
        runs.run_config(path, out=str(out), resume=True)


def test_a_diverged_run_is_not_resumed(write_config, tmp_path):
    text = SMALL_CONFIG.replace("[run]", '[rates]\nkind = "uniform"\ntotal = 0.05\n[run]\n'
                                         'force = true')
    text = text.replace("t_max = 300.0", "t_max = 3000.0")
    path = write_config(text)
    out = str(tmp_path / "d")
    first = runs.run_config(path, out=out)
    if first.status != "diverged":
        pytest.skip("these rates did not diverge")
    with pytest.raises(UsageError, match="diverged"):
        runs.run_config(path, out=out, resume=True)


def test_checkpoint_files_never_run_code(tmp_path):
    """A checkpoint is read with allow_pickle=False: an object array is refused, not loaded."""
    target = tmp_path / "c.npz"
    checkpoint.save(str(target), {"a": 1}, {"x": np.arange(3.0)})
    header, arrays = checkpoint.load(str(target))
    assert header["a"] == 1 and np.array_equal(arrays["x"], np.arange(3.0))
    np.savez(target, __header__=np.frombuffer(b'{"format": 1}', dtype=np.uint8),
             x=np.array([object()], dtype=object))
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load(str(target))


def test_a_stop_at_a_sample_inside_a_window_carries_the_rest_of_it(write_config, tmp_path,
                                                                  monkeypatch):
    """With the default windows this run is one window cut at every sample: the stop (and its
    checkpoint) comes at a sample inside it, and the checkpoint carries the window's events
    after the sample (``events.snapshot``: rest)."""
    monkeypatch.setattr(events, "EVENTS_PER_WINDOW", 1 << 17)
    monkeypatch.setattr(events, "EVENTS_PER_CLOCK", 128)
    monkeypatch.setattr(events, "MIN_EVENTS_PER_CLOCK", 32)
    path = write_config(SMALL_CONFIG)
    whole = runs.run_config(path, out=str(tmp_path / "whole"))
    with monkeypatch.context() as m:
        stop_at_window(m, 4)
        cut = runs.run_config(path, out=str(tmp_path / "cut"), checkpoint_every=1e-9)
    assert cut.meta["run"]["t_end"] == 20.0  # the fourth sample after 0
    header, arrays = checkpoint.load(str(tmp_path / "cut" / rundir.CHECKPOINT))
    assert header["run"]["clocks"]["rest_from"] == 20.0 and len(arrays["run.clocks.rest.ids"])
    resumed = runs.run_config(path, out=str(tmp_path / "cut"), resume=True)
    same_trace(whole.trace, resumed.trace)


def test_no_periodic_checkpoints_still_keeps_the_state_at_a_stop(write_config, tmp_path,
                                                                  monkeypatch):
    """checkpoint_every = 0: no checkpoint while running, one when a signal stops the run."""
    path = write_config(SMALL_CONFIG)
    whole = runs.run_config(path, out=str(tmp_path / "whole"), checkpoint_every=0)
    assert not os.path.exists(tmp_path / "whole" / rundir.CHECKPOINT)
    with monkeypatch.context() as m:
        stop_at_window(m, 6)
        runs.run_config(path, out=str(tmp_path / "cut"), checkpoint_every=0)
    header, _ = checkpoint.load(str(tmp_path / "cut" / rundir.CHECKPOINT))
    assert header["generation"] == 1
    same_trace(whole.trace, runs.run_config(path, out=str(tmp_path / "cut"), resume=True).trace)


def test_a_plain_run_over_an_interrupted_one_says_it_starts_again(write_config, tmp_path,
                                                                   monkeypatch):
    path = write_config(SMALL_CONFIG)
    with monkeypatch.context() as m:
        stop_at_window(m, 3)
        runs.run_config(path, out=str(tmp_path / "r"))
    with pytest.warns(DadaoWarning, match="starts again from t = 0 .*--resume"):
        again = runs.run_config(path, out=str(tmp_path / "r"))
    assert again.status == "completed" and again.meta["resumed"] == []
    assert not os.path.exists(tmp_path / "r" / rundir.CHECKPOINT)


@pytest.mark.parametrize("key, what", [("schedule", "schedule"),
                                       ("problem_data", "problem data")])
def test_a_checkpoint_of_another_schedule_or_data_version_is_refused_in_one_line(
        key, what, write_config, tmp_path, monkeypatch, capsys):
    """A checkpoint written before the keyed streams (schedule or problem data version 1: no
    "schedule" or "problem_data" in its header) holds clock positions of other events, or
    states on other data: refused, exit code 2, nothing overwritten."""
    path = write_config(SMALL_CONFIG)
    out = tmp_path / "cut"
    with monkeypatch.context() as m:
        stop_at_window(m, 3)
        runs.run_config(path, out=str(out), checkpoint_every=1e-9)
    header, arrays = checkpoint.load(str(out / rundir.CHECKPOINT))
    assert header["schedule"] == events.SCHEDULE_VERSION
    assert header["problem_data"] == PROBLEM_DATA_VERSION
    del header[key]
    text = json.dumps(header).encode()
    np.savez(out / rundir.CHECKPOINT, __header__=np.frombuffer(text, dtype=np.uint8), **arrays)
    code = cli.main(["run", str(out), "--resume"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    now = events.SCHEDULE_VERSION if key == "schedule" else PROBLEM_DATA_VERSION
    assert err[0].startswith(f"dadao run: error: {out / rundir.CHECKPOINT}: a checkpoint of "
                             f"{what} version 1, this dadao draws version {now}")
    assert rundir.read_meta(str(out))["status"] == "interrupted"


def _libsvm_config(tmp_path) -> str:
    """SMALL_CONFIG on a 40-sample LIBSVM file (logistic, reg = "auto")."""
    data = tmp_path / "d.svm"
    data.write_text("".join(f"{k % 2} 1:{(k * 7) % 11 - 5} 2:{(k * 3) % 5 + 0.5} "
                            f"3:{k % 4}\n" for k in range(40)))
    return SMALL_CONFIG.replace('kind = "least_squares"\ndim = 3\nsamples_per_node = 20',
                                f'kind = "libsvm"\npath = "{data}"')


@pytest.mark.parametrize("kind", ["least_squares", "libsvm"])
def test_a_checkpoint_of_data_version_2_is_refused_only_for_the_kinds_version_3_changed(
        kind, write_config, tmp_path, monkeypatch, capsys):
    """Problem data version 3 changed libsvm problems only: a least-squares checkpoint of
    version 2 goes on (the uninterrupted trace, with the warning of other versions), a libsvm
    one is refused in one line naming both versions, exit 2, nothing overwritten."""
    path = write_config(SMALL_CONFIG if kind == "least_squares" else _libsvm_config(tmp_path))
    whole = runs.run_config(path, out=str(tmp_path / "whole"))
    out = tmp_path / "cut"
    with monkeypatch.context() as m:
        stop_at_window(m, 3)
        runs.run_config(path, out=str(out), checkpoint_every=1e-9)
    header, arrays = checkpoint.load(str(out / rundir.CHECKPOINT))
    assert PROBLEM_DATA_VERSION == 3
    header["problem_data"] = 2
    header["versions"]["problem_data"] = "2"
    text = json.dumps(header).encode()
    np.savez(out / rundir.CHECKPOINT, __header__=np.frombuffer(text, dtype=np.uint8), **arrays)
    checkpoint.load(str(out / rundir.CHECKPOINT))  # without the kind: the caller checks it
    checkpoint.load(str(out / rundir.CHECKPOINT), "quadratic")
    with pytest.raises(checkpoint.CheckpointError, match="version 2, this dadao draws version 3"):
        checkpoint.load(str(out / rundir.CHECKPOINT), "libsvm")
    if kind == "least_squares":
        with pytest.warns(DadaoWarning, match="written by other versions"):
            resumed = runs.run_config(path, out=str(out), resume=True)
        same_trace(whole.trace, resumed.trace)
        return
    code = cli.main(["run", str(out), "--resume"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0] == (f"dadao run: error: {out / rundir.CHECKPOINT}: a checkpoint of problem "
                      f"data version 2, this dadao draws version 3 (other data for the same "
                      f"libsvm problem seed); run again without --resume")
    assert rundir.read_meta(str(out))["status"] == "interrupted"
