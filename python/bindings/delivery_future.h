#pragma once
// pykafkacore.DeliveryFuture, a plain CPython type rather than a pybind11 class: Producer.send()
// makes one per record, so creating it must cost about as much as a tuple. The producer's
// delivery callback (running without the GIL, inside Producer.poll/flush) writes the outcome
// straight into the future's native fields and queues it; the binding drains the queue once it
// holds the GIL again, running done-callbacks and dropping the reference the pending record held.
// No Python object is created per record on the delivery path; RecordMetadata and errors are
// built when result() asks for them.
#include <mutex>
#include <vector>

#include "bindings.h"
#include "client/record_accumulator.h"

namespace kafkacore::python {

struct DeliveryFutureObject;

// Futures whose outcome arrived and that wait for the GIL.
class FutureCompletions {
 public:
  // Any thread, no GIL needed.
  void push(DeliveryFutureObject* future);
  // GIL held. Runs done-callbacks and releases the pending references. Returns false with the
  // Python error set when a callback raised (the first error; every future is still drained).
  bool drain();

 private:
  std::mutex mu_;
  std::vector<DeliveryFutureObject*> done_;
};

void register_delivery_future(py::module_& m);

// GIL held. A pending future for a record of `topic` (a str) sent through `producer` (the
// _core.Producer whose poll() serves it), or nullptr with a Python error set. Returns a new
// reference for the caller; `delivery_callback` takes a second one, held until drained.
DeliveryFutureObject* new_delivery_future(PyObject* producer, PyObject* topic);

// The callback completing `future` through `completions` (which must outlive the producer's
// callbacks). Fits std::function's inline storage: no allocation per record.
client::DeliveryCallback delivery_callback(DeliveryFutureObject* future,
                                           FutureCompletions* completions);

// GIL held: the pending reference of a future whose callback was never handed to the producer.
void drop_pending(DeliveryFutureObject* future);

}  // namespace kafkacore::python
