"""`python -m dadao` is the `dadao` command."""

import sys

from dadao.cli import main

sys.exit(main())
