#include "src/io/zip_reader.h"

#include <algorithm>
#include <cstdio>

#include "csg/error.h"
#include "src/io/crc_slicing.h"

namespace csg::io {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr uint16_t kZip64ExtraId = 0x0001;

const char* method_name(uint16_t m) {
  switch (m) {
    case 8: return "deflate";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "lzma";
    case 93: return "zstd";
    default: return "unknown";
  }
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

// Slicing-by-8 tables: checking the CRC of a 170 MB checkpoint should cost well under a second.
uint32_t crc32(const uint8_t* p, size_t n) {
  static const SlicingCrc32 table(0xEDB88320u);
  return table.update(0xFFFFFFFFu, p, n) ^ 0xFFFFFFFFu;
}

bool ZipReader::has_zip_magic(const uint8_t* head, size_t n) {
  if (n < 4) return false;
  uint32_t sig = load_le32(head);
  return sig == kLocalHeaderSig || sig == kEndSig;
}

ZipReader::ZipReader(const std::string& path) : file_(path) { read_central_directory(); }

void ZipReader::read_central_directory() {
  const std::string& path = file_.path();
  const uint64_t fsize = file_.size();
  // The end record is the last 22 bytes plus an archive comment of up to 64 KiB.
  const size_t tail_len = static_cast<size_t>(std::min<uint64_t>(fsize, kEndSize + 0xFFFF));
  const uint64_t tail_start = fsize - tail_len;
  std::vector<uint8_t> tail = file_.read_vector(tail_start, tail_len, "zip end record");
  size_t end_pos = SIZE_MAX;
  for (size_t i = tail_len >= kEndSize ? tail_len - kEndSize + 1 : 0; i-- > 0;) {
    if (load_le32(&tail[i]) == kEndSig && i + kEndSize + load_le16(&tail[i + 20]) == tail_len) {
      end_pos = i;
      break;
    }
  }
  CSG_CHECK(end_pos != SIZE_MAX, path,
            ": no zip end-of-central-directory record (the file is truncated or is not a zip archive)");
  const uint8_t* e = &tail[end_pos];
  const uint64_t end_offset = tail_start + end_pos;
  uint64_t n_entries = load_le16(e + 10);
  uint64_t cd_size = load_le32(e + 12);
  uint64_t cd_offset = load_le32(e + 16);
  CSG_CHECK(load_le16(e + 4) == 0 && load_le16(e + 6) == 0 && load_le16(e + 8) == load_le16(e + 10), path,
            ": multi-disk zip archives are not supported");

  // ZIP64: a locator right before the end record points at the 64-bit end record, whose
  // counts replace the saturated (0xFFFF / 0xFFFFFFFF) 16/32-bit ones.
  bool have_locator = false;
  if (end_offset >= kZip64LocatorSize) {
    std::vector<uint8_t> loc = file_.read_vector(end_offset - kZip64LocatorSize, kZip64LocatorSize, "zip64 locator");
    if (load_le32(loc.data()) == kZip64LocatorSig) {
      have_locator = true;
      uint64_t z64_offset = load_le64(loc.data() + 8);
      CSG_CHECK(z64_offset <= end_offset && end_offset - z64_offset >= kZip64EndSize, path,
                ": zip64 end record offset ", z64_offset, " is out of range (truncated or corrupt file)");
      std::vector<uint8_t> z = file_.read_vector(z64_offset, kZip64EndSize, "zip64 end record");
      CSG_CHECK(load_le32(z.data()) == kZip64EndSig, path, ": no zip64 end-of-central-directory record at byte ",
                z64_offset, " (corrupt file)");
      CSG_CHECK(load_le32(z.data() + 16) == 0 && load_le32(z.data() + 20) == 0, path,
                ": multi-disk zip archives are not supported");
      n_entries = load_le64(z.data() + 32);
      cd_size = load_le64(z.data() + 40);
      cd_offset = load_le64(z.data() + 48);
    }
  }
  if (!have_locator) {
    CSG_CHECK(n_entries != 0xFFFF && cd_size != 0xFFFFFFFFu && cd_offset != 0xFFFFFFFFu, path,
              ": zip end record needs ZIP64 values but the zip64 locator is missing (corrupt file)");
  }
  CSG_CHECK(cd_offset <= fsize && cd_size <= fsize - cd_offset, path, ": zip central directory [", cd_offset, ", ",
            cd_offset + cd_size, ") lies outside the ", fsize, "-byte file (truncated file)");
  CSG_CHECK(n_entries <= cd_size / kCentralHeaderSize, path, ": zip central directory claims ", n_entries,
            " entries in ", cd_size, " bytes (corrupt file)");

  std::vector<uint8_t> cd = file_.read_vector(cd_offset, static_cast<size_t>(cd_size), "zip central directory");
  size_t pos = 0;
  entries_.reserve(static_cast<size_t>(n_entries));
  for (uint64_t k = 0; k < n_entries; ++k) {
    CSG_CHECK(pos + kCentralHeaderSize <= cd.size() && load_le32(&cd[pos]) == kCentralHeaderSig, path,
              ": bad zip central directory record ", k, " at byte ", cd_offset + pos);
    const uint8_t* h = &cd[pos];
    ZipEntry ent;
    ent.flags = load_le16(h + 8);
    ent.method = load_le16(h + 10);
    ent.crc32 = load_le32(h + 16);
    ent.compressed_size = load_le32(h + 20);
    ent.size = load_le32(h + 24);
    const size_t name_len = load_le16(h + 28), extra_len = load_le16(h + 30), comment_len = load_le16(h + 32);
    const uint16_t disk_start = load_le16(h + 34);
    ent.local_header_offset = load_le32(h + 42);
    CSG_CHECK(pos + kCentralHeaderSize + name_len + extra_len + comment_len <= cd.size(), path,
              ": zip central directory record ", k, " overruns the directory (corrupt file)");
    ent.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);

    // The ZIP64 extra field holds, in this order, only the fields saturated above.
    const uint8_t* x = h + kCentralHeaderSize + name_len;
    for (size_t xp = 0; xp + 4 <= extra_len;) {
      const uint16_t id = load_le16(x + xp), len = load_le16(x + xp + 2);
      CSG_CHECK(xp + 4 + len <= extra_len, path, ": zip entry ", ent.name, ": malformed extra field");
      if (id == kZip64ExtraId) {
        const uint8_t* f = x + xp + 4;
        size_t fp = 0;
        auto next64 = [&](const char* what) {
          CSG_CHECK(fp + 8 <= len, path, ": zip entry ", ent.name, ": zip64 extra field lacks the ", what);
          uint64_t v = load_le64(f + fp);
          fp += 8;
          return v;
        };
        if (ent.size == 0xFFFFFFFFu) ent.size = next64("uncompressed size");
        if (ent.compressed_size == 0xFFFFFFFFu) ent.compressed_size = next64("compressed size");
        if (ent.local_header_offset == 0xFFFFFFFFu) ent.local_header_offset = next64("local header offset");
      }
      xp += 4 + len;
    }
    CSG_CHECK(disk_start == 0 || disk_start == 0xFFFF, path, ": zip entry ", ent.name, " is on another disk");
    CSG_CHECK(ent.size != 0xFFFFFFFFu && ent.compressed_size != 0xFFFFFFFFu &&
                  ent.local_header_offset != 0xFFFFFFFFu,
              path, ": zip entry ", ent.name, " has saturated sizes but no zip64 extra field (corrupt file)");
    CSG_CHECK(ent.local_header_offset < fsize, path, ": zip entry ", ent.name, " starts at byte ",
              ent.local_header_offset, " past the end of the ", fsize, "-byte file (truncated file)");
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;
    CSG_CHECK(index_.emplace(ent.name, entries_.size()).second, path, ": zip entry ", ent.name,
              " appears twice");
    entries_.push_back(std::move(ent));
  }
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

uint64_t ZipReader::payload_offset(const ZipEntry& ent) const {
  uint8_t h[kLocalHeaderSize];
  file_.read_at(ent.local_header_offset, h, sizeof h, "local header of zip entry " + ent.name);
  CSG_CHECK(load_le32(h) == kLocalHeaderSig, path(), ": zip entry ", ent.name, ": no local header at byte ",
            ent.local_header_offset, " (corrupt file)");
  // The local name/extra lengths may differ from the central ones (torch pads the local
  // extra field to align payloads), so the payload starts after the local copies.
  return ent.local_header_offset + kLocalHeaderSize + load_le16(h + 26) + load_le16(h + 28);
}

std::vector<uint8_t> ZipReader::read(const ZipEntry& ent) const {
  CSG_CHECK(!(ent.flags & 0x1), path(), ": zip entry ", ent.name, " is encrypted; encrypted archives are not supported");
  CSG_CHECK(ent.method == 0, path(), ": zip entry ", ent.name, " is compressed (method ", ent.method, ", ",
            method_name(ent.method),
            "); only stored entries are supported, as torch.save writes them. Re-save the checkpoint with "
            "torch.save or repack it without compression (zip -0)");
  CSG_CHECK(ent.compressed_size == ent.size, path(), ": zip entry ", ent.name, " is stored but its sizes differ (",
            ent.compressed_size, " vs ", ent.size, "; corrupt file)");
  const uint64_t start = payload_offset(ent);
  std::vector<uint8_t> data = file_.read_vector(start, static_cast<size_t>(ent.size), "zip entry " + ent.name);
  // A zero CRC on non-empty data is what writers that skip checksums store; accept it.
  if (ent.crc32 != 0 || data.empty()) {
    const uint32_t got = crc32(data.data(), data.size());
    CSG_CHECK(got == ent.crc32, path(), ": zip entry ", ent.name, ": CRC-32 mismatch (stored ", hex32(ent.crc32),
              ", computed ", hex32(got), "); the file is corrupt");
  }
  return data;
}

std::vector<uint8_t> ZipReader::read(const std::string& name) const {
  const ZipEntry* ent = find(name);
  CSG_CHECK(ent != nullptr, path(), ": zip entry ", name, " is missing from the archive");
  return read(*ent);
}

}  // namespace csg::io
