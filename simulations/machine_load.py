"""The load other processes put on the machine while a benchmark runs, from /proc/stat.

    load = Load(cpu=0)          # the core the benchmark is pinned to (None: machine only)
    ... run ...
    load.stop()                 # {"machine": share, "core": share} of busy time not ours

"Ours" is this process and the children it has waited for (utime, stime, cutime, cstime of
/proc/self/stat), so a benchmark that runs its cases in subprocesses is accounted for too.
"""

from __future__ import annotations

import math
import os
import shutil
import sys

#: one thread per process: a benchmark measures one core (a rank of bench_mpi is one core too)
THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                                     "VECLIB_MAXIMUM_THREADS")}
#: set in the re-executed, pinned process
PINNED_ENV = "DADAO_BENCH_PINNED"


def pin_to_one_core(script: str, argv: list[str], cpu: int = 0) -> None:
    """Run ``script`` on core ``cpu`` with one thread: re-execute it under ``taskset -c cpu``
    (call this before numpy is imported, so that the thread settings hold), or pin this process
    with sched_setaffinity where there is no taskset."""
    if os.environ.get(PINNED_ENV) == "1" or not hasattr(os, "sched_setaffinity"):
        return
    env = dict(os.environ, **THREAD_ENV, **{PINNED_ENV: "1"})
    taskset = shutil.which("taskset")
    if taskset is not None:
        os.execve(taskset, [taskset, "-c", str(cpu), sys.executable, os.path.abspath(script),
                            *argv], env)
    os.sched_setaffinity(0, {cpu})
    os.environ.update(env)


def machine_jiffies() -> dict:
    """{"cpu": (busy, total), "cpu0": ..., ...} from /proc/stat (idle and iowait are idle)."""
    out = {}
    with open("/proc/stat") as fh:
        for line in fh:
            if not line.startswith("cpu"):
                break
            name, *vals = line.split()
            vals = [int(v) for v in vals[:8]]  # guest time is already in user
            idle = vals[3] + vals[4]
            out[name] = (sum(vals) - idle, sum(vals))
    return out


def own_jiffies() -> int:
    """CPU ticks of this process and of its waited-for children (the clock of /proc/stat)."""
    with open("/proc/self/stat") as fh:
        rest = fh.read().rsplit(")", 1)[1].split()
    return sum(int(rest[k]) for k in (11, 12, 13, 14))


class Load:
    """Busy share of other processes on the pinned core and on the machine over an interval."""

    def __init__(self, cpu=None):
        self.cpu = f"cpu{cpu}" if cpu is not None else None
        self.m0, self.s0 = machine_jiffies(), own_jiffies()

    def stop(self) -> dict:
        m1, s1 = machine_jiffies(), own_jiffies()
        mine = s1 - self.s0
        out = {}
        for key, name in (("machine", "cpu"), ("core", self.cpu)):
            if name is None or name not in m1:
                continue
            busy = m1[name][0] - self.m0[name][0]
            total = m1[name][1] - self.m0[name][1]
            out[key] = max(0.0, busy - mine) / total if total > 0 else math.nan
        return out


def processor() -> str:
    """The CPU's model name (/proc/cpuinfo), or the machine type where it is not known."""
    import platform

    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def proc_status(field: str) -> float | None:
    """A field of /proc/self/status in MB (VmRSS, VmHWM), None where unreadable."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS; False where Linux refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False
