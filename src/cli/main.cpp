// src/cli/main.cpp — the `csg` program: src/cli/app.h declares and runs every command.
#include "csg/distributed.h"
#include "src/cli/app.h"

int main(int argc, char** argv) {
  const int status = csg::cli::run_cli(argc, argv);
  // Started by mpirun: finalise MPI, or after a failure on this rank stop the others at once.
  csg::dist::shutdown(status == 0 || status == 130 || status == 143);  // 130/143: stopped by SIGINT/SIGTERM, saved
  return status;
}
