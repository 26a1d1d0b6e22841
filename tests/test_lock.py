"""One run per folder: a run claims its directory with run.lock (O_EXCL); a second process is
refused while the first runs, and a stale lock (a dead pid on this host) is recognised."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tomllib

import pytest

from dadao import rundir, runlock, runs
from dadao.errors import DadaoWarning, RunBusyError
from helpers import ROOT, SMALL_CONFIG

SCRIPT = os.path.join(os.path.dirname(sys.executable), "dadao")
DADAO = [SCRIPT] if os.path.exists(SCRIPT) else [sys.executable, "-m", "dadao"]


def test_a_held_lock_refuses_a_second_claim_and_says_whose(tmp_path):
    path = str(tmp_path / "r")
    held = runlock.claim(path)
    with pytest.raises(RunBusyError) as caught:
        runlock.claim(path)
    line = str(caught.value)
    assert line.startswith(f"--out {path}: a run is under way here (pid {os.getpid()} on host "
                           f"{platform.node()}, since ")
    held.release()
    assert not os.path.exists(os.path.join(path, runlock.LOCK))
    runlock.claim(path).release()


def test_a_stale_lock_of_a_dead_process_is_replaced(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "r"
    path.mkdir()
    (path / runlock.LOCK).write_text(json.dumps({"pid": dead.pid, "host": platform.node(),
                                                 "since": "earlier"}))
    with pytest.warns(DadaoWarning, match=f"lock of pid {dead.pid}, which is no longer running"):
        claim = runlock.claim(str(path))
    assert json.loads((path / runlock.LOCK).read_text())["pid"] == os.getpid()
    claim.release()


def test_a_lock_of_another_host_is_not_guessed_at(tmp_path):
    path = tmp_path / "r"
    path.mkdir()
    (path / runlock.LOCK).write_text(json.dumps({"pid": 1, "host": "elsewhere", "since": "x"}))
    with pytest.raises(RunBusyError, match=f"if that run is dead, remove {path / runlock.LOCK}"):
        runlock.claim(str(path))


def test_a_refused_claim_creates_nothing(tmp_path, write_config):
    out = tmp_path / "r"
    held = runlock.claim(str(out))
    with pytest.raises(RunBusyError):
        runs.run_config(write_config(SMALL_CONFIG), out=str(out))
    assert os.listdir(out) == [runlock.LOCK]
    held.release()
    assert not out.exists()  # the claim made the folder; released with nothing in it


def test_the_lock_is_released_whatever_the_end(tmp_path, write_config, monkeypatch):
    from dadao.engines.inprocess import InProcess

    path = write_config(SMALL_CONFIG)
    done = runs.run_config(path, out=str(tmp_path / "ok"))
    assert done.status == "completed" and not os.path.exists(tmp_path / "ok" / runlock.LOCK)
    monkeypatch.setattr(InProcess, "run", lambda self, setup, **kw: 1 / 0)
    failed = runs.run_config(path, out=str(tmp_path / "bad"))
    assert failed.status == "failed" and not os.path.exists(tmp_path / "bad" / runlock.LOCK)


def test_two_runs_into_one_folder_one_runs_the_other_is_told(tmp_path):
    """Two different configs (seeds 0 and 1) into the same --out at the same moment: exactly
    one runs; the other is refused, saying a run is under way; the directory is consistent."""
    config = tmp_path / "c.toml"
    config.write_text(SMALL_CONFIG)
    out = tmp_path / "shared"
    procs = [subprocess.Popen(DADAO + ["run", str(config), "--seed", str(seed), "--out",
                                       str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for seed in (0, 1)]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    refused = [err for code, err in results if code == 2]
    assert codes == [0, 2], results
    assert "a run is under way here" in refused[0]
    assert len(refused[0].strip().splitlines()) == 1
    meta = rundir.read_meta(str(out))
    written = tomllib.loads((out / "config.toml").read_text())
    assert meta["status"] == "completed" and written["run"]["seed"] == meta["seed"]
    assert not os.path.exists(out / runlock.LOCK)
