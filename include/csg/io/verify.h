// csg/io/verify.h — checking a model file or checkpoint byte for byte, without building a network:
// what `csg verify` runs on each file.
#pragma once
#include <string>
#include <vector>

namespace csg {

struct FileVerdict {
  enum class State {
    Intact,      // every checksum the file carries matches
    Unverified,  // readable whole, but it carries no checksums (other writers, csg before them)
    Damaged,     // a checksum differs: `damage` names each part that fails
    Unreadable,  // missing, a directory, truncated, not a model file: `damage` holds the error
  };
  State state = State::Damaged;
  std::string kind;                  // "csg checkpoint (step 600)", "PyTorch .pth (zip)", ...
  std::string summary;               // "201 tensors, 97.8 MB"
  std::vector<std::string> damage;   // each failed check, naming the file and the part
};

// Reads every byte of `path` and checks it: a safetensors file (csg checkpoint, csg model file,
// any state dict) against its CRC-32C entries (csg/io/safetensors.h); a zip .pth against the
// CRC-32 of each entry; a legacy .pth has no checksums. Never throws for the file's content:
// a missing, truncated or foreign file is Unreadable, with the reason.
FileVerdict verify_file(const std::string& path);

const char* verdict_name(FileVerdict::State s);  // "ok", "unverified", "DAMAGED", "UNREADABLE"

}  // namespace csg
