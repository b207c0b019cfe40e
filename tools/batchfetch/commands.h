#ifndef BATCHFETCH_TOOLS_BATCHFETCH_COMMANDS_H_
#define BATCHFETCH_TOOLS_BATCHFETCH_COMMANDS_H_

namespace batchfetch {

// Exit codes shared by every subcommand (see README "Exit codes").
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;      // bad usage or input: nothing written
inline constexpr int kExitDeadPages = 2;  // finished with dead pages / verify found problems
inline constexpr int kExitHalted = 3;     // halted on an unrecoverable error

// Each handler gets the arguments after its subcommand name (argv[0] is the name).
int BackfillCommand(int argc, char** argv);
int StatusCommand(int argc, char** argv);
int VerifyCommand(int argc, char** argv);
int RetryCommand(int argc, char** argv);
int ExportCommand(int argc, char** argv);  // export_command.cc

}  // namespace batchfetch

#endif  // BATCHFETCH_TOOLS_BATCHFETCH_COMMANDS_H_
