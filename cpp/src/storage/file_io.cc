#include "storage/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kafkacore::storage {

Error io_error(const std::string& what, const fs::path& path, int err) {
  return Error(Errc::kafka_storage_error,
               what + " " + path.string() + ": " + std::strerror(err));
}

Result<std::shared_ptr<File>> File::open(const fs::path& path, Mode mode, IoFaults* faults) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case Mode::read_only: flags |= O_RDONLY; break;
    case Mode::read_write: flags |= O_RDWR; break;
    case Mode::create_new: flags |= O_RDWR | O_CREAT | O_EXCL; break;
    case Mode::create_or_truncate: flags |= O_RDWR | O_CREAT | O_TRUNC; break;
  }
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return std::unexpected(io_error("cannot open", path, errno));
  return std::shared_ptr<File>(new File(fd, path, faults));
}

File::~File() { ::close(fd_); }

Result<void> File::pwrite_all(ByteView data, off_t position) {
  size_t allowed = faults_ ? faults_->allow_write(data.size()) : data.size();
  size_t done = 0;
  while (done < allowed) {
    ssize_t n = ::pwrite(fd_, data.data() + done, allowed - done, position + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(io_error("write failed on", path_, errno));
    }
    done += static_cast<size_t>(n);
  }
  if (done < data.size()) return std::unexpected(io_error("write failed on", path_, ENOSPC));
  return {};
}

Result<size_t> File::pread_some(MutableByteView out, off_t position) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, position + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(io_error("read failed on", path_, errno));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<void> File::pread_exact(MutableByteView out, off_t position) const {
  auto n = pread_some(out, position);
  if (!n) return std::unexpected(n.error());
  if (*n != out.size()) {
    return make_error(Errc::kafka_storage_error,
                      "unexpected end of file reading " + path_.string());
  }
  return {};
}

Result<off_t> File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return std::unexpected(io_error("cannot stat", path_, errno));
  return st.st_size;
}

Result<void> File::truncate(off_t size) {
  if (::ftruncate(fd_, size) != 0) return std::unexpected(io_error("cannot truncate", path_, errno));
  return {};
}

Result<void> File::sync() {
  if (int err = faults_ ? faults_->before_sync() : 0; err != 0) {
    return std::unexpected(io_error("fsync failed on", path_, err));
  }
  if (faults_ && faults_->bypass_syncs.load(std::memory_order_relaxed)) return {};
  if (::fdatasync(fd_) != 0) return std::unexpected(io_error("fsync failed on", path_, errno));
  return {};
}

Result<void> sync_directory(const fs::path& dir, IoFaults* faults) {
  if (int err = faults ? faults->before_sync() : 0; err != 0) {
    return std::unexpected(io_error("fsync failed on directory", dir, err));
  }
  if (faults && faults->bypass_syncs.load(std::memory_order_relaxed)) return {};
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(io_error("cannot open directory", dir, errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return std::unexpected(io_error("fsync failed on directory", dir, err));
  return {};
}

Result<void> write_file_atomically(const fs::path& path, ByteView content, IoFaults* faults) {
  fs::path tmp = path;
  tmp += ".tmp";
  auto file = File::open(tmp, File::Mode::create_or_truncate, faults);
  if (!file) return std::unexpected(file.error());
  if (auto r = (*file)->pwrite_all(content, 0); !r) return r;
  if (auto r = (*file)->sync(); !r) return r;
  file->reset();
  if (auto r = rename_file(tmp, path); !r) return r;
  return sync_directory(path.parent_path(), faults);
}

Result<Bytes> read_whole_file(const fs::path& path) {
  auto file = File::open(path, File::Mode::read_only);
  if (!file) return std::unexpected(file.error());
  auto size = (*file)->size();
  if (!size) return std::unexpected(size.error());
  Bytes out(static_cast<size_t>(*size));
  if (auto r = (*file)->pread_exact(out, 0); !r) return std::unexpected(r.error());
  return out;
}

Result<void> remove_file(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return std::unexpected(io_error("cannot delete", path, errno));
  }
  return {};
}

Result<void> rename_file(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return std::unexpected(io_error("cannot rename " + from.string() + " to", to, errno));
  }
  return {};
}

}  // namespace kafkacore::storage
