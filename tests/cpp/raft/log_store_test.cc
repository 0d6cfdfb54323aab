#include "raft/log_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "raft/codec.h"
#include "raft/node.h"
#include "storage/io_faults.h"

namespace kafkacore::raft {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "raft-store-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Bytes text(const std::string& s) {
  const auto v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

std::string str(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

Entry entry(Term term, Index index) {
  return Entry{term, index, text("entry " + std::to_string(index) + " of term " + std::to_string(term))};
}

std::vector<Entry> entries(Index from, Index to, Term term) {
  std::vector<Entry> out;
  for (Index i = from; i <= to; ++i) out.push_back(entry(term, i));
  return out;
}

Ready with_entries(std::vector<Entry> es, std::optional<HardState> hard = std::nullopt) {
  Ready r;
  r.entries = std::move(es);
  r.hard_state = hard;
  return r;
}

Bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text(s);
}

void write_file(const fs::path& p, ByteView content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
}

ino_t inode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_ino;
}

std::unique_ptr<LogStore> open_ok(const fs::path& p, storage::IoFaults* faults = nullptr) {
  auto store = LogStore::open(p, faults);
  EXPECT_TRUE(store) << store.error().to_string();
  return store ? std::move(*store) : nullptr;
}

void expect_state(const LogStore& store, const HardState& hard, const Snapshot& snapshot,
                  const std::vector<Entry>& es) {
  const RestoredState r = store.restore();
  EXPECT_EQ(r.hard_state, hard);
  EXPECT_EQ(r.snapshot, snapshot);
  EXPECT_EQ(r.entries, es);
  EXPECT_EQ(store.first_index(), snapshot.last_index + 1);
  EXPECT_EQ(store.last_index(), es.empty() ? snapshot.last_index : es.back().index);
}

// Expects `open` to refuse the store with CORRUPT_MESSAGE naming `file`.
void expect_corrupt_open(const fs::path& dir, const std::string& file) {
  auto store = LogStore::open(dir);
  ASSERT_FALSE(store) << "opened a store with a damaged " << file;
  EXPECT_EQ(store.error().code(), Errc::corrupt_message) << store.error().to_string();
  EXPECT_NE(store.error().message().find((dir / file).string()), std::string::npos)
      << store.error().message();
}

std::vector<Entry> concat(std::vector<Entry> a, const std::vector<Entry>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---------------------------------------------------------------- basics

TEST(LogStore, FreshStoreIsEmptyAndSurvivesReopen) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "nested" / "node-1";
  auto store = open_ok(dir);
  ASSERT_TRUE(store);
  expect_state(*store, HardState{}, Snapshot{}, {});
  EXPECT_TRUE(fs::exists(dir / LogStore::kHardStateFile));
  EXPECT_TRUE(fs::exists(dir / LogStore::kLogFile));
  EXPECT_FALSE(fs::exists(dir / LogStore::kSnapshotFile));
  store.reset();
  store = open_ok(dir);
  ASSERT_TRUE(store);
  expect_state(*store, HardState{}, Snapshot{}, {});
}

TEST(LogStore, PersistThenReopenRestoresTheSameState) {
  TempDir tmp;
  auto store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  const HardState h1{1, 1, 0};
  const HardState h2{1, 1, 3};
  ASSERT_TRUE(store->persist(with_entries({}, h1)));
  ASSERT_TRUE(store->persist(with_entries(entries(1, 3, 1), h2)));
  // An unchanged hard state is not rewritten (the file would get a new inode if it were).
  const ino_t before = inode(tmp.path() / LogStore::kHardStateFile);
  ASSERT_TRUE(store->persist(with_entries(entries(4, 5, 1), h2)));
  EXPECT_EQ(inode(tmp.path() / LogStore::kHardStateFile), before);
  const HardState h3{2, kNoNode, 5};
  ASSERT_TRUE(store->persist(with_entries(entries(6, 6, 2), h3)));
  EXPECT_NE(inode(tmp.path() / LogStore::kHardStateFile), before);
  // Empty data and a large entry round-trip too.
  ASSERT_TRUE(store->persist(with_entries({Entry{2, 7, {}}, Entry{2, 8, Bytes(100000, std::byte{7})}})));

  const auto expected = concat(concat(entries(1, 5, 1), entries(6, 6, 2)),
                               {Entry{2, 7, {}}, Entry{2, 8, Bytes(100000, std::byte{7})}});
  expect_state(*store, h3, Snapshot{}, expected);
  store.reset();
  store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, h3, Snapshot{}, expected);
}

