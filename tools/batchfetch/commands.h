#ifndef BATCHFETCH_TOOLS_BATCHFETCH_COMMANDS_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_COMMANDS_H_

#include "persistence/status.h"

namespace batchfetch {

// Exit codes shared by every subcommand (see README "Exit codes").
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;      // bad usage or input: nothing written
inline constexpr int kExitDeadPages = 2;  // finished with dead pages / verify found problems
inline constexpr int kExitHalted = 3;     // halted on an unrecoverable error

// The exit code when --db cannot be opened with status: a full disk or a damaged file
// (garbage bytes, not a database) halts (3); anything else (no ledger there, another
// program's file, a missing directory) is bad input (1).
inline int ExitForUnusableLedger(const Status& status) {
  return status.code() == Status::Code::kCorrupt || status.code() == Status::Code::kDiskFull
             ? kExitHalted
             : kExitUsage;
}

// Each handler gets the arguments after its subcommand name (argv[0] is the name).
int BackfillCommand(int argc, char** argv);
int StatusCommand(int argc, char** argv);
int VerifyCommand(int argc, char** argv);
int RetryCommand(int argc, char** argv);
int ExportCommand(int argc, char** argv);  // export_command.cc
int SitesCommand(int argc, char** argv);   // sites_command.cc

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_COMMANDS_H_
