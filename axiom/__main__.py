"""`python -m axiom` is the `axiom` command."""

import sys

from axiom.cli import main

sys.exit(main())
