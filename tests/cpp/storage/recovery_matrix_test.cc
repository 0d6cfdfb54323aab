// Crash-recovery matrix for the partition log, in the spirit of LevelDB's log_test and
// corruption_test: write a log to real files, damage the files the way crashes and bad disks do,
// reopen, and check what recovery serves:
//   (a) every batch that was fully written and synced and is itself undamaged is still there,
//       with the same offsets and bytes;
//   (b) no batch that fails its CRC is ever served, and every served batch decodes;
//   (c) the log is appendable afterwards, at offset = log end offset;
//   (d) reopening never crashes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "record/batch_builder.h"
#include "record/record_batch.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage/segment.h"

// The crash-loop child. Built on its own as the `crash_writer` executable (see CMake); included
// here for the record content it writes and as an in-process fallback when that is not built.
#define KAFKACORE_CRASH_WRITER_NO_MAIN
#include "crash_writer.cc"

namespace kafkacore::storage {
namespace {

namespace rf = record::field;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr const char* kCheckpointName = "log-start-offset";
constexpr const char* kMarkerName = ".kafkacore_clean_shutdown";

// ---------------------------------------------------------------------------------------------
// Records, batches, and reading a log back

struct Rec {
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::string key;
  std::string value;
  bool operator==(const Rec&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  return os << "{offset " << r.offset << ", ts " << r.timestamp << ", key " << r.key
            << ", value " << r.value.substr(0, 40) << "}";
}

// One batch as the log stores it (offsets assigned), with its decoded records.
struct StoredBatch {
  int64_t base = 0;
  int64_t last = 0;
  Bytes bytes;
  std::vector<Rec> records;
};

std::string to_string(ByteView v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }

struct Shape {
  int records;
  int value_len;
};

// Batch `tag`: keys "t<tag>-r<i>", values of about `value_len` bytes, timestamps that increase
// with the tag and within the batch (so every record's timestamp is unique and ordered).
Bytes make_batch(int tag, Shape shape, record::BatchOptions options = {}) {
  record::BatchBuilder builder(options);
  for (int i = 0; i < shape.records; ++i) {
    const std::string key = "t" + std::to_string(tag) + "-r" + std::to_string(i);
    std::string value = "v" + std::to_string(tag) + "-" + std::to_string(i) + "-";
    value.append(static_cast<size_t>(shape.value_len), static_cast<char>('a' + (tag + i) % 26));
    builder.append(kT0 + int64_t{tag} * 1000 + i * 10, as_bytes(key), as_bytes(value));
  }
  auto built = builder.build();
  EXPECT_TRUE(built) << built.error().to_string();
  return built ? std::move(*built) : Bytes{};
}

// Checks (b) on a concatenation of batches and returns them decoded.
std::vector<StoredBatch> decode_all(ByteView bytes) {
  std::vector<StoredBatch> out;
  record::BatchIterator it(bytes);
  int64_t prev_last = -1;
  for (;;) {
    const size_t at = it.position();
    auto next = it.next();
    if (!next) {
      ADD_FAILURE() << "served bytes do not parse as a batch at byte " << at << ": "
                    << next.error().to_string();
      break;
    }
    if (!*next) break;
    const record::RecordBatchView& view = **next;
    if (auto valid = view.validate(); !valid) {
      ADD_FAILURE() << "served a batch that fails validation: " << valid.error().to_string();
      continue;
    }
    auto decoded = record::decode_batch(view);
    if (!decoded) {
      ADD_FAILURE() << "served a batch that does not decode: " << decoded.error().to_string();
      continue;
    }
    StoredBatch b;
    b.base = view.base_offset().value();
    b.last = view.last_offset().value();
    b.bytes.assign(view.bytes().begin(), view.bytes().end());
    for (const auto& r : decoded->records) {
      Rec rec;
      rec.offset = b.base + r.offset_delta;
      rec.timestamp = view.base_timestamp() + r.timestamp_delta;
      if (r.key) rec.key = to_string(*r.key);
      if (r.value) rec.value = to_string(*r.value);
      b.records.push_back(std::move(rec));
    }
    EXPECT_GT(b.base, prev_last) << "served batches out of offset order";
    prev_last = b.last;
    out.push_back(std::move(b));
  }
  return out;
}

// Everything from the log start on.
std::vector<StoredBatch> read_all(const PartitionLog& log) {
  auto r = log.read(log.log_start_offset(), UINT64_MAX, std::nullopt);
  if (!r) {
    ADD_FAILURE() << "read failed: " << r.error().to_string();
    return {};
  }
  auto bytes = r->copy_bytes();
  if (!bytes) {
    ADD_FAILURE() << "copy_bytes failed: " << bytes.error().to_string();
    return {};
  }
  auto batches = decode_all(*bytes);
  EXPECT_EQ(batches.size(), r->batches.size());
  return batches;
}

std::string describe(const std::vector<StoredBatch>& batches) {
  std::string s;
  for (const auto& b : batches) {
    s += "[" + std::to_string(b.base) + ".." + std::to_string(b.last) + " " +
         std::to_string(b.bytes.size()) + "B] ";
  }
  return s;
}

// (a): exactly `want`, same offsets and bytes.
void expect_same_batches(const std::vector<StoredBatch>& got, const std::vector<StoredBatch>& want) {
  ASSERT_EQ(got.size(), want.size()) << "got " << describe(got) << "\nwant " << describe(want);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].base, want[i].base) << "batch " << i;
    EXPECT_EQ(got[i].last, want[i].last) << "batch " << i;
    EXPECT_TRUE(got[i].bytes == want[i].bytes) << "batch " << i << " at offset " << want[i].base
                                               << " has different bytes";
    EXPECT_EQ(got[i].records, want[i].records) << "batch " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// Files

Bytes slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(chars.size());
  // An empty file (a writer killed before its first byte) has no data() to copy from.
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

void spit(const fs::path& path, ByteView data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

void append_to(const fs::path& path, ByteView data) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << "cannot append to " << path;
}

void flip_bit(const fs::path& path, uint64_t position, int bit) {
  Bytes data = slurp(path);
  ASSERT_LT(position, data.size());
  data[position] ^= std::byte{static_cast<uint8_t>(1u << bit)};
  spit(path, data);
}

Bytes random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = std::byte{static_cast<uint8_t>(rng())};
  return out;
}

fs::path log_file(const fs::path& dir, int64_t base) {
  return dir / segment_file_name(Offset{base}, ".log");
}

std::vector<int64_t> segment_bases(const fs::path& dir) {
  std::vector<int64_t> bases;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() == 24 && name.ends_with(".log")) bases.push_back(std::stoll(name.substr(0, 20)));
  }
  std::sort(bases.begin(), bases.end());
  return bases;
}

