#ifndef BATCHFETCH_CORE_TEXT_H_
#define BATCHFETCH_CORE_TEXT_H_

#include <string_view>

namespace batchfetch {

// Whether s holds an ASCII control character (0x00-0x1f, including tab, or 0x7f). Text a
// user or a file gives that ends up in an HTTP header, a URL or a log line must not: a CR
// or LF there would forge a header or a line.
bool HasControlCharacter(std::string_view s);

// Whether s is one printable word: not empty, no space, no control character. A bearer
// token must be, since it goes into the Authorization header as is.
bool IsOnePrintableWord(std::string_view s);

}  // namespace batchfetch

#endif  // BATCHFETCH_CORE_TEXT_H_
