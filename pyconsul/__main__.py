"""``python -m pyconsul``: the same as the ``pyconsul`` command."""

import sys

from pyconsul.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
