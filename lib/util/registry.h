// Registry<F>: factories by name, for the things a newcomer plugs in with one line
// (datasets, models, tasks). Built-ins are added on first use by the `builtins` callback, so
// static-initialisation order cannot lose them; register_* calls from other files (or a
// program's main) may come before or after.
#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/text.h"

namespace kiln::util {

template <class Factory>
class Registry {
 public:
  // `what` names the kind in messages ("model"), `key` the config key that picks one.
  Registry(std::string what, std::string key, std::function<void(Registry&)> builtins)
      : what_(std::move(what)), key_(std::move(key)) {
    builtins(*this);
  }

  void add(const std::string& name, Factory f) {
    std::lock_guard<std::mutex> lock(mu_);
    factories_[name] = std::move(f);
  }

  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [n, f] : factories_) out.push_back(n);
    return out;
  }

  // The factory registered as `name`; Error::usage naming the key, the closest name and
  // every registered one otherwise.
  Factory get(const std::string& name) const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = factories_.find(name);
      if (it != factories_.end()) return it->second;
    }
    const auto all = names();
    std::string msg = "unknown " + what_ + " '" + name + "' (" + key_ + ")";
    const std::string hint = did_you_mean(name, all);
    if (!hint.empty()) msg += "; " + hint;
    std::string list;
    for (const auto& n : all) list += (list.empty() ? "" : ", ") + n;
    throw Error::usage(msg, "registered " + what_ + "s: " + list);
  }

 private:
  std::string what_, key_;
  mutable std::mutex mu_;
  std::map<std::string, Factory> factories_;
};

}  // namespace kiln::util
