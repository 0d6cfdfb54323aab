"""Test helpers for code that uses pykafkacore.

The pytest plugin (fixtures) is ``pykafkacore.testing.plugin``; the Streams test mode is
``pykafkacore.testing.streams.StreamsTester`` (fixture ``kafka_streams_tester``).
"""
