"""The run lifecycle (dadao.runs): build, skip if done, start, run, finish or fail, with what a
person is told going through a Reporter; the same calls the command line and the sweep make."""

from __future__ import annotations

import json
import os

import pytest

from dadao.trace import COLUMNS
from dadao import rundir, runs
from dadao.engines.inprocess import InProcess
from dadao.errors import ConfigError, RunArgumentError, UsageError
from dadao.versions import versions


class Recorder(runs.Reporter):
    """A reporter that remembers what it was told, in order."""

    def __init__(self):
        self.calls = []

    def dry_run(self, setup):
        self.calls.append(("dry_run", setup.algorithm.name))

    def already_done(self, path, meta):
        self.calls.append(("already_done", meta["status"]))

    def started(self, setup, path):
        self.calls.append(("started", os.path.exists(os.path.join(path, "meta.json"))))

    def progress(self, setup):
        recorder = self

        class Progress:
            def __enter__(self):
                return lambda t, events, dist: recorder.calls.append(("progress", t))

            def __exit__(self, *exc):
                return False

        return Progress()

    def finished(self, meta, path, trace):
        self.calls.append(("finished", meta["status"]))

    def failed(self, line, path):
        self.calls.append(("failed", line))


def test_a_run_goes_through_every_step_and_a_second_call_finds_it_done(small_config, tmp_path):
    out = str(tmp_path / "run")
    told = Recorder()
    result = runs.run_config(small_config, out=out, reporter=told, command=["test"])
    assert (result.code, result.status, result.path) == (0, "completed", out)
    assert result.meta == json.loads((tmp_path / "run" / "meta.json").read_text())
    assert result.trace is not None and result.setup.algorithm.name == "dadao"
    names = [c[0] for c in told.calls]
    assert names[0] == "started" and told.calls[0][1] is True  # meta.json written before
    assert names[-1] == "finished" and told.calls[-1] == ("finished", "completed")
    times = [c[1] for c in told.calls if c[0] == "progress"]
    assert times[0] == 0.0 and times[-1] == 300.0 and len(times) == 61
    assert result.meta["command"] == ["test"] and result.meta["finished"] is not None
    # again: found finished, nothing runs, the record is untouched
    before = (tmp_path / "run" / "meta.json").read_text()
    again = Recorder()
    second = runs.run_config(small_config, out=out, reporter=again)
    assert (second.code, second.status) == (0, "done") and again.calls == [
        ("already_done", "completed")]
    assert (tmp_path / "run" / "meta.json").read_text() == before
    # --rerun runs it again, into the same directory, bit for bit
    third = runs.run_config(small_config, out=out, rerun=True)
    assert third.status == "completed"
    assert third.trace.columns["dist_to_opt"].tolist() == \
        result.trace.columns["dist_to_opt"].tolist()


def test_a_run_of_another_event_schedule_or_problem_data_is_not_done(small_config, tmp_path):
    """A run completed before the schedule or the problem data changed (versions.schedule or
    versions.problem_data "1", or no record) is not the result of its config and seed any more:
    it runs again, saying why, and is then done."""
    from dadao.errors import DadaoWarning
    from dadao.sweeps.cells import state

    out = tmp_path / "run"
    first = runs.run_config(small_config, out=str(out))
    meta = json.loads((out / "meta.json").read_text())
    for key, what, old in (("schedule", "event schedule", "1"), ("schedule", "event schedule", None),
                           ("problem_data", "problem data", "1"),
                           ("problem_data", "problem data", None)):
        if old is None:
            del meta["versions"][key]
        else:
            meta["versions"][key] = old
        (out / "meta.json").write_text(json.dumps(meta))
        assert state(str(out)) == ("stale", False)
        now = versions()[key]  # schedule 2, problem data 3
        with pytest.warns(DadaoWarning, match=f"{what} version 1 \\(this dadao: {now}\\)"):
            again = runs.run_config(small_config, out=str(out))
        assert again.status == "completed"
        assert again.trace.columns["dist_to_opt"].tolist() == \
            first.trace.columns["dist_to_opt"].tolist()
        assert state(str(out)) == ("completed", False)
        assert runs.run_config(small_config, out=str(out)).status == "done"
        meta = json.loads((out / "meta.json").read_text())


