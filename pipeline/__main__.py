"""`python -m pipeline COMMAND ...`: the documented entry point; the commands live in `cli.main`."""

import sys

from cli.main import main

if __name__ == "__main__":
    sys.exit(main())
