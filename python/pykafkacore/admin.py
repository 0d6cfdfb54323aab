"""pykafkacore.AdminClient: topics, configs, consumer groups, records and the cluster, through the
native admin client (C++ core, the Kafka protocol — so it works against Apache Kafka as well).

Every method blocks until it is done or ``timeout`` seconds have passed (default: the client's
``default.api.timeout.ms``, 60 s); retriable errors are retried meanwhile. The GIL is released
while the core works, so other Python threads run.

Errors. A method that works on several items (topics, groups, partitions, config resources)
succeeds only if every item does. Otherwise it raises the ``KafkaError`` subclass of the first
failed item (items in sorted order), e.g. ``TopicAlreadyExistsError``, with two extra
attributes:

- ``errors``: every failed item mapped to its own ``KafkaError`` (subclass by code);
- ``results``: what the method would have returned for the items that succeeded (``None`` for
  methods returning nothing).

So a partial success is available without a second call::

    try:
        admin.create_topics([NewTopic("a", 3), NewTopic("b", 3)])
    except TopicAlreadyExistsError as e:
        print(sorted(e.errors))   # the topics that exist already

A failure of the whole call (no broker reachable in time, a closed client, bad arguments the
broker cannot even be asked about) raises a ``KafkaError`` without those attributes; Python-side
argument mistakes raise ``TypeError``/``ValueError`` before anything is sent.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar, Union, overload

from . import _core
from ._config import kafka_config
from .errors import KafkaError, KafkaTimeoutError, error_for
from .records import OffsetAndMetadata, TopicPartition

if TYPE_CHECKING:
    from .cluster import PartitionLag

__all__ = [
    "AdminClient",
    "AlterConfigOp",
    "BrokerDescription",
    "ClusterDescription",
    "ConfigEntry",
    "ConfigResource",
    "ConfigSource",
    "GroupDescription",
    "GroupListing",
    "ListedOffset",
    "MemberDescription",
    "NewTopic",
    "OffsetAndMetadata",
    "PartitionDescription",
    "TopicDescription",
]

K = TypeVar("K")

# ------------------------------------------------------------------------------------------------
# Arguments


@dataclass(slots=True)
class NewTopic:
    """A topic for ``create_topics``. ``num_partitions``/``replication_factor`` of -1 take the
    broker's ``num.partitions``/``default.replication.factor``. ``replica_assignment`` gives the
    replicas (broker ids) of each partition explicitly — a list indexed by partition or a dict
    ``{partition: [broker ids]}`` — and then both counts must stay -1. ``config`` holds topic
    configs (``{"cleanup.policy": "compact"}``; values are turned into strings)."""

    name: str
    num_partitions: int = -1
    replication_factor: int = -1
    replica_assignment: list[list[int]] | dict[int, list[int]] | None = None
    config: dict[str, Any] | None = None


class ConfigResource(NamedTuple):
    """What ``describe_configs``/``alter_configs`` act on: ``("topic", name)`` or
    ``("broker", id)`` (a broker's id as a string; ``""`` is the cluster-wide broker default).
    Plain tuples work wherever a ConfigResource is taken, and index the results alike."""

    type: Literal["topic", "broker"]
    name: str


class AlterConfigOp(NamedTuple):
    """One ``incremental_alter_configs`` change: ``op`` is ``"set"``, ``"delete"`` (back to the
    default), ``"append"`` or ``"subtract"`` (list-valued configs)."""

    name: str
    op: Literal["set", "delete", "append", "subtract"] = "set"
    value: Any = None


TopicPartitionLike = Union[TopicPartition, tuple[str, int]]
ConfigResourceLike = Union[ConfigResource, tuple[str, Union[str, int]]]
OffsetSpecLike = Union[Literal["earliest", "latest", "max_timestamp"], int, datetime]

# ------------------------------------------------------------------------------------------------
# Results


class ConfigSource(enum.IntEnum):
    """Where a config value comes from (Kafka's ConfigSource; names as confluent-kafka's)."""

    UNKNOWN_CONFIG = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6

    @classmethod
    def _missing_(cls, value: object) -> ConfigSource:
        return cls.UNKNOWN_CONFIG


@dataclass(frozen=True, slots=True)
class PartitionDescription:
    """One partition of a topic: ``leader`` is a broker id or None while it has no leader;
    ``offline`` lists the replicas on offline log directories."""

    partition: int
    leader: int | None
    replicas: list[int]
    isr: list[int]
    offline: list[int] = field(default_factory=list)
    leader_epoch: int | None = None


@dataclass(frozen=True, slots=True)
class TopicDescription:
    """``describe_topics`` result: ``topic_id`` in Kafka's text form (22 characters of
    URL-safe base64), ``partitions`` sorted by partition."""

    name: str
    topic_id: str
    internal: bool
    partitions: list[PartitionDescription]

    @property
    def replication_factor(self) -> int:
        return len(self.partitions[0].replicas) if self.partitions else 0

    def __len__(self) -> int:
        return len(self.partitions)


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One config of a resource. ``value`` is None for sensitive values (and unset ones)."""

    name: str
    value: str | None
    source: ConfigSource = ConfigSource.UNKNOWN_CONFIG
    is_default: bool = False
    read_only: bool = False
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class GroupListing:
    """``list_groups`` result: ``protocol_type`` is ``"consumer"`` for consumer groups, ``""``
    for groups that only commit offsets; ``state`` is ``""`` from brokers before ListGroups v4."""

    group_id: str
    protocol_type: str
    state: str

    @property
    def is_simple_consumer_group(self) -> bool:
        return self.protocol_type == ""


