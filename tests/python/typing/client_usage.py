"""Typed use of the client API, checked by mypy --strict (tests/python/test_typing.py), never
run: each assert_type pins what a user's type checker sees, so an annotation that regresses to
Any or to a wrong type fails the check."""

from __future__ import annotations

from typing import assert_type

from pykafkacore import (AdminClient, Cluster, Consumer, DeliveryFuture, KafkaError, NewTopic,
                         OffsetAndMetadata, PartitionLag, Producer, Record, RecordMetadata,
                         TopicPartition)
from pykafkacore.admin import (ClusterDescription, GroupDescription, ListedOffset,
                               TopicDescription)
from pykafkacore.producer import DeliveryBatch


def produce(cluster: Cluster) -> None:
    with Producer(cluster, acks="all", linger_ms=5, value_serializer="json") as producer:
        future = producer.send("orders", {"id": 1}, key=b"k", headers={"h": b"v"}, partition=0)
        assert_type(future, DeliveryFuture)
        assert_type(future.result(10), RecordMetadata)
        assert_type(future.done(), bool)
        batch = producer.send_many("orders", [b"a", b"b"], keys=[b"1", b"2"])
        assert_type(batch, DeliveryBatch)
        assert_type(batch.result(10), list[RecordMetadata])
        assert_type(producer.poll(0), int)
        producer.flush(10)


def consume(bootstrap: str) -> None:
    tp = TopicPartition("orders", 0)
    with Consumer("orders", bootstrap_servers=bootstrap, group_id="billing",
                  value_deserializer="json") as consumer:
        assert_type(consumer.poll(1.0), list[Record])
        for record in consumer:
            assert_type(record, Record)
            assert_type(record.offset, int)
            assert_type(record.headers, tuple[tuple[str, bytes | None], ...])
        assert_type(consumer.committed([tp]), dict[TopicPartition, int | None])
        assert_type(consumer.committed([tp], with_metadata=True),
                    dict[TopicPartition, OffsetAndMetadata | None])
        consumer.commit({tp: OffsetAndMetadata(5, "note")}, asynchronous=True)
        assert_type(consumer.position(tp), int)
        assert_type(consumer.current_lag(tp), int | None)
        assert_type(consumer.assignment(), set[TopicPartition])
        assert_type(consumer.end_offsets([tp]), dict[TopicPartition, int])


def administer(bootstrap: str) -> None:
    with AdminClient(bootstrap) as admin:
        admin.create_topics([NewTopic("orders", 3, 1)])
        assert_type(admin.list_topics(), list[str])
        assert_type(admin.describe_topics("orders"), dict[str, TopicDescription])
        assert_type(admin.describe_groups("billing"), dict[str, GroupDescription])
        assert_type(admin.lag("billing"), dict[TopicPartition, PartitionLag])
        assert_type(admin.list_offsets([TopicPartition("orders", 0)]),
                    dict[TopicPartition, ListedOffset])
        assert_type(admin.list_group_offsets("billing"), dict[TopicPartition, int])
        assert_type(admin.describe_cluster(), ClusterDescription)


def handle(error: KafkaError) -> None:
    assert_type(error.code, int)
    assert_type(error.retriable, bool)
