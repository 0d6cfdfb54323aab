#pragma once
// Thin POSIX file layer: every call returns a Result naming the path and errno, so the log can
// tell corruption (repairable) from I/O failure (takes the directory offline).
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/error.h"
#include "storage/io_faults.h"

namespace kafkacore::storage {

namespace fs = std::filesystem;

class File {
 public:
  enum class Mode { read_only, read_write, create_new, create_or_truncate };

  static Result<std::shared_ptr<File>> open(const fs::path& path, Mode mode,
                                            IoFaults* faults = nullptr);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  int fd() const { return fd_; }
  const fs::path& path() const { return path_; }

  Result<void> pwrite_all(ByteView data, off_t position);
  Result<void> pread_exact(MutableByteView out, off_t position) const;
  // Reads up to out.size() bytes; returns the count (short only at end of file).
  Result<size_t> pread_some(MutableByteView out, off_t position) const;
  Result<off_t> size() const;
  Result<void> truncate(off_t size);
  // fdatasync. A failure must never be retried as if it could succeed later (fsyncgate):
  // callers take the log directory offline.
  Result<void> sync();

 private:
  File(int fd, fs::path path, IoFaults* faults) : fd_(fd), path_(std::move(path)), faults_(faults) {}
  int fd_;
  fs::path path_;
  IoFaults* faults_;
};

Error io_error(const std::string& what, const fs::path& path, int err);

// fsync of a directory: makes creates, renames and deletes inside it durable.
Result<void> sync_directory(const fs::path& dir, IoFaults* faults = nullptr);
// Write-temp, fsync, rename, fsync-dir: the file either keeps its old content or has the new one.
Result<void> write_file_atomically(const fs::path& path, ByteView content,
                                   IoFaults* faults = nullptr);
Result<Bytes> read_whole_file(const fs::path& path);
Result<void> remove_file(const fs::path& path);
Result<void> rename_file(const fs::path& from, const fs::path& to);

}  // namespace kafkacore::storage
