#include "streams/topology.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <sstream>

namespace kafkacore::streams {
namespace {

// Union-find over node indexes.
struct Components {
  explicit Components(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  size_t find(size_t i) { return parent[i] == i ? i : parent[i] = find(parent[i]); }
  void join(size_t a, size_t b) { parent[find(a)] = find(b); }
  std::vector<size_t> parent;
};

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

const NodeSpec* Topology::node(const std::string& name) const {
  for (const auto& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

std::vector<Topology::SubTopology> Topology::sub_topologies() const {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i) index[nodes[i].name] = i;
  Components components(nodes.size());
  // Nodes sharing a store (a join and the table it reads) must run in the same task.
  std::map<std::string, size_t> store_owner;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& child : nodes[i].children) {
      if (auto it = index.find(child); it != index.end()) components.join(i, it->second);
    }
    for (const auto& store : nodes[i].stores) {
      auto [it, inserted] = store_owner.emplace(store, i);
      if (!inserted) components.join(i, it->second);
    }
  }
  std::vector<SubTopology> result;
  std::map<size_t, size_t> by_root;
  for (size_t i = 0; i < nodes.size(); ++i) {
    size_t root = components.find(i);
    auto [it, inserted] = by_root.emplace(root, result.size());
    if (inserted) {
      result.emplace_back();
      result.back().id = static_cast<int>(result.size() - 1);
    }
    SubTopology& st = result[it->second];
    const NodeSpec& n = nodes[i];
    st.nodes.push_back(n.name);
    if (n.source) {
      auto& into = n.source->internal ? st.internal_sources : st.external_sources;
      into.insert(into.end(), n.source->topics.begin(), n.source->topics.end());
    }
    if (n.sink && n.sink->internal) st.internal_sinks.push_back(n.sink->topic);
    for (const auto& store : n.stores) {
      if (std::find(st.stores.begin(), st.stores.end(), store) == st.stores.end()) {
        st.stores.push_back(store);
      }
    }
  }
  return result;
}

std::string Topology::describe() const {
  std::map<std::string, std::vector<std::string>> parents;
  for (const auto& n : nodes) {
    for (const auto& c : n.children) parents[c].push_back(n.name);
  }
  std::ostringstream out;
  out << "Topologies:\n";
  for (const auto& st : sub_topologies()) {
    out << "   Sub-topology: " << st.id << "\n";
    for (const auto& name : st.nodes) {
      const NodeSpec& n = *node(name);
      if (n.source) {
        out << "    Source: " << n.name << " (topics: [" << join_names(n.source->topics) << "])\n";
      } else if (n.sink) {
        out << "    Sink: " << n.name << " (topic: " << n.sink->topic << ")\n";
      } else {
        out << "    Processor: " << n.name << " (stores: [" << join_names(n.stores) << "])\n";
      }
      if (!n.children.empty()) out << "      --> " << join_names(n.children) << "\n";
      if (auto it = parents.find(n.name); it != parents.end()) {
        out << "      <-- " << join_names(it->second) << "\n";
      }
    }
    out << "\n";
  }
  return out.str();
}

Result<void> Topology::validate() const {
  std::set<std::string> names;
  for (const auto& n : nodes) {
    if (!names.insert(n.name).second) {
      return make_error(Errc::invalid_config, "topology: duplicate node name " + n.name);
    }
  }
  std::set<std::string> reachable;
  std::vector<std::string> todo;
  for (const auto& n : nodes) {
    if (n.source) {
      if (n.source->topics.empty()) {
        return make_error(Errc::invalid_config, "topology: source " + n.name + " reads no topic");
      }
      todo.push_back(n.name);
    } else if (!n.sink && !n.factory) {
      return make_error(Errc::invalid_config, "topology: processor " + n.name + " has no factory");
    }
    for (const auto& c : n.children) {
      if (!names.contains(c)) {
        return make_error(Errc::invalid_config, "topology: " + n.name + " -> unknown node " + c);
      }
    }
    for (const auto& s : n.stores) {
      if (!stores.contains(s)) {
        return make_error(Errc::invalid_config,
                          "topology: " + n.name + " uses undeclared store " + s);
      }
    }
  }
  while (!todo.empty()) {
    std::string name = todo.back();
    todo.pop_back();
    if (!reachable.insert(name).second) continue;
    for (const auto& c : node(name)->children) todo.push_back(c);
  }
  for (const auto& n : nodes) {
    if (!reachable.contains(n.name)) {
      return make_error(Errc::invalid_config, "topology: " + n.name + " is not fed by any source");
    }
  }
  if (nodes.empty()) return make_error(Errc::invalid_config, "topology: no source stream");
  return {};
}

}  // namespace kafkacore::streams
