"""Faults of a real run never lose what was simulated: SIGTERM and SIGINT at any moment
(compiling, running, writing) end it "interrupted" with exit 130 or 143 and the trace so far; a
SIGKILLed run resumes from its checkpoint to the uninterrupted trace, bit for bit; a full disk
or an unwritable output ends in one line naming the folder and the cause."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from dadao import cli, rundir
from dadao.report import figures
from dadao.trace import COLUMNS, Trace
from helpers import ROOT, SMALL_CONFIG

SCRIPT = os.path.join(os.path.dirname(sys.executable), "dadao")
DADAO = [SCRIPT] if os.path.exists(SCRIPT) else [sys.executable, "-m", "dadao"]

#: a run of a second or two: DADAO on a 64-cycle up to t = 1500, sampled every 0.2 time units
#: (7500 samples, each flushed to trace.csv: the samples, not the events, take the time, so a
#: signal sent after the first rows always lands before the end)
LONG = """
[graph]
family = "cycle"
n = 64
[problem]
kind = "least_squares"
dim = 5
samples_per_node = 10
[run]
t_max = 1500.0
log_every = 0.2
"""


def start(config: str, out, *extra, **popen) -> subprocess.Popen:
    return subprocess.Popen(DADAO + ["run", config, "--out", str(out), *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def rows(out) -> int:
    path = out / "trace.csv"
    return len(path.read_text().splitlines()) - 1 if path.exists() else -1


def wait_for(condition, timeout=120.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, stdout, stderr


def test_sigterm_then_sigkill_then_resume_gives_the_uninterrupted_trace(tmp_path):
    """Slurm's end of a job: SIGTERM (exit 143, "interrupted", trace and checkpoint kept);
    then a run killed outright (SIGKILL: status stays "running", the lock is stale); each time
    `dadao run DIR --resume` goes on, and the final trace is the uninterrupted one."""
    config = tmp_path / "long.toml"
    config.write_text(LONG)
    whole = tmp_path / "whole"
    code, _, err = finish(start(str(config), whole))
    assert code == 0, err
    out = tmp_path / "cut"
    proc = start(str(config), out, "--checkpoint-every", "0.05")
    wait_for(lambda: rows(out) > 5 or proc.poll() is not None)
    proc.send_signal(signal.SIGTERM)
    code, stdout, stderr = finish(proc)
    assert code == 143, stderr
    assert "Traceback" not in stderr
    meta = rundir.read_meta(str(out))
    assert meta["status"] == "interrupted" and "SIGTERM" in meta["error"]
    kept = Trace.read_csv(out / "trace.csv")
    assert 5 < len(kept) and kept["time"][-1] < 1500.0
    assert os.path.exists(out / rundir.CHECKPOINT)

    proc = start(str(out), out, "--resume", "--checkpoint-every", "0.05")
    before = rows(out)
    wait_for(lambda: rows(out) > before + 5 or proc.poll() is not None)
    wait_for(lambda: os.path.getmtime(out / rundir.CHECKPOINT) > time.time() - 1.0
             or proc.poll() is not None)
    proc.kill()  # SIGKILL: nothing runs after it
    proc.communicate(timeout=60)
    assert rundir.read_meta(str(out))["status"] == "running"
    assert os.path.exists(out / "run.lock")

    code, stdout, stderr = finish(start(str(out), out, "--resume"))
    assert code == 0, stderr
    assert "resuming" in stdout
    assert "stale" not in stderr or "removed" in stderr
    assert (out / "trace.csv").read_bytes() == (whole / "trace.csv").read_bytes()
    meta = rundir.read_meta(str(out))
    assert meta["status"] == "completed" and len(meta["resumed"]) == 2
    assert not os.path.exists(out / "run.lock")


def test_sigint_while_compiling_is_not_swallowed(tmp_path):
    """Ctrl-C in the first second, while numba compiles (llvmlite swallows a KeyboardInterrupt
    raised in its callbacks): the run still ends interrupted, exit 130, without a traceback."""
    config = tmp_path / "c.toml"
    config.write_text(LONG)
    out = tmp_path / "r"
    proc = start(str(config), out)
    wait_for(lambda: (out / "meta.json").exists() or proc.poll() is not None)
    proc.send_signal(signal.SIGINT)
    code, _, stderr = finish(proc)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    meta = rundir.read_meta(str(out))
    assert meta["status"] == "interrupted"
    Trace.read_csv(out / "trace.csv")  # whatever was sampled reads back


def test_sigint_while_the_results_are_written(tmp_path, monkeypatch, capsys):
    """A signal that arrives while the figures are drawn: the writing completes, the run is
    recorded interrupted (exit 130), never left "running"."""
    config = tmp_path / "c.toml"
    config.write_text(SMALL_CONFIG)
    draw = figures.write_run_figures

    def interrupted_draw(trace, meta, path):
        os.kill(os.getpid(), signal.SIGINT)
        draw(trace, meta, path)

    monkeypatch.setattr(figures, "write_run_figures", interrupted_draw)
    code = cli.main(["run", str(config), "--out", str(tmp_path / "r")])
    assert code == 130
    meta = rundir.read_meta(str(tmp_path / "r"))
    assert meta["status"] == "interrupted" and "SIGINT" in meta["error"]
    assert len(Trace.read_csv(tmp_path / "r" / "trace.csv")) == 61  # complete: 0, 5, ..., 300
    assert (tmp_path / "r" / "convergence.png").exists()


def limit_file_size(size: int):
    """preexec_fn: no file of the process may grow past ``size`` bytes (writes beyond fail with
    EFBIG, as on a full disk: Python ignores SIGXFSZ)."""
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


def test_a_disk_that_fills_mid_run_keeps_the_trace_and_says_so(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(LONG)
    out = tmp_path / "r"
    # past the run's 64 KiB reserve (rundir.RESERVE_BYTES), short of the trace's ~750 KB
    proc = start(str(config), out, preexec_fn=limit_file_size(100_000))
    code, stdout, stderr = finish(proc)
    assert code == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dadao run: error: {out}: cannot write "
                                                   f"trace.csv: File too large"), stderr
    assert "trace.csv keeps the samples up to t = " in lines[0]
    meta = rundir.read_meta(str(out))
    assert meta["status"] == "failed" and "trace.csv" in meta["error"]
    kept = Trace.read_csv(out / "trace.csv")
    assert len(kept) > 10 and np.all(np.diff(kept["time"]) > 0)
    assert not os.path.exists(out / "run.lock")


def test_a_disk_full_before_the_start_leaves_a_reusable_folder(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(SMALL_CONFIG)
    out = tmp_path / "r"
    proc = start(str(config), out, preexec_fn=limit_file_size(200))
    code, stdout, stderr = finish(proc)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dadao run: error: {out}: cannot write "), \
        stderr
    assert not out.exists()  # nothing half-made: the next run finds no folder to refuse
    code, _, stderr = finish(start(str(config), out))
    assert code == 0, stderr


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/bin/mount"),
                    reason="mounting a small tmpfs needs root")
def test_a_real_full_disk(tmp_path):
    """ENOSPC from a 256 KiB tmpfs (skipped where mounting is not allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("mount -t tmpfs is not allowed here")
    try:
        config = tmp_path / "c.toml"
        config.write_text(LONG)
        out = disk / "r"
        code, _, stderr = finish(start(str(config), out))
        assert code == 1, stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and "No space left on device" in lines[0], stderr
        assert lines[0].startswith(f"dadao run: error: {out}: cannot write")
        assert len(Trace.read_csv(out / "trace.csv")) > 10
        # the run's reserve of disk space was given back to record the failure
        meta = rundir.read_meta(str(out))
        assert meta["status"] == "failed" and "No space left on device" in meta["error"]
        assert (out / "error.log").exists() and not (out / rundir.RESERVE).exists()
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_an_unwritable_out_is_one_line_and_writes_nothing(where, tmp_path, capsys,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.toml"
    config.write_text(SMALL_CONFIG)
    if where == "under-a-file":
        (tmp_path / "file").write_text("x")
        out = str(tmp_path / "file" / "r")
    else:
        out = "/proc/dadao-run"  # even root cannot create a folder there
    before = sorted(os.listdir(tmp_path))
    code = cli.main(["run", str(config), "--out", out])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"dadao run: error: --out {out}: ")
    assert sorted(os.listdir(tmp_path)) == before


def test_a_trace_cut_mid_line_reads_back_its_whole_rows(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text(",".join(COLUMNS) + "\n0.0,0.0,0.0,1.0,1.0,0.0\n1.0,2.0,3.0,0.5,0.")
    trace = Trace.read_csv(path)
    assert len(trace) == 1 and trace["dist_to_opt"][0] == 1.0


def test_meta_json_of_the_wrong_shape_is_one_line(tmp_path, capsys):
    run = tmp_path / "r"
    run.mkdir()
    (run / "meta.json").write_text(json.dumps(["not", "a", "record"]))
    assert cli.main(["plot", str(run), "-o", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "meta.json: holds a JSON list" in err[0]


def test_a_signal_while_the_setup_is_built_ends_it_with_nothing_written(tmp_path, monkeypatch,
                                                                         capsys):
    """SIGTERM while the setup is prepared (numba may be compiling, which would swallow it):
    the build ends, exit 143, one line, no run directory."""
    from dadao import runs

    config = tmp_path / "c.toml"
    config.write_text(SMALL_CONFIG)
    build = runs.build

    def build_then_signal(*args, **kwargs):
        setup = build(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return setup

    monkeypatch.setattr(runs, "build", build_then_signal)
    code = cli.main(["run", str(config), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 143 and len(err) == 1
    assert "interrupted by SIGTERM while the run was being prepared" in err[0]
    assert not (tmp_path / "r").exists()