// Warnings are reported from the owner and the flusher thread; this outlives every log.
class WarningSink {
 public:
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex_);
      lines_.push_back(line);
    };
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(lines_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Fixture

class RecoveryTest : public ::testing::Test {
 protected:
  RecoveryTest() {
    std::string pattern = (fs::path(::testing::TempDir()) / "kafkacore-recovery-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    root_ = pattern;
  }
  ~RecoveryTest() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static LogConfig config(int64_t segment_bytes = 1 << 30) {
    LogConfig c;
    c.segment_bytes = segment_bytes;
    c.retention_ms = -1;
    c.index_interval_bytes = 256;
    return c;
  }

  Result<std::unique_ptr<PartitionLog>> open(const fs::path& dir, const LogConfig& cfg, bool clean,
                                             IoFaults* faults = nullptr) {
    LogEnvironment env;
    env.clock = &clock_;
    env.faults = faults;
    env.warn = warnings_.sink();
    return PartitionLog::open(dir, cfg, env, clean);
  }

  // A fresh copy of `pristine` to damage.
  fs::path copy_of(const fs::path& pristine, const std::string& name) {
    const fs::path dir = root_ / name;
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::copy(pristine, dir, fs::copy_options::recursive);
    return dir;
  }

  // Appends one batch per shape, tagged first_tag, first_tag + 1, ...
  void append_all(PartitionLog& log, const std::vector<Shape>& shapes, int first_tag,
                  const AppendOptions& options = {},
                  const std::function<record::BatchOptions(int)>& batch_options = {}) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      const int tag = first_tag + static_cast<int>(i);
      Bytes batch = make_batch(tag, shapes[i], batch_options ? batch_options(tag) : record::BatchOptions{});
      const int64_t end = log.log_end_offset().value();
      auto r = log.append(batch, options);
      ASSERT_TRUE(r) << r.error().to_string();
      ASSERT_EQ(r->first_offset.value(), end);
    }
  }

  // (c): a new batch lands at the log end and reads back intact.
  void expect_appendable(PartitionLog& log, int tag = 9000) {
    const int64_t end = log.log_end_offset().value();
    Bytes batch = make_batch(tag, {3, 20});
    auto r = log.append(batch);
    ASSERT_TRUE(r) << "append after recovery failed: " << r.error().to_string();
    EXPECT_EQ(r->first_offset.value(), end);
    EXPECT_EQ(r->last_offset.value(), end + 2);
    EXPECT_EQ(log.log_end_offset().value(), end + 3);
    auto back = read_all(log);
    ASSERT_FALSE(back.empty());
    EXPECT_EQ(back.back().base, end);
    EXPECT_TRUE(back.back().bytes == batch) << "appended batch reads back different";
  }

  // Reopens `dir` and checks (a)-(d) when exactly `want` must be served.
  void expect_recovers_to(const fs::path& dir, const LogConfig& cfg, bool clean,
                          const std::vector<StoredBatch>& want) {
    auto log = open(dir, cfg, clean);
    ASSERT_TRUE(log) << "reopen failed: " << log.error().to_string();
    expect_same_batches(read_all(**log), want);
    const int64_t want_end = want.empty() ? 0 : want.back().last + 1;
    EXPECT_EQ((*log)->log_end_offset().value(), want_end);
    expect_appendable(**log);
  }

  fs::path root_;
  ManualClock clock_{kT0 + 5'000'000};
  WarningSink warnings_;
};

class RecoveryMatrix : public RecoveryTest {};
class RecoveryIndexes : public RecoveryTest {};
class RecoveryFaults : public RecoveryTest {};
class RecoveryCrashLoop : public RecoveryTest {};

// Byte ranges of `batches` laid out back to back from position 0 (one segment).
std::vector<uint64_t> batch_ends(const std::vector<StoredBatch>& batches) {
  std::vector<uint64_t> ends;
  uint64_t at = 0;
  for (const auto& b : batches) ends.push_back(at += b.bytes.size());
  return ends;
}

const std::vector<Shape> kSixBatches = {{1, 10}, {5, 200}, {2, 50}, {8, 120}, {2, 30}, {4, 60}};

// ---------------------------------------------------------------------------------------------
// 1. A torn tail: the .log cut at every byte of its last two batches.

TEST_F(RecoveryMatrix, TruncatedLogKeepsExactlyTheWholeBatchPrefix) {
  const fs::path crashed = root_ / "crashed";
  const fs::path closed = root_ / "closed";
  std::vector<StoredBatch> stored;
  for (const auto& dir : {crashed, closed}) {
    auto log = open(dir, config(), false);
    ASSERT_TRUE(log) << log.error().to_string();
    ASSERT_NO_FATAL_FAILURE(append_all(**log, kSixBatches, 0));
    ASSERT_TRUE((*log)->flush_sync());
    stored = read_all(**log);
    if (dir == closed) {
      ASSERT_TRUE((*log)->close());
    }
    // `crashed`: destroyed without close(), as after kill -9.
  }
  ASSERT_EQ(stored.size(), kSixBatches.size());
  const auto ends = batch_ends(stored);
  ASSERT_EQ(fs::file_size(log_file(crashed, 0)), ends.back());

  const uint64_t from = ends[ends.size() - 3];  // start of the second-to-last batch
  const uint64_t probe_size = make_batch(9000, {3, 20}).size();  // what expect_appendable adds
  int cases = 0;
  for (uint64_t cut = from; cut < ends.back(); ++cut) {
    const size_t keep = static_cast<size_t>(
        std::upper_bound(ends.begin(), ends.end(), cut) - ends.begin());
    const std::vector<StoredBatch> want(stored.begin(), stored.begin() + static_cast<ptrdiff_t>(keep));
    // Every cut after a crash; after a clean close (stale indexes on disk, trusted when the marker
    // says the shutdown was clean) every 11th cut and the cuts around batch boundaries.
    const bool boundary = std::any_of(ends.begin(), ends.end(), [&](uint64_t e) {
      return cut + 1 >= e && cut <= e + 1;
    });
    for (const bool from_closed : {false, true}) {
      if (from_closed && !boundary && (cut - from) % 11 != 0) continue;
      for (const bool clean : {false, true}) {
        if (!from_closed && clean) continue;
        SCOPED_TRACE("cut at byte " + std::to_string(cut) + (from_closed ? ", closed" : ", crashed") +
                     (clean ? ", clean open" : ", unclean open"));
        const fs::path dir = copy_of(from_closed ? closed : crashed, "case");
        fs::resize_file(log_file(dir, 0), cut);
        expect_recovers_to(dir, config(), clean, want);
        // The torn bytes are gone from the file: the new batch directly follows the kept ones.
        EXPECT_EQ(fs::file_size(log_file(dir, 0)), ends[keep - 1] + probe_size);
        ++cases;
      }
    }
    if (HasFailure()) break;  // the first failing cut tells the story
  }
  EXPECT_GT(cases, 300);
}