TEST(LogStore, TruncateThenAppend) {
  TempDir tmp;
  auto store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->persist(with_entries(entries(1, 5, 1), HardState{1, 2, 2})));
  const auto full_size = fs::file_size(tmp.path() / LogStore::kLogFile);

  Ready r = with_entries(entries(3, 4, 2), HardState{2, kNoNode, 2});
  r.truncate_from = 3;
  ASSERT_TRUE(store->persist(r));
  auto expected = concat(entries(1, 2, 1), entries(3, 4, 2));
  expect_state(*store, HardState{2, kNoNode, 2}, Snapshot{}, expected);

  // A truncation past the end is a no-op (the node dropped those entries before persisting).
  Ready beyond = with_entries(entries(5, 5, 2));
  beyond.truncate_from = 9;
  ASSERT_TRUE(store->persist(beyond));
  expected.push_back(entry(2, 5));

  store.reset();
  store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{2, kNoNode, 2}, Snapshot{}, expected);

  // Truncate everything, then a shorter log: no stale bytes of the old one remain.
  Ready all = with_entries({Entry{3, 1, text("x")}});
  all.truncate_from = 1;
  ASSERT_TRUE(store->persist(all));
  EXPECT_LT(fs::file_size(tmp.path() / LogStore::kLogFile), full_size);
  store.reset();
  store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{2, kNoNode, 2}, Snapshot{}, {Entry{3, 1, text("x")}});
}

TEST(LogStore, ReadysThatDoNotFitAreRefusedAndWriteNothing) {
  TempDir tmp;
  auto store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->persist(with_entries(entries(1, 6, 2), HardState{2, 1, 4})));
  ASSERT_TRUE(store->save_snapshot(Snapshot{2, 2, text("image")}));
  const Bytes log_before = read_file(tmp.path() / LogStore::kLogFile);
  const Bytes hard_before = read_file(tmp.path() / LogStore::kHardStateFile);

  auto refused = [&](const Ready& r, const std::string& why) {
    auto result = store->persist(r);
    ASSERT_FALSE(result) << why;
    EXPECT_EQ(result.error().code(), Errc::invalid_request) << why;
  };
  refused(with_entries(entries(8, 8, 2), HardState{9, 9, 9}), "gap after the log");
  refused(with_entries(entries(5, 7, 2)), "overlap without truncation");
  refused(with_entries(entries(7, 7, 1)), "term lower than the last entry's");
  refused(with_entries({entry(2, 7), entry(2, 9)}), "gap inside the entries");
  Ready into_snapshot = with_entries(entries(2, 2, 3));
  into_snapshot.truncate_from = 2;
  refused(into_snapshot, "truncation into the snapshot");
  Ready old_snapshot;
  old_snapshot.snapshot = Snapshot{2, 2, text("again")};
  refused(old_snapshot, "snapshot not newer than the stored one");
  Ready after_snapshot;
  after_snapshot.snapshot = Snapshot{10, 3, {}};
  after_snapshot.entries = entries(12, 12, 3);
  refused(after_snapshot, "entries not following the new snapshot");

  EXPECT_EQ(read_file(tmp.path() / LogStore::kLogFile), log_before);
  EXPECT_EQ(read_file(tmp.path() / LogStore::kHardStateFile), hard_before);
  // A refusal is not an I/O failure: the store stays usable.
  ASSERT_TRUE(store->persist(with_entries(entries(7, 7, 2))));
  EXPECT_EQ(store->last_index(), 7);
}

