// src/distributed/no_mpi.cpp — a build without MPI: one process per run.
#include <cstdlib>

#include "src/distributed/backends.h"

namespace csg::dist {

std::unique_ptr<Communicator> make_mpi_world() {
  const char* n = std::getenv("OMPI_COMM_WORLD_SIZE");
  CSG_FAIL("started by mpirun", n ? std::string(" with ") + n + " processes" : std::string(),
           ", but this csg was built without MPI: install libopenmpi-dev (bash tools/install-deps.sh) and rebuild "
           "(make prints `MPI ✓`), or run without mpirun");
}

void shutdown_mpi(bool) {}

}  // namespace csg::dist
