"""The Trace table: CSV round trip, atomic writes, first-hit times."""

import os

import numpy as np
import pytest

from dadao.trace import COLUMNS, Trace, TraceRecorder


def small_trace():
    rec = TraceRecorder()
    for k, t in enumerate([0.0, 0.5, 1.0, 1.5]):
        rec.add(t, 10 * k, 7 * k, 10.0 ** -(3 * k), 1.0 / (k + 1), 0.1 / 3 ** k)
    return rec.trace({"status": "completed"}, final_x=np.zeros((2, 2)))


def test_csv_round_trip_is_exact_and_leaves_no_temporary_file(tmp_path):
    trace = small_trace()
    path = tmp_path / "trace.csv"
    trace.write_csv(path)
    assert os.listdir(tmp_path) == ["trace.csv"]
    with open(path) as fh:
        assert fh.readline().strip() == ",".join(COLUMNS)
    back = Trace.read_csv(path)
    for c in COLUMNS:
        assert np.array_equal(back[c], trace[c]), c


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "trace.csv"
    small_trace().write_csv(path)
    before = path.read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        small_trace().write_csv(path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["trace.csv"]


def test_first_time_below():
    trace = small_trace()
    assert trace.first_time_below("dist_to_opt", 1e-3) == 0.5
    assert trace.first_time_below("dist_to_opt", 1e-6, x="gradients") == 20.0
    assert trace.first_time_below("dist_to_opt", 1e-12) == float("inf")
    assert len(trace) == 4 and trace.status == "completed"
