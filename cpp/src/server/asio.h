#pragma once
// Boost.Asio with C++20 coroutines. Boost 1.74's awaitable.hpp uses std::exchange without
// including <utility>, so it comes first.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kafkacore::server {
namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
}  // namespace kafkacore::server
