#ifndef BATCHFETCH_CORE_JSON_ESCAPE_H_
#define BATCHFETCH_CORE_JSON_ESCAPE_H_

#include <string>
#include <string_view>

namespace batchfetch {

// s with the characters JSON needs escaped escaped (no surrounding quotes). Control
// characters become \uXXXX, so the result is also safe to print on a terminal line.
std::string JsonEscape(std::string_view s);

}  // namespace batchfetch

#endif  // BATCHFETCH_CORE_JSON_ESCAPE_H_
