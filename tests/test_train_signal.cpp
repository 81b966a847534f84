// tests/test_train_signal.cpp — a run stopped by SIGTERM part-way writes a checkpoint; resuming
// from it ends with the same weights as a run that was never interrupted. No thread of a run that
// computes can take SIGINT/SIGTERM (a signal handled inside oneDNN's JIT GEMM corrupted the heap),
// and the GTA5 run that crashed so stops with 130 / 143 and a checkpoint for either signal, whether
// it arrives during the set-up or a step, with 0, 2 or 4 loader workers (a process of its own each).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "csg/data/tiny.h"
#include "csg/io/checkpoint.h"
#include "csg/train.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {
int logged_rows(const std::string& csv) {
  std::ifstream f(csv);
  int n = 0;
  for (std::string line; std::getline(f, line);) ++n;
  return n - 1;  // header
}

// The field `key` of /proc/<pid>[/task/<tid>]/status as a number (SigBlk, SigCgt: hex masks).
uint64_t status_mask(const std::string& status_file, const std::string& key) {
  std::ifstream f(status_file);
  for (std::string line; std::getline(f, line);)
    if (line.rfind(key + ":", 0) == 0) return std::strtoull(line.c_str() + key.size() + 1, nullptr, 16);
  return 0;
}
constexpr uint64_t kStopMask = (uint64_t{1} << (SIGINT - 1)) | (uint64_t{1} << (SIGTERM - 1));

// The threads of process `pid` that do not block SIGINT and SIGTERM, but `except`.
std::vector<std::string> threads_taking_stop_signals(pid_t pid, pid_t except = -1) {
  std::vector<std::string> open;
  std::error_code ec;  // a process that has already exited has no threads left: its exit status says why
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    const std::string tid = t.path().filename().string();
    if (tid == std::to_string(except)) continue;
    const std::string status = t.path().string() + "/status";
    if (fs::exists(status) && (status_mask(status, "SigBlk") & kStopMask) != kStopMask) {
      std::string name;  // the thread's name says whose it is
      std::getline(std::ifstream(t.path().string() + "/comm"), name);
      open.push_back(tid + " (" + name + ")");
    }
  }
  return open;
}