// ---------------------------------------------------------------- snapshots

TEST(LogStore, InstalledSnapshotReplacesTheLog) {
  TempDir tmp;
  auto store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->persist(with_entries(entries(1, 10, 1), HardState{1, 1, 3})));
  // The leader's snapshot ends inside our log but disagrees with it: the whole log goes, and
  // entries of the same Ready follow the snapshot.
  const Snapshot s{7, 2, text("leader image")};
  Ready r = with_entries(entries(8, 9, 2), HardState{2, kNoNode, 7});
  r.snapshot = s;
  r.truncate_from = 8;  // harmless: nothing after the snapshot is left to cut
  ASSERT_TRUE(store->persist(r));
  expect_state(*store, HardState{2, kNoNode, 7}, s, entries(8, 9, 2));
  store.reset();
  store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{2, kNoNode, 7}, s, entries(8, 9, 2));

  // A snapshot beyond the whole log, without entries.
  Ready far;
  far.snapshot = Snapshot{50, 4, text("far")};
  ASSERT_TRUE(store->persist(far));
  store.reset();
  store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{2, kNoNode, 7}, Snapshot{50, 4, text("far")}, {});
  ASSERT_TRUE(store->persist(with_entries(entries(51, 51, 4))));
  EXPECT_EQ(store->restore().entries, entries(51, 51, 4));
}

TEST(LogStore, CompactionDropsCoveredEntriesAndKeepsTheRest) {
  TempDir tmp;
  auto store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  const auto all = concat(entries(1, 5, 1), entries(6, 10, 2));
  ASSERT_TRUE(store->persist(with_entries(all, HardState{2, 2, 10})));
  const auto size_before = fs::file_size(tmp.path() / LogStore::kLogFile);

  const Snapshot s{6, 2, text("image at 6")};
  ASSERT_TRUE(store->save_snapshot(s));
  const auto rest = entries(7, 10, 2);
  expect_state(*store, HardState{2, 2, 10}, s, rest);
  EXPECT_LT(fs::file_size(tmp.path() / LogStore::kLogFile), size_before);

  // Older or equal: nothing to do. Beyond the log or disagreeing with it: refused.
  ASSERT_TRUE(store->save_snapshot(Snapshot{4, 1, text("older")}));
  ASSERT_TRUE(store->save_snapshot(Snapshot{6, 2, text("same index")}));
  EXPECT_EQ(store->snapshot(), s);
  auto beyond = store->save_snapshot(Snapshot{11, 2, {}});
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().code(), Errc::invalid_request);
  auto wrong_term = store->save_snapshot(Snapshot{8, 1, {}});
  ASSERT_FALSE(wrong_term);
  EXPECT_EQ(wrong_term.error().code(), Errc::invalid_request);

  store.reset();
  store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{2, 2, 10}, s, rest);

  // The compacted log keeps working: truncation after the snapshot, appends, compacting it all.
  Ready r = with_entries(entries(8, 9, 3));
  r.truncate_from = 8;
  ASSERT_TRUE(store->persist(r));
  ASSERT_TRUE(store->save_snapshot(Snapshot{9, 3, text("image at 9")}));
  expect_state(*store, HardState{2, 2, 10}, Snapshot{9, 3, text("image at 9")}, {});
  store.reset();
  store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{2, 2, 10}, Snapshot{9, 3, text("image at 9")}, {});
}

// A crash after the new snapshot file is in place but before the log is rewritten: simulated
// by putting the old log file back.
TEST(LogStore, RecoveryFinishesACompactionCutShort) {
  TempDir tmp;
  const fs::path log = tmp.path() / LogStore::kLogFile;
  auto store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->persist(with_entries(concat(entries(1, 5, 1), entries(6, 10, 2)), HardState{2, 2, 10})));
  const Bytes old_log = read_file(log);
  ASSERT_TRUE(store->save_snapshot(Snapshot{6, 2, text("image")}));
  store.reset();
  write_file(log, old_log);

  store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{2, 2, 10}, Snapshot{6, 2, text("image")}, entries(7, 10, 2));
  EXPECT_LT(fs::file_size(log), old_log.size());  // the log was rewritten to follow the snapshot
  store.reset();
  store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{2, 2, 10}, Snapshot{6, 2, text("image")}, entries(7, 10, 2));
}

