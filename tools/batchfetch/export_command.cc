// batchfetch export: one report's stored rows on stdout, as CSV (RFC 4180, with a header)
// or JSON lines, in (date, dimensions) order. Rows stream from the ledger one at a time,
// so memory does not grow with the report. The columns are those of the report's view
// report_<id>: date, the report's other dimensions in its order, clicks, impressions,
// ctr, position. Opens the ledger read-only and never creates one.

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/civil_date.h"
#include "core/json_escape.h"
#include "core/page.h"
#include "persistence/ledger.h"
#include "tools/batchfetch/commands.h"

namespace batchfetch {
namespace {

constexpr const char* kName = "export";
constexpr const char* kExample =
    "example: batchfetch export --db batchfetch.db --report 0123456789abcdef --format csv"
    " --from 2025-01-01 --to 2025-01-31 > rows.csv";

// A column of the export: its name and how to read it from a Row.
struct Column {
  const char* name;
  std::string Row::*text = nullptr;  // a dimension, or
  double Row::*number = nullptr;     // a metric
};

// date first, then the report's other dimensions in its order, then the metrics.
std::vector<Column> ColumnsOf(const Report& report) {
  static const std::pair<std::string_view, Column> kDimensions[] = {
      {"hour", {"hour", &Row::hour}},
      {"query", {"query", &Row::query}},
      {"page", {"page", &Row::page}},
      {"country", {"country", &Row::country}},
      {"device", {"device", &Row::device}},
      {"searchAppearance", {"search_appearance", &Row::search_appearance}},
  };
  std::vector<Column> columns = {{"date", &Row::date}};
  for (const std::string& name : report.spec.dimensions) {
    for (const auto& [api, column] : kDimensions) {
      if (api == name) columns.push_back(column);
    }
  }
  columns.push_back({"clicks", nullptr, &Row::clicks});
  columns.push_back({"impressions", nullptr, &Row::impressions});
  columns.push_back({"ctr", nullptr, &Row::ctr});
  columns.push_back({"position", nullptr, &Row::position});
  return columns;
}

// The shortest text that reads back as v (integral counts print without a point).
void AppendNumber(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");  // never stored (verify reports it); keeps each line parseable
    return;
  }
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, result.ptr);
}

// RFC 4180: a field holding a comma, a quote, CR or LF is quoted, its quotes doubled.
void AppendCsvField(std::string* out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(field);
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendCsvRow(std::string* out, const std::vector<Column>& columns, const Row& row) {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out->push_back(',');
    if (columns[i].text != nullptr) {
      AppendCsvField(out, row.*columns[i].text);
    } else {
      AppendNumber(out, row.*columns[i].number);
    }
  }
  out->append("\r\n");
}

void AppendJsonRow(std::string* out, const std::vector<Column>& columns, const Row& row) {
  out->push_back('{');
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->push_back('"');
    out->append(columns[i].name);
    out->append("\":");
    if (columns[i].text != nullptr) {
      out->push_back('"');
      out->append(JsonEscape(row.*columns[i].text));
      out->push_back('"');
    } else {
      AppendNumber(out, row.*columns[i].number);
    }
  }
  out->append("}\n");
}

// Buffered stdout; the first failed write is remembered (EPIPE: the reader went away).
class Output {
 public:
  // Writes the buffer once it holds this much.
  static constexpr std::size_t kFlushAt = std::size_t{256} * 1024;

  std::string* buffer() { return &buffer_; }
  Status MaybeFlush() { return buffer_.size() >= kFlushAt ? Flush() : Status::Ok(); }
  Status Flush() {
    if (!buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), stdout) != buffer_.size()) {
      return WriteError();
    }
    buffer_.clear();
    if (std::fflush(stdout) != 0) return WriteError();
    return Status::Ok();
  }

 private:
  static Status WriteError() {
    return Status::Error(Status::Code::kIoError,
                         std::string("cannot write to stdout: ") + std::strerror(errno));
  }
  std::string buffer_;
};

int Usage(const std::string& what) {
  std::fprintf(stderr, "batchfetch %s: %s\n%s\n", kName, what.c_str(), kExample);
  return kExitUsage;
}

// Opens an existing ledger read-only; nullptr after one line on stderr, *code the exit
// code (1: nothing there or unusable; 3: the database is damaged).
std::unique_ptr<Ledger> OpenReadOnly(const std::string& db, int* code) {
  std::unique_ptr<Ledger> ledger;
  const Status s = OpenLedger(db, OpenMode::kReadOnly, &ledger);
  if (s.ok()) return ledger;
  const std::string shown = RedactTarget(db);
  if (s.code() == Status::Code::kNotFound) {
    std::fprintf(stderr, "batchfetch %s: no batchfetch ledger at --db %s\n", kName, shown.c_str());
  } else {
    std::fprintf(stderr, "batchfetch %s: cannot use --db %s: %s\n", kName, shown.c_str(),
                 s.ToString().c_str());
  }
  *code = ExitForUnusableLedger(s);
  return nullptr;
}

}  // namespace

int ExportCommand(int argc, char** argv) {
  std::string db, report_id, format = "csv", from, to;
  CLI::App app{"batchfetch export: one report's stored rows on stdout", "batchfetch export"};
  app.add_option("--db", db, "SQLite file or postgresql:// URI")->required();
  app.add_option("--report", report_id, "report id (batchfetch status lists them)")->required();
  app.add_option("--format", format, "csv (RFC 4180, with a header) or jsonl")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  app.add_option("--from", from, "first day, YYYY-MM-DD (default: the first held)");
  app.add_option("--to", to, "last day, YYYY-MM-DD (default: the last held)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (char& c : what) c = c == '\n' ? ' ' : c;
    return Usage(what);
  }
  for (const auto& [flag, value] : {std::pair{"--from", &from}, std::pair{"--to", &to}}) {
    if (!value->empty() && !IsValidDate(*value)) {
      return Usage(std::string(flag) + " " + *value + " is not a date (want YYYY-MM-DD)");
    }
  }
  if (!from.empty() && !to.empty() && from > to) {
    return Usage("--from " + from + " is after --to " + to);
  }

  int code = kExitOk;
  std::unique_ptr<Ledger> ledger = OpenReadOnly(db, &code);
  if (ledger == nullptr) return code;
  std::vector<Report> reports;
  if (const Status s = ledger->ListReports(&reports); !s.ok()) {
    std::fprintf(stderr, "batchfetch %s: %s\n", kName, s.ToString().c_str());
    return kExitHalted;
  }
  const Report* report = nullptr;
  for (const Report& r : reports) {
    if (r.id == report_id) report = &r;
  }
  if (report == nullptr) {
    std::fprintf(stderr,
                 "batchfetch %s: no report %s in this ledger (batchfetch status lists them)\n",
                 kName, report_id.c_str());
    return kExitUsage;
  }

  const std::vector<Column> columns = ColumnsOf(*report);
  const bool csv = format == "csv";
  Output out;
  if (csv) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) out.buffer()->push_back(',');
      out.buffer()->append(columns[i].name);
    }
    out.buffer()->append("\r\n");
  }
  Status status = ledger->ExportRows(report_id, from, to, [&](const Row& row) {
    if (csv) {
      AppendCsvRow(out.buffer(), columns, row);
    } else {
      AppendJsonRow(out.buffer(), columns, row);
    }
    return out.MaybeFlush();
  });
  if (status.ok()) status = out.Flush();
  if (!status.ok()) {
    std::fprintf(stderr, "batchfetch %s: %s\n", kName, status.ToString().c_str());
    return kExitHalted;
  }
  return kExitOk;
}

}  // namespace batchfetch
