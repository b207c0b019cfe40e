#ifndef BATCHFETCH_PERSISTENCE_STATUS_H_
#define BATCHFETCH_PERSISTENCE_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace batchfetch {

// The result of a persistence operation: ok, or a code and a one-line message.
// Persistence never throws across its boundary; it returns a Status.
class Status {
 public:
  enum class Code {
    kOk = 0,
    kBusy,      // the database stayed locked past the bounded retry
    kCorrupt,   // the file is not a database, or it is damaged
    kForeign,   // a database of another program, or a newer schema
    kDiskFull,  // SQLITE_FULL / ENOSPC: nothing more can be written
    kIoError,   // cannot open, read or write the file or reach the server
    kInvalid,   // a caller's argument is wrong (unknown job, bad value)
    kNotFound,  // the thing asked for does not exist
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(Code code, std::string message) { return Status(code, std::move(message)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ok" or "<code name>: <message>".
  std::string ToString() const;
  // True for errors no retry can cure (disk full, corrupt, foreign): the run must halt.
  bool IsFatal() const {
    return code_ == Code::kCorrupt || code_ == Code::kForeign || code_ == Code::kDiskFull;
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

std::string_view CodeName(Status::Code code);

}  // namespace batchfetch

#endif  // BATCHFETCH_PERSISTENCE_STATUS_H_