TEST(LogStore, RecoveryFinishesASnapshotInstallCutShort) {
  for (Index snapshot_index : {7, 12}) {  // inside the old (divergent) log, and beyond it
    TempDir tmp;
    const fs::path log = tmp.path() / LogStore::kLogFile;
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->persist(with_entries(entries(1, 10, 1), HardState{1, 1, 3})));
    const Bytes old_log = read_file(log);
    Ready r;
    r.snapshot = Snapshot{snapshot_index, 3, text("leader image")};
    ASSERT_TRUE(store->persist(r));
    store.reset();
    write_file(log, old_log);

    // The old log disagrees with the snapshot at its index (or does not reach it): none of it
    // may follow the snapshot.
    store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    expect_state(*store, HardState{1, 1, 3}, Snapshot{snapshot_index, 3, text("leader image")}, {});
  }
}

// ---------------------------------------------------------------- recovery from damage

TEST(LogStore, TornTailIsCutAtEveryOffsetOfTheLastEntry) {
  TempDir tmp;
  const fs::path log = tmp.path() / LogStore::kLogFile;
  const HardState hard{1, 1, 4};
  {
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->persist(with_entries(entries(1, 4, 1), hard)));
  }
  const auto good_size = fs::file_size(log);
  {
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->persist(with_entries({Entry{1, 5, text("the entry a crash tore")}})));
  }
  const Bytes full = read_file(log);
  ASSERT_GT(full.size(), good_size);

  for (size_t cut = good_size; cut < full.size(); ++cut) {
    SCOPED_TRACE("log cut to " + std::to_string(cut) + " bytes");
    write_file(log, ByteView(full).first(cut));
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    expect_state(*store, hard, Snapshot{}, entries(1, 4, 1));
    EXPECT_EQ(fs::file_size(log), good_size);  // the garbage is gone from the file too
    // Appending after the cut works and survives a reopen.
    ASSERT_TRUE(store->persist(with_entries({Entry{2, 5, text("after recovery")}})));
    store.reset();
    store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    expect_state(*store, hard, Snapshot{}, concat(entries(1, 4, 1), {Entry{2, 5, text("after recovery")}}));
  }
}

// Frames of the log file: [header 28][u32 length][u32 crc][length bytes]...
std::vector<Bytes> split_frames(const Bytes& log, Bytes& header) {
  constexpr size_t kHeader = 28;
  header.assign(log.begin(), log.begin() + kHeader);
  std::vector<Bytes> frames;
  for (size_t pos = kHeader; pos < log.size();) {
    const size_t size = 8 + load_be<uint32_t>(log.data() + pos);
    frames.emplace_back(log.begin() + static_cast<std::ptrdiff_t>(pos),
                        log.begin() + static_cast<std::ptrdiff_t>(pos + size));
    pos += size;
  }
  return frames;
}

TEST(LogStore, GarbageAfterTheLastEntryIsCut) {
  TempDir tmp;
  const fs::path log = tmp.path() / LogStore::kLogFile;
  {
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->persist(with_entries(entries(1, 3, 1), HardState{1, 1, 0})));
  }
  const Bytes good = read_file(log);
  std::mt19937_64 rng(3);
  std::vector<Bytes> tails = {Bytes(4096, std::byte{0}), Bytes(3, std::byte{0xff})};
  Bytes random(777);
  for (auto& b : random) b = static_cast<std::byte>(rng());
  tails.push_back(random);
  // The last frame again with one bit flipped: a damaged sector in the last write.
  Bytes header;
  Bytes flipped = split_frames(good, header).back();
  flipped[flipped.size() / 2] ^= std::byte{0x10};
  tails.push_back(flipped);
  for (const Bytes& tail : tails) {
    Bytes damaged = good;
    damaged.insert(damaged.end(), tail.begin(), tail.end());
    write_file(log, damaged);
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    expect_state(*store, HardState{1, 1, 0}, Snapshot{}, entries(1, 3, 1));
    EXPECT_EQ(read_file(log), good);
  }
}

