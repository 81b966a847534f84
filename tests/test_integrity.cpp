// tests/test_integrity.cpp — checksums in every file csg writes: CRC-32C itself, a flipped byte
// anywhere in a file never loads silently, the damage is named (file and tensor), `csg verify`,
// `--resume latest` past a damaged newest checkpoint, eval / export / predict / the C API refuse
// a damaged file, and files written before checksums still load (with a note).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "csg/c_api.h"
#include "csg/data/tiny.h"
#include "csg/infer.h"
#include "csg/io/checkpoint.h"
#include "csg/io/safetensors.h"
#include "csg/io/verify.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;
using csg::testing::run_cli_captured;

namespace {

const std::string kOldCheckpoint = "data/fixtures/checkpoint/unchecksummed.ckpt";
const std::string kOldModel = "data/fixtures/checkpoint/unchecksummed_model.safetensors";

using csg::testing::contains;
using csg::testing::error_of;

// The byte in the middle of a safetensors file's tensor data.
size_t middle_of_data(const std::string& path) {
  const std::string bytes = csg::testing::read_file_bytes(path);
  const uint64_t data_start = 8 + io::load_le64(reinterpret_cast<const uint8_t*>(bytes.data()));
  return static_cast<size_t>((data_start + bytes.size()) / 2);
}

// The flags of a tiny VisDA run (ResNet-18 at width 8, 32 px) that trains in a second.
std::vector<std::string> tiny_run(const std::string& data, const std::string& out, std::vector<std::string> more) {
  std::vector<std::string> args = {"train", "visda", "--data", data, "--out", out, "--weights", "none", "--arch",
                                   "resnet18", "--width", "8", "--image-size", "32", "--batch-size", "8", "--queue-size", "64",
                                   "--embed-dim", "8", "--layers", "4", "--no-eval", "--quiet", "--workers", "0",
                                   "--checkpoint-every", "1", "--keep-checkpoints", "5", "--warmup", "0"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

TEST(Crc32c, InstructionAndTablesAgreeAndExtendJoinsPieces) {
  EXPECT_EQ(io::crc32c("123456789", 9), 0xE3069283u);  // the CRC catalogue's check value
  EXPECT_EQ(io::crc32c_portable(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(io::crc32c(nullptr, 0), 0u);
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(700);
  for (uint8_t& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 8; ++offset)
    for (size_t n = 0; n + offset <= buf.size(); n += 13) {
      const uint32_t whole = io::crc32c(buf.data() + offset, n);
      ASSERT_EQ(whole, io::crc32c_portable(0, buf.data() + offset, n)) << offset << " " << n;
      const size_t cut = n / 3;
      ASSERT_EQ(whole, io::crc32c_extend(io::crc32c(buf.data() + offset, cut), buf.data() + offset + cut, n - cut));
    }
  std::printf("CRC-32C on the CPU's instruction: %s\n", io::crc32c_hardware() ? "yes" : "no (tables)");
}

TEST(Integrity, EveryFlippedByteOfAFileIsCaught) {
  csg::testing::TempDir tmp;
  const std::string good = tmp / "good.safetensors", bad = tmp / "bad.safetensors";
  save_safetensors(good,
                   {{"w", csg::testing::uniform({3, 5}, 1, DType::F32)},
                    {"b", from_vector(std::vector<int64_t>{7, 8}, {2})}},
                   {{"step", "12"}, {"format", "csg-checkpoint"}});
  bool checksummed = false;
  std::map<std::string, std::string> meta;
  ASSERT_EQ(load_safetensors(good, &meta, &checksummed).size(), 2u);
  EXPECT_TRUE(checksummed);
  EXPECT_EQ(meta, (std::map<std::string, std::string>{{"format", "csg-checkpoint"}, {"step", "12"}}))
      << "the checksum entries are the reader's, not the caller's";
  EXPECT_TRUE(contains(csg::testing::read_file_bytes(good), "\"crc32c\":\""));
  const size_t size = fs::file_size(good);
  size_t corrupt = 0;
  for (size_t at = 0; at < size; ++at) {
    const uint8_t mask = at % 2 ? 0x01 : 0x80;  // the lowest and the highest bit, in turn
    csg::testing::write_with_flipped_byte(good, bad, at, mask);
    bool is_corrupt = false;
    const std::string e = error_of([&] {
      try {
        load_safetensors(bad);
      } catch (const CorruptFile&) {
        is_corrupt = true;
        throw;
      }
    });
    ASSERT_FALSE(e.empty()) << "byte " << at << " ^ " << int(mask) << " loaded silently";
    ASSERT_TRUE(contains(e, bad)) << e;
    corrupt += is_corrupt;
  }
  // Flips that leave the length and the JSON readable are all checksum failures.
  EXPECT_GT(corrupt, size * 9 / 10) << "most flips must be reported as damage, not as a parse error";
}

TEST(Integrity, DamageNamesTheFileAndEveryDamagedTensor) {
  csg::testing::TempDir tmp;
  const std::string good = tmp / "c.ckpt", bad = tmp / "c_bad.ckpt", worse = tmp / "c_worse.ckpt";
  Checkpoint c;
  c.tensors = {{"net.a", csg::testing::uniform({64}, 1, DType::F32)},
               {"net.b", csg::testing::uniform({64}, 2, DType::F32)}};
  c.meta["step"] = "5";
  save_checkpoint(good, c);
  const size_t end = fs::file_size(good);
  csg::testing::write_with_flipped_byte(good, bad, end - 10);  // inside net.b, the last tensor
  const std::string e = error_of([&] { load_checkpoint(bad); });
  for (const char* part : {"tensor 'net.b'", "fails its CRC-32C check", "damaged"}) EXPECT_TRUE(contains(e, part)) << e;
  EXPECT_TRUE(contains(e, bad)) << e;
  EXPECT_THROW(load_checkpoint(bad), CorruptFile);
  EXPECT_EQ(checkpoint_damage(good), "");
  EXPECT_TRUE(contains(checkpoint_damage(bad), "net.b"));
  // Both tensors damaged: verify lists both.
  csg::testing::write_with_flipped_byte(bad, worse, end - 64 * 4 - 10);
  const SafetensorsCheck r = verify_safetensors(worse);
  ASSERT_EQ(r.damaged.size(), 2u);
  EXPECT_TRUE(contains(r.damaged[0], "net.a") && contains(r.damaged[1], "net.b"));
  // The header: its own CRC, reported as damage even where the JSON still parses.
  const std::string header = tmp / "c_header.ckpt";
  const size_t step_value = csg::testing::read_file_bytes(good).find("\"step\":\"5\"") + 8;
  csg::testing::write_with_flipped_byte(good, header, step_value, 0x02);  // "5" -> "7"
  EXPECT_TRUE(contains(error_of([&] { load_checkpoint_meta(header); }), "the header")) << "metadata reads verify too";
  EXPECT_TRUE(contains(checkpoint_damage(header), "fails its CRC-32C check"));
}

TEST(Integrity, FilesFromBeforeChecksumsLoadWithANote) {
  csg::testing::TempDir tmp;
  // Copies: the note comes once per file and process.
  const std::string ckpt = tmp / "old.ckpt", model = tmp / "old_model.safetensors";
  fs::copy_file(kOldCheckpoint, ckpt);
  fs::copy_file(kOldModel, model);
  ::testing::internal::CaptureStderr();
  const Checkpoint c = load_checkpoint(ckpt);
  const infer::ModelWeights m = infer::read_model(model);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(c.int_value("step"), 1);
  EXPECT_EQ(m.info.arch, "resnet18");
  EXPECT_TRUE(contains(err, ckpt + " carries no checksums")) << err;
  EXPECT_TRUE(contains(err, model + " carries no checksums")) << err;
  EXPECT_EQ(checkpoint_damage(ckpt), "") << "readable whole: usable for --resume";
  EXPECT_EQ(verify_file(ckpt).state, FileVerdict::State::Unverified);
  // A file from another writer is not csg's: no note.
  ::testing::internal::CaptureStderr();
  bool checksummed = true;
  load_safetensors("data/fixtures/pth/python.safetensors", nullptr, &checksummed);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(checksummed);
  // Written again by this csg, the same content carries checksums.
  infer::export_model(tmp / "new.safetensors", m);
  load_safetensors_metadata(tmp / "new.safetensors", &checksummed);
  EXPECT_TRUE(checksummed);
}

TEST(Integrity, VerifyExitsNonZeroOnTheDamagedFileAndZeroOnTheOthers) {
  csg::testing::TempDir tmp;
  const std::string good = tmp / "model.safetensors", bad = tmp / "model_bad.safetensors";
  infer::export_model(good, infer::read_model(kOldModel));
  csg::testing::write_with_flipped_byte(good, bad, middle_of_data(good));
  const std::vector<std::string> intact = {good, kOldCheckpoint, "data/fixtures/pth/plain.pth",
                                           "data/fixtures/pth/legacy.pth"};
  std::vector<std::string> args = {"verify"};
  args.insert(args.end(), intact.begin(), intact.end());
  csg::testing::CliResult ok = run_cli_captured(args);
  EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
  EXPECT_TRUE(contains(ok.out, good + ": ok, csg model file")) << ok.out;
  EXPECT_TRUE(contains(ok.out, kOldCheckpoint + ": unverified, csg checkpoint (step 1)")) << ok.out;
  EXPECT_TRUE(contains(ok.out, "plain.pth: ok, PyTorch .pth (zip)")) << ok.out;
  for (const std::vector<std::string>& cmd : {std::vector<std::string>{"verify", bad},
                                              std::vector<std::string>{"verify", good, bad, kOldCheckpoint},
                                              std::vector<std::string>{"verify", good, tmp.str()},
                                              std::vector<std::string>{"verify", tmp / "missing.ckpt"}}) {
    csg::testing::CliResult r = run_cli_captured(cmd);
    EXPECT_EQ(r.status, 1) << cmd.back() << r.out;
  }
  csg::testing::CliResult damaged = run_cli_captured({"verify", good, bad});
  EXPECT_TRUE(contains(damaged.out, bad + ": DAMAGED")) << damaged.out;
  EXPECT_TRUE(contains(damaged.out, "fails its CRC-32C check")) << damaged.out;
  EXPECT_TRUE(contains(damaged.out, "1 intact")) << damaged.out;
}

TEST(Integrity, ResumeLatestSkipsADamagedNewestCheckpointNamingIt) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data"), out = tmp / "run";
  data::write_tiny_visda(data, 3, 16, 4);
  csg::testing::CliResult first = run_cli_captured(tiny_run(data, out, {"--max-steps", "3"}));
  ASSERT_EQ(first.status, 0) << first.err;
  const std::string newest = out + "/csg-3.ckpt", before = out + "/csg-2.ckpt";
  ASSERT_TRUE(fs::exists(newest) && fs::exists(before));
  const std::string saved = tmp / "csg-3.saved";
  fs::copy_file(newest, saved);
  csg::testing::write_with_flipped_byte(saved, newest, middle_of_data(saved));

  csg::testing::CliResult r =
      run_cli_captured(tiny_run(data, out, {"--max-steps", "4", "--resume", "latest", "--allow-change", "max-steps"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "warning: --resume skips " + newest + ": " + newest + ": tensor '")) << r.err;
  EXPECT_TRUE(contains(r.err, "resumed from " + before + " at step 2")) << r.err;
  EXPECT_TRUE(contains(r.out, "trained 4 steps")) << r.out;
  EXPECT_EQ(checkpoint_damage(newest), "") << "the resumed run wrote step 3 again, whole";

  // A damaged header is skipped the same way; with every checkpoint damaged, nothing is resumed.
  for (const std::string& f : {out + "/csg-4.ckpt", newest, before, out + "/csg-1.ckpt"})
    csg::testing::write_with_flipped_byte(f, f, 20);
  csg::testing::CliResult none =
      run_cli_captured(tiny_run(data, out, {"--max-steps", "5", "--resume", "latest", "--allow-change", "max-steps"}));
  EXPECT_EQ(none.status, 1);
  EXPECT_TRUE(contains(none.err, "no intact checkpoint in " + out)) << none.err;
  EXPECT_TRUE(contains(none.err, "skips " + out + "/csg-4.ckpt")) << none.err;
}

TEST(Integrity, EvalExportPredictAndTheCApiRefuseADamagedFile) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data"), out = tmp / "run";
  data::write_tiny_visda(data, 4, 16, 4);
  ASSERT_EQ(run_cli_captured(tiny_run(data, out, {"--max-steps", "1"})).status, 0);
  const std::string good = out + "/csg-1.ckpt", bad = tmp / "damaged.ckpt";
  csg::testing::write_with_flipped_byte(good, bad, middle_of_data(good));
  const std::string first_image = data + "/validation/" + [&] {
    std::ifstream list(data + "/validation/image_list.txt");
    std::string path;
    list >> path;
    return path;
  }();
  const std::vector<std::vector<std::string>> commands = {
      {"eval", "visda", "--data", data, "--checkpoint", bad, "--quiet", "--workers", "0"},
      {"export", "--checkpoint", bad, "--out", tmp / "model.safetensors"},
      {"predict", "--model", bad, "--quiet", first_image},
      tiny_run(data, tmp / "resumed", {"--max-steps", "2", "--resume", bad, "--allow-change", "max-steps"}),
  };
  for (const std::vector<std::string>& cmd : commands) {
    csg::testing::CliResult r = run_cli_captured(cmd);
    EXPECT_EQ(r.status, 1) << cmd[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, bad + ": tensor '")) << cmd[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "fails its CRC-32C check")) << cmd[0] << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(tmp / "model.safetensors"));
  csg_model* m = nullptr;
  EXPECT_EQ(csg_model_open(bad.c_str(), nullptr, &m), CSG_ERR_MODEL);
  EXPECT_EQ(m, nullptr);
  EXPECT_TRUE(contains(csg_last_error(), bad + ": tensor '")) << csg_last_error();
  EXPECT_EQ(csg_export(bad.c_str(), nullptr, (tmp / "c.safetensors").c_str()), CSG_ERR_MODEL);
  // The intact file passes each of them.
  EXPECT_EQ(run_cli_captured({"predict", "--model", good, "--quiet", first_image}).status, 0);
  ASSERT_EQ(csg_model_open(good.c_str(), nullptr, &m), CSG_OK) << csg_last_error();
  csg_model_free(m);
}

TEST(Integrity, ACheckpointFromBeforeChecksumsStillResumes) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny"), out = tmp.subdir("run");
  data::write_tiny_visda(data, 0);  // `csg make-tiny visda`, with which the fixture was trained
  fs::copy_file(kOldCheckpoint, out + "/csg-1.ckpt");
  // The fixture's settings (its config.* metadata): resnet18 width 2, 16 px, batch 4, queue 8.
  csg::testing::CliResult r = run_cli_captured(
      {"train", "visda", "--data", data, "--out", out, "--resume", "latest", "--weights", "none", "--arch", "resnet18",
       "--width", "2",
       "--image-size", "16", "--batch-size", "4", "--queue-size", "8", "--embed-dim", "4", "--layers", "4",
       "--max-steps", "2", "--allow-change", "max-steps", "--checkpoint-every", "1", "--no-eval", "--quiet",
       "--workers", "0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "carries no checksums")) << r.err;
  EXPECT_TRUE(contains(r.err, "resumed from " + out + "/csg-1.ckpt at step 1")) << r.err;
  EXPECT_EQ(verify_file(out + "/csg-2.ckpt").state, FileVerdict::State::Intact);
}

TEST(Integrity, ADamagedBestCheckpointIsReportedAndTheResumeGoesOn) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("data"), out = tmp / "run";
  data::write_tiny_visda(data, 5, 16, 8);
  std::vector<std::string> first = tiny_run(data, out, {"--max-steps", "2", "--eval-every", "1"});
  first.erase(std::find(first.begin(), first.end(), "--no-eval"));
  ASSERT_EQ(run_cli_captured(first).status, 0);
  ASSERT_TRUE(fs::exists(out + "/best.ckpt"));
  csg::testing::write_with_flipped_byte(out + "/best.ckpt", out + "/best.ckpt", 20);
  std::vector<std::string> again =
      tiny_run(data, out, {"--max-steps", "4", "--eval-every", "1", "--resume", "latest", "--allow-change", "max-steps"});
  again.erase(std::find(again.begin(), again.end(), "--no-eval"));
  const csg::testing::CliResult r = run_cli_captured(again);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "warning: " + out + "/best.ckpt: the header")) << r.err;
  EXPECT_TRUE(contains(r.err, "its best-so-far record is not used")) << r.err;
}
