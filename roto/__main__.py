"""`python -m roto` is the same as the `roto` command."""

import sys

from roto.launcher import main

sys.exit(main())