def test_the_default_directory_is_named_by_the_config_and_its_hash(small_config, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runs.run_config(small_config, sets=["run.t_max=10"])
    name = os.path.basename(result.path)
    assert os.path.dirname(result.path) == "runs" and name.startswith("c-")
    assert name == f"c-{result.meta['config_hash']}"


def test_a_dry_run_prepares_everything_and_writes_nothing(small_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    told = Recorder()
    result = runs.run_config(small_config, dry_run=True, reporter=told)
    assert (result.code, result.status) == (0, "dry-run") and told.calls == [("dry_run", "dadao")]
    assert result.setup.describe()["rates"]["chi_1"] > 0
    assert os.listdir(tmp_path) == ["c.toml"]  # the config itself, and nothing else


def test_mistakes_raise_before_anything_is_written(small_config, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=r"c\.toml: run\.t_max: must be > 0"):
        runs.run_config(small_config, sets=["run.t_max=-1"], out=str(out))
    with pytest.raises(RunArgumentError, match=r"^engine: unknown engine 'gpu'"):
        runs.run_config(small_config, engine="gpu", out=str(out))
    assert not out.exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="is not empty and is not a run directory"):
        runs.run_config(small_config, out=str(tmp_path / "busy"))
    assert os.listdir(tmp_path / "busy") == ["notes.txt"]
    done = runs.run_config(small_config, sets=["run.t_max=10"], out=str(tmp_path / "done"))
    with pytest.raises(UsageError, match="holds a run of another config"):
        runs.run_config(small_config, sets=["run.t_max=20"], out=done.path)


def test_a_crash_is_recorded_as_failed_and_reported_in_one_line(small_config, tmp_path,
                                                                monkeypatch):
    def crash(self, setup, **kw):
        raise RuntimeError("the disk caught fire\nsecond line")

    monkeypatch.setattr(InProcess, "run", crash)
    told = Recorder()
    result = runs.run_config(small_config, out=str(tmp_path / "x"), reporter=told)
    assert (result.code, result.status) == (1, "failed")
    assert told.calls[-1] == ("failed", "RuntimeError: the disk caught fire")
    meta = rundir.read_meta(str(tmp_path / "x"))
    assert meta["status"] == "failed" and meta["error"] == "RuntimeError: the disk caught fire"
    assert "second line" in (tmp_path / "x" / "error.log").read_text()
    # the crash came before the first sample: the trace holds its header and no row
    assert (tmp_path / "x" / "trace.csv").read_text() == ",".join(COLUMNS) + "\n"


def test_ctrl_c_before_the_first_sample_is_interrupted_not_failed(small_config, tmp_path,
                                                                  monkeypatch):
    def interrupted(self, setup, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(InProcess, "run", interrupted)
    result = runs.run_config(small_config, out=str(tmp_path / "i"))
    assert (result.code, result.status) == (130, "interrupted")
    meta = rundir.read_meta(str(tmp_path / "i"))
    assert meta["status"] == "interrupted" and meta["run"] is None


def test_a_mistake_found_while_running_fails_the_directory_and_is_raised(small_config,
                                                                         tmp_path, monkeypatch):
    def refuse(self, setup, **kw):
        raise RunArgumentError("cannot run this", field="x0")

    monkeypatch.setattr(InProcess, "run", refuse)
    with pytest.raises(RunArgumentError, match="^x0: cannot run this$"):
        runs.run_config(small_config, out=str(tmp_path / "m"))
    assert rundir.read_meta(str(tmp_path / "m"))["status"] == "failed"


def test_without_the_launcher_a_launched_process_runs_alone(small_config, tmp_path,
                                                            monkeypatch):
    """A sweep's worker is started by mpiexec but runs its own run: launcher=False."""
    monkeypatch.setenv("PMI_RANK", "3")
    result = runs.run_config(small_config, sets=["run.t_max=10"], out=str(tmp_path / "w"),
                             launcher=False)
    assert result.status == "completed" and result.meta["engine"] == "inprocess"


def test_a_stale_run_whose_auto_values_came_from_other_data_runs_again(tmp_path):
    """A logistic config with reg = "auto" resolves reg from its data: a run of problem data
    version 1 recorded another reg, so another config hash. It is the same config, made with
    other draws: it runs again (stale), while a folder of a really different config is still
    refused."""
    from dadao.errors import DadaoWarning, UsageError

    path = tmp_path / "log.toml"
    path.write_text('[graph]\nfamily = "cycle"\nn = 8\n[problem]\nkind = "logistic"\n'
                    'dim = 3\nsamples_per_node = 10\n[algorithm]\nname = "dadao"\n'
                    '[run]\nt_max = 5.0\n')
    out = tmp_path / "run"
    runs.run_config(str(path), out=str(out))
    meta = json.loads((out / "meta.json").read_text())
    cfg_text = (out / "config.toml").read_text()
    [line] = [x for x in cfg_text.splitlines() if x.startswith("reg = ")]
    reg = float(line.split("=")[1])
    assert reg > 0  # resolved from the data
    # what an older dadao left: other data (another reg, another hash), another data version
    (out / "config.toml").write_text(cfg_text.replace(line, f"reg = {reg * 1.5!r}"))
    meta["config_hash"] = "0123456789"
    meta["versions"]["problem_data"] = "1"
    (out / "meta.json").write_text(json.dumps(meta))
    with pytest.warns(DadaoWarning, match="problem data version 1"):
        again = runs.run_config(str(path), out=str(out))
    assert again.status == "completed"
    other = tmp_path / "other.toml"
    other.write_text(path.read_text().replace("dim = 3", "dim = 4"))
    meta = json.loads((out / "meta.json").read_text())
    meta["versions"]["problem_data"] = "1"
    (out / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(UsageError, match="holds a run of another config"):
        runs.run_config(str(other), out=str(out))


def _libsvm_config(tmp_path) -> str:
    """A libsvm logistic config (reg = "auto") on an 8-cycle, with its 40-sample file."""
    data = tmp_path / "d.svm"
    data.write_text("".join(f"{k % 2} 1:{(k * 7) % 11 - 5} 2:{(k * 3) % 5 + 0.5} "
                            f"3:{k % 4}\n" for k in range(40)))
    path = tmp_path / "svm.toml"
    path.write_text(f'[graph]\nfamily = "cycle"\nn = 8\n[problem]\nkind = "libsvm"\n'
                    f'path = "{data}"\nseed = 1\n[algorithm]\nname = "dadao"\n'
                    f'[run]\nt_max = 5.0\n')
    return str(path)


def test_a_data_version_counts_only_for_the_kinds_it_changed(small_config, tmp_path):
    """Problem data version 3 changed libsvm problems only (their default reg): a least-squares
    run of version 2 is still the result of its config (done, nothing said), a libsvm run of
    version 2 is not (it runs again, saying why); a run that records no kind counts as any."""
    from dadao.errors import DadaoWarning
    from dadao.sweeps.cells import state

    assert versions()["problem_data"] == "3"
    out = tmp_path / "ls"
    runs.run_config(small_config, out=str(out))
    meta = json.loads((out / "meta.json").read_text())
    assert runs.problem_kind(meta) == "least_squares"
    meta["versions"]["problem_data"] = "2"
    (out / "meta.json").write_text(json.dumps(meta))
    assert state(str(out)) == ("completed", False) and runs.stale_versions(meta) == []
    assert runs.run_config(small_config, out=str(out)).status == "done"
    assert runs.stale_versions({**meta, "problem": {}}) == [
        "problem data version 2 (this dadao: 3)"]
    for old in ("1", "4", "two"):  # before the keyed streams; a newer dadao's; not a version
        assert runs.stale_versions({**meta, "versions": {**meta["versions"],
                                                         "problem_data": old}})
    config = _libsvm_config(tmp_path)
    out = tmp_path / "svm"
    first = runs.run_config(config, out=str(out))
    meta = json.loads((out / "meta.json").read_text())
    assert runs.problem_kind(meta) == "libsvm"
    meta["versions"]["problem_data"] = "2"
    (out / "meta.json").write_text(json.dumps(meta))
    assert state(str(out)) == ("stale", False)
    with pytest.warns(DadaoWarning, match=r"problem data version 2 \(this dadao: 3\)"):
        again = runs.run_config(config, out=str(out))
    assert again.status == "completed"
    assert again.trace.columns["dist_to_opt"].tolist() == \
        first.trace.columns["dist_to_opt"].tolist()
    assert runs.run_config(config, out=str(out)).status == "done"


def test_a_libsvm_run_of_data_version_2_with_another_default_reg_runs_again(tmp_path):
    """What a libsvm logistic run of version 2 left: another default reg in its config (so
    another config hash), made from other data: it runs again; a logistic run of version 2
    with another reg is a run of another config (version 3 did not change logistic data)."""
    from dadao.errors import DadaoWarning, UsageError

    def older(out, factor):
        """The folder as version 2 would have left it: reg x factor, another hash."""
        meta = json.loads((out / "meta.json").read_text())
        text = (out / "config.toml").read_text()
        [line] = [x for x in text.splitlines() if x.startswith("reg = ")]
        reg = float(line.split("=")[1])
        assert reg > 0
        (out / "config.toml").write_text(text.replace(line, f"reg = {reg * factor!r}"))
        meta["config_hash"] = "0123456789"
        meta["versions"]["problem_data"] = "2"
        (out / "meta.json").write_text(json.dumps(meta))

    config = _libsvm_config(tmp_path)
    out = tmp_path / "svm"
    runs.run_config(config, out=str(out))
    older(out, 1.0 + 1e-15)
    with pytest.warns(DadaoWarning, match="problem data version 2"):
        assert runs.run_config(config, out=str(out)).status == "completed"
    path = tmp_path / "log.toml"
    path.write_text('[graph]\nfamily = "cycle"\nn = 8\n[problem]\nkind = "logistic"\n'
                    'dim = 3\nsamples_per_node = 10\nseed = 2\n[algorithm]\nname = "dadao"\n'
                    '[run]\nt_max = 5.0\n')
    out = tmp_path / "log"
    runs.run_config(str(path), out=str(out))
    older(out, 1.5)
    with pytest.raises(UsageError, match="holds a run of another config"):
        runs.run_config(str(path), out=str(out))
