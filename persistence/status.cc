#include "persistence/status.h"

namespace batchfetch {

std::string_view CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return "ok";
    case Status::Code::kBusy:
      return "busy";
    case Status::Code::kCorrupt:
      return "corrupt";
    case Status::Code::kForeign:
      return "foreign";
    case Status::Code::kDiskFull:
      return "disk full";
    case Status::Code::kIoError:
      return "io error";
    case Status::Code::kInvalid:
      return "invalid";
    case Status::Code::kNotFound:
      return "not found";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(CodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace batchfetch
