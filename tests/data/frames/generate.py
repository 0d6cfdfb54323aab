#!/usr/bin/env python3
"""Regenerates the request frames in this directory with kafka-python's own encoder.

Each file is a complete request as a client writes it on the socket: int32 size, request header,
body. The messages are built with kafka-python's protocol classes (kafka.protocol.*, which encode
from Apache Kafka's JSON schemas), so the bytes come from an implementation independent of ours.
tests/cpp/protocol/golden_frames_test.cc decodes them, checks the field values set below and
re-encodes them to the same bytes; keep the two in step. Needs: pip install kafka-python (3.x).
"""
import os
import sys
import uuid

import kafka
from kafka.protocol.consumer import FetchRequest
from kafka.protocol.metadata import ApiVersionsRequest, MetadataRequest
from kafka.protocol.producer import ProduceRequest
from kafka.record.default_records import DefaultRecordBatchBuilder

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_ID = "golden-client"
TOPIC_ID = uuid.UUID("0123456789abcdef0123456789abcdef")


def record_batch():
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=DefaultRecordBatchBuilder.CODEC_NONE, is_transactional=False,
        producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i in range(3):
        if builder.append(i, 1700000000000 + i, b"key-%d" % i, b"value-%d" % i, []) is None:
            sys.exit("builder refused a record")
    return bytes(builder.build())


def frame(request, correlation_id):
    request.with_header(correlation_id=correlation_id, client_id=CLIENT_ID)
    return request.encode(header=True, framed=True)


def frames():
    yield "api_versions_v3.bin", frame(ApiVersionsRequest(
        version=3, client_software_name="kafka-python",
        client_software_version="3.0.12"), 1)

    T = MetadataRequest.MetadataRequestTopic
    yield "metadata_v12.bin", frame(MetadataRequest(
        version=12,
        topics=[T(topic_id=uuid.UUID(int=0), name="orders"), T(topic_id=TOPIC_ID, name=None)],
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=True), 2)

    D = ProduceRequest.TopicProduceData
    P = D.PartitionProduceData
    yield "produce_v9.bin", frame(ProduceRequest(
        version=9, transactional_id=None, acks=-1, timeout_ms=30000,
        topic_data=[D(name="orders", partition_data=[
            P(index=0, records=record_batch()), P(index=1, records=None)])]), 3)

    F = FetchRequest.FetchTopic
    FP = F.FetchPartition
    G = FetchRequest.ForgottenTopic
    yield "fetch_v12.bin", frame(FetchRequest(
        version=12, cluster_id="cluster-1", replica_id=-1, max_wait_ms=500, min_bytes=1,
        max_bytes=52428800, isolation_level=1, session_id=0, session_epoch=-1,
        topics=[F(topic="orders", partitions=[
            FP(partition=0, current_leader_epoch=5, fetch_offset=100, last_fetched_epoch=4,
               log_start_offset=-1, partition_max_bytes=1048576),
            FP(partition=2, current_leader_epoch=-1, fetch_offset=0, last_fetched_epoch=-1,
               log_start_offset=-1, partition_max_bytes=65536)])],
        forgotten_topics_data=[G(topic="old", partitions=[3, 4])],
        rack_id="rack-a"), 4)


def main():
    for name, data in frames():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
    print(f"kafka-python {kafka.__version__}")


if __name__ == "__main__":
    main()
