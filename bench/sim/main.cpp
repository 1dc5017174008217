// vmh-sim: generates workload traces and replays them against vmh and the baselines with the
// same SRAM budget. `vmh-sim --help` lists the commands; the tool is the vmh_sim library
// (sim/commands.hpp), so that its tests and fuzzer run exactly what this program runs.
#include "sim/commands.hpp"

int main(int argc, char** argv) { return vmh::sim::run(argc, argv); }
