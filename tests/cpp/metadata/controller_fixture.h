#pragma once
// A controller driven as its service does: records it returns are committed (applied to an
// image handed back with committed()), brokers register and heartbeat on a manual clock.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "metadata/controller.h"
#include "metadata/image.h"

namespace kafkacore::metadata::testing {

inline Uuid id_of(uint8_t n) {
  Uuid u;
  u.bytes.fill(n);
  return u;
}

class ControllerFixture : public ::testing::Test {
 protected:
  ControllerFixture() : controller_(config(), clock_, 7) { controller_.reset(MetadataImage::empty()); }

  static ControllerConfig config() {
    ControllerConfig c;
    c.broker_session_timeout_ms = 1000;
    c.leader_imbalance_check_interval_ms = 5000;
    c.lost_connection_grace_ms = 300;
    return c;
  }

  // Applies records as if the quorum committed them.
  void commit(const Records& records) {
    image_ = image_->apply(records, image_->offset() + 1);
    controller_.proposed(image_->offset());
    controller_.committed(image_);
  }

  void add_live_broker(int32_t id) {
    auto reg = controller_.register_broker({id, Uuid::random(), "127.0.0.1", 9000 + id, ""});
    ASSERT_TRUE(reg);
    commit(*reg);
    auto hb = controller_.heartbeat(id, image_->broker(id)->epoch, image_->offset());
    ASSERT_TRUE(hb);
    commit(hb->first);
    ASSERT_FALSE(hb->second) << "broker " << id << " should be unfenced";
  }

  void heartbeat_all_but(int32_t dead) {
    const ImagePtr image = image_;  // commit() moves image_ on
    for (const auto& [id, b] : image->brokers()) {
      if (id == dead || b.fenced) continue;
      auto hb = controller_.heartbeat(id, b.epoch, image->offset());
      ASSERT_TRUE(hb);
      commit(hb->first);
    }
  }

  ManualClock clock_;
  Controller controller_;
  ImagePtr image_ = MetadataImage::empty();
};

}  // namespace kafkacore::metadata::testing
