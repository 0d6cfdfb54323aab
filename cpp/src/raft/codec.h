#pragma once
// Wire format of raft::Message for the controller-quorum transport.
//
// A message is one msgpack array: [version, kind, from, to, payload fields...]. The version comes
// first so the format can change (a reader rejects versions it does not know rather than
// misreading them); `kind` names the payload alternative with a fixed number, independent of
// the order of the std::variant. Entry data and snapshot data are msgpack bin.
//
// Decoding never throws and never trusts a declared size: anything malformed, truncated,
// followed by trailing bytes, of an unknown kind, with a field of the wrong type, out of range
// (negative terms or indexes), or an AppendRequest whose entries do not follow prev_index
// contiguously yields CORRUPT_MESSAGE.
//
// On a stream, messages travel in frames: [uint32 big-endian length][message bytes].
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/error.h"
#include "raft/node.h"

namespace kafkacore::raft {

inline constexpr int64_t kMessageFormatVersion = 1;

// Entry and snapshot data must each be smaller than 4 GiB (msgpack bin32).
Bytes encode_message(const Message& message);
Result<Message> decode_message(ByteView bytes);

inline constexpr size_t kFrameHeaderSize = 4;
// A snapshot travels in one message, so the limit is generous; the transport may pass less.
inline constexpr size_t kDefaultMaxFrameSize = size_t{64} << 20;

// Appends one frame carrying `message` to `out`. MESSAGE_TOO_LARGE (and `out` unchanged) if the
// encoded message exceeds `max_frame_size`: the peer would reject it, better to know here.
Result<void> append_frame(Bytes& out, const Message& message,
                          size_t max_frame_size = kDefaultMaxFrameSize);

struct Frame {
  ByteView message;  // the message bytes (points into the buffer given to cut_frame)
  size_t size = 0;   // header + message: how much of the buffer to consume
};

// The first frame of `buffer` once it is complete; nullopt while more bytes are needed. A
// declared length above `max_frame_size` is an error (MESSAGE_TOO_LARGE) decided from the
// header alone, so a hostile peer cannot make the reader buffer or allocate it; the stream
// cannot be resynchronised after that and should be closed.
Result<std::optional<Frame>> cut_frame(ByteView buffer, size_t max_frame_size = kDefaultMaxFrameSize);

}  // namespace kafkacore::raft