TEST(LogStore, ValidFramesOutOfSequenceAreAnErrorNotATornTail) {
  TempDir tmp;
  const fs::path log = tmp.path() / LogStore::kLogFile;
  {
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->persist(with_entries(concat(entries(1, 2, 1), entries(3, 3, 2)), HardState{2, 1, 0})));
  }
  Bytes header;
  const auto frames = split_frames(read_file(log), header);
  ASSERT_EQ(frames.size(), 3u);
  auto write_frames = [&](std::initializer_list<size_t> order) {
    Bytes content = header;
    for (size_t i : order) content.insert(content.end(), frames[i].begin(), frames[i].end());
    write_file(log, content);
  };
  write_frames({0, 2});  // entry 2 missing
  expect_corrupt_open(tmp.path(), LogStore::kLogFile);
  write_frames({0, 1, 1});  // entry 2 twice
  expect_corrupt_open(tmp.path(), LogStore::kLogFile);
  write_frames({1, 0});  // starts at the wrong index
  expect_corrupt_open(tmp.path(), LogStore::kLogFile);
  write_frames({0, 1, 2});
  EXPECT_TRUE(LogStore::open(tmp.path()));
}

TEST(LogStore, CorruptHardStateIsAnError) {
  TempDir tmp;
  const fs::path hard = tmp.path() / LogStore::kHardStateFile;
  {
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->persist(with_entries(entries(1, 2, 3), HardState{3, 2, 1})));
  }
  const Bytes good = read_file(hard);
  for (size_t i = 0; i < good.size(); ++i) {  // any flipped bit, wherever it is
    Bytes damaged = good;
    damaged[i] ^= std::byte{0x01};
    write_file(hard, damaged);
    SCOPED_TRACE("byte " + std::to_string(i));
    expect_corrupt_open(tmp.path(), LogStore::kHardStateFile);
  }
  for (size_t size : {size_t{0}, size_t{5}, good.size() - 1}) {  // torn
    write_file(hard, ByteView(good).first(size));
    expect_corrupt_open(tmp.path(), LogStore::kHardStateFile);
  }
  Bytes longer = good;
  longer.push_back(std::byte{0});
  write_file(hard, longer);
  expect_corrupt_open(tmp.path(), LogStore::kHardStateFile);
  fs::remove(hard);
  expect_corrupt_open(tmp.path(), LogStore::kHardStateFile);  // lost, not "fresh"

  write_file(hard, good);
  auto store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->hard_state(), (HardState{3, 2, 1}));
}

