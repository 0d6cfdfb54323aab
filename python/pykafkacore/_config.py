"""Turns Python-style client arguments into the Kafka-named string configs the core reads."""

from __future__ import annotations

from typing import Any


def bootstrap_of(bootstrap_servers: Any) -> str:
    """A ``"host:port,..."`` string from a string, a list of them, or anything with a
    ``bootstrap_servers`` attribute (a pykafkacore.Cluster)."""
    target = getattr(bootstrap_servers, "bootstrap_servers", bootstrap_servers)
    if isinstance(target, (list, tuple)):
        target = ",".join(target)
    if not isinstance(target, str) or not target:
        raise ValueError("bootstrap_servers must be 'host:port[,host:port]', a list of them, "
                         "or a Cluster")
    return target


def kafka_config(bootstrap_servers: Any, config: dict[str, Any] | None,
                 kwargs: dict[str, Any]) -> dict[str, str]:
    """Kafka keys from ``config`` and keyword arguments (``linger_ms=5`` → ``linger.ms``)."""
    out: dict[str, str] = {}
    for source in (config or {}), {k.replace("_", "."): v for k, v in kwargs.items()}:
        for key, value in source.items():
            if isinstance(value, bool):
                out[key] = "true" if value else "false"
            elif isinstance(value, (list, tuple)):
                out[key] = ",".join(str(v) for v in value)
            else:
                out[key] = str(value)
    if bootstrap_servers is not None:
        out["bootstrap.servers"] = bootstrap_of(bootstrap_servers)
    return out
