"""pytest plugin for pykafkacore, registered through the ``pytest11`` entry point.

Installing pykafkacore makes it available in every pytest run. It will provide fixtures that
start in-process brokers and clusters; for now it defines none.
"""

from __future__ import annotations
