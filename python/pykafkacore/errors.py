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

from typing import ClassVar


class KafkaError(Exception):
    """A Kafka error: ``code`` (Kafka's numbering; negative for client-side errors), ``name``,
    ``message`` and ``retriable``."""

    code: int
    name: str
    message: str
    retriable: bool
    # Set by calls that act on many items (AdminClient): every failed item's own error, and
    # what succeeded.
    errors: dict[object, KafkaError] | None = None
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
    default_code = 7  # REQUEST_TIMED_OUT


class OffsetOutOfRangeError(KafkaError):
    default_code = 1


class CorruptRecordError(KafkaError):
    default_code = 2


class UnknownTopicOrPartitionError(KafkaError):
    default_code = 3


class LeaderNotAvailableError(KafkaError):
    default_code = 5


class NotLeaderOrFollowerError(KafkaError):
    default_code = 6


class MessageTooLargeError(KafkaError):
    default_code = 10


class NetworkError(KafkaError):
    default_code = 13


class NotCoordinatorError(KafkaError):
    default_code = 16


class InvalidTopicError(KafkaError):
    default_code = 17


class NotEnoughReplicasError(KafkaError):
    default_code = 19


class IllegalGenerationError(KafkaError):
    default_code = 22


class UnknownMemberIdError(KafkaError):
    default_code = 25


class RebalanceInProgressError(KafkaError):
    default_code = 27


class UnsupportedVersionError(KafkaError):
    default_code = 35


class TopicAlreadyExistsError(KafkaError):
    default_code = 36


class InvalidPartitionsError(KafkaError):
    default_code = 37


class InvalidReplicationFactorError(KafkaError):
    default_code = 38


class InvalidConfigError(KafkaError):
    default_code = 40


class InvalidRequestError(KafkaError):
    default_code = 42


class OutOfOrderSequenceError(KafkaError):
    default_code = 45


class NonEmptyGroupError(KafkaError):
    default_code = 68


class GroupIdNotFoundError(KafkaError):
    default_code = 69


class FencedInstanceIdError(KafkaError):
    default_code = 82


class GroupSubscribedToTopicError(KafkaError):
    default_code = 86


class PolicyViolationError(KafkaError):
    default_code = 44


class InvalidRecordError(KafkaError):
    default_code = 87


__all__ = [name for name in dir() if name.endswith("Error")] + ["error_for"]
