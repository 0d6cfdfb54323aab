"""Enrich a stream of orders with customer data from a table (a stream-table join).

    .venv/bin/python examples/streams_enrichment_join.py                  # starts its own cluster
    .venv/bin/python examples/streams_enrichment_join.py --bootstrap-servers 127.0.0.1:9092

Customers live in a compacted topic read as a table (the latest value per key); orders are a
stream keyed by customer id. Each order looks its customer up as it passes (a left join:
orders of unknown customers go on with None). Both topics have the same number of partitions
and keys, so the lookup is local to each task.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import uuid
from collections.abc import Iterator

from pykafkacore import (AdminClient, Cluster, Consumer, NewTopic, Producer, StreamsApp,
                         set_log_level)

CUSTOMERS = {"c1": {"name": "Ada", "tier": "gold"}, "c2": {"name": "Grace", "tier": "silver"},
             "c3": {"name": "Linus", "tier": "bronze"}}
ORDERS = [("c1", {"order": 1, "amount": 120}), ("c2", {"order": 2, "amount": 35}),
          ("c9", {"order": 3, "amount": 10}), ("c1", {"order": 4, "amount": 60}),
          ("c3", {"order": 5, "amount": 99})]
DISCOUNT = {"gold": 0.1, "silver": 0.05, "bronze": 0.0}


@contextlib.contextmanager
def kafka(bootstrap_servers: str | None) -> Iterator[str]:
    if bootstrap_servers:
        yield bootstrap_servers
        return
    set_log_level("warn")
    with Cluster(brokers=1) as cluster:
        yield cluster.bootstrap_servers


def enrich(order: dict, customer: dict | None) -> dict:
    tier = customer["tier"] if customer else None
    return {**order, "customer": customer["name"] if customer else None, "tier": tier,
            "to_pay": round(order["amount"] * (1 - DISCOUNT.get(tier, 0.0)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running cluster (default: start one)")
    args = parser.parse_args()

    suffix = uuid.uuid4().hex[:8]
    customers, orders, enriched = (f"customers-{suffix}", f"orders-{suffix}",
                                   f"orders-enriched-{suffix}")
    app_id = f"enrich-{suffix}"
    with kafka(args.bootstrap_servers) as bootstrap:
        with AdminClient(bootstrap) as admin:
            admin.create_topics([NewTopic(customers, 2, config={"cleanup.policy": "compact"}),
                                 NewTopic(orders, 2), NewTopic(enriched, 2)])
        producer = Producer(bootstrap, key_serializer="str", value_serializer="json")
        for key, customer in CUSTOMERS.items():
            producer.send(customers, customer, key=key)
        producer.flush(30)

        app = StreamsApp(app_id, bootstrap, default_key_serde="str", default_value_serde="json",
                         commit_interval=0.2)
        table = app.table(customers, name="customers")
        (app.stream(orders)
         .join(table, enrich, how="left")
         .to(enriched))

        app.start()
        app.wait_until_idle(30)  # the table is loaded before the first order arrives
        print(f"customer c2 in the app's store: {app.get('customers', 'c2')}")
        for key, order in ORDERS:
            producer.send(orders, order, key=key)
        producer.flush(30)
        producer.close()
        app.wait_until_idle(30)
        app.stop()

        got = []
        with Consumer(enriched, bootstrap_servers=bootstrap, group_id=f"{enriched}-reader",
                      auto_offset_reset="earliest", key_deserializer="str",
                      value_deserializer="json") as consumer:
            deadline = time.monotonic() + 30
            while len(got) < len(ORDERS) and time.monotonic() < deadline:
                got += consumer.poll(0.5)
        for r in sorted(got, key=lambda r: r.value["order"]):
            print(f"order {r.value['order']} of {r.key}: {r.value}")
        expected = {o["order"]: (k, enrich(o, CUSTOMERS.get(k))) for k, o in ORDERS}
        ok = {r.value["order"]: (r.key, r.value) for r in got} == expected and \
            len(got) == len(ORDERS)
        print(f"{len(got)} orders enriched; {'all as expected' if ok else 'MISMATCH'}")

        if args.bootstrap_servers:
            with AdminClient(bootstrap) as admin:
                internal = [t for t in admin.list_topics() if t.startswith(app_id)]
                admin.delete_topics([customers, orders, enriched, *internal])
        if not ok:
            raise SystemExit("unexpected join results")


if __name__ == "__main__":
    main()
