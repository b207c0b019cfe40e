#ifndef BATCHFETCH_TOOLS_BATCHFETCH_APPEARANCE_PASSES_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_APPEARANCE_PASSES_H_

#include "tools/batchfetch/backfill_flags.h"

namespace batchfetch {

// `backfill --preset by-search-appearance`, the API's two-step search appearance
// query: runs flags' reports (searchAppearance alone) as one BackfillRun; when that
// finished (exit 0, or 2 with dead pages) reads the appearances it stored in
// [from, to] and runs one report per appearance and first-pass report
// (AppearanceSecondPass) as a second BackfillRun on the same ledger. Returns the first
// pass's exit code if it did not finish, else the second's (or the first's when the
// second is clean and the first was not, or when no appearance was found).
//
// Thread rule: the calling thread, as BackfillRun::Execute.
int RunAppearancePasses(BackfillFlags flags);

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_APPEARANCE_PASSES_H_
