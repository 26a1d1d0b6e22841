"""The compiled loops of a method as a generated module, so that numba's cache keeps them.

numba caches a ``cache=True`` function by its source file (path and modification time) and its
name; it never caches a closure. The event loops are specific to a method (they call its
node-local functions), so instead of closures each method gets a small module, generated from
``dadao.engines.kernels.TEMPLATE``: a header that imports the method's functions by their module
and name, then the loops, module-level ``@numba.njit(cache=True)`` functions. The module is
written once into ``dadao.numba_cache.generated_folder()`` and imported from there; the next
process imports the same file, and numba loads the loops it compiled before instead of compiling
them again.

Staleness. numba's cache of a function does not notice that a function it calls has changed, so
the file's name carries a hash of everything the compiled loops depend on: the generated text
(the template and the header), the source files of every module whose compiled functions the
loops reach (the method's module, ``dadao.algorithms.common``, ``dadao.problems.oracle`` ...,
and a method's module outside dadao), every module of ``dadao.algorithms`` and
``dadao.problems`` (a constant imported from another module is compiled in without naming it),
this module, ``kernels`` and ``native_mpi`` (whose intrinsics the MPI loop inlines), and the
versions of Python and numba. A changed source gives another file name, hence another module
that numba has never seen: a stale loop is never loaded.

Concurrency. Several processes (sweep workers, MPI ranks) may generate the same module at once:
each writes a temporary file and links it to the final name, which only the first one creates; a
file, once there, is never rewritten (rewriting it would change its modification time and throw
away what numba cached against it).

No writable folder, or a method whose functions are not importable by module and name (defined
in a script): the same text is executed in memory, with caching off (a slower start, the same
numbers).

Inlining. Every call from a loop into a method's function (and from there into the compiled
functions it calls by a global name, such as ``local_gradient``) is inlined into the loop by
numba (``inlined``): a call between compiled functions takes a reference on every array of its
arguments (the oracle is a tuple of seven), which at d = 2 costs more than the arithmetic. The
inlined code is the same code, without fast-math, so the numbers are the same bit for bit.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import platform
import re
import sys
import types
from pathlib import Path

import numba
from numba.core.registry import CPUDispatcher

from dadao import numba_cache

#: the node-local functions of ``AsyncAlgorithm`` the loops call; the optional ones (None) are
#: given a stand-in by ``kernels.TEMPLATE``'s header
ROLES = ("flow", "on_gradient", "message", "on_message", "primal", "apply_gradient",
         "on_delayed_message")

#: the options of a compiled function that inlining keeps exact: anything else (fast-math, the
#: numpy error model, ...) would change the arithmetic once merged into the loop's, and such a
#: function is called, not inlined
_EXACT_OPTIONS = {"nopython": True, "cache": None, "fastmath": False, "boundscheck": None,
                  "inline": None, "nogil": None}

_INLINED: dict = {}

#: packages of dadao whose every source is part of the hash of a generated module
_HASHED_PACKAGES = ("algorithms", "problems")


def inlined(fn):
    """``fn`` compiled with ``inline="always"``, calling the inlined copies of the compiled
    functions it calls by a global name (recursively); ``fn`` itself when it is not a compiled
    function or has options that inlining would not keep exact."""
    if not isinstance(fn, CPUDispatcher) or not _exact(fn):
        return fn
    if fn in _INLINED:
        return _INLINED[fn]
    py = fn.py_func
    namespace = dict(py.__globals__)
    for name in py.__code__.co_names:
        value = namespace.get(name)
        if isinstance(value, CPUDispatcher):
            namespace[name] = inlined(value)
    copy = types.FunctionType(py.__code__, namespace, py.__name__, py.__defaults__,
                              py.__closure__)
    copy.__qualname__, copy.__module__ = py.__qualname__, py.__module__
    _INLINED[fn] = numba.njit(inline="always")(copy)
    return _INLINED[fn]


def _exact(fn) -> bool:
    for name, value in fn.targetoptions.items():
        if name not in _EXACT_OPTIONS:
            return False
        expected = _EXACT_OPTIONS[name]
        if expected is not None and value != expected:
            return False
    return True


@numba.njit(cache=True)
def no_apply_gradient(s, k, i, grad):
    """The stand-in of a method without a stale gradient step (the engine refuses one)."""
    pass


# ---------------------------------------------------------------------------------------------
# The generated module


def kernel_module(algo, template: str):
    """The module of ``template`` for ``algo``'s node-local functions (see the module
    docstring): imported from the generated folder, or executed in memory."""
    functions = {role: getattr(algo, role) for role in ROLES}
    references = {role: _reference(fn) for role, fn in functions.items() if fn is not None}
    folder = numba_cache.generated_folder() if all(references.values()) else None
    if folder is not None:
        text = _source(functions, references, template, cache=True)
        name = f"dadao_kernels_{_identifier(algo.name)}_{_digest(text, functions)}"
        try:
            return _import(_written(folder / f"{name}.py", text), name)
        except OSError:
            pass  # the folder went away, or filled up: compile without caching
    text = _source(functions, {}, template, cache=False)
    module = types.ModuleType(f"dadao_kernels_{_identifier(algo.name)}")
    module.__dict__.update({f"_{role}": fn for role, fn in functions.items()})
    exec(compile(text, f"<dadao kernels of {algo.name}>", "exec"), module.__dict__)
    return module


def _reference(fn) -> tuple[str, str] | None:
    """(module, name) by which ``fn`` can be imported in another process, or None."""
    py = getattr(fn, "py_func", fn)
    module, name = getattr(py, "__module__", None), getattr(py, "__qualname__", "")
    if module is None or module == "__main__" or not name.isidentifier():
        return None
    found = sys.modules.get(module)
    if found is None or getattr(found, name, None) is not fn or not _file(found):
        return None
    return module, name


def _source(functions: dict, references: dict, template: str, *, cache: bool) -> str:
    """The module's text: the imports of the functions (``_<role>``, bound in the namespace
    beforehand when there are no references), the options, then the template."""
    lines = ['"""Generated by dadao.engines.codegen from dadao.engines.kernels.TEMPLATE: '
             'do not edit."""', ""]
    for role, (module, name) in sorted(references.items()):
        lines.append(f"from {module} import {name} as _{role}")
    for role in ROLES:
        if functions[role] is None:
            lines.append(f"_{role} = None")
    lines += ["", f"CACHE = {cache!r}", ""]
    return "\n".join(lines) + template


