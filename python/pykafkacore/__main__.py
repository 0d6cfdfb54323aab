"""`python -m pykafkacore ...` runs the command-line interface."""

import sys

from pykafkacore.cli import main

sys.exit(main())
