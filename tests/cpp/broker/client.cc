#include "broker/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kafkacore::broker::testing {
namespace {

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

TestClient::TestClient(uint16_t port, std::chrono::milliseconds timeout) : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw ClientError(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string message = errno_text("connect");
    ::close(fd_);
    fd_ = -1;
    throw ClientError(message);
  }
  int one = 1;
  (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

TestClient::~TestClient() {
  if (fd_ >= 0) ::close(fd_);
}

void TestClient::send_raw(ByteView bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ClientError(errno_text("send"));
    }
    sent += static_cast<size_t>(n);
  }
}

void TestClient::read_exact(std::byte* out, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  size_t got = 0;
  while (got < n) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw ClientError("timed out waiting for an answer");
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw ClientError(errno_text("poll"));
    }
    if (ready == 0) throw ClientError("timed out waiting for an answer");
    const ssize_t r = ::recv(fd_, out + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw ClientError(errno_text("recv"));
    }
    if (r == 0) throw ClientError("the broker closed the connection");
    got += static_cast<size_t>(r);
  }
}

const Bytes& TestClient::read_frame() {
  std::byte prefix[4];
  read_exact(prefix, sizeof prefix);
  const int32_t size = load_be<int32_t>(prefix);
  if (size < 4) throw ClientError("bad answer size " + std::to_string(size));
  Bytes frame(static_cast<size_t>(size));
  read_exact(frame.data(), frame.size());
  frames_.push_back(std::move(frame));
  return frames_.back();
}

bool TestClient::closed_within(std::chrono::milliseconds wait) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
  std::byte b;
  return ::recv(fd_, &b, 1, MSG_PEEK) == 0;
}

}  // namespace kafkacore::broker::testing
