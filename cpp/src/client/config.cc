#include "client/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kafkacore::client {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t comma = text.find(',');
    std::string_view part = trim(text.substr(0, comma));
    if (!part.empty()) parts.push_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return parts;
}

}  // namespace

Result<std::vector<BrokerAddress>> parse_bootstrap_servers(std::string_view text) {
  std::vector<BrokerAddress> out;
  for (std::string_view entry : split_commas(text)) {
    std::string_view rest = entry;
    if (size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
      rest.remove_prefix(scheme + 3);
    }
    std::string_view host;
    std::string_view port_text;
    if (rest.starts_with('[')) {
      size_t close = rest.find(']');
      if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
        return make_error(Errc::invalid_config, "bootstrap.servers: bad address '" +
                                                    std::string(entry) + "'");
      }
      host = rest.substr(1, close - 1);
      port_text = rest.substr(close + 2);
    } else {
      size_t colon = rest.rfind(':');
      if (colon == std::string_view::npos) {
        return make_error(Errc::invalid_config, "bootstrap.servers: '" + std::string(entry) +
                                                    "' has no port (host:port)");
      }
      host = rest.substr(0, colon);
      port_text = rest.substr(colon + 1);
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535 || host.empty()) {
      return make_error(Errc::invalid_config,
                        "bootstrap.servers: bad address '" + std::string(entry) + "'");
    }
    out.push_back({std::string(host), static_cast<uint16_t>(port)});
  }
  if (out.empty()) return make_error(Errc::invalid_config, "bootstrap.servers is empty");
  return out;
}

const std::string* ConfigReader::find(const std::string& key) {
  used_.insert(key);
  auto it = properties_.find(key);
  return it == properties_.end() ? nullptr : &it->second;
}

void ConfigReader::fail(const std::string& key, const std::string& why) {
  if (!error_) error_.emplace(Errc::invalid_config, key + ": " + why);
}

std::string ConfigReader::get_string(const std::string& key, std::string fallback) {
  const std::string* v = find(key);
  return v ? *v : std::move(fallback);
}

std::optional<std::string> ConfigReader::get_optional(const std::string& key) {
  const std::string* v = find(key);
  if (!v || v->empty()) return std::nullopt;
  return *v;
}

int64_t ConfigReader::get_int(const std::string& key, int64_t fallback, int64_t min,
                              int64_t max) {
  const std::string* v = find(key);
  if (!v) return fallback;
  std::string_view text = trim(*v);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    fail(key, "'" + *v + "' is not an integer");
    return fallback;
  }
  if (value < min || value > max) {
    fail(key, std::to_string(value) + " is out of range [" + std::to_string(min) + ", " +
                  std::to_string(max) + "]");
    return fallback;
  }
  return value;
}

bool ConfigReader::get_bool(const std::string& key, bool fallback) {
  const std::string* v = find(key);
  if (!v) return fallback;
  std::string text = lower(trim(*v));
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  fail(key, "'" + *v + "' is not true or false");
  return fallback;
}

std::string ConfigReader::get_choice(const std::string& key, std::string fallback,
                                     const std::vector<std::string>& allowed) {
  const std::string* v = find(key);
  if (!v) return fallback;
  std::string text = lower(trim(*v));
  for (const std::string& a : allowed) {
    if (lower(a) == text) return a;
  }
  std::string list;
  for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
  fail(key, "'" + *v + "' is not one of " + list);
  return fallback;
}

std::vector<std::string> ConfigReader::get_list(const std::string& key,
                                                std::vector<std::string> fallback) {
  const std::string* v = find(key);
  if (!v) return fallback;
  std::vector<std::string> out;
  for (std::string_view part : split_commas(*v)) out.emplace_back(part);
  return out;
}

void ConfigReader::ignore(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) used_.insert(k);
}

Result<void> ConfigReader::finish() const {
  if (error_) return std::unexpected(*error_);
  for (const auto& [key, value] : properties_) {
    if (!used_.contains(key)) {
      return make_error(Errc::invalid_config, "unknown configuration '" + key + "'");
    }
  }
  return {};
}

ClientOptions read_client_options(ConfigReader& config, std::string default_client_id) {
  ClientOptions o;
  if (auto servers = config.get_optional("bootstrap.servers")) {
    if (auto parsed = parse_bootstrap_servers(*servers)) {
      o.bootstrap = std::move(*parsed);
    } else {
      config.fail("bootstrap.servers", parsed.error().message());
    }
  } else {
    config.fail("bootstrap.servers", "required");
  }
  o.client_id = config.get_string("client.id", std::move(default_client_id));
  o.request_timeout = config.get_ms("request.timeout.ms", 30000, 1);
  o.metadata_max_age = config.get_ms("metadata.max.age.ms", 300000, 1);
  o.retry_backoff = config.get_ms("retry.backoff.ms", 100);
  o.retry_backoff_max = config.get_ms("retry.backoff.max.ms", 1000);
  o.reconnect_backoff = config.get_ms("reconnect.backoff.ms", 50);
  o.reconnect_backoff_max = config.get_ms("reconnect.backoff.max.ms", 1000);
  o.connection_setup_timeout = config.get_ms("socket.connection.setup.timeout.ms", 10000, 1);
  // Accepted so configs written for other clients run unchanged; plaintext only for now.
  config.ignore({"security.protocol", "client.dns.lookup", "connections.max.idle.ms",
                 "send.buffer.bytes", "receive.buffer.bytes", "socket.keepalive.enable"});
  if (auto p = config.get_optional("security.protocol"); p && lower(*p) != "plaintext") {
    config.fail("security.protocol", "only PLAINTEXT is supported so far");
  }
  return o;
}

}  // namespace kafkacore::client
