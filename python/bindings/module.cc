// pykafkacore._core: private native module. The public API is python/pykafkacore/__init__.py.
#include <pybind11/pybind11.h>

#include "bindings.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "Native core of pykafkacore (private: import from pykafkacore instead).";
  // One call per area; each lives in its own register_<area>.cc.
  kafkacore::python::register_record(m);
  kafkacore::python::register_storage(m);
  kafkacore::python::register_broker(m);
  kafkacore::python::register_cluster(m);
  kafkacore::python::register_producer(m);
  kafkacore::python::register_admin(m);
  kafkacore::python::register_consumer(m);
  kafkacore::python::register_streams(m);
}