// 1b. After recovery the file holds exactly the kept batches (checked without appending).
TEST_F(RecoveryMatrix, RecoveryCutsTheTornTailFromTheFile) {
  const fs::path pristine = root_ / "pristine";
  std::vector<StoredBatch> stored;
  {
    auto log = open(pristine, config(), false);
    ASSERT_TRUE(log) << log.error().to_string();
    ASSERT_NO_FATAL_FAILURE(append_all(**log, kSixBatches, 0));
    ASSERT_TRUE((*log)->flush_sync());
    stored = read_all(**log);
  }
  const auto ends = batch_ends(stored);
  for (const uint64_t cut : {ends[3] + 1, ends[4] - 1, ends[4] + 30, ends[5] - 1}) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    const fs::path dir = copy_of(pristine, "case");
    fs::resize_file(log_file(dir, 0), cut);
    auto log = open(dir, config(), false);
    ASSERT_TRUE(log) << log.error().to_string();
    const uint64_t kept = *std::prev(std::upper_bound(ends.begin(), ends.end(), cut));
    EXPECT_EQ((*log)->size_bytes(), kept);
    (*log).reset();
    EXPECT_EQ(fs::file_size(log_file(dir, 0)), kept);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. One flipped bit in a batch: in each header field, and in the records.

struct HeaderField {
  const char* name;
  size_t offset;
  size_t width;
  bool fails_crc;  // a flip makes the CRC check fail (the CRC covers attributes..end)
};

const HeaderField kHeaderFields[] = {
    {"baseOffset", rf::base_offset, 8, false},
    {"batchLength", rf::batch_length, 4, false},
    {"partitionLeaderEpoch", rf::partition_leader_epoch, 4, false},
    {"magic", rf::magic, 1, false},
    {"crc", rf::crc, 4, true},
    {"attributes", rf::attributes, 2, true},
    {"lastOffsetDelta", rf::last_offset_delta, 4, true},
    {"baseTimestamp", rf::base_timestamp, 8, true},
    {"maxTimestamp", rf::max_timestamp, 8, true},
    {"producerId", rf::producer_id, 8, true},
    {"producerEpoch", rf::producer_epoch, 2, true},
    {"baseSequence", rf::base_sequence, 4, true},
    {"recordsCount", rf::records_count, 4, true},
};

// Bits to flip in a field: every bit of fields up to `all_bits_width` bytes; otherwise one bit
// per byte (a different one each time) plus the field's highest and lowest bit.
std::vector<std::pair<size_t, int>> bits_to_flip(size_t width, size_t all_bits_width = 2) {
  std::set<std::pair<size_t, int>> bits;
  for (size_t byte = 0; byte < width; ++byte) {
    if (width <= all_bits_width) {
      for (int bit = 0; bit < 8; ++bit) bits.insert({byte, bit});
    } else {
      bits.insert({byte, static_cast<int>((byte * 3 + 1) % 8)});
    }
  }
  bits.insert({0, 7});
  bits.insert({width - 1, 0});
  return {bits.begin(), bits.end()};
}

struct FlipCase {
  std::string name;
  uint64_t position;  // in the segment file
  int bit;
  // The flip can be told from the bytes alone: the CRC fails, or an uncovered field left the
  // range its neighbours allow. An undetectable flip (say, an epoch still between those of the
  // neighbours) may be served as it is; nothing can know better.
  bool detectable = true;
  // The neighbours pin the uncovered field's value, so recovery must restore it.
  bool must_survive = false;
};

// What the neighbours of stored[victim] allow for its uncovered fields (one segment, base 0).
std::vector<FlipCase> flip_cases(const std::vector<StoredBatch>& stored, size_t victim,
                                 size_t all_bits_width = 2) {
  const auto ends = batch_ends(stored);
  const uint64_t pos = victim == 0 ? 0 : ends[victim - 1];
  const StoredBatch& b = stored[victim];
  const StoredBatch* prev = victim > 0 ? &stored[victim - 1] : nullptr;
  const StoredBatch* next = victim + 1 < stored.size() ? &stored[victim + 1] : nullptr;
  const int64_t delta = b.last - b.base;
  const int64_t min_base = prev ? prev->last + 1 : 0;
  const int64_t max_base = next ? next->base - delta - 1 : INT64_MAX;
  auto epoch_of = [](const StoredBatch* s) {
    return load_be<int32_t>(s->bytes.data() + rf::partition_leader_epoch);
  };
  const int32_t epoch = epoch_of(&b);
  const int64_t min_epoch = prev ? epoch_of(prev) : INT64_MIN;
  const int64_t max_epoch = next ? epoch_of(next) : INT64_MAX;

  std::vector<FlipCase> cases;
  for (const auto& f : kHeaderFields) {
    for (const auto& [byte, bit] : bits_to_flip(f.width, all_bits_width)) {
      FlipCase c;
      c.name = std::string(f.name) + " byte " + std::to_string(byte) + " bit " + std::to_string(bit);
      c.position = pos + f.offset + byte;
      c.bit = bit;
      const int value_bit = static_cast<int>((f.width - 1 - byte) * 8) + bit;
      if (f.offset == rf::base_offset) {
        const int64_t flipped = b.base ^ (int64_t{1} << value_bit);
        c.detectable = flipped < min_base || flipped > max_base;
        c.must_survive = c.detectable && next && min_base == max_base;
      } else if (f.offset == rf::partition_leader_epoch) {
        const int64_t flipped = static_cast<int32_t>(epoch ^ static_cast<int32_t>(1u << value_bit));
        c.detectable = flipped < min_epoch || flipped > max_epoch;
        c.must_survive = c.detectable && prev && next && min_epoch == max_epoch;
      } else if (!f.fails_crc) {
        c.must_survive = next != nullptr;  // batchLength, magic: the next batch marks the end
      }
      cases.push_back(c);
    }
  }
  const uint64_t records_size = b.bytes.size() - record::kBatchHeaderSize;
  for (uint64_t i = 0; i < 8; ++i) {
    const uint64_t at = record::kBatchHeaderSize + i * (records_size - 1) / 7;
    cases.push_back({"records byte " + std::to_string(at - record::kBatchHeaderSize), pos + at,
                     static_cast<int>(i % 8)});
  }
  return cases;
}

class RecoveryFlips : public RecoveryTest {
 protected:
  // Writes kSixBatches (one epoch and contiguous offsets, or when `gapped` offset gaps and rising
  // epochs), crashes, and returns what the log stores.
  std::vector<StoredBatch> write_pristine(const fs::path& dir, bool gapped) {
    auto log = open(dir, config(), false);
    EXPECT_TRUE(log) << log.error().to_string();
    if (!log) return {};
    if (!gapped) {
      AppendOptions options;
      options.leader_epoch = LeaderEpoch{5};
      // Idempotent-producer fields, so that every header field holds something.
      auto producer = [](int tag) {
        record::BatchOptions o;
        o.producer_id = ProducerId{4000 + tag};
        o.producer_epoch = ProducerEpoch{3};
        o.base_sequence = 100 * tag;
        return o;
      };
      append_all(**log, kSixBatches, 0, options, producer);
    } else {
      // As a follower stores a compacted leader's log: offset gaps between batches, and leader
      // epochs that change.
      const int64_t bases[] = {0, 10, 20, 30, 50, 60};
      const int32_t epochs[] = {1, 2, 2, 4, 8, 8};
      AppendOptions options;
      options.assign_offsets = false;
      for (int i = 0; i < 6; ++i) {
        record::BatchOptions o;
        o.base_offset = Offset{bases[i]};
        o.partition_leader_epoch = LeaderEpoch{epochs[i]};
        Bytes batch = make_batch(i, kSixBatches[static_cast<size_t>(i)], o);
        auto r = (*log)->append(batch, options);
        EXPECT_TRUE(r) << r.error().to_string();
      }
    }
    EXPECT_TRUE((*log)->flush_sync());
    return read_all(**log);
  }

  void run_flips(const fs::path& pristine, const std::vector<StoredBatch>& stored, size_t victim,
                 const std::vector<FlipCase>& cases) {
    std::vector<StoredBatch> without_victim = stored;
    without_victim.erase(without_victim.begin() + static_cast<ptrdiff_t>(victim));
    for (const auto& c : cases) {
      SCOPED_TRACE("flipped " + c.name + " of the batch at offset " + std::to_string(stored[victim].base) +
                   (c.detectable ? "" : " (undetectable)"));
      const fs::path dir = copy_of(pristine, "case");
      flip_bit(log_file(dir, 0), c.position, c.bit);
      auto log = open(dir, config(), false);
      ASSERT_TRUE(log) << "reopen failed: " << log.error().to_string();
      auto got = read_all(**log);
      const std::string warnings = join(warnings_.take());
      // Every other batch is served unchanged; the victim (known by the bytes its CRC covers)
      // identical or not at all — or, after an undetectable flip, as flipped.
      const StoredBatch& original = stored[victim];
      std::vector<StoredBatch> others;
      std::optional<StoredBatch> served;
      for (const auto& b : got) {
        const bool is_victim =
            b.bytes.size() == original.bytes.size() &&
            std::equal(b.bytes.begin() + rf::attributes, b.bytes.end(),
                       original.bytes.begin() + rf::attributes);
        if (is_victim && !served) {
          served = b;
        } else {
          others.push_back(b);
        }
      }
      expect_same_batches(others, without_victim);
      if (served && c.detectable) {
        EXPECT_TRUE(served->bytes == original.bytes)
            << "the damaged batch is served with a guessed header: offsets " << served->base << ".."
            << served->last << ", epoch "
            << load_be<int32_t>(served->bytes.data() + rf::partition_leader_epoch) << " instead of "
            << original.base << ".." << original.last << ", epoch "
            << load_be<int32_t>(original.bytes.data() + rf::partition_leader_epoch)
            << "\nrecovery said:\n" << warnings;
      }
      if (!served && c.must_survive) {
        ADD_FAILURE() << "a batch whose CRC checks out and whose header the neighbours pin was "
                         "dropped\nrecovery said:\n" << warnings;
      }
      if (victim + 1 < stored.size()) {
        EXPECT_EQ((*log)->log_end_offset().value(), stored.back().last + 1);
      }
      expect_appendable(**log);
      if (HasFailure()) return;
    }
  }
};

TEST_F(RecoveryFlips, FlippedBitInAMiddleBatchLosesAtMostThatBatch) {
  const fs::path pristine = root_ / "pristine";
  const auto stored = write_pristine(pristine, false);
  ASSERT_EQ(stored.size(), kSixBatches.size());
  const size_t victim = 3;
  const auto cases = flip_cases(stored, victim);
  for (const auto& c : cases) {
    ASSERT_TRUE(c.detectable) << c.name << ": contiguous offsets and one epoch pin every field";
  }
  run_flips(pristine, stored, victim, cases);
  // With contiguous offsets and one epoch, the fields the CRC does not cover are always restored.
  EXPECT_EQ(std::count_if(cases.begin(), cases.end(), [](const FlipCase& c) { return c.must_survive; }),
            std::count_if(cases.begin(), cases.end(), [](const FlipCase& c) {
              return c.name.starts_with("baseOffset") || c.name.starts_with("batchLength") ||
                     c.name.starts_with("partitionLeaderEpoch") || c.name.starts_with("magic");
            }));
}

TEST_F(RecoveryFlips, FlippedBitInTheFirstOrLastBatch) {
  const fs::path pristine = root_ / "pristine";
  const auto stored = write_pristine(pristine, false);
  ASSERT_EQ(stored.size(), kSixBatches.size());
  for (const size_t victim : {size_t{0}, stored.size() - 1}) {
    SCOPED_TRACE("victim batch " + std::to_string(victim));
    run_flips(pristine, stored, victim, flip_cases(stored, victim));
    if (HasFailure()) return;
  }
}

// Where the neighbours do not pin a field (offset gaps in a compacted log, a leader epoch that
// changes), recovery must not guess: a damaged batch goes rather than being served with
// invented offsets or epoch.
TEST_F(RecoveryFlips, UnpinnedOffsetOrEpochIsNeverGuessed) {
  const fs::path pristine = root_ / "pristine";
  const auto stored = write_pristine(pristine, true);
  ASSERT_EQ(stored.size(), kSixBatches.size());
  ASSERT_EQ(stored[3].base, 30);
  for (const size_t victim : {size_t{1}, size_t{3}}) {
    SCOPED_TRACE("victim batch " + std::to_string(victim));
    std::vector<FlipCase> cases;
    for (const auto& c : flip_cases(stored, victim, 8)) {
      if (c.name.starts_with("baseOffset") || c.name.starts_with("partitionLeaderEpoch") ||
          c.name.starts_with("magic") || c.name.starts_with("batchLength")) {
        cases.push_back(c);
      }
    }
    run_flips(pristine, stored, victim, cases);
    if (HasFailure()) return;
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Junk after the valid data: zeros (preallocated blocks), random bytes, a torn header, and a
// stale copy of an old batch behind zeros.

TEST_F(RecoveryMatrix, JunkTailIsCutAndValidDataKept) {
  const fs::path crashed = root_ / "crashed";
  const fs::path closed = root_ / "closed";
  std::vector<StoredBatch> stored;
  for (const auto& dir : {crashed, closed}) {
    auto log = open(dir, config(), false);
    ASSERT_TRUE(log) << log.error().to_string();
    ASSERT_NO_FATAL_FAILURE(append_all(**log, kSixBatches, 0));
    ASSERT_TRUE((*log)->flush_sync());
    stored = read_all(**log);
    if (dir == closed) {
      ASSERT_TRUE((*log)->close());
    }
  }
  const uint64_t valid_size = batch_ends(stored).back();

  struct Tail {
    std::string name;
    Bytes bytes;
  };
  std::vector<Tail> tails;
  tails.push_back({"4096 zero bytes", Bytes(4096)});
  tails.push_back({"1 zero byte", Bytes(1)});
  tails.push_back({"4096 random bytes", random_bytes(4096, 1)});
  tails.push_back({"100000 random bytes", random_bytes(100000, 2)});
  {
    Bytes torn(stored[1].bytes.begin(), stored[1].bytes.begin() + 80);  // a header, then nothing
    store_be<int64_t>(torn.data(), stored.back().last + 1);
    tails.push_back({"torn next batch", torn});
  }
  {
    Bytes stale(4096);
    stale.insert(stale.end(), stored[1].bytes.begin(), stored[1].bytes.end());
    tails.push_back({"zeros then a stale copy of an old batch", stale});
  }
  {
    Bytes dup = stored.back().bytes;  // the last batch written twice
    tails.push_back({"duplicate of the last batch", dup});
  }

  for (const auto& tail : tails) {
    for (const bool from_closed : {false, true}) {
      for (const bool clean : {false, true}) {
        if (!from_closed && clean) continue;
        SCOPED_TRACE(tail.name + (from_closed ? ", closed" : ", crashed") +
                     (clean ? ", clean open" : ", unclean open"));
        const fs::path dir = copy_of(from_closed ? closed : crashed, "case");
        append_to(log_file(dir, 0), tail.bytes);
        {
          auto log = open(dir, config(), clean);
          ASSERT_TRUE(log) << log.error().to_string();
          EXPECT_EQ((*log)->size_bytes(), valid_size);
        }
        EXPECT_EQ(fs::file_size(log_file(dir, 0)), valid_size);
        expect_recovers_to(dir, config(), false, stored);
      }
    }
  }
}

// 3b. A crash right after a roll: the new active segment is empty or holds a torn first batch,
// and the sealed segment's index files were never written.
TEST_F(RecoveryMatrix, EmptyOrTornActiveSegmentAfterARoll) {
  const LogConfig cfg = config(3072);
  const fs::path pristine = root_ / "pristine";
  std::vector<StoredBatch> stored;
  {
    auto log = open(pristine, cfg, false);
    ASSERT_TRUE(log) << log.error().to_string();
    for (int i = 0; (*log)->segment_count() < 3; ++i) {
      ASSERT_NO_FATAL_FAILURE(append_all(**log, {{3, 120}}, i));
    }
    ASSERT_TRUE((*log)->flush_sync());
    stored = read_all(**log);
  }
  const auto bases = segment_bases(pristine);
  ASSERT_EQ(bases.size(), 3u);
  std::vector<StoredBatch> sealed;
  for (const auto& b : stored) {
    if (b.base < bases.back()) sealed.push_back(b);
  }
  ASSERT_EQ(sealed.size() + 1, stored.size());  // the roll happened for the last batch
  for (const uint64_t keep : {uint64_t{0}, uint64_t{30}, stored.back().bytes.size() - 1}) {
    for (const bool drop_indexes : {false, true}) {
      SCOPED_TRACE("active segment cut to " + std::to_string(keep) + " bytes" +
                   (drop_indexes ? ", sealed segment's index files missing" : ""));
      const fs::path dir = copy_of(pristine, "case");
      fs::resize_file(log_file(dir, bases.back()), keep);
      if (drop_indexes) {
        fs::remove(dir / segment_file_name(Offset{bases[1]}, ".index"));
        fs::remove(dir / segment_file_name(Offset{bases[1]}, ".timeindex"));
      }
      expect_recovers_to(dir, cfg, false, sealed);
      if (HasFailure()) return;
    }
  }
}

// 3c. Files left by a recovery (or index write) that was itself interrupted by a crash.
TEST_F(RecoveryMatrix, LeftoversOfAnInterruptedRepairAreIgnored) {
  const fs::path pristine = root_ / "pristine";
  std::vector<StoredBatch> stored;
  {
    auto log = open(pristine, config(), false);
    ASSERT_TRUE(log) << log.error().to_string();
    ASSERT_NO_FATAL_FAILURE(append_all(**log, kSixBatches, 0));
    ASSERT_TRUE((*log)->flush_sync());
    stored = read_all(**log);
  }
  const auto ends = batch_ends(stored);
  const fs::path dir = copy_of(pristine, "case");
  const fs::path log_path = log_file(dir, 0);
  // The damage the interrupted recovery was repairing: the magic byte of a middle batch.
  flip_bit(log_path, ends[1] + rf::magic, 0);
  // A half-written repaired copy, a complete one that was not yet renamed over the log, and
  // half-written index and checkpoint files.
  const Bytes damaged = slurp(log_path);
  spit(fs::path(log_path.string() + ".repair.tmp"), ByteView(damaged).first(damaged.size() / 3));
  spit(fs::path(log_path.string() + ".repair"), random_bytes(damaged.size(), 3));
  spit(dir / (segment_file_name(Offset{0}, ".index") + ".tmp"), random_bytes(40, 4));
  spit(dir / (std::string(kCheckpointName) + ".tmp"), random_bytes(5, 5));
  expect_recovers_to(dir, config(), false, stored);
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    EXPECT_FALSE(name.ends_with(".tmp") || name.ends_with(".repair")) << "leftover " << name;
  }
}

// 3d. The disk fails while recovery rewrites or truncates a segment: open fails cleanly, the data
// is untouched, and a later open (with a working disk) recovers.
TEST_F(RecoveryFaults, IoFailureDuringRecoveryFailsTheOpenAndLosesNothing) {
  const fs::path pristine = root_ / "pristine";
  std::vector<StoredBatch> stored;
  {
    auto log = open(pristine, config(), false);
    ASSERT_TRUE(log) << log.error().to_string();
    ASSERT_NO_FATAL_FAILURE(append_all(**log, kSixBatches, 0));
    ASSERT_TRUE((*log)->flush_sync());
    stored = read_all(**log);
  }
  const auto ends = batch_ends(stored);
  struct Case {
    std::string name;
    bool rewrite;  // a repair that rewrites the file, or a torn tail to cut
    bool disk_full;
  };
  for (const Case& c : {Case{"repair rewrite, disk full", true, true},
                        Case{"repair rewrite, fsync fails", true, false},
                        Case{"tail cut, fsync fails", false, false}}) {
    SCOPED_TRACE(c.name);
    const fs::path dir = copy_of(pristine, "case");
    if (c.rewrite) {
      flip_bit(log_file(dir, 0), ends[1] + rf::batch_length + 3, 2);
    } else {
      append_to(log_file(dir, 0), Bytes(4096));
    }
    const Bytes before = slurp(log_file(dir, 0));
    {
      IoFaults faults;
      if (c.disk_full) {
        faults.write_budget_bytes = 100;
      } else {
        faults.fail_next_syncs = 1;
      }
      auto log = open(dir, config(), false, &faults);
      ASSERT_FALSE(log) << "open succeeded although recovery could not write";
      EXPECT_EQ(log.error().code(), Errc::kafka_storage_error) << log.error().to_string();
    }
    if (c.rewrite) {
      EXPECT_TRUE(slurp(log_file(dir, 0)) == before) << "the failed repair changed the log";
    }
    expect_recovers_to(dir, config(), false, stored);
    if (HasFailure()) return;
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Index files, the log-start checkpoint and the clean-shutdown marker: missing or damaged.

const std::vector<Shape> kManyBatches = [] {
  std::vector<Shape> shapes;
  for (int i = 0; i < 32; ++i) shapes.push_back({1 + (i * 7) % 6, 10 + (i * 37) % 150});
  return shapes;
}();

// Reads by offset (every offset) and by timestamp (every record) return the right batches.
void expect_lookups_work(const PartitionLog& log, const std::vector<StoredBatch>& all,
                         int64_t log_start) {
  EXPECT_EQ(log.log_start_offset().value(), log_start);
  std::vector<StoredBatch> visible;
  for (const auto& b : all) {
    if (b.last >= log_start) visible.push_back(b);
  }
  expect_same_batches(read_all(log), visible);
  ASSERT_FALSE(visible.empty());
  const int64_t end = visible.back().last + 1;
  EXPECT_EQ(log.log_end_offset().value(), end);

  for (const auto& b : visible) {
    for (int64_t o = std::max(b.base, log_start); o <= b.last; ++o) {
      auto r = log.read(Offset{o}, 1, std::nullopt);
      ASSERT_TRUE(r) << "read at " << o << ": " << r.error().to_string();
      ASSERT_EQ(r->batches.size(), 1u) << "read at " << o;
      EXPECT_EQ(r->batches[0].base_offset.value(), b.base) << "read at " << o;
      auto bytes = r->copy_bytes();
      ASSERT_TRUE(bytes);
      EXPECT_TRUE(*bytes == b.bytes) << "read at " << o;
    }
    for (const auto& rec : b.records) {
      for (const int64_t ts : {rec.timestamp, rec.timestamp - 1}) {
        auto found = log.offset_for_timestamp(ts);
        ASSERT_TRUE(found) << found.error().to_string();
        ASSERT_TRUE(found->has_value()) << "no offset for timestamp " << ts;
        EXPECT_EQ((*found)->offset.value(), std::max(rec.offset, log_start)) << "timestamp " << ts;
        EXPECT_EQ((*found)->timestamp, rec.timestamp) << "timestamp " << ts;
      }
    }
  }
  auto none = log.offset_for_timestamp(visible.back().records.back().timestamp + 1);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto first = log.offset_for_timestamp(0);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->offset.value(), log_start);
}

enum class Damage { remove, flip_byte, truncate_half, garbage };

const char* damage_name(Damage d) {
  switch (d) {
    case Damage::remove: return "deleted";
    case Damage::flip_byte: return "one byte flipped";
    case Damage::truncate_half: return "truncated to half";
    case Damage::garbage: return "replaced with garbage";
  }
  return "?";
}

void damage(const fs::path& path, Damage d) {
  ASSERT_TRUE(fs::exists(path)) << path;
  const uint64_t size = fs::file_size(path);
  switch (d) {
    case Damage::remove: fs::remove(path); break;
    case Damage::flip_byte: flip_bit(path, size / 2, 3); break;
    case Damage::truncate_half: fs::resize_file(path, size / 2); break;
    case Damage::garbage: spit(path, random_bytes(std::max<uint64_t>(size, 12), size)); break;
  }
}

TEST_F(RecoveryIndexes, DamagedIndexFilesAndCheckpointAreRebuilt) {
  const LogConfig cfg = config(3072);
  for (const bool moved_start : {false, true}) {
    SCOPED_TRACE(moved_start ? "log start moved by delete_records_before" : "log start at 0");
    const fs::path pristine = root_ / (moved_start ? "pristine-moved" : "pristine");
    std::vector<StoredBatch> stored;
    int64_t log_start = 0;
    {
      auto log = open(pristine, cfg, false);
      ASSERT_TRUE(log) << log.error().to_string();
      ASSERT_NO_FATAL_FAILURE(append_all(**log, kManyBatches, 0));
      ASSERT_GE((*log)->segment_count(), 4u);
      stored = read_all(**log);
      if (moved_start) {
        // Into the middle of a batch of the second segment: the first segment goes.
        const auto bases = segment_bases(pristine);
        auto in_second = std::find_if(stored.begin(), stored.end(), [&](const StoredBatch& b) {
          return b.base > bases[1] && b.last > b.base;
        });
        ASSERT_NE(in_second, stored.end());
        log_start = in_second->base + 1;
        auto moved = (*log)->delete_records_before(Offset{log_start});
        ASSERT_TRUE(moved) << moved.error().to_string();
        ASSERT_EQ(moved->value(), log_start);
      }
      ASSERT_TRUE((*log)->flush_sync());
      ASSERT_NO_FATAL_FAILURE(expect_lookups_work(**log, stored, log_start));
      ASSERT_TRUE((*log)->close());
    }
    const auto bases = segment_bases(pristine);
    ASSERT_GE(bases.size(), 3u);
    std::erase_if(stored, [&](const StoredBatch& b) { return b.base < bases.front(); });
    warnings_.take();

    // The undamaged log reopens without complaint.
    {
      auto log = open(copy_of(pristine, "case"), cfg, true);
      ASSERT_TRUE(log) << log.error().to_string();
      EXPECT_EQ(join(warnings_.take()), "");
      ASSERT_NO_FATAL_FAILURE(expect_lookups_work(**log, stored, log_start));
    }

    std::vector<std::string> targets;
    for (const int64_t base : {bases.front(), bases[bases.size() / 2], bases.back()}) {
      targets.push_back(segment_file_name(Offset{base}, ".index"));
      targets.push_back(segment_file_name(Offset{base}, ".timeindex"));
    }
    targets.push_back(kCheckpointName);

    for (const auto& target : targets) {
      const bool checkpoint = target == kCheckpointName;
      if (moved_start && !checkpoint && target != targets.front()) continue;
      for (const Damage d : {Damage::remove, Damage::flip_byte, Damage::truncate_half, Damage::garbage}) {
        for (const bool clean : {true, false}) {
          SCOPED_TRACE(target + " " + damage_name(d) + (clean ? ", clean open" : ", unclean open"));
          const fs::path dir = copy_of(pristine, "case");
          ASSERT_NO_FATAL_FAILURE(damage(dir / target, d));
          const int64_t want_start = checkpoint ? bases.front() : log_start;
          {
            auto log = open(dir, cfg, clean);
            ASSERT_TRUE(log) << "reopen failed: " << log.error().to_string();
            ASSERT_NO_FATAL_FAILURE(expect_lookups_work(**log, stored, want_start));
            ASSERT_NO_FATAL_FAILURE(expect_appendable(**log));
            ASSERT_TRUE((*log)->close());
          }
          warnings_.take();
          // The repaired files are trusted by the next clean start.
          std::vector<StoredBatch> with_new = stored;
          {
            auto log = open(dir, cfg, true);
            ASSERT_TRUE(log) << "second reopen failed: " << log.error().to_string();
            EXPECT_EQ(join(warnings_.take()), "") << "index files were not rewritten";
            auto got = read_all(**log);
            ASSERT_EQ(got.size(), stored.size() - static_cast<size_t>(std::count_if(
                                      stored.begin(), stored.end(),
                                      [&](const StoredBatch& b) { return b.last < want_start; })) + 1);
            with_new.push_back(got.back());
            ASSERT_NO_FATAL_FAILURE(expect_lookups_work(**log, with_new, want_start));
          }
          if (HasFailure()) return;
        }
      }
    }
  }
}

// The log start offset checkpoint written by delete_records_before survives a crash.
TEST_F(RecoveryIndexes, LogStartCheckpointSurvivesACrash) {
  const LogConfig cfg = config(2048);
  const fs::path dir = root_ / "log";
  std::vector<StoredBatch> stored;
  int64_t log_start = 0;
  {
    auto log = open(dir, cfg, false);
    ASSERT_TRUE(log) << log.error().to_string();
    ASSERT_NO_FATAL_FAILURE(append_all(**log, kManyBatches, 0));
    stored = read_all(**log);
    log_start = stored[stored.size() / 2].base + 1;
    ASSERT_TRUE((*log)->delete_records_before(Offset{log_start}));
    ASSERT_TRUE((*log)->flush_sync());
    // Crash: no close().
  }
  const auto bases = segment_bases(dir);
  std::erase_if(stored, [&](const StoredBatch& b) { return b.base < bases.front(); });
  auto log = open(dir, cfg, false);
  ASSERT_TRUE(log) << log.error().to_string();
  ASSERT_NO_FATAL_FAILURE(expect_lookups_work(**log, stored, log_start));
  expect_appendable(**log);
}

// The clean-shutdown marker, through the LogManager.
class RecoveryManager : public RecoveryTest {
 protected:
  Result<std::unique_ptr<LogManager>> open_manager() {
    LogManagerOptions options;
    options.data_dir = root_ / "data";
    options.defaults = config(2048);
    options.clock = &clock_;
    options.warn = warnings_.sink();
    return LogManager::open(options);
  }

  const TopicPartition tp_{"orders", 3};
  fs::path marker() const { return root_ / "data" / kMarkerName; }
  fs::path partition_dir() const { return root_ / "data" / tp_.dir_name(); }

  // Writes a multi-segment log and shuts down cleanly; returns what it stores.
  std::vector<StoredBatch> write_and_shut_down() {
    std::vector<StoredBatch> stored;
    auto manager = open_manager();
    EXPECT_TRUE(manager) << manager.error().to_string();
    if (!manager) return stored;
    auto log = (*manager)->get_or_create(tp_);
    EXPECT_TRUE(log) << log.error().to_string();
    if (!log) return stored;
    append_all(**log, kManyBatches, 0);
    stored = read_all(**log);
    EXPECT_TRUE((*manager)->shutdown());
    EXPECT_TRUE(fs::exists(marker()));
    return stored;
  }

  void expect_manager_serves(const std::vector<StoredBatch>& stored, bool want_crash_recovery) {
    auto manager = open_manager();
    ASSERT_TRUE(manager) << manager.error().to_string();
    EXPECT_EQ((*manager)->recovered_from_crash(), want_crash_recovery);
    EXPECT_FALSE(fs::exists(marker())) << "the marker must go before anything is written";
    PartitionLog* log = (*manager)->get(tp_);
    ASSERT_NE(log, nullptr);
    ASSERT_NO_FATAL_FAILURE(expect_lookups_work(*log, stored, 0));
    expect_appendable(*log);
  }
};

TEST_F(RecoveryManager, MissingMarkerMeansCrashRecovery) {
  const auto stored = write_and_shut_down();
  ASSERT_FALSE(HasFailure());
  fs::remove(marker());
  expect_manager_serves(stored, true);
}

TEST_F(RecoveryManager, MarkerWithGarbageStillCountsAsClean) {
  const auto stored = write_and_shut_down();
  ASSERT_FALSE(HasFailure());
  spit(marker(), random_bytes(64, 7));
  expect_manager_serves(stored, false);
}

TEST_F(RecoveryManager, MarkerIsConsumedSoALaterCrashIsUnclean) {
  const auto stored = write_and_shut_down();
  ASSERT_FALSE(HasFailure());
  std::vector<StoredBatch> more = stored;
  {
    auto manager = open_manager();
    ASSERT_TRUE(manager) << manager.error().to_string();
    EXPECT_FALSE((*manager)->recovered_from_crash());
    PartitionLog* log = (*manager)->get(tp_);
    ASSERT_NE(log, nullptr);
    ASSERT_NO_FATAL_FAILURE(append_all(*log, {{3, 40}, {2, 500}}, 100));
    ASSERT_TRUE(log->flush_sync());
    more = read_all(*log);
    // Crash: no shutdown(); and tear the last batch as a crash mid-write would.
  }
  fs::resize_file(log_file(partition_dir(), segment_bases(partition_dir()).back()),
                  fs::file_size(log_file(partition_dir(), segment_bases(partition_dir()).back())) - 7);
  more.pop_back();
  expect_manager_serves(more, true);
}

TEST_F(RecoveryManager, MarkerPresentButIndexesDamaged) {
  const auto stored = write_and_shut_down();
  ASSERT_FALSE(HasFailure());
  const auto bases = segment_bases(partition_dir());
  for (const int64_t base : bases) {
    if (base % 2 == 0) {
      fs::remove(partition_dir() / segment_file_name(Offset{base}, ".index"));
    } else {
      ASSERT_NO_FATAL_FAILURE(
          damage(partition_dir() / segment_file_name(Offset{base}, ".timeindex"), Damage::flip_byte));
    }
  }
  ASSERT_NO_FATAL_FAILURE(damage(partition_dir() / kCheckpointName, Damage::garbage));
  expect_manager_serves(stored, false);
}

// ---------------------------------------------------------------------------------------------
// 5. kill -9 in a loop.

// kill -9 keeps the page cache: what the writer wrote is all there. A power loss may also lose
// or zero-fill what was not yet synced. Simulates that on the active segment, never touching the
// batches below `durable` (synced before it was reported). Returns what it did.
std::string simulate_power_loss(const fs::path& dir, int64_t durable, std::mt19937_64& rng) {
  // A writer killed before it created the log (a slow start, e.g. under ASan) left nothing to lose.
  if (!fs::exists(dir)) return "";
  const auto bases = segment_bases(dir);
  if (bases.empty()) return "";
  const fs::path last = log_file(dir, bases.back());
  if (bases.size() > 1 && bases.back() >= durable && rng() % 4 == 0) {
    // The segment was created after the last sync: its directory entry may be gone too.
    fs::remove(last);
    fs::remove(dir / segment_file_name(Offset{bases.back()}, ".index"));
    fs::remove(dir / segment_file_name(Offset{bases.back()}, ".timeindex"));
    return "lost segment " + std::to_string(bases.back());
  }
  const Bytes data = slurp(last);
  uint64_t keep = 0;  // the end of the last batch below `durable`
  for (size_t pos = 0; pos + record::kLogOverhead <= data.size();) {
    auto view = record::RecordBatchView::parse(ByteView(data).subspan(pos));
    if (!view || view->last_offset().value() >= durable) break;
    pos += view->size_bytes();
    keep = pos;
  }
  const uint64_t cut = keep + rng() % (data.size() - keep + 1);
  fs::resize_file(last, cut);
  std::string what = "cut segment " + std::to_string(bases.back()) + " from " +
                     std::to_string(data.size()) + " to " + std::to_string(cut) + " bytes";
  if (rng() % 2 == 0) {
    const size_t zeros = 1 + rng() % 8192;
    append_to(last, Bytes(zeros));
    what += " + " + std::to_string(zeros) + " zero bytes";
  }
  return what;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// Checks the writer's log: contiguous offsets from the batch holding the log start to the log
// end, every record as crash_writer wrote it, and nothing reported durable missing.
void expect_writer_content(const PartitionLog& log, int64_t durable) {
  const int64_t start = log.log_start_offset().value();
  const int64_t end = log.log_end_offset().value();
  EXPECT_GE(end, durable) << "lost offsets that were reported durable";
  const auto batches = read_all(log);
  if (batches.empty()) {
    EXPECT_EQ(start, end);
    return;
  }
  EXPECT_LE(batches.front().base, start);
  EXPECT_GE(batches.front().last, start);
  int64_t next = batches.front().base;
  for (const auto& b : batches) {
    for (const auto& rec : b.records) {
      ASSERT_EQ(rec.offset, next) << "hole or overlap in the log";
      ASSERT_EQ(rec.key, crash_writer::key_for(next));
      ASSERT_EQ(rec.value, crash_writer::value_for(next));
      ASSERT_EQ(rec.timestamp, crash_writer::timestamp_for(next));
      ++next;
    }
  }
  EXPECT_EQ(next, end);
}

TEST_F(RecoveryCrashLoop, KillNineWhileAppending) {
  const int cycles = env_int("KAFKACORE_CRASH_CYCLES", 200);
  const uint64_t seed = static_cast<uint64_t>(
      env_int("KAFKACORE_CRASH_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
  SCOPED_TRACE("KAFKACORE_CRASH_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const int64_t segment_bytes = 64 * 1024;
  const LogConfig cfg = crash_writer::writer_config(segment_bytes);
  const fs::path dir = root_ / "log";
  int64_t durable = 0;  // the largest durable log end offset ever reported
  int reports = 0;
  int silent_kills = 0;  // killed before its first report
  int power_losses = 0;
  int64_t log_start = 0;
  size_t segments = 0;
  const auto started = std::chrono::steady_clock::now();

  for (int cycle = 0; cycle < cycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const uint64_t child_seed = rng();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
#ifdef KAFKACORE_CRASH_WRITER_PATH
      const std::string fd_arg = std::to_string(fds[1]);
      const std::string seed_arg = std::to_string(child_seed);
      const std::string segment_arg = std::to_string(segment_bytes);
      const char* argv[] = {KAFKACORE_CRASH_WRITER_PATH, dir.c_str(), fd_arg.c_str(),
                            seed_arg.c_str(), segment_arg.c_str(), nullptr};
      ::execv(argv[0], const_cast<char* const*>(argv));
      ::_exit(127);
#else
      // No other thread exists here (every log of the parent is closed), so the forked child
      // may run the writer directly.
      ::_exit(crash_writer::run(dir.c_str(), fds[1], child_seed, segment_bytes));
#endif
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 30'001));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    std::vector<int64_t> reported;
    {
      int64_t value = 0;
      size_t have = 0;
      for (;;) {
        const ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&value) + have, sizeof(value) - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += static_cast<size_t>(n);
        if (have == sizeof(value)) {
          reported.push_back(value);
          have = 0;
        }
      }
      ::close(fds[0]);
    }
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer stopped by itself: "
        << (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                              : "signal " + std::to_string(WTERMSIG(status)));
    for (const int64_t r : reported) {
      EXPECT_GE(r, durable) << "the writer reopened the log without offsets reported durable";
      durable = std::max(durable, r);
    }
    reports += static_cast<int>(reported.size());
    if (reported.empty()) ++silent_kills;
    std::string power_loss;
    if (rng() % 3 == 0) {
      power_loss = simulate_power_loss(dir, durable, rng);
      ++power_losses;
    }
    SCOPED_TRACE("after kill -9" + (power_loss.empty() ? "" : " and a power loss: " + power_loss));

    auto log = open(dir, cfg, false);
    ASSERT_TRUE(log) << "reopen after kill -9 failed: " << log.error().to_string();
    ASSERT_NO_FATAL_FAILURE(expect_writer_content(**log, durable));
    const int64_t end = (*log)->log_end_offset().value();
    auto batch = crash_writer::batch_for(end, 3);
    ASSERT_TRUE(batch);
    auto appended = (*log)->append(*batch);
    ASSERT_TRUE(appended) << appended.error().to_string();
    ASSERT_EQ(appended->first_offset.value(), end);
    ASSERT_TRUE((*log)->flush_sync());
    durable = (*log)->log_end_offset().value();
    log_start = (*log)->log_start_offset().value();
    segments = (*log)->segment_count();
    if (cycle % 3 == 0) {
      ASSERT_TRUE((*log)->close());
    }
    // The log and its flusher thread are gone before the next fork.
  }
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[ crash loop ] " << cycles << " cycles in " << seconds << " s, " << reports
            << " durable reports, " << power_losses << " power losses, " << silent_kills << " kills before the first report, log end "
            << durable << ", log start " << log_start << ", " << segments << " segments\n";
}

// ---------------------------------------------------------------------------------------------
// 6. Disk full.

TEST_F(RecoveryFaults, DiskFullMidAppendTakesTheDirOfflineAndKeepsAckedData) {
  for (const bool two_batches : {false, true}) {
    SCOPED_TRACE(two_batches ? "append of two batches, the second torn" : "append of one batch");
    const fs::path dir = root_ / (two_batches ? "two" : "one");
    IoFaults faults;
    std::vector<StoredBatch> acked;
    {
      auto log = open(dir, config(), false, &faults);
      ASSERT_TRUE(log) << log.error().to_string();
      ASSERT_NO_FATAL_FAILURE(append_all(**log, kSixBatches, 0));
      ASSERT_TRUE((*log)->flush_sync());
      acked = read_all(**log);
      const uint64_t acked_size = (*log)->size_bytes();

      Bytes batch = make_batch(50, {6, 300});
      int64_t budget = static_cast<int64_t>(batch.size() / 2);
      if (two_batches) {
        budget = static_cast<int64_t>(batch.size() + 10);
        Bytes second = make_batch(51, {2, 40});
        batch.insert(batch.end(), second.begin(), second.end());
      }
      faults.write_budget_bytes = budget;
      auto failed = (*log)->append(batch);
      ASSERT_FALSE(failed) << "append beyond the disk's space succeeded";
      EXPECT_EQ(failed.error().code(), Errc::kafka_storage_error) << failed.error().to_string();
      EXPECT_TRUE((*log)->environment().health->offline());
      EXPECT_EQ((*log)->log_end_offset().value(), acked.back().last + 1);
      EXPECT_EQ(fs::file_size(log_file(dir, 0)), acked_size) << "partial batch left in the file";

      // Offline: writes are refused even with space again; reads still work.
      faults.write_budget_bytes = -1;
      Bytes small = make_batch(52, {1, 5});
      auto refused = (*log)->append(small);
      ASSERT_FALSE(refused);
      EXPECT_EQ(refused.error().code(), Errc::kafka_storage_error);
      auto flushed = (*log)->flush_sync();
      EXPECT_FALSE(flushed);
      expect_same_batches(read_all(**log), acked);
      EXPECT_FALSE((*log)->close());
    }
    expect_recovers_to(dir, config(), false, acked);
  }
}

// Disk full while the flusher writes a sealed segment's index files.
TEST_F(RecoveryFaults, DiskFullWhileSealingASegment) {
  const fs::path dir = root_ / "log";
  IoFaults faults;
  std::vector<StoredBatch> acked;
  {
    auto log = open(dir, config(2048), false, &faults);
    ASSERT_TRUE(log) << log.error().to_string();
    ASSERT_NO_FATAL_FAILURE(append_all(**log, {{4, 100}, {4, 100}, {4, 100}}, 0));
    ASSERT_TRUE((*log)->flush_sync());
    ASSERT_EQ((*log)->segment_count(), 1u);
    Bytes batch = make_batch(10, {4, 100});
    // Exactly the batch fits; whatever is written next (the index files) does not — or, should the
    // flusher write those first, the batch itself fails.
    faults.write_budget_bytes = static_cast<int64_t>(batch.size());
    auto appended = (*log)->append(batch);
    if (appended) {
      EXPECT_EQ((*log)->segment_count(), 2u);
    }
    auto flushed = (*log)->flush_sync();
    EXPECT_FALSE(flushed) << "a failed index write was reported durable";
    if (!flushed) {
      EXPECT_EQ(flushed.error().code(), Errc::kafka_storage_error);
    }
    EXPECT_TRUE((*log)->environment().health->offline());
    acked = read_all(**log);
    EXPECT_EQ(acked.size(), appended ? 4u : 3u);
  }
  expect_recovers_to(dir, config(2048), false, acked);
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_FALSE(entry.path().string().ends_with(".tmp")) << "leftover " << entry.path();
  }
}

// ---------------------------------------------------------------------------------------------
// 7. fsync failure.

TEST_F(RecoveryFaults, FsyncFailureFailsWaitersAndTakesTheDirOffline) {
  const fs::path dir = root_ / "log";
  IoFaults faults;
  std::vector<StoredBatch> durable_batches;
  {
    auto log = open(dir, config(), false, &faults);
    ASSERT_TRUE(log) << log.error().to_string();
    PartitionLog& l = **log;
    ASSERT_NO_FATAL_FAILURE(append_all(l, kSixBatches, 0));
    ASSERT_TRUE(l.flush_sync());
    durable_batches = read_all(l);
    const int64_t durable = l.durable_offset().value();
    EXPECT_EQ(durable, l.log_end_offset().value());

    faults.fail_next_syncs = 1;
    ASSERT_NO_FATAL_FAILURE(append_all(l, {{3, 50}}, 20));
    auto waiter = std::make_shared<std::promise<Result<void>>>();
    l.on_durable(l.log_end_offset(), [waiter](const Result<void>& r) { waiter->set_value(r); });
    auto flushed = l.flush_sync();
    ASSERT_FALSE(flushed) << "flush_sync reported success although fsync failed";
    EXPECT_EQ(flushed.error().code(), Errc::kafka_storage_error);
    auto outcome = waiter->get_future();
    ASSERT_EQ(outcome.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    auto waited = outcome.get();
    ASSERT_FALSE(waited) << "an on_durable callback was told the failed sync succeeded";
    EXPECT_EQ(waited.error().code(), Errc::kafka_storage_error);
    EXPECT_TRUE(l.environment().health->offline());
    EXPECT_EQ(l.durable_offset().value(), durable);
    EXPECT_EQ(faults.fail_next_syncs.load(), 0);

    // The next sync would succeed, but the page cache can no longer be trusted (fsyncgate).
    auto again = l.flush_sync();
    EXPECT_FALSE(again) << "a second flush reported success after a failed fsync";
    auto late = std::make_shared<std::promise<Result<void>>>();
    l.on_durable(l.log_end_offset(), [late](const Result<void>& r) { late->set_value(r); });
    auto late_outcome = late->get_future();
    ASSERT_EQ(late_outcome.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_FALSE(late_outcome.get());
    EXPECT_EQ(l.durable_offset().value(), durable);
    Bytes more = make_batch(30, {1, 5});
    auto refused = l.append(more);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), Errc::kafka_storage_error);
    EXPECT_FALSE(l.close());
  }
  // After a restart, what was durable is there; the batch whose sync failed may or may not be.
  auto log = open(dir, config(), false);
  ASSERT_TRUE(log) << log.error().to_string();
  auto got = read_all(**log);
  ASSERT_GE(got.size(), durable_batches.size());
  got.resize(durable_batches.size());
  expect_same_batches(got, durable_batches);
  expect_appendable(**log);
}

TEST_F(RecoveryFaults, FsyncFailureAtShutdownWritesNoCleanMarker) {
  LogManagerOptions options;
  options.data_dir = root_ / "data";
  options.defaults = config(2048);
  options.clock = &clock_;
  options.warn = warnings_.sink();
  std::vector<StoredBatch> stored;
  {
    auto manager = LogManager::open(options);
    ASSERT_TRUE(manager) << manager.error().to_string();
    auto log = (*manager)->get_or_create({"t", 0});
    ASSERT_TRUE(log) << log.error().to_string();
    ASSERT_NO_FATAL_FAILURE(append_all(**log, kSixBatches, 0));
    ASSERT_TRUE((*log)->flush_sync());
    stored = read_all(**log);
    (*manager)->faults().fail_next_syncs = 1;
    EXPECT_FALSE((*manager)->shutdown());
    EXPECT_TRUE((*manager)->health().offline());
  }
  EXPECT_FALSE(fs::exists(options.data_dir / kMarkerName));
  auto manager = LogManager::open(options);
  ASSERT_TRUE(manager) << manager.error().to_string();
  EXPECT_TRUE((*manager)->recovered_from_crash());
  PartitionLog* log = (*manager)->get({"t", 0});
  ASSERT_NE(log, nullptr);
  expect_same_batches(read_all(*log), stored);
  expect_appendable(*log);
}

}  // namespace
}  // namespace kafkacore::storage
