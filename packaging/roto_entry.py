"""Entry point of the frozen application: the same `roto` command as the installed package."""

import sys

from roto.launcher import main

if __name__ == "__main__":
    sys.exit(main())