@dataclass(frozen=True, slots=True)
class MemberDescription:
    """A group member. ``assignment`` is decoded for consumer groups (empty otherwise)."""

    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None = None
    assignment: list[TopicPartition] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GroupDescription:
    """``describe_groups`` result: ``protocol`` is the assignor (``"range"``, ...) of a Stable
    group; ``state`` is ``"Empty"``, ``"Stable"``, ``"PreparingRebalance"``, ...;
    ``coordinator`` the id of the broker coordinating the group."""

    group_id: str
    protocol_type: str
    protocol: str
    state: str
    coordinator: int
    members: list[MemberDescription]


class ListedOffset(NamedTuple):
    """``list_offsets`` result: the offset (-1: no record at or after the timestamp), for
    timestamp lookups that record's timestamp (else -1), and the leader epoch the broker
    answered with (None if unknown)."""

    offset: int
    timestamp: int
    leader_epoch: int | None = None


@dataclass(frozen=True, slots=True)
class BrokerDescription:
    id: int
    host: str
    port: int
    rack: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterDescription:
    """``describe_cluster`` result: ``controller`` is the controller's broker id (None if
    unknown); ``brokers`` sorted by id."""

    cluster_id: str | None
    controller: int | None
    brokers: list[BrokerDescription]


# ------------------------------------------------------------------------------------------------
# The client


