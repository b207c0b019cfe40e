#ifndef TOOLS_MOCKGSC_MISBEHAVIOR_H_
#define TOOLS_MOCKGSC_MISBEHAVIOR_H_

#include <optional>
#include <string>
#include <string_view>

#include "tools/mockgsc/query_request.h"

namespace mockgsc {

// --misbehave: a server that answers every query wrongly, so tests see the engine refuse
// each page instead of storing it.
//   wrong-date     the rows are dated the day after the one asked for
//   too-many-rows  rowLimit + 1 rows
//   bad-numbers    negative clicks, ctr above 1
//   oversized      a 200 whose body (--oversized-mb) streams padding and never closes its
//                  JSON (the server writes it; see Server)
//   shifting-rows  every page after the first starts one row early, as if the day's order
//                  shifted while it was paged: its first row repeats the previous page's
//                  last (the handler serves startRow - 1; see ServedRequest)
enum class Misbehavior { kNone, kWrongDate, kTooManyRows, kBadNumbers, kOversized, kShiftingRows };

// The mode named by text ("" = kNone); nullopt for an unknown name.
std::optional<Misbehavior> ParseMisbehavior(std::string_view text);

// The request whose answer mode serves for request: startRow - 1 for kShiftingRows past
// the first page, else request itself.
QueryRequest ServedRequest(Misbehavior mode, const QueryRequest& request);

// body (a rendered query response for request) rewritten as mode answers it. REQUIRES:
// mode is not kOversized.
std::string Misbehave(Misbehavior mode, const std::string& body, const QueryRequest& request);

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_MISBEHAVIOR_H_
