"""Topic configs the broker enforces on produce, through a real client (kafka-python)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import InvalidTimestampError

from pykafkacore import decode_batches


def admin(broker: Any) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=5000)


def test_compression_type_recompresses_what_producers_send(kafka_broker: Any) -> None:
    a = admin(kafka_broker)
    a.create_topics([NewTopic("zipped", 1, 1, topic_configs={"compression.type": "gzip"})])
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers)
    for i in range(5):
        producer.send("zipped", key=b"k%d" % i, value=b"v" * 200).get(timeout=10)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers, group_id=None,
                             consumer_timeout_ms=3000)
    consumer.assign([TopicPartition("zipped", 0)])
    consumer.seek_to_beginning()
    got = [(m.offset, m.key, m.value) for m in consumer]
    consumer.close()
    assert got == [(i, b"k%d" % i, b"v" * 200) for i in range(5)]
    a.close()
    kafka_broker.stop()
    # On disk, every batch is gzip (codec 1) although the producer sent them uncompressed.
    from pykafkacore.storage import LogManager

    with LogManager(str(kafka_broker.data_dir)) as logs:
        batches = decode_batches(logs.partition("zipped", 0).read(0))
    assert [b["compression"] for b in batches] == ["gzip"] * 5


def test_timestamps_too_far_in_the_past_are_refused(kafka_broker: Any) -> None:
    a = admin(kafka_broker)
    a.create_topics([NewTopic("recent", 1, 1,
                              topic_configs={"message.timestamp.before.max.ms": "60000"})])
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers, retries=0)
    now_ms = int(time.time() * 1000)
    assert producer.send("recent", value=b"ok", timestamp_ms=now_ms).get(timeout=10).offset == 0
    with pytest.raises(InvalidTimestampError):
        producer.send("recent", value=b"old", timestamp_ms=now_ms - 3_600_000).get(timeout=10)
    producer.close()
    a.close()
