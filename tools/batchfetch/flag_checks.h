#ifndef TOOLS_BATCHFETCH_FLAG_CHECKS_H_
#define TOOLS_BATCHFETCH_FLAG_CHECKS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "core/text.h"

namespace batchfetch {

// Text that reaches a URL, a request header, the ledger or a log line: no control
// character (a newline would forge a header or a log line). The complaint does not repeat
// the value.
inline CLI::Validator PlainText() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return HasControlCharacter(text)
                   ? "must not hold a control character (newline, tab, escape, ...)"
                   : "";
      },
      "");
}

}  // namespace batchfetch

#endif  // TOOLS_BATCHFETCH_FLAG_CHECKS_H_
