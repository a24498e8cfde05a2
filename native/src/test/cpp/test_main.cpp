#include <cstring>

#include "check.h"

int main(int argc, char** argv) {
  auto& reg = t::Registry::get();
  int ran = 0;
  for (auto& test : reg.tests) {
    if (argc > 1 && test.first.find(argv[1]) == std::string::npos) continue;
    int before = reg.failures;
    try {
      test.second();
    } catch (const std::exception& e) {
      t::failAt(test.first.c_str(), 0, std::string("uncaught exception: ") + e.what());
    }
    std::cout << (reg.failures == before ? "[ ok ] " : "[FAIL] ") << test.first << "\n";
    ++ran;
  }
  std::cout << ran << " tests, " << reg.failures << " failure(s)\n";
  return reg.failures == 0 ? 0 : 1;
}
