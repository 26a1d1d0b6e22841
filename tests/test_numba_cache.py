"""numba's cache of dadao's compiled functions never stops a command (issue 12, defect 1).

The situation of a container under an arbitrary UID: the package folder read-only, no writable
home, NUMBA_CACHE_DIR unset. Before the fix every command, even ``dadao --help``, died at import
with "RuntimeError: cannot cache function ...: no locator available". Reproduced here on a
read-only copy of the package, in a subprocess that cannot write it: as a normal user
permission bits suffice; as root (who ignores them) the subprocess drops every capability
first, so that root's writes obey the bits too.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import stat
import subprocess
import sys

import pytest

import helpers

# capset(2)/prctl(2) constants of <linux/capability.h> and <linux/prctl.h>.
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_PR_CAPBSET_DROP = 24


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_root_privileges() -> None:
    """preexec_fn: as root, lose every capability (the bounding set too, or exec would give
    them back), so that permission bits apply; as anyone else, nothing to do."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability
    none = (_CapData * 2)()
    if libc.capset(ctypes.byref(_CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)), none) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _read_only(path) -> None:
    for root, dirs, files in os.walk(path):
        for name in files:
            os.chmod(os.path.join(root, name), 0o444)
        os.chmod(root, 0o555)


def _writable_again(path) -> None:
    for root, dirs, files in os.walk(path):
        os.chmod(root, 0o755)


@pytest.fixture
def read_only_install(tmp_path):
    """(run, tmp_path): run(args, tmpdir) runs Python on a read-only copy of dadao, with HOME in
    a read-only folder, no NUMBA_* or XDG_CACHE_HOME, TMPDIR=tmpdir, unable to write either."""
    pkg, ro = tmp_path / "pkg", tmp_path / "ro"
    shutil.copytree(helpers.ROOT / "dadao", pkg / "dadao",
                    ignore=shutil.ignore_patterns("__pycache__"))
    ro.mkdir()
    _read_only(pkg)
    _read_only(ro)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NUMBA_") and k not in ("XDG_CACHE_HOME", "PYTHONPATH")}
    env.update(HOME=str(ro / "home"), PYTHONPATH=str(pkg))

    def run(args, tmpdir):
        return subprocess.run([sys.executable, *args], env=dict(env, TMPDIR=str(tmpdir)),
                              cwd=str(ro), preexec_fn=_drop_root_privileges,
                              capture_output=True, text=True, timeout=60)

    try:
        probe = run(["-c", f"open({str(pkg / 'dadao' / 'probe')!r}, 'w')"], tmp_path)
        reproduced = probe.returncode != 0
    except (OSError, subprocess.SubprocessError):  # capset refused, in the child
        reproduced = False
    if not reproduced:
        _writable_again(tmp_path)
        pytest.skip("cannot make a folder unwritable here (root that cannot drop its "
                    "capabilities): the read-only install cannot be reproduced")
    assert "PermissionError" in probe.stderr or "Read-only" in probe.stderr, probe.stderr
    yield run, tmp_path
    _writable_again(tmp_path)


@pytest.mark.skipif(sys.platform != "linux", reason="reproduced with Linux permissions")
def test_read_only_install_without_home_caches_in_the_temp_dir(read_only_install):
    run, tmp_path = read_only_install
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    done = run(["-m", "dadao", "--help"], tmpdir)
    assert done.returncode == 0, done.stderr
    assert "commands:" in done.stdout and done.stderr == ""
    done = run(["-m", "dadao", "graph", "cycle", "--n", "8"], tmpdir)
    assert done.returncode == 0, done.stderr
    assert "cycle: n = 8, |E| = 8" in done.stdout and done.stderr == ""
    # numba was pointed at a private folder of the temp dir, which nobody else can write
    (cache,) = tmpdir.glob("dadao-numba-*")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert any(cache.iterdir())  # numba made its per-source folders there


@pytest.mark.skipif(sys.platform != "linux", reason="reproduced with Linux permissions")
def test_nothing_writable_runs_without_a_cache(read_only_install):
    """Not even the temp dir (tempfile.tempdir set to a read-only folder): numba compiles
    without caching, and the command still works."""
    run, tmp_path = read_only_install
    script = ("import sys, tempfile; tempfile.tempdir = sys.argv[1]; "
              "from dadao.cli import main; sys.exit(main(sys.argv[2:]))")
    before = sorted(p for p in tmp_path.rglob("*"))
    done = run(["-c", script, str(tmp_path / "ro"), "graph", "cycle", "--n", "8"],
               tmp_path / "ro")
    assert done.returncode == 0, done.stderr
    assert "cycle: n = 8, |E| = 8" in done.stdout and done.stderr == ""
    assert sorted(p for p in tmp_path.rglob("*")) == before  # no cache written anywhere