TEST(LogStore, CorruptSnapshotOrLogHeaderIsAnError) {
  TempDir tmp;
  const fs::path snapshot = tmp.path() / LogStore::kSnapshotFile;
  const fs::path log = tmp.path() / LogStore::kLogFile;
  {
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->persist(with_entries(entries(1, 4, 1), HardState{1, 1, 4})));
    ASSERT_TRUE(store->save_snapshot(Snapshot{2, 1, text("image")}));
  }
  const Bytes good_snapshot = read_file(snapshot);
  const Bytes good_log = read_file(log);
  for (size_t i = 0; i < good_snapshot.size(); ++i) {
    Bytes damaged = good_snapshot;
    damaged[i] ^= std::byte{0x80};
    write_file(snapshot, damaged);
    SCOPED_TRACE("snapshot byte " + std::to_string(i));
    expect_corrupt_open(tmp.path(), LogStore::kSnapshotFile);
  }
  write_file(snapshot, ByteView(good_snapshot).first(good_snapshot.size() - 1));
  expect_corrupt_open(tmp.path(), LogStore::kSnapshotFile);
  // A lost snapshot leaves a log that starts after index 0: entries 1..2 would be missing.
  fs::remove(snapshot);
  expect_corrupt_open(tmp.path(), LogStore::kLogFile);
  write_file(snapshot, good_snapshot);

  for (size_t i = 0; i < 28; ++i) {  // the log header
    Bytes damaged = good_log;
    damaged[i] ^= std::byte{0x04};
    write_file(log, damaged);
    SCOPED_TRACE("log header byte " + std::to_string(i));
    expect_corrupt_open(tmp.path(), LogStore::kLogFile);
  }
  fs::remove(log);  // a store with state but no log is damaged, not new
  expect_corrupt_open(tmp.path(), LogStore::kLogFile);

  write_file(log, good_log);
  auto store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{1, 1, 4}, Snapshot{2, 1, text("image")}, entries(3, 4, 1));
}

TEST(LogStore, LeftoverTempFilesAreRemoved) {
  TempDir tmp;
  {
    auto store = open_ok(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->persist(with_entries(entries(1, 2, 1), HardState{1, 1, 1})));
  }
  for (const char* name : {LogStore::kHardStateFile, LogStore::kSnapshotFile, LogStore::kLogFile}) {
    write_file(tmp.path() / (std::string(name) + ".tmp"), text("half-written replacement"));
  }
  auto store = open_ok(tmp.path());
  ASSERT_TRUE(store);
  expect_state(*store, HardState{1, 1, 1}, Snapshot{}, entries(1, 2, 1));
  for (const char* name : {LogStore::kHardStateFile, LogStore::kSnapshotFile, LogStore::kLogFile}) {
    EXPECT_FALSE(fs::exists(tmp.path() / (std::string(name) + ".tmp"))) << name;
  }
}

TEST(LogStore, FailedFsyncMakesTheStoreRefuseFurtherWrites) {
  TempDir tmp;
  storage::IoFaults faults;
  auto store = open_ok(tmp.path(), &faults);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->persist(with_entries(entries(1, 2, 1), HardState{1, 1, 1})));
  faults.fail_next_syncs = 1;
  auto failed = store->persist(with_entries(entries(3, 3, 1)));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), Errc::kafka_storage_error);
  // Whether entry 3 reached the disk is unknown: no retry may pretend otherwise.
  auto again = store->persist(with_entries(entries(3, 3, 1)));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("unusable"), std::string::npos) << again.error().message();
  EXPECT_FALSE(store->save_snapshot(Snapshot{1, 1, {}}));
  store.reset();

  store = open_ok(tmp.path());  // reopening recovers whatever made it
  ASSERT_TRUE(store);
  EXPECT_GE(store->last_index(), 2);
  EXPECT_EQ(store->hard_state(), (HardState{1, 1, 1}));
}

// ---------------------------------------------------------------- with raft::Node

// Nodes that persist every Ready in a LogStore before sending its messages, which travel as
// codec frames. The state machine is the list of applied (non-empty) entries; its snapshot
// image is that list joined with newlines.
class Cluster {
 public:
  Cluster(fs::path root, int nodes) : root_(std::move(root)) {
    for (NodeId id = 1; id <= nodes; ++id) ids_.push_back(id);
    for (NodeId id : ids_) start(id);
  }

  void start(NodeId id) {
    Peer& p = peers_[id];
    auto store = LogStore::open(root_ / ("node-" + std::to_string(id)));
    ASSERT_TRUE(store) << store.error().to_string();
    p.store = std::move(*store);
    RestoredState restored = p.store->restore();
    p.state = parse(restored.snapshot.data);  // the state machine restarts from the snapshot
    Config config;
    config.id = id;
    config.voters = ids_;
    config.seed = 11 + static_cast<uint64_t>(starts_++);
    p.node = std::make_unique<Node>(config, std::move(restored));
  }

