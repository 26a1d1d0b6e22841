"""Every error dadao reports to a person, on one base that carries the field and the file.

An error a user can cause is a ``DadaoError``: its ``message`` says what is wrong, ``field``
names the argument or config key it concerns (``t_max``, ``run.t_max``, ``graph.path``, ...)
and ``file`` the file (a config, a data file). ``str(error)`` is the one line the command line
prints, "FILE: FIELD: message" with the parts that are known. Code that knows more about where an
error came from (the config layer knows which file and which key an argument came from) says so
with ``located``, never by parsing the message.

``exit_code`` is the command's exit status for the error: 2 for a mistake in the input, 3 for a
numerical solver that failed on valid input (retrying with another solver or method may help;
the message names the config key to change). Any exception that is not a ``DadaoError`` is a bug
and keeps its traceback.

The classes below are the whole vocabulary; each module raises the one of its area.
"""

from __future__ import annotations

import copy


class DadaoError(Exception):
    """An error printable as one line; see the module docstring."""

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None, file: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.file = file

    def __str__(self) -> str:
        return ": ".join([part for part in (self.file, self.field) if part] + [self.message])

    def located(self, *, field: str | None = None, file: str | None = None,
                hint: str = "") -> "DadaoError":
        """A copy that names ``field`` and ``file`` where given (and appends ``hint``)."""
        out = copy.copy(self)
        if field is not None:
            out.field = field
        if file is not None:
            out.file = file
        if hint:
            out.message = f"{self.message}{hint}"
        out.args = (out.message,)
        return out


class InputError(DadaoError, ValueError):
    """A mistake in what the user gave (arguments, config, data): exit code 2."""


class ConfigError(InputError):
    """A config file, or a ``--set`` override, that cannot be used."""


class UsageError(InputError):
    """A command-line argument that cannot be used."""


class GraphError(InputError):
    """A graph that cannot be built or used."""


class NetworkError(InputError):
    """A graph or list of graphs that a synchronous method cannot use."""


class RateError(InputError):
    """Edge gossip rates that cannot be used (or that break a method's rate condition)."""


class OptimalRatesError(InputError):
    """An unusable argument of the optimal-rate solvers, or rates that fail verification."""


class ProblemError(InputError):
    """A problem's parameters or data that cannot be used."""


class UnknownAlgorithmError(InputError):
    """A method name that is not in the registry."""


class OptionError(InputError):
    """An override of a method's constant that the method refuses."""


class UnsupportedProblemError(InputError):
    """A method that cannot run on this graph, problem or engine."""


class RunArgumentError(InputError):
    """An unusable argument of a run (horizon, seed, sampling period, initial point, ...)."""


class PartitionError(InputError):
    """Nodes that cannot be split over the ranks asked for."""


class RunDirError(InputError):
    """A path given as a run directory that is not one."""


class RunBusyError(InputError):
    """A run directory another process is running in (its lock is held)."""


class OutputError(DadaoError):
    """A file of the results that cannot be written (a full disk, a read-only folder): exit code
    2 before the run starts (nothing was written), 1 once it has (the run is ``failed``, what was
    simulated is kept)."""

    def __init__(self, message: str, *, exit_code: int = 2, **where):
        super().__init__(message, **where)
        self.exit_code = exit_code


class RunInterrupted(DadaoError):
    """SIGINT or SIGTERM before the run started (while its setup was built): nothing was
    written; exit code 128 + the signal (130, 143)."""

    def __init__(self, message: str, *, exit_code: int = 130, **where):
        super().__init__(message, **where)
        self.exit_code = exit_code


class SolverError(DadaoError, RuntimeError):
    """A numerical solver failed on valid input: exit code 3; the message names what to change."""

    exit_code = 3


class MpiUnavailableError(DadaoError, RuntimeError):
    """mpi4py, or an MPI library, is missing: exit code 2 (install it, or run in process)."""


class DadaoWarning(UserWarning):
    """Something a user should know that does not stop the command (input accepted with a
    change, a long run ahead): the command line prints it as one line,
    "dadao COMMAND: warning: message"."""


class RankError(DadaoError):
    """Another MPI rank's error, met before the run; ``kind`` is its class name and
    ``exit_code`` its exit code."""

    def __init__(self, message: str, *, kind: str = "DadaoError", exit_code: int = 2, **where):
        super().__init__(message, **where)
        self.kind = kind
        self.exit_code = exit_code
