#include "server/handler_registry.h"

namespace kafkacore::server {

void HandlerRegistry::add(ApiRegistration registration) {
  apis_[registration.api_key] = std::move(registration);
}

const ApiRegistration* HandlerRegistry::find(int16_t api_key) const {
  auto it = apis_.find(api_key);
  return it == apis_.end() ? nullptr : &it->second;
}

std::vector<const ApiRegistration*> HandlerRegistry::all() const {
  std::vector<const ApiRegistration*> out;
  for (const auto& [key, api] : apis_) out.push_back(&api);
  return out;
}

}  // namespace kafkacore::server