class AdminClient:
    """Administers a Kafka cluster (pykafkacore or Apache Kafka alike).

    ``AdminClient(bootstrap_servers, config=None, **kafka_configs)``: ``bootstrap_servers`` is a
    string, a list or a ``Cluster``; Kafka configs come as a dict or as keywords with dots spelled
    as underscores (``request_timeout_ms=5000``). Known keys: ``client.id``,
    ``request.timeout.ms``, ``default.api.timeout.ms``, ``retry.backoff.ms``,
    ``retry.backoff.max.ms``, ``retries``, ``metadata.max.age.ms``, ``reconnect.backoff.ms``,
    ``reconnect.backoff.max.ms``, ``socket.connection.setup.timeout.ms``; others are an error.

    Thread-safe; usable as a context manager (closes on exit). See the module docstring for how
    per-item errors are raised.
    """

    def __init__(self, bootstrap_servers: Any = None, *, config: dict[str, Any] | None = None,
                 **kafka_configs: Any) -> None:
        props = kafka_config(bootstrap_servers, config, kafka_configs)
        self._bootstrap = props.get("bootstrap.servers", "")
        self._closed = False
        self._native = _core.AdminClient(props)

    # ---- topics

    def create_topics(self, topics: NewTopic | str | Iterable[NewTopic | str], *,
                      validate_only: bool = False, wait_for_leaders: bool = True,
                      timeout: float | None = None) -> None:
        """Creates topics (a name alone means the broker's defaults). With ``validate_only`` the
        broker only checks the request. With ``wait_for_leaders`` (default) the call returns
        once every partition has a leader, so the topics are usable at once (Java's and
        confluent-kafka's clients return earlier). Raises ``TopicAlreadyExistsError``,
        ``InvalidReplicationFactorError``, ... for the first failed topic (see ``.errors``)."""
        items = [_new_topic(t) for t in _many(topics, (NewTopic, str))]
        errors = self._native.create_topics(items, validate_only, wait_for_leaders, timeout)
        _check("topic", errors, None)

    def delete_topics(self, topics: str | Iterable[str], *, wait_until_gone: bool = True,
                      timeout: float | None = None) -> None:
        """Deletes topics; ``UnknownTopicOrPartitionError`` for one that does not exist. With
        ``wait_until_gone`` (default) the call returns once the cluster's metadata no longer
        lists them, so the names can be created again at once (Kafka's brokers learn of a
        deletion after the controller answered; Java's client returns at that earlier point)."""
        names = _many(topics, str)
        _check("topic", self._native.delete_topics(names, timeout), None)
        if wait_until_gone:
            deadline = time.monotonic() + (60.0 if timeout is None else timeout)
            while set(names) & set(self.list_topics(include_internal=True, timeout=timeout)):
                if time.monotonic() > deadline:
                    raise KafkaTimeoutError(f"topics {sorted(names)} were deleted but are "
                                            "still listed")
                time.sleep(0.05)

    def list_topics(self, *, include_internal: bool = False,
                    timeout: float | None = None) -> list[str]:
        """The topic names, sorted (``__consumer_offsets`` & co. only with
        ``include_internal``)."""
        return self._native.list_topics(include_internal, timeout)

    def describe_topics(self, topics: str | Iterable[str], *,
                        timeout: float | None = None) -> dict[str, TopicDescription]:
        """Partitions, leaders, replicas and ISR of each topic;
        ``UnknownTopicOrPartitionError`` for one that does not exist."""
        results, errors = self._native.describe_topics(_many(topics, str), timeout)
        out = {name: _topic_description(name, value) for name, value in results.items()}
        _check("topic", errors, out)
        return out

    def create_partitions(self, new_totals: Mapping[str, int], *, validate_only: bool = False,
                          timeout: float | None = None) -> None:
        """Grows each topic to the given total number of partitions (``{"orders": 6}``).
        Unlike ``create_topics`` it does not wait for the new partitions' leaders."""
        errors = self._native.create_partitions(dict(new_totals), validate_only, timeout)
        _check("topic", errors, None)

    # ---- configs

    def describe_configs(
        self, resources: ConfigResourceLike | Iterable[ConfigResourceLike]
        | Mapping[str, str | int | Iterable[str | int]], *, timeout: float | None = None,
    ) -> dict[ConfigResource, dict[str, ConfigEntry]]:
        """Every config of each resource: ``("topic", name)``, ``("broker", id)``, a list of
        them, or ``{"topic": [names], "broker": [ids]}``. Returns, per resource, the entries by
        config name."""
        keys = _resources(resources)
        results, errors = self._native.describe_configs(keys, timeout)
        out = {_config_resource(key): {e[0]: _config_entry(e) for e in entries}
               for key, entries in results.items()}
        _check("config resource", _keyed(errors, _config_resource), out)
        return out

    def alter_configs(self, configs: Mapping[ConfigResourceLike, Mapping[str, Any]], *,
                      timeout: float | None = None) -> None:
        """Kafka's legacy AlterConfigs: for each resource, the given configs replace *every*
        override it has (a config left out returns to its default). Prefer
        ``incremental_alter_configs``."""
        native = {_resource(r): {str(k): _text(v) for k, v in values.items()}
                  for r, values in configs.items()}
        _check("config resource", _keyed(self._native.alter_configs(native, timeout),
                                         _config_resource), None)

    def incremental_alter_configs(
        self, changes: Mapping[ConfigResourceLike,
                               Mapping[str, Any] | Iterable[AlterConfigOp | tuple[Any, ...]]], *,
        timeout: float | None = None,
    ) -> None:
        """Changes some configs of each resource, leaving the others. Per resource, either a
        dict ``{name: value}`` (a value sets the config, None deletes it: back to the default)
        or a list of ``AlterConfigOp(name, op, value)`` / ``(name, op, value)`` with ``op`` one
        of ``"set"``, ``"delete"``, ``"append"``, ``"subtract"``."""
        native = {_resource(r): _alter_ops(ops) for r, ops in changes.items()}
        _check("config resource",
               _keyed(self._native.incremental_alter_configs(native, timeout), _config_resource),
               None)

    # ---- consumer groups

    def list_groups(self, *, timeout: float | None = None) -> list[GroupListing]:
        """Every group of the cluster (each broker is asked for the groups it coordinates),
        sorted by id."""
        return [GroupListing(*g) for g in self._native.list_groups(timeout)]

    def describe_groups(self, groups: str | Iterable[str], *,
                        timeout: float | None = None) -> dict[str, GroupDescription]:
        """State, assignor, coordinator and members (with their assignments) of each group;
        ``GroupIdNotFoundError`` for a group that does not exist."""
        results, errors = self._native.describe_groups(_many(groups, str), timeout)
        out = {gid: _group_description(gid, value) for gid, value in results.items()}
        _check("group", errors, out)
        return out

    def delete_groups(self, groups: str | Iterable[str], *, timeout: float | None = None) -> None:
        """Deletes groups with their committed offsets: ``GroupIdNotFoundError`` for an unknown
        group, ``NonEmptyGroupError`` for one that still has members."""
        _check("group", self._native.delete_groups(_many(groups, str), timeout), None)

    @overload
    def list_group_offsets(self, group: str,
                           partitions: Iterable[TopicPartitionLike] | None = ..., *,
                           with_metadata: Literal[False] = ...,
                           timeout: float | None = ...) -> dict[TopicPartition, int]: ...

    @overload
    def list_group_offsets(self, group: str,
                           partitions: Iterable[TopicPartitionLike] | None = ..., *,
                           with_metadata: Literal[True],
                           timeout: float | None = ...) -> dict[TopicPartition,
                                                                OffsetAndMetadata]: ...

    def list_group_offsets(
        self, group: str, partitions: Iterable[TopicPartitionLike] | None = None, *,
        with_metadata: bool = False, timeout: float | None = None,
    ) -> dict[TopicPartition, int] | dict[TopicPartition, OffsetAndMetadata]:
        """The group's committed offsets: of ``partitions``, or of every partition it has
        committed. Partitions without a committed offset are left out. With
        ``with_metadata=True`` the values are ``OffsetAndMetadata`` instead of offsets."""
        tps = None if partitions is None else [_tp(tp) for tp in partitions]
        offsets = self._native.list_group_offsets(group, tps, timeout)
        if with_metadata:
            return {TopicPartition(*tp): OffsetAndMetadata(*o) for tp, o in offsets.items()}
        return {TopicPartition(*tp): o[0] for tp, o in offsets.items()}

    def alter_group_offsets(self, group: str,
                            offsets: Mapping[TopicPartitionLike, int | OffsetAndMetadata], *,
                            timeout: float | None = None) -> None:
        """Commits offsets for the group as an admin (offsets or ``OffsetAndMetadata``). The
        group must have no active members (the broker refuses otherwise, as Kafka does:
        ``UnknownMemberIdError``); an unknown group is created."""
        native: dict[tuple[str, int], tuple[int, str, int | None]] = {}
        for tp, o in offsets.items():
            om = o if isinstance(o, OffsetAndMetadata) else OffsetAndMetadata(_int(o, "offset"))
            native[_tp(tp)] = (om.offset, om.metadata, om.leader_epoch)
        errors = self._native.alter_group_offsets(group, native, timeout)
        _check("partition", _keyed(errors, _topic_partition), None)

    def delete_group_offsets(self, group: str, partitions: Iterable[TopicPartitionLike], *,
                             timeout: float | None = None) -> None:
        """Deletes the group's committed offsets of these partitions (Kafka's OffsetDelete):
        ``GroupSubscribedToTopic`` (code 86) for topics the group's members consume."""
        errors = self._native.delete_group_offsets(group, [_tp(tp) for tp in partitions], timeout)
        _check("partition", _keyed(errors, _topic_partition), None)

    def lag(self, group: str, *,
            timeout: float | None = None) -> dict[TopicPartition, PartitionLag]:
        """For every partition the group has committed an offset for: ``PartitionLag(committed,
        end_offset, lag)`` with ``end_offset`` the high watermark and ``lag`` their difference.
        Both are -1 when the end offset could not be read (topic deleted, no leader in time)."""
        from .cluster import PartitionLag

        return {TopicPartition(*tp): PartitionLag(*values)
                for tp, values in self._native.group_lag(group, timeout).items()}

    # ---- records and offsets

    def delete_records(self, before_offsets: Mapping[TopicPartitionLike, int], *,
                       timeout: float | None = None) -> dict[TopicPartition, int]:
        """Deletes the records before the given offset of each partition (-1: every record up
        to the high watermark). Returns each partition's new low watermark (log start)."""
        native = {_tp(tp): _int(o, "offset") for tp, o in before_offsets.items()}
        results, errors = self._native.delete_records(native, timeout)
        out = {TopicPartition(*tp): low for tp, low in results.items()}
        _check("partition", _keyed(errors, _topic_partition), out)
        return out

    def list_offsets(
        self,
        partitions: Mapping[TopicPartitionLike, OffsetSpecLike] | Iterable[TopicPartitionLike],
        *, spec: OffsetSpecLike = "latest",
        isolation_level: Literal["read_uncommitted", "read_committed"] = "read_uncommitted",
        timeout: float | None = None,
    ) -> dict[TopicPartition, ListedOffset]:
        """Looks offsets up at each partition's leader. ``partitions`` maps each partition to
        what to look up — ``"earliest"``, ``"latest"`` (the high watermark; the last stable
        offset with ``read_committed``), ``"max_timestamp"`` (the record with the highest
        timestamp) or a timestamp (ms since the epoch, or a ``datetime``: the first record at or
        after it) — or is a list of partitions that all take ``spec``."""
        if isolation_level not in ("read_uncommitted", "read_committed"):
            raise ValueError("isolation_level must be 'read_uncommitted' or 'read_committed'")
        if isinstance(partitions, Mapping):
            native = {_tp(tp): _offset_spec(s) for tp, s in partitions.items()}
        else:
            value = _offset_spec(spec)
            native = {_tp(tp): value for tp in partitions}
        results, errors = self._native.list_offsets(native, isolation_level == "read_committed",
                                                    timeout)
        out = {TopicPartition(*tp): ListedOffset(o[0], o[1], None if o[2] < 0 else o[2])
               for tp, o in results.items()}
        _check("partition", _keyed(errors, _topic_partition), out)
        return out

    # ---- leaders

    def elect_leaders(self, partitions: Iterable[TopicPartitionLike] | None = None, *,
                      unclean: bool = False,
                      timeout: float | None = None) -> list[TopicPartition]:
        """Leader election (Kafka's ElectLeaders) for these partitions, or every partition:
        the preferred (first assigned) replica leads where it is alive and in sync, or with
        ``unclean`` any live replica. Returns the partitions whose leader was elected; one
        whose replica already leads is not an error (``ElectionNotNeeded`` is left out)."""
        native = None if partitions is None else [_tp(tp) for tp in partitions]
        elected, errors = self._native.elect_leaders(native, unclean, timeout)
        errors = {tp: e for tp, e in errors.items() if e[0] != _ELECTION_NOT_NEEDED}
        out = [TopicPartition(*tp) for tp in elected]
        _check("partition", _keyed(errors, _topic_partition), out)
        return out

    # ---- cluster

    def describe_cluster(self, *, timeout: float | None = None) -> ClusterDescription:
        """The cluster id, the controller's id and the brokers."""
        cluster_id, controller, brokers = self._native.describe_cluster(timeout)
        return ClusterDescription(cluster_id, None if controller < 0 else controller,
                                  [BrokerDescription(*b) for b in brokers])

    # ---- lifecycle

    def close(self) -> None:
        """Fails calls in flight (``NetworkError``), closes the connections and stops the
        client's thread. Later calls raise ``NetworkError``. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
        return self._closed

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<pykafkacore.AdminClient {self._bootstrap} {state}>"


# ------------------------------------------------------------------------------------------------
# Conversions


_ELECTION_NOT_NEEDED = 84


def _check(what: str, errors: Mapping[K, tuple[int, str]], results: Any) -> None:
    """Raises for per-item errors (see the module docstring)."""
    if not errors:
        return
    per_item = {key: _item_error(code, message) for key, (code, message) in errors.items()}
    first_key, first = next(iter(per_item.items()))
    text = first.message
    name = _key_name(first_key)
    if not name or name not in text:  # the broker's message may name the item already
        where = f"{what} {_key_text(first_key)}"
        text = f"{where}: {text}" if text else where
    if len(per_item) > 1:
        text += f" (and {len(per_item) - 1} more failed: see .errors)"
    exc = error_for(first.code, text)
    exc.errors = per_item
    exc.results = results
    raise exc


def _item_error(code: int, message: str) -> KafkaError:
    # Brokers often send no message; the core then gives the error's name, which str() shows.
    error = error_for(code, message)
    return error_for(code, "") if message == error.name else error


def _key_name(key: Any) -> str:
    if isinstance(key, TopicPartition):
        return f"{key.topic}-{key.partition}"
    if isinstance(key, ConfigResource):
        return key.name
    return str(key)


def _key_text(key: Any) -> str:
    if isinstance(key, TopicPartition):
        return f"{key.topic}-{key.partition}"
    if isinstance(key, ConfigResource):
        return f"{key.type} {key.name!r}"
    return repr(key)


def _keyed(errors: Mapping[Any, tuple[int, str]], convert: Any) -> dict[Any, tuple[int, str]]:
    return {convert(key): value for key, value in errors.items()}


def _topic_partition(key: tuple[str, int]) -> TopicPartition:
    return TopicPartition(*key)


def _config_resource(key: tuple[str, str]) -> ConfigResource:
    return ConfigResource(*key)  # type: ignore[arg-type]


def _many(items: Any, single: type | tuple[type, ...]) -> list[Any]:
    """One item or an iterable of them, as a list."""
    if isinstance(items, single):
        return [items]
    out = list(items)
    for item in out:
        if not isinstance(item, single):
            raise TypeError(f"expected {_names(single)}, got {type(item).__name__}")
    return out


def _names(types: type | tuple[type, ...]) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return int(value)


def _tp(tp: Any) -> tuple[str, int]:
    try:
        topic, partition = tp
    except (TypeError, ValueError):
        raise TypeError(f"expected a TopicPartition or (topic, partition), got {tp!r}") from None
    if not isinstance(topic, str):
        raise TypeError(f"expected a TopicPartition or (topic, partition), got {tp!r}")
    return topic, _int(partition, "partition")


def _new_topic(topic: NewTopic | str) -> tuple[str, int, int, dict[int, list[int]], dict[str, str]]:
    if isinstance(topic, str):
        topic = NewTopic(topic)
    assignment = topic.replica_assignment or {}
    if not isinstance(assignment, Mapping):
        assignment = dict(enumerate(assignment))
    configs = {str(k): _text(v) for k, v in (topic.config or {}).items()}
    return (topic.name, topic.num_partitions, topic.replication_factor,
            {int(p): [int(b) for b in replicas] for p, replicas in assignment.items()}, configs)


def _resource(r: Any) -> tuple[str, str]:
    try:
        kind, name = r
    except (TypeError, ValueError):
        raise TypeError(f"expected a config resource ('topic'|'broker', name), got {r!r}") from None
    kind = str(getattr(kind, "name", kind)).lower()
    if kind not in ("topic", "broker"):
        raise ValueError(f"config resource type must be 'topic' or 'broker', not {kind!r}")
    return kind, str(name)


def _is_resource(r: Any) -> bool:
    return (isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], str)
            and r[0].lower() in ("topic", "broker") and isinstance(r[1], (str, int)))


def _resources(resources: Any) -> list[tuple[str, str]]:
    if _is_resource(resources):
        return [_resource(resources)]
    if isinstance(resources, Mapping):
        out: list[tuple[str, str]] = []
        for kind, names in resources.items():
            if isinstance(names, (str, int)):
                names = [names]
            out.extend(_resource((kind, name)) for name in names)
        return out
    return [_resource(r) for r in resources]


def _alter_ops(ops: Any) -> list[tuple[str, str, str | None]]:
    if isinstance(ops, Mapping):
        return [(str(k), "set", _text(v)) if v is not None else (str(k), "delete", None)
                for k, v in ops.items()]
    out: list[tuple[str, str, str | None]] = []
    for op in ops:
        op = AlterConfigOp(*op)
        if op.op not in ("set", "delete", "append", "subtract"):
            raise ValueError(f"config operation must be 'set', 'delete', 'append' or "
                             f"'subtract', not {op.op!r}")
        if op.op != "delete" and op.value is None:
            raise ValueError(f"config operation {op.op!r} on {op.name!r} needs a value")
        out.append((op.name, op.op, None if op.value is None else _text(op.value)))
    return out


_SPECS = {"latest": -1, "earliest": -2, "max_timestamp": -3}


def _offset_spec(spec: Any) -> int:
    if isinstance(spec, str):
        try:
            return _SPECS[spec]
        except KeyError:
            raise ValueError(f"offset spec must be 'earliest', 'latest', 'max_timestamp', a "
                             f"timestamp in ms or a datetime, not {spec!r}") from None
    if isinstance(spec, datetime):
        return int(spec.timestamp() * 1000)
    value = _int(spec, "offset spec")
    if value < 0:
        raise ValueError("an offset spec timestamp must be >= 0 (ms since the epoch)")
    return value


def _topic_description(name: str, value: tuple[Any, ...]) -> TopicDescription:
    topic_id, internal, partitions = value
    return TopicDescription(name, topic_id, internal, [
        PartitionDescription(p, None if leader < 0 else leader, replicas, isr, offline,
                             None if epoch < 0 else epoch)
        for p, leader, epoch, replicas, isr, offline in partitions])


def _config_entry(e: tuple[Any, ...]) -> ConfigEntry:
    name, value, read_only, is_default, sensitive, source = e
    return ConfigEntry(name, value, ConfigSource(source), is_default, read_only, sensitive)


def _group_description(group_id: str, value: tuple[Any, ...]) -> GroupDescription:
    protocol_type, protocol, state, coordinator, members = value
    return GroupDescription(group_id, protocol_type, protocol, state, coordinator, [
        MemberDescription(member_id, client_id, host, instance_id,
                          [TopicPartition(*tp) for tp in assignment])
        for member_id, instance_id, client_id, host, assignment in members])
