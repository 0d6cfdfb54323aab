"""One StreamsTester instance in its own process (``python -m
pykafkacore.testing.streams_worker '<json spec>'``): builds the topology with the named
module-level function, starts the app, prints "started", and runs until SIGTERM (clean stop)
or SIGKILL (a crash, which is the point)."""

from __future__ import annotations

import importlib
import json
import signal
import sys
import threading
from typing import Any

from ..streams import StreamsApp


def main() -> int:
    spec = json.loads(sys.argv[1])
    module, _, name = spec["build"].partition(":")
    build: Any = importlib.import_module(module)
    for part in name.split("."):
        build = getattr(build, part)
    app = StreamsApp(spec["application_id"], spec["bootstrap_servers"],
                     default_key_serde=spec["default_key_serde"],
                     default_value_serde=spec["default_value_serde"], config=spec["config"])
    build(app)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    app.start()
    print("started", flush=True)
    while not stop.wait(0.1):
        if app.state == "ERROR":
            break
    app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
