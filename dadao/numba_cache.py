"""Where numba caches dadao's compiled functions, chosen before any of them is decorated.

dadao's kernels use ``@numba.njit(cache=True)``. numba looks for a cache folder per function:
$NUMBA_CACHE_DIR, then the ``__pycache__`` next to the source file, then its user-wide folder
(~/.cache/numba); when none is writable it raises RuntimeError at decoration time, i.e. while
dadao is being imported. That happens wherever the package folder is read-only and there is no
writable home (a container under an arbitrary UID, a system-wide install), and it would make
every command, even ``dadao --help``, die with a traceback.

:func:`configure_numba_cache` runs at ``import dadao``, before numba is used. When
NUMBA_CACHE_DIR is unset and a folder of the package is not writable, it sets NUMBA_CACHE_DIR to
the first writable of $XDG_CACHE_HOME/dadao/numba (~/.cache/dadao/numba) and
<temp dir>/dadao-numba-<uid>, unless numba's own user-wide folder is writable (numba falls back
to it by itself); when none is, numba compiles without caching (a slower start, the same
numbers). An explicit NUMBA_CACHE_DIR is always left alone.

:func:`generated_folder` is where the generated modules of the event loops go
(``dadao.engines.codegen``), beside the compiled code numba caches for them.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# Name of the per-user folder in the shared temp dir: dadao-numba-<uid>.
SHARED_PREFIX = "dadao-numba-"


def configure_numba_cache(environ=os.environ) -> str | None:
    """Make numba's caching of dadao's functions unable to fail; return the folder chosen.

    Returns None when nothing needed changing (NUMBA_CACHE_DIR set, or the package folders
    writable), the folder put in NUMBA_CACHE_DIR, or "" when caching was turned off.
    """
    if environ.get("NUMBA_CACHE_DIR") or all(_writable(d / "__pycache__")
                                             for d in _package_folders()):
        return None
    user_wide = _numba_user_folder()
    if user_wide is not None and _writable(user_wide):
        return None  # numba falls back to it by itself
    for folder in _fallback_folders(environ):
        if _writable(folder) and _ours(folder):
            _set_cache_dir(environ, str(folder))
            return str(folder)
    _compile_without_cache()
    return ""


#: name of the folder of generated kernel modules, inside the cache folder
GENERATED = "dadao-generated"


def generated_folder(environ=os.environ) -> Path | None:
    """The writable folder for the generated modules of dadao's event loops, or None (then
    they compile without caching).

    In $NUMBA_CACHE_DIR when it is set (by the user, or by :func:`configure_numba_cache`),
    else in the package's __pycache__, else in numba's user-wide folder: the first writable
    one, so that numba caches the loops of a module where it caches everything else."""
    if environ.get("NUMBA_CACHE_DIR"):
        candidates = [Path(environ["NUMBA_CACHE_DIR"]) / GENERATED]
    else:
        candidates = [PACKAGE_DIR / "__pycache__" / GENERATED]
        user_wide = _numba_user_folder()
        if user_wide is not None:
            candidates.append(user_wide / GENERATED)
    for folder in candidates:
        if _writable(folder):
            return folder
    return None


def _package_folders() -> list[Path]:
    """The folders of dadao's modules: numba's in-tree cache is the __pycache__ of each."""
    folders = []
    for root, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        if "__init__.py" in files:
            folders.append(Path(root))
    return folders


def _numba_user_folder() -> Path | None:
    """numba's user-wide cache folder (~/.cache/numba on Linux), as numba itself finds it.

    Imports numba, which reads NUMBA_CACHE_DIR at import: _set_cache_dir updates its config."""
    try:
        from numba.misc.appdirs import AppDirs
    except ImportError:
        return None
    return Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)


def _fallback_folders(environ) -> list[Path]:
    """The per-user cache folder (XDG), then a per-user folder in the temp dir."""
    xdg = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folders = [Path(xdg) / "dadao" / "numba"]
    try:
        user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
        folders.append(Path(tempfile.gettempdir()) / f"{SHARED_PREFIX}{user}")
    except OSError:  # no usable temp dir at all
        pass
    return folders


def _writable(folder: Path) -> bool:
    """numba's own test (create the folder, then a file in it), so that we agree with it; a
    folder created in the shared temp dir is private from the start (mode 0700)."""
    try:
        os.makedirs(folder, mode=0o700 if folder.name.startswith(SHARED_PREFIX) else 0o777,
                    exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _ours(folder: Path) -> bool:
    """True but for a folder of the shared temp dir that another user owns or can write: numba
    cache files are pickles, so loading ones planted there by someone else would run their
    code."""
    if not folder.name.startswith(SHARED_PREFIX) or not hasattr(os, "getuid"):
        return True
    try:
        st = os.stat(folder)
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _set_cache_dir(environ, folder: str) -> None:
    """NUMBA_CACHE_DIR for numba's next import, and its config if it is already imported (the
    environment variable too, so that numba's reload of its config keeps the folder)."""
    environ["NUMBA_CACHE_DIR"] = folder
    config = sys.modules.get("numba.core.config")
    if config is not None:
        config.CACHE_DIR = folder


def _compile_without_cache() -> None:
    """A cache=True function that numba cannot cache gets numba's no-op cache instead of the
    RuntimeError "cannot cache function ...: no locator available"."""
    from numba.core import caching, dispatcher

    enable_caching = dispatcher.Dispatcher.enable_caching
    if getattr(enable_caching, "dadao_fallback", False):
        return

    def enable_caching_or_not(self):
        try:
            enable_caching(self)
        except RuntimeError:
            self._cache = caching.NullCache()

    enable_caching_or_not.dadao_fallback = True
    dispatcher.Dispatcher.enable_caching = enable_caching_or_not
