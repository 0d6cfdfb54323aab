"""Errors raised by pykafkacore's clients: one ``KafkaError`` hierarchy carrying Kafka's own
error code (``code``), its name (``name``, e.g. ``"NOT_LEADER_OR_FOLLOWER"``) and whether the same
operation may succeed if tried again (``retriable``).

Catch ``KafkaError`` for everything, or a subclass for one kind of failure::

    try:
        admin.create_topics([NewTopic("orders", 3)])
    except TopicAlreadyExistsError:
        pass
"""

from __future__ import annotations

from typing import Any, ClassVar


class KafkaError(Exception):
    """A Kafka error: ``code`` (Kafka's numbering; negative for client-side errors), ``name``,
    ``message`` and ``retriable``."""

    code: int
    name: str
    message: str
    retriable: bool
    # Set by calls that act on many items (AdminClient): every failed item's own error, and
    # what succeeded.
    errors: dict[Any, KafkaError] | None = None
    results: object = None
    _by_code: ClassVar[dict[int, type[KafkaError]]] = {}
    default_code: ClassVar[int] = -1

    def __init__(self, message: str = "", code: int | None = None, name: str | None = None,
                 retriable: bool | None = None) -> None:
        from ._core import error_name, error_retriable

        self.code = self.default_code if code is None else code
        self.name = name or error_name(self.code)
        self.message = message
        self.retriable = error_retriable(self.code) if retriable is None else retriable
        super().__init__(f"{self.name}: {message}" if message else self.name)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "default_code" in cls.__dict__:
            KafkaError._by_code[cls.default_code] = cls

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.code, self.name, self.retriable))


def error_for(code: int, message: str) -> KafkaError:
    """The most specific ``KafkaError`` subclass instance for a Kafka error code."""
    cls = KafkaError._by_code.get(code, KafkaError)
    return cls(message, code)


class KafkaTimeoutError(KafkaError):
    """The operation did not finish in time (REQUEST_TIMED_OUT, or a client-side deadline)."""

    default_code = 7  # REQUEST_TIMED_OUT


class OffsetOutOfRangeError(KafkaError):
    """The requested offset is outside the partition's log (and no reset policy applies)."""

    default_code = 1


class CorruptRecordError(KafkaError):
    """A record batch failed its CRC or could not be parsed."""

    default_code = 2


class UnknownTopicOrPartitionError(KafkaError):
    """The topic or partition does not exist (or is not hosted by that broker)."""

    default_code = 3


class LeaderNotAvailableError(KafkaError):
    """The partition has no leader right now (an election is under way)."""

    default_code = 5


class NotLeaderOrFollowerError(KafkaError):
    """The broker asked is not the partition's leader (stale metadata)."""

    default_code = 6


class MessageTooLargeError(KafkaError):
    """A record or batch exceeds the broker's or topic's size limit."""

    default_code = 10


class NetworkError(KafkaError):
    """The connection to a broker failed or closed mid-request."""

    default_code = 13


class NotCoordinatorError(KafkaError):
    """The broker asked is not the group's coordinator any more."""

    default_code = 16


class InvalidTopicError(KafkaError):
    """The topic name is not valid, or the topic may not be written (internal)."""

    default_code = 17


class NotEnoughReplicasError(KafkaError):
    """Fewer in-sync replicas than ``min.insync.replicas`` for an ``acks=all`` write."""

    default_code = 19


class IllegalGenerationError(KafkaError):
    """The group moved to a newer generation than the member's."""

    default_code = 22


class UnknownMemberIdError(KafkaError):
    """The coordinator does not know this group member (expired or removed)."""

    default_code = 25


class RebalanceInProgressError(KafkaError):
    """The group is rebalancing; the member must rejoin."""

    default_code = 27


class UnsupportedVersionError(KafkaError):
    """The broker does not support a version of the API this call needs."""

    default_code = 35


class TopicAlreadyExistsError(KafkaError):
    """A topic of that name exists already."""

    default_code = 36


class InvalidPartitionsError(KafkaError):
    """A partition count that is not valid (e.g. fewer than the topic has)."""

    default_code = 37


class InvalidReplicationFactorError(KafkaError):
    """A replication factor that is not valid (e.g. more than the brokers)."""

    default_code = 38


class InvalidConfigError(KafkaError):
    """A config name or value the broker refuses."""

    default_code = 40


class InvalidRequestError(KafkaError):
    """A request the broker considers malformed or inconsistent."""

    default_code = 42


class OutOfOrderSequenceError(KafkaError):
    """The broker saw an idempotent producer's sequence numbers out of order."""

    default_code = 45


class NonEmptyGroupError(KafkaError):
    """The group still has active members (delete or alter offsets refused)."""

    default_code = 68


class GroupIdNotFoundError(KafkaError):
    """No group of that id exists."""

    default_code = 69


