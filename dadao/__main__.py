"""`python -m dadao` is the `dadao` command."""

import sys

from dadao.cli import main

# guarded: the workers of `python -m mpi4py.futures -m dadao sweep ...` import this module
# (as __mp_main__, as multiprocessing's spawn does) and must not run the command themselves
if __name__ == "__main__":
    sys.exit(main())
