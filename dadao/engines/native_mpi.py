"""MPI_Sendrecv called from compiled code: a rank's cut-edge exchanges inside its event loop.

An MPI rank meets its partner at every cut-edge event (docs/mpi.md). Through mpi4py that means
leaving the compiled loop at each one, a ``comm.Sendrecv`` and entering the loop again: a
numba dispatch of some twenty arguments and mpi4py's call, several microseconds per event for a
message of d doubles. Here the loop calls the C function ``MPI_Sendrecv`` of the library mpi4py
runs on itself, through its address (``link``), and stays compiled for a whole window.

The library and its handles. The functions are looked up by ``dlsym`` on mpi4py's own
extension module, which resolves them in the libmpi it was loaded with (the mpich wheel's, or a
cluster's), so the loop calls the very library mpi4py initialised. The communicator and the
datatype are mpi4py's handles (``handle``, ``MPI._handleof`` before mpi4py 4). They are passed
as C ints, which is the MPICH ABI (MPICH, Intel MPI, MVAPICH, Cray MPICH: sizeof(MPI_Comm) =
sizeof(MPI_Datatype) = 4); a library with pointer handles (Open MPI, the MPI 5 ABI) takes the
Python exchange, as does any library that fails a self-test (an ``MPI_Sendrecv`` to itself on
MPI_COMM_SELF through the address, by ctypes). The status goes into a buffer of
sizeof(MPI_Status) bytes, so no constant of the library's headers is needed.

Caching. The addresses are not constants of the compiled code: they are read from ``link`` at
run time, so numba's cache of the loop is valid in every process (``sendrecv`` and ``wtime``
turn an int64 into a function pointer and call it).

``link`` (int64, LINK_SIZE): what the loop needs and what it reports while it runs::

    SENDRECV   address of MPI_Sendrecv, 0 for the Python exchange (the loop returns at each
               cut-edge event; ``dadao.engines.mpi.RankEventRun`` calls comm.Sendrecv)
    COMM       the communicator's handle;  DOUBLE  MPI_DOUBLE's handle
    WTIME      address of MPI_Wtime
    DONE       exchanges completed by the loop
    WAITING_ON the rank the loop waits on inside MPI_Sendrecv, -1 outside (the watchdog reads
               it from its thread: the loop releases Python's lock)
    ERROR      the error code of the last MPI_Sendrecv that failed (0: none)
    EXCHANGE_NS nanoseconds inside MPI_Sendrecv, MPI_Wtime before and after each call
    STATUS...  the MPI_Status of the last call

The setting ``DADAO_MPI_EXCHANGE``: ``auto`` (the default: compiled where available),
``compiled`` (an error where it is not), ``python``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import os

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from dadao.errors import UsageError

#: the environment variable that chooses how cut-edge messages are exchanged
EXCHANGE_VARIABLE = "DADAO_MPI_EXCHANGE"
#: its values; "auto" is the compiled exchange where the MPI library allows it
EXCHANGE_CHOICES = ("auto", "compiled", "python")

SENDRECV, COMM, DOUBLE, WTIME, DONE, WAITING_ON, ERROR, EXCHANGE_NS, STATUS = range(9)
#: int64 words of ``link`` (room for an MPI_Status of up to 64 bytes; MPICH's has 20)
LINK_SIZE = STATUS + 8

#: MPI_Sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
#: source, recvtag, comm, status) with C-int handles (the MPICH ABI)
_SENDRECV_ARGS = ("p", "i", "i", "i", "i", "p", "i", "i", "i", "i", "i", "p")


def exchange_setting(environ=None) -> str:
    """$DADAO_MPI_EXCHANGE ("auto" when unset); UsageError naming it for anything else."""
    value = (os.environ if environ is None else environ).get(EXCHANGE_VARIABLE, "").strip()
    value = value.lower() or "auto"
    if value not in EXCHANGE_CHOICES:
        raise UsageError(f"expected one of {', '.join(EXCHANGE_CHOICES)} (how cut-edge "
                         f"messages are exchanged); got {value!r}", field=EXCHANGE_VARIABLE)
    return value


def check_setting() -> None:
    """UsageError, before a run, for a bad $DADAO_MPI_EXCHANGE, or for ``compiled`` where this
    MPI library cannot be called from compiled code (the reason)."""
    if exchange_setting() == "compiled" and isinstance(library(), str):
        raise UsageError(f"compiled exchange unavailable: {library()}",
                         field=EXCHANGE_VARIABLE)


# ---------------------------------------------------------------------------------------------
# Calls through an address, from compiled code


@intrinsic
def sendrecv(typingctx, address, comm, datatype, send, recv, count, peer, status):
    """MPI_Sendrecv(send[:count] -> peer, recv[:count] <- peer, tag 0) through the function
    at ``address``, C-int handles ``comm`` and ``datatype`` (int64 values), ``status``: an
    array of at least sizeof(MPI_Status) bytes; its return code (int32)."""
    sig = types.int32(address, comm, datatype, send, recv, count, peer, status)

    def codegen(context, builder, signature, args):
        int32, pointer = ir.IntType(32), ir.IntType(8).as_pointer()
        ctype = {"i": int32, "p": pointer}
        function = ir.FunctionType(int32, [ctype[a] for a in _SENDRECV_ARGS])
        callee = builder.inttoptr(args[0], function.as_pointer())

        def data(position):
            array = context.make_array(signature.args[position])(context, builder,
                                                                  args[position])
            return builder.bitcast(array.data, pointer)

        comm_, datatype_, count_, peer_ = (context.cast(builder, args[a], signature.args[a],
                                                        types.int32) for a in (1, 2, 5, 6))
        tag = ir.Constant(int32, 0)
        return builder.call(callee, [data(3), count_, datatype_, peer_, tag, data(4), count_,
                                     datatype_, peer_, tag, comm_, data(7)])

    return sig, codegen


@intrinsic
def wtime(typingctx, address):
    """MPI_Wtime() through the function at ``address``: seconds (float64)."""
    sig = types.float64(address)

    def codegen(context, builder, signature, args):
        function = ir.FunctionType(ir.DoubleType(), [])
        return builder.call(builder.inttoptr(args[0], function.as_pointer()), [])

    return sig, codegen


# ---------------------------------------------------------------------------------------------
# The library, and the link of a communicator


@functools.lru_cache(maxsize=None)
def library():
    """(address of MPI_Sendrecv, address of MPI_Wtime) in the library mpi4py runs on, checked
    by a self-test; or why the compiled exchange is unavailable (a sentence)."""
    from mpi4py import MPI

    sizes = {name: MPI._sizeof(getattr(MPI, name)) for name in ("Comm", "Datatype")}
    if set(sizes.values()) != {4}:
        return (f"the MPI library's handles are not C ints (sizeof(MPI_Comm) = "
                f"{sizes['Comm']}: not the MPICH ABI)")
    if MPI._sizeof(MPI.Status) > 8 * (LINK_SIZE - STATUS):
        return f"sizeof(MPI_Status) = {MPI._sizeof(MPI.Status)} bytes is unexpectedly large"
    try:
        lib = ctypes.CDLL(MPI.__file__)  # mpi4py's module: dlsym searches its libmpi
        function = lib.MPI_Sendrecv
        clock = lib.MPI_Wtime
    except (OSError, AttributeError) as exc:
        return f"MPI_Sendrecv or MPI_Wtime not found from {MPI.__file__} ({exc})"
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_void_p if a == "p" else ctypes.c_int for a in _SENDRECV_ARGS]
    clock.restype, clock.argtypes = ctypes.c_double, []
    send, recv = np.arange(1.0, 4.0), np.zeros(3)
    status = np.zeros(LINK_SIZE - STATUS, dtype=np.int64)
    code = function(send.ctypes.data, 3, c_int(handle(MPI.DOUBLE)), 0, 0, recv.ctypes.data, 3,
                    c_int(handle(MPI.DOUBLE)), 0, 0, c_int(handle(MPI.COMM_SELF)),
                    status.ctypes.data)
    if code != 0 or not np.array_equal(send, recv) or not clock() > 0.0:
        return (f"a self-test of MPI_Sendrecv on MPI_COMM_SELF through its address failed "
                f"(code {code})")
    address = lambda f: ctypes.cast(f, ctypes.c_void_p).value  # noqa: E731
    return address(function), address(clock)


def handle(obj) -> int:
    """mpi4py's handle of a communicator or a datatype (an unsigned integer)."""
    from mpi4py import MPI

    value = getattr(obj, "handle", None)
    return MPI._handleof(obj) if value is None else value