  void stop(NodeId id) {
    peers_[id].node.reset();
    peers_[id].store.reset();
    wire_[id].clear();
  }

  Node& node(NodeId id) { return *peers_.at(id).node; }
  LogStore& store(NodeId id) { return *peers_.at(id).store; }
  const std::vector<std::string>& state(NodeId id) { return peers_.at(id).state; }
  bool up(NodeId id) const { return peers_.at(id).node != nullptr; }

  void tick(int times = 1) {
    for (int t = 0; t < times; ++t) {
      for (NodeId id : ids_) {
        if (up(id)) node(id).tick();
      }
      settle();
    }
  }

  std::optional<NodeId> leader() {
    std::optional<NodeId> best;
    for (NodeId id : ids_) {
      if (up(id) && node(id).role() == Role::leader &&
          (!best || node(id).term() > node(*best).term())) {
        best = id;
      }
    }
    return best;
  }

  NodeId elect() {
    for (int t = 0; t < 500 && !leader(); ++t) tick();
    EXPECT_TRUE(leader());
    return leader().value_or(ids_.front());
  }

  void propose(const std::string& data) {
    const NodeId l = elect();
    auto index = node(l).propose(text(data));
    ASSERT_TRUE(index) << index.error().to_string();
    settle();
  }

  // What the state machine does: fold everything applied into an image, let the node and the
  // store drop the covered entries.
  void compact(NodeId id) {
    Peer& p = peers_.at(id);
    ASSERT_TRUE(p.node->compact(p.node->applied_index(), join(p.state)));
    ASSERT_TRUE(p.store->save_snapshot(p.node->snapshot()));
  }

  // The store holds exactly what the node has (everything was persisted before advance()).
  void expect_store_matches_node(NodeId id) {
    Node& n = node(id);
    LogStore& s = store(id);
    EXPECT_EQ(s.snapshot(), n.snapshot());
    EXPECT_EQ(s.hard_state().term, n.term());
    EXPECT_EQ(s.hard_state().commit, n.commit_index());
    ASSERT_EQ(s.last_index(), n.last_index());
    for (Index i = s.first_index(); i <= s.last_index(); ++i) {
      ASSERT_NE(n.entry(i), nullptr);
      EXPECT_EQ(s.entries()[static_cast<size_t>(i - s.first_index())], *n.entry(i));
    }
  }

 private:
  struct Peer {
    std::unique_ptr<LogStore> store;
    std::unique_ptr<Node> node;
    std::vector<std::string> state;
  };

  static Bytes join(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& item : items) s += item + "\n";
    return text(s);
  }

  static std::vector<std::string> parse(const Bytes& image) {
    std::vector<std::string> out;
    std::string current;
    for (std::byte b : image) {
      if (b == std::byte{'\n'}) {
        out.push_back(std::move(current));
        current.clear();
      } else {
        current.push_back(static_cast<char>(b));
      }
    }
    return out;
  }

  void handle_ready(NodeId id) {
    Peer& p = peers_.at(id);
    Ready ready = p.node->ready();
    auto persisted = p.store->persist(ready);  // durable before any message leaves
    ASSERT_TRUE(persisted) << persisted.error().to_string();
    for (const Message& m : ready.messages) ASSERT_TRUE(append_frame(wire_[m.to], m));
    if (ready.apply_snapshot) p.state = parse(ready.apply_snapshot->data);
    for (const Entry& e : ready.committed) {
      if (!e.data.empty()) p.state.push_back(str(e.data));
    }
    p.node->advance(ready);
  }

  void settle() {
    for (int round = 0; round < 100000; ++round) {
      bool progress = false;
      for (NodeId id : ids_) {
        if (up(id) && node(id).has_ready()) {
          handle_ready(id);
          progress = true;
        }
      }
      for (NodeId id : ids_) {
        Bytes& buffer = wire_[id];
        for (;;) {
          auto frame = cut_frame(buffer);
          ASSERT_TRUE(frame) << frame.error().to_string();
          if (!*frame) break;
          auto message = decode_message((*frame)->message);
          ASSERT_TRUE(message) << message.error().to_string();
          buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>((*frame)->size));
          if (up(id)) node(id).step(*message);  // a stopped node's mail is lost
          progress = true;
        }
      }
      if (!progress) return;
    }
    FAIL() << "the cluster did not settle";
  }

  fs::path root_;
  std::vector<NodeId> ids_;
  std::map<NodeId, Peer> peers_;
  std::map<NodeId, Bytes> wire_;  // frames waiting for each node
  int starts_ = 0;
};

