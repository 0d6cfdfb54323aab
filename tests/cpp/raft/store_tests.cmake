kafkacore_test(raft_store SOURCES codec_test.cc log_store_test.cc LIBS kafkacore_raft)