// `csg_tests --csg-cli ARGS...` (tests/main.cpp) as a child process, its output in `log`.
pid_t start_cli(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all = {"csg_tests", "--csg-cli"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid` up to `seconds`; its wait status, or -1 (then it is killed).
int wait_status(pid_t pid, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}
}  // namespace

TEST(TrainSignal, SigtermCheckpointsAndResumeMatchesUninterrupted) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 3, 48, 12);
  train::Config c = train::default_config(train::Task::Visda);
  c.data = data;
  c.arch = train::Arch::ResNet18;
  c.width = 16;
  c.image_size = 32;
  c.batch_size = 8;
  c.queue_size = 128;
  c.embed_dim = 16;
  c.lr = 0.05;
  c.warmup = 0;
  c.max_steps = 18;
  c.workers = 2;
  c.log_every = 1;
  c.checkpoint_every = 100;
  c.eval_at_end = false;
  c.quiet = true;

  train::Config full = c;
  full.out_dir = tmp.subdir("full");
  ASSERT_EQ(train::run_training(full).steps, 18);

  // The interrupted run: a watcher sends SIGTERM once a few steps are logged.
  train::Config cut = c;
  cut.out_dir = tmp.subdir("cut");
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  sigaction(SIGTERM, &ignore, &previous);  // a late signal must not kill the test binary
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done && logged_rows(cut.out_dir + "/log.csv") < 4) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!done) kill(getpid(), SIGTERM);
  });
  train::TrainSummary s = train::run_training(cut);
  done = true;
  watcher.join();
  sigaction(SIGTERM, &previous, nullptr);
  ASSERT_TRUE(s.interrupted) << "the run finished before the signal arrived";
  ASSERT_GT(s.steps, 0);
  ASSERT_LT(s.steps, 18);
  ASSERT_TRUE(fs::exists(s.final_checkpoint));

  train::Config resumed = c;
  resumed.out_dir = cut.out_dir;
  resumed.resume = s.final_checkpoint;
  ASSERT_EQ(train::run_training(resumed).steps, 18);

  Checkpoint a = load_checkpoint(full.out_dir + "/csg-18.ckpt"), b = load_checkpoint(cut.out_dir + "/csg-18.ckpt");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i)
    EXPECT_EQ(csg::testing::max_abs_diff(a.tensors[i].tensor, b.tensors[i].tensor), 0)
        << a.tensors[i].name << " differs after stop at step " << s.steps << " and resume";
}

// The root cause of the heap corruption: the kernel writes a signal frame below the stack pointer of
// the thread it interrupts, and oneDNN 2.6's JIT GEMM points it into the heap. So while a run trains,
// every thread that computes (this one, OpenMP's, the loader's) blocks SIGINT and SIGTERM; the loop
// takes them between steps. Only the watcher below, started before the run, may take one.
TEST(TrainSignal, NoThreadThatComputesCanTakeTheStopSignals) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_visda(data, 3, 48, 12);
  train::Config c = csg::testing::tiny_visda_config(data, tmp.subdir("run"));
  c.max_steps = 40;
  c.workers = 2;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  sigaction(SIGINT, &ignore, &previous);  // a late signal must not kill the test binary
  std::atomic<bool> done{false};
  std::vector<std::string> open;
  std::thread watcher([&] {
    while (!done && logged_rows(c.out_dir + "/log.csv") < 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (done) return;
    open = threads_taking_stop_signals(getpid(), static_cast<pid_t>(gettid()));
    kill(getpid(), SIGINT);
  });
  const train::TrainSummary s = train::run_training(c);
  done = true;
  watcher.join();
  sigaction(SIGINT, &previous, nullptr);
  ASSERT_TRUE(s.interrupted) << "the run finished before the signal arrived";
  EXPECT_EQ(s.stop_signal, SIGINT);
  EXPECT_TRUE(open.empty()) << open.size() << " thread(s) of the run could take SIGINT/SIGTERM, e.g. " << open[0];
  EXPECT_TRUE(fs::exists(s.final_checkpoint));
  // After the run this thread takes them again (its mask is restored).
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, nullptr, &now);
  EXPECT_FALSE(sigismember(&now, SIGINT) || sigismember(&now, SIGTERM));
}

// The run that aborted with "corrupted size vs. prev_size" (GTA5, loader workers, a signal a few
// seconds in), made small: each signal with 0, 2 and 4 workers, in a process of its own. For each
// signal one case sends it as soon as the process takes signals (during the set-up: a checkpoint of
// step 0), the others once a step is logged (the run stops after the step in progress, its loader
// workers busy). Exit status 128 + the signal, the checkpoint named, no sanitizer report.
TEST(TrainSignal, GtaRunStopsCleanlyOnEitherSignalWithAnyWorkerCount) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data");
  data::write_tiny_gta5_cityscapes(data, 0);
  for (const int sig : {SIGINT, SIGTERM})
    for (const int workers : {0, 2, 4}) {
      const std::string name = std::string(sig == SIGINT ? "int" : "term") + "-w" + std::to_string(workers);
      const std::string out = tmp / name, log = tmp / (name + ".txt");
      const bool during_setup = workers == (sig == SIGINT ? 0 : 2);  // one per signal, no step computed
      const pid_t pid =
          start_cli({"train", "gta5", "--data", data + "/gta5", "--val-data", data + "/cityscapes", "--arch",
                     "deeplab18", "--width", "8", "--weights", "none", "--crop", "32", "--batch-size", "2", "--queue-size", "64",
                     "--embed-dim", "8", "--chunks", "2", "--iters-per-epoch", "50", "--checkpoint-every", "1000",
                     "--log-every", "1", "--workers", std::to_string(workers), "--out", out},
                    log);
      ASSERT_GT(pid, 0);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
      const std::string status_file = "/proc/" + std::to_string(pid) + "/status";
      auto ready = [&] {
        if ((status_mask(status_file, "SigCgt") & kStopMask) != kStopMask) return false;
        return during_setup || logged_rows(out + "/log.csv") >= 1;
      };
      while (!ready() && std::chrono::steady_clock::now() < deadline && waitpid(pid, nullptr, WNOHANG) == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const std::vector<std::string> open = threads_taking_stop_signals(pid);
      kill(pid, sig);
      const int status = wait_status(pid, 300);
      const std::string said = csg::testing::read_text(log);
      ASSERT_TRUE(status >= 0 && WIFEXITED(status)) << name << ": did not exit (" << status << "): " << said;
      EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << name << ": " << said;
      EXPECT_TRUE(open.empty()) << name << ": " << open.size() << " thread(s) could take the signal";
      const std::string head = std::string("stopped by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + " at step ";
      const size_t at = said.find(head);
      ASSERT_NE(at, std::string::npos) << name << ": " << said;
      const std::string ckpt = said.substr(said.find("--resume ", at) + 9, said.find('\n', at) - said.find("--resume ", at) - 9);
      EXPECT_TRUE(fs::exists(ckpt)) << name << ": " << ckpt;
      EXPECT_EQ(said.find("Sanitizer"), std::string::npos) << name << ": " << said;
      if (during_setup) {
        EXPECT_NE(said.find(head + "0;"), std::string::npos) << name << ": " << said;
      }
    }
}