class FencedInstanceIdError(KafkaError):
    """Another member joined with the same ``group.instance.id`` (static membership)."""

    default_code = 82


class GroupSubscribedToTopicError(KafkaError):
    """The group is still subscribed to the topic whose offsets were to be deleted."""

    default_code = 86


class PolicyViolationError(KafkaError):
    """The broker's policy refuses the request (e.g. a topic or config policy)."""

    default_code = 44


class InvalidRecordError(KafkaError):
    """The broker refused a record (e.g. a compacted topic's record without a key)."""

    default_code = 87


# Kafka's error codes by name (the protocol guide's "Error Codes" table), for APIs that take an
# error by name (Cluster.inject_error). Broker-side codes only; clients' own negative codes are not
# here.
ERROR_CODES: dict[str, int] = {
    "UNKNOWN_SERVER_ERROR": -1, "NONE": 0, "OFFSET_OUT_OF_RANGE": 1, "CORRUPT_MESSAGE": 2,
    "UNKNOWN_TOPIC_OR_PARTITION": 3, "INVALID_FETCH_SIZE": 4, "LEADER_NOT_AVAILABLE": 5,
    "NOT_LEADER_OR_FOLLOWER": 6, "REQUEST_TIMED_OUT": 7, "BROKER_NOT_AVAILABLE": 8,
    "REPLICA_NOT_AVAILABLE": 9, "MESSAGE_TOO_LARGE": 10, "STALE_CONTROLLER_EPOCH": 11,
    "OFFSET_METADATA_TOO_LARGE": 12, "NETWORK_EXCEPTION": 13, "COORDINATOR_LOAD_IN_PROGRESS": 14,
    "COORDINATOR_NOT_AVAILABLE": 15, "NOT_COORDINATOR": 16, "INVALID_TOPIC_EXCEPTION": 17,
    "RECORD_LIST_TOO_LARGE": 18, "NOT_ENOUGH_REPLICAS": 19, "NOT_ENOUGH_REPLICAS_AFTER_APPEND": 20,
    "INVALID_REQUIRED_ACKS": 21, "ILLEGAL_GENERATION": 22, "INCONSISTENT_GROUP_PROTOCOL": 23,
    "INVALID_GROUP_ID": 24, "UNKNOWN_MEMBER_ID": 25, "INVALID_SESSION_TIMEOUT": 26,
    "REBALANCE_IN_PROGRESS": 27, "INVALID_COMMIT_OFFSET_SIZE": 28,
    "TOPIC_AUTHORIZATION_FAILED": 29, "GROUP_AUTHORIZATION_FAILED": 30,
    "CLUSTER_AUTHORIZATION_FAILED": 31, "INVALID_TIMESTAMP": 32, "UNSUPPORTED_SASL_MECHANISM": 33,
    "ILLEGAL_SASL_STATE": 34, "UNSUPPORTED_VERSION": 35, "TOPIC_ALREADY_EXISTS": 36,
    "INVALID_PARTITIONS": 37, "INVALID_REPLICATION_FACTOR": 38, "INVALID_REPLICA_ASSIGNMENT": 39,
    "INVALID_CONFIG": 40, "NOT_CONTROLLER": 41, "INVALID_REQUEST": 42,
    "UNSUPPORTED_FOR_MESSAGE_FORMAT": 43, "POLICY_VIOLATION": 44,
    "OUT_OF_ORDER_SEQUENCE_NUMBER": 45, "DUPLICATE_SEQUENCE_NUMBER": 46,
    "INVALID_PRODUCER_EPOCH": 47, "INVALID_TXN_STATE": 48, "INVALID_PRODUCER_ID_MAPPING": 49,
    "INVALID_TRANSACTION_TIMEOUT": 50, "CONCURRENT_TRANSACTIONS": 51,
    "TRANSACTION_COORDINATOR_FENCED": 52, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": 53,
    "SECURITY_DISABLED": 54, "OPERATION_NOT_ATTEMPTED": 55, "KAFKA_STORAGE_ERROR": 56,
    "LOG_DIR_NOT_FOUND": 57, "SASL_AUTHENTICATION_FAILED": 58, "UNKNOWN_PRODUCER_ID": 59,
    "REASSIGNMENT_IN_PROGRESS": 60, "DELEGATION_TOKEN_AUTH_DISABLED": 61,
    "DELEGATION_TOKEN_NOT_FOUND": 62, "DELEGATION_TOKEN_OWNER_MISMATCH": 63,
    "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED": 64, "DELEGATION_TOKEN_AUTHORIZATION_FAILED": 65,
    "DELEGATION_TOKEN_EXPIRED": 66, "INVALID_PRINCIPAL_TYPE": 67, "NON_EMPTY_GROUP": 68,
    "GROUP_ID_NOT_FOUND": 69, "FETCH_SESSION_ID_NOT_FOUND": 70,
    "INVALID_FETCH_SESSION_EPOCH": 71, "LISTENER_NOT_FOUND": 72, "TOPIC_DELETION_DISABLED": 73,
    "FENCED_LEADER_EPOCH": 74, "UNKNOWN_LEADER_EPOCH": 75, "UNSUPPORTED_COMPRESSION_TYPE": 76,
    "STALE_BROKER_EPOCH": 77, "OFFSET_NOT_AVAILABLE": 78, "MEMBER_ID_REQUIRED": 79,
    "PREFERRED_LEADER_NOT_AVAILABLE": 80, "GROUP_MAX_SIZE_REACHED": 81, "FENCED_INSTANCE_ID": 82,
    "ELIGIBLE_LEADERS_NOT_AVAILABLE": 83, "ELECTION_NOT_NEEDED": 84,
    "NO_REASSIGNMENT_IN_PROGRESS": 85, "GROUP_SUBSCRIBED_TO_TOPIC": 86, "INVALID_RECORD": 87,
    "UNSTABLE_OFFSET_COMMIT": 88, "THROTTLING_QUOTA_EXCEEDED": 89, "PRODUCER_FENCED": 90,
    "RESOURCE_NOT_FOUND": 91, "DUPLICATE_RESOURCE": 92, "UNACCEPTABLE_CREDENTIAL": 93,
    "INCONSISTENT_VOTER_SET": 94, "INVALID_UPDATE_VERSION": 95, "FEATURE_UPDATE_FAILED": 96,
    "PRINCIPAL_DESERIALIZATION_FAILURE": 97, "SNAPSHOT_NOT_FOUND": 98,
    "POSITION_OUT_OF_RANGE": 99, "UNKNOWN_TOPIC_ID": 100, "DUPLICATE_BROKER_REGISTRATION": 101,
    "BROKER_ID_NOT_REGISTERED": 102, "INCONSISTENT_TOPIC_ID": 103,
    "INCONSISTENT_CLUSTER_ID": 104, "TRANSACTIONAL_ID_NOT_FOUND": 105,
    "FETCH_SESSION_TOPIC_ID_ERROR": 106, "INELIGIBLE_REPLICA": 107, "NEW_LEADER_ELECTED": 108,
    "OFFSET_MOVED_TO_TIERED_STORAGE": 109, "FENCED_MEMBER_EPOCH": 110,
    "UNRELEASED_INSTANCE_ID": 111, "UNSUPPORTED_ASSIGNOR": 112, "STALE_MEMBER_EPOCH": 113,
    "MISMATCHED_ENDPOINT_TYPE": 114, "UNSUPPORTED_ENDPOINT_TYPE": 115,
    "UNKNOWN_CONTROLLER_ID": 116, "UNKNOWN_SUBSCRIPTION_ID": 117, "TELEMETRY_TOO_LARGE": 118,
    "INVALID_REGISTRATION": 119, "TRANSACTION_ABORTABLE": 120, "INVALID_RECORD_STATE": 121,
    "SHARE_SESSION_NOT_FOUND": 122, "INVALID_SHARE_SESSION_EPOCH": 123,
    "FENCED_STATE_EPOCH": 124, "INVALID_VOTER_KEY": 125, "DUPLICATE_VOTER": 126,
    "VOTER_NOT_FOUND": 127,
}
# Older names other clients still use (librdkafka, kafka-python).
_ERROR_ALIASES: dict[str, str] = {
    "NOT_LEADER_FOR_PARTITION": "NOT_LEADER_OR_FOLLOWER",
    "MESSAGE_SIZE_TOO_LARGE": "MESSAGE_TOO_LARGE",
    "MSG_SIZE_TOO_LARGE": "MESSAGE_TOO_LARGE",
    "INVALID_TOPIC": "INVALID_TOPIC_EXCEPTION",
    "TOPIC_EXCEPTION": "INVALID_TOPIC_EXCEPTION",
    "UNKNOWN_TOPIC": "UNKNOWN_TOPIC_OR_PARTITION",
}


def error_code(error: int | str) -> int:
    """The Kafka error code for a name (``"NOT_LEADER_OR_FOLLOWER"``, any case, ``-`` or ``_``)
    or a code (returned as is). ValueError for an unknown name, listing close matches."""
    if isinstance(error, bool) or not isinstance(error, (int, str)):
        raise TypeError(f"an error is a Kafka error name or code, not {error!r}")
    if isinstance(error, int):
        return error
    key = error.strip().upper().replace("-", "_").replace(" ", "_")
    key = _ERROR_ALIASES.get(key, key)
    if key in ERROR_CODES:
        return ERROR_CODES[key]
    import difflib

    close = difflib.get_close_matches(key, ERROR_CODES, n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown Kafka error name {error!r}{hint}")


__all__ = [name for name in dir() if name.endswith("Error")] + ["error_for", "error_code",
                                                                    "ERROR_CODES"]
