"""`python -m roto` is the same as the `roto` command."""

import sys

from roto.cli import main

sys.exit(main())
