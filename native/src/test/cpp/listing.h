// One parser for Executable::describe() listings, shared by the tests that check schedules from the
// listing alone (test_schedule, test_gemm_update). A line reads
//   "3: fused[sin neg](in0, tmp@0) -> out0 Float32 [2, 3] lane 0 after 1 2"
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace listing {

struct Step {
  std::string op;                 // "matmul", "fused", ...
  std::vector<std::string> in;    // input slots: in0, out1, tmp@64
  std::string out;                // output slot
  int64_t outBytes = 0;           // bytes of the output's descriptor
  std::vector<int> after;         // the steps it waits for
};

inline int64_t bytesOf(const std::string& desc) {   // "Float32 [2, 3]"
  size_t open = desc.find('['), close = desc.find(']');
  int64_t n = 1;
  std::string dims = desc.substr(open + 1, close - open - 1);
  for (size_t p = 0; p < dims.size();) {
    size_t c = dims.find(", ", p);
    n *= std::stoll(dims.substr(p, c == std::string::npos ? std::string::npos : c - p));
    p = c == std::string::npos ? dims.size() : c + 2;
  }
  return n * (desc.rfind("Float64", 0) == 0 ? 8 : 4);
}

inline std::vector<Step> parse(const std::string& d) {
  std::vector<Step> steps;
  std::istringstream is(d);
  std::string s;
  while (std::getline(is, s)) {
    Step l;
    size_t colon = s.find(": "), bracket = s.find('[', colon), open = s.find('(', colon);
    size_t nameEnd = bracket != std::string::npos && bracket < open ? bracket : open;
    l.op = s.substr(colon + 2, nameEnd - colon - 2);
    if (nameEnd == bracket) open = s.find('(', s.find(']', bracket));   // fused[...]
    size_t close = s.find(')', open), arrow = s.find("-> ", close);
    std::string args = s.substr(open + 1, close - open - 1);
    for (size_t p = 0; p < args.size();) {
      size_t c = args.find(", ", p);
      l.in.push_back(args.substr(p, c == std::string::npos ? std::string::npos : c - p));
      p = c == std::string::npos ? args.size() : c + 2;
    }
    size_t outEnd = s.find(' ', arrow + 3), lane = s.find(" lane ", outEnd);
    l.out = s.substr(arrow + 3, outEnd - arrow - 3);
    l.outBytes = bytesOf(s.substr(outEnd + 1, lane - outEnd - 1));
    size_t after = s.find(" after ", lane);
    if (after != std::string::npos) {
      std::istringstream as(s.substr(after + 7));
      int a;
      while (as >> a) l.after.push_back(a);
    }
    steps.push_back(l);
  }
  return steps;
}

}  // namespace listing