def c_int(value: int) -> int:
    """An MPICH handle (an unsigned 32-bit pattern) as the C int it is."""
    return ctypes.c_int32(value).value


@dataclasses.dataclass
class Exchange:
    """How a rank exchanges its cut-edge messages: ``kind`` "compiled" or "python", ``why`` the
    reason for "python" (None for "compiled"), ``link`` the array the loop runs with (module
    docstring)."""

    kind: str
    why: str | None
    link: np.ndarray

    @property
    def seconds(self) -> float:
        """Seconds the loop spent inside MPI_Sendrecv (its own clock, MPI_Wtime)."""
        return self.link[EXCHANGE_NS] * 1e-9


def exchange_for(comm, setting: str | None = None) -> Exchange:
    """The exchange of cut-edge messages on ``comm`` (an mpi4py communicator): compiled unless
    ``setting`` (default $DADAO_MPI_EXCHANGE) says python or the library does not allow it."""
    link = np.zeros(LINK_SIZE, dtype=np.int64)
    link[WAITING_ON] = -1
    setting = exchange_setting() if setting is None else setting
    if setting == "python":
        return Exchange("python", f"{EXCHANGE_VARIABLE}=python", link)
    found = library()
    if isinstance(found, str):
        if setting == "compiled":
            raise UsageError(f"compiled exchange unavailable: {found}", field=EXCHANGE_VARIABLE)
        return Exchange("python", found, link)
    from mpi4py import MPI

    link[SENDRECV], link[WTIME] = found
    link[COMM], link[DOUBLE] = c_int(handle(comm)), c_int(handle(MPI.DOUBLE))
    return Exchange("compiled", None, link)
