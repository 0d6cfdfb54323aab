#pragma once
// The controller quorum's state machine: committed Raft entries (each a batch of metadata
// records) applied into the MetadataImage; its snapshots are the image's records. Every voter
// (and later every observer broker) runs one and serves Metadata, leadership and configs from
// `image()`.
#include <functional>

#include "metadata/image.h"
#include "raft/state_machine.h"

namespace kafkacore::metadata {

class MetadataMachine final : public raft::StateMachine {
 public:
  MetadataMachine() : image_(MetadataImage::empty()) {}

  void restore(const raft::Snapshot& snapshot) override;
  void apply(const raft::Entry& entry) override;
  Bytes snapshot() override;

  const ImagePtr& image() const { return image_; }
  // Runs after each change of the image (on the quorum's thread).
  std::function<void(const ImagePtr&)> on_update;

 private:
  ImagePtr image_;
};

}  // namespace kafkacore::metadata
