#include "replication/hw_checkpoint.h"

#include <charconv>
#include <optional>
#include <string_view>
#include <vector>

#include "storage/file_io.h"

namespace kafkacore::replication {

namespace {

template <typename T>
std::optional<T> parse_int(std::string_view s) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

HwCheckpoint::HwCheckpoint(const std::filesystem::path& data_dir, storage::IoFaults* faults)
    : file_(data_dir / kFileName), faults_(faults) {}

Result<HighWatermarks> HwCheckpoint::read() const {
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return HighWatermarks{};
  auto data = storage::read_whole_file(file_);
  if (!data) return std::unexpected(data.error());
  auto corrupt = [&](const std::string& why) {
    return make_error(Errc::corrupt_message,
                      "replication offset checkpoint " + file_.string() + ": " + why);
  };
  std::string_view text(reinterpret_cast<const char*>(data->data()), data->size());
  // A complete file ends with a newline; anything else is a cut-off or foreign write.
  if (text.empty() || text.back() != '\n') return corrupt("truncated");
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    lines.push_back(text.substr(0, eol));
    text.remove_prefix(eol + 1);
  }
  if (lines.size() < 2) return corrupt("truncated");
  if (lines[0] != "0") return corrupt("unknown version '" + std::string(lines[0]) + "'");
  auto count = parse_int<int64_t>(lines[1]);
  if (!count || *count < 0 || static_cast<size_t>(*count) != lines.size() - 2) {
    return corrupt("entry count does not match");
  }
  HighWatermarks out;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    const size_t first = line.find(' ');
    const size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (first == 0 || second == std::string_view::npos) {
      return corrupt("bad line '" + std::string(line) + "'");
    }
    auto partition = parse_int<int32_t>(line.substr(first + 1, second - first - 1));
    auto offset = parse_int<int64_t>(line.substr(second + 1));
    if (!partition || !offset || *partition < 0 || *offset < 0) {
      return corrupt("bad line '" + std::string(line) + "'");
    }
    out[{std::string(line.substr(0, first)), *partition}] = Offset{*offset};
  }
  return out;
}

Result<void> HwCheckpoint::write(const HighWatermarks& hws) const {
  std::string text = "0\n" + std::to_string(hws.size()) + "\n";
  for (const auto& [tp, hw] : hws) {
    // Kafka's topic names never hold these; one that did would corrupt the line format.
    if (tp.first.empty() || tp.first.find_first_of(" \n") != std::string::npos) {
      return make_error(Errc::invalid_topic_exception, "topic name '" + tp.first +
                                                           "' cannot be checkpointed");
    }
    text += tp.first;
    text += ' ';
    text += std::to_string(tp.second);
    text += ' ';
    text += std::to_string(hw.value());
    text += '\n';
  }
  return storage::write_file_atomically(file_, as_bytes(text), faults_);
}

}  // namespace kafkacore::replication
