// Configuration files: any file loads or fails with a message, never
// crashes; and every value a loaded configuration reports (CONFIG GET) sets
// the same directive of a fresh configuration to the same value, so what
// CONFIG GET shows can always be written back.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "edgekv/config.h"

namespace {

const std::string& Path() {
  static const std::string path =
      (std::filesystem::temp_directory_path() /
       ("edgekv-fuzz-config-" + std::to_string(::getpid()) + ".conf"))
          .string();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream f(Path(), std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  edgekv::Config config;
  edgekv::Status s = config.LoadFile(Path());
  if (!s.ok()) {
    if (s.message().empty()) std::abort();
    return 0;
  }
  for (const auto& [name, value] : config.Match("*")) {
    edgekv::Config fresh;
    if (!fresh.Set(name, value, false).ok()) std::abort();
    auto again = fresh.Match(name);
    if (again.empty() || again.front().second != value) std::abort();
  }
  return 0;
}
