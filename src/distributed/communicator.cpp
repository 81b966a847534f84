// src/distributed/communicator.cpp — choosing the process group (MPI's world under mpirun,
// else one process), the one-process implementation, and the settings every backend shares.
#include <cstdlib>
#include <string>

#include "src/distributed/backends.h"

namespace csg::dist {

namespace {

// Every collective of one process is the identity.
class OneProcess : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "one process"; }
  void all_reduce_sum(std::vector<double>&) override {}
  std::string broadcast_text(const std::string& text, int) override { return text; }
  std::unique_ptr<PendingReduce> start_all_reduce_sum(const Tensor&) override {
    struct Done : PendingReduce {
      void wait() override {}
    };
    return std::make_unique<Done>();
  }
  Tensor all_gather(const Tensor& x) override { return x; }
  void barrier() override {}
};

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

std::unique_ptr<Communicator>& world_slot() {
  static std::unique_ptr<Communicator> w;
  return w;
}

}  // namespace

bool launched_by_mpi() { return env("OMPI_COMM_WORLD_SIZE") || env("PMIX_RANK") || env("PMI_RANK"); }

int local_rank() {
  const char* v = env("OMPI_COMM_WORLD_LOCAL_RANK");
  if (!v) v = env("MPI_LOCALRANKID");
  return v ? std::atoi(v) : 0;
}

double timeout_seconds() {
  const char* v = env("CSG_DIST_TIMEOUT_S");
  if (!v) return 600;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  CSG_CHECK(end != v && *end == '\0' && s > 0, "CSG_DIST_TIMEOUT_S=", v, ": expected a positive number of seconds");
  return s;
}

Communicator& single_process() {
  static OneProcess one;
  return one;
}

Communicator& world() {
  std::unique_ptr<Communicator>& w = world_slot();
  if (!w) w = launched_by_mpi() ? make_mpi_world() : std::make_unique<OneProcess>();
  return *w;
}

std::string rank_suffix() {
  const std::unique_ptr<Communicator>& w = world_slot();
  return w && w->size() > 1 ? " (rank " + std::to_string(w->rank()) + ")" : "";
}

void shutdown(bool success) {
  if (world_slot() && world_slot()->size() > 1) shutdown_mpi(success);
}

}  // namespace csg::dist
