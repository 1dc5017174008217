// vmh-sim's commands (gen, replay, compare, layout, plan, map, curve, auto-study): each reads
// its checked options and writes its output; `run` is the whole tool behind main().
#pragma once

namespace vmh::sim {

/// Runs vmh-sim with its command line (argv[0] is the program). Every error is one line on
/// standard error ("vmh-sim: ...") and exit code 2; `--help` prints the usage on standard output.
/// Returns the exit code.
int run(int argc, const char* const* argv);

}  // namespace vmh::sim
