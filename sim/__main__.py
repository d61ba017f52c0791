"""``python -m sim`` runs the volsim command line."""

import sys

from sim.cli import main

sys.exit(main())
