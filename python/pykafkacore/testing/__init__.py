"""Test helpers for code that uses pykafkacore.

The pytest plugin (fixtures) is ``pykafkacore.testing.plugin``.
"""