TEST(LogStoreWithNode, SingleNodeRestartsFromItsStore) {
  TempDir tmp;
  Cluster c(tmp.path(), 1);
  c.propose("a");
  c.propose("b");
  const Term term = c.node(1).term();
  const Index last = c.node(1).last_index();
  EXPECT_EQ(c.state(1), (std::vector<std::string>{"a", "b"}));
  c.expect_store_matches_node(1);

  c.stop(1);
  c.start(1);
  EXPECT_EQ(c.node(1).term(), term);
  EXPECT_EQ(c.node(1).last_index(), last);
  c.tick();  // re-applies the committed log (no snapshot yet)
  EXPECT_EQ(c.state(1), (std::vector<std::string>{"a", "b"}));
  c.propose("c");  // elects itself again, in a later term
  EXPECT_GT(c.node(1).term(), term);
  EXPECT_EQ(c.state(1), (std::vector<std::string>{"a", "b", "c"}));

  c.compact(1);
  c.propose("d");
  c.stop(1);
  c.start(1);  // from the snapshot plus the entry after it
  c.tick();
  EXPECT_EQ(c.state(1), (std::vector<std::string>{"a", "b", "c", "d"}));
  c.propose("e");
  EXPECT_EQ(c.state(1), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  c.expect_store_matches_node(1);
}

TEST(LogStoreWithNode, ThreeNodesOverTheCodecSurviveRestartsAndSnapshotTransfer) {
  TempDir tmp;
  Cluster c(tmp.path(), 3);
  std::vector<std::string> expected;
  auto propose = [&](const std::string& data) {
    c.propose(data);
    expected.push_back(data);
  };
  auto expect_converged = [&](std::initializer_list<NodeId> ids) {
    c.tick(5);  // followers learn the commit index from heartbeats
    for (NodeId id : ids) {
      EXPECT_EQ(c.state(id), expected) << "node " << id;
      c.expect_store_matches_node(id);
    }
  };

  for (int i = 0; i < 10; ++i) propose("a" + std::to_string(i));
  expect_converged({1, 2, 3});

  // Node 3 misses entries that the others then compact away: it must catch up by snapshot.
  c.stop(3);
  for (int i = 0; i < 10; ++i) propose("b" + std::to_string(i));
  expect_converged({1, 2});
  c.compact(1);
  c.compact(2);
  const Index compacted = c.node(1).snapshot().last_index;
  c.start(3);
  EXPECT_LT(c.node(3).last_index(), compacted);
  expect_converged({1, 2, 3});
  EXPECT_GE(c.store(3).snapshot().last_index, compacted);

  // The leader restarts; the others go on without it; it rejoins from its store.
  const NodeId old_leader = c.elect();
  c.stop(old_leader);
  for (int i = 0; i < 5; ++i) propose("c" + std::to_string(i));
  EXPECT_NE(c.elect(), old_leader);
  c.start(old_leader);
  for (int i = 0; i < 5; ++i) propose("d" + std::to_string(i));
  expect_converged({1, 2, 3});

  // Everyone restarts at once: nothing is lost.
  for (NodeId id : {1, 2, 3}) c.stop(id);
  for (NodeId id : {1, 2, 3}) c.start(id);
  propose("e");
  expect_converged({1, 2, 3});
}

}  // namespace
}  // namespace kafkacore::raft