def _digest(text: str, functions: dict) -> str:
    """The hash of what the compiled loops depend on (see the module docstring)."""
    h = hashlib.sha256()
    for part in (text, sys.version, platform.machine(), numba.__version__):
        h.update(part.encode())
        h.update(b"\0")
    modules = {__name__, "dadao.engines.kernels", "dadao.engines.native_mpi",
               "dadao.problems.oracle"}
    for fn in functions.values():
        _dependencies(fn, modules, set())
    files = {Path(_file(importlib.import_module(name))) for name in modules}
    # and every module of the methods and the problems: a constant one of them imports from
    # another is frozen into the compiled code without naming its module
    for package in _HASHED_PACKAGES:
        files.update((numba_cache.PACKAGE_DIR / package).rglob("*.py"))
    for path in sorted(files, key=lambda p: (p.name, str(p))):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def _dependencies(fn, modules: set, seen: set) -> None:
    """Add to ``modules`` the dadao modules of ``fn`` and of every compiled function or module
    it reaches by a global name."""
    if not isinstance(fn, CPUDispatcher) or fn in seen:
        return
    seen.add(fn)
    py = fn.py_func
    if py.__module__ in sys.modules and _file(sys.modules[py.__module__]):
        modules.add(py.__module__)
    for name in py.__code__.co_names:
        value = py.__globals__.get(name)
        if isinstance(value, types.ModuleType) and value.__name__.startswith("dadao"):
            if _file(value):
                modules.add(value.__name__)
        else:
            _dependencies(value, modules, seen)


def _file(module) -> str | None:
    path = getattr(module, "__file__", None)
    return path if path and path.endswith(".py") and os.path.isfile(path) else None


def _identifier(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _written(path: Path, text: str) -> Path:
    """``path`` holding ``text``: created atomically when absent (a temporary file linked to
    the name, so that of several processes only the first creates it), replaced when it holds
    anything else (a truncated file), left alone otherwise."""
    data = text.encode()
    try:
        if path.read_bytes() == data:
            return path
    except FileNotFoundError:
        pass
    # the permissions of a plain open() (mkstemp's are private to the user)
    tmp = path.parent / f".{path.stem}-{os.getpid()}-{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            if path.read_bytes() != data:
                os.replace(tmp, path)
        except OSError:  # a file system without hard links
            if not path.exists() or path.read_bytes() != data:
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _import(path: Path, name: str):
    """The module of the file ``path`` under ``name`` (once per process)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
