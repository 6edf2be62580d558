// The file index of one split of an image folder (torchvision's ImageFolder layout:
// <split>/<class>/**/<file>.{jpg,jpeg,png}): the class names, sorted by their bytes as
// Python's sorted() orders them, and per file its path under the split, label and pixel
// size from its header. Built once per run, in parallel; compact (the names share one
// buffer: about 30 bytes plus the name per file).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::data {

struct ImageIndex {
  std::filesystem::path root;           // the split's directory
  std::vector<std::string> classes;     // label -> class folder name
  std::string names;                    // every file's path under root, '\0'-terminated, in order
  std::vector<uint64_t> name_at;        // [files] offset of the file's name in `names`
  std::vector<uint64_t> bytes;          // [files] file size
  std::vector<int32_t> label;           // [files]
  std::vector<uint16_t> width, height;  // [files] pixels, from the header (at most 2^15)
  std::vector<std::string> skipped;     // "path: why", files left out with on_bad_image = "skip"

  int64_t size() const { return int64_t(label.size()); }
  const char* name(int64_t i) const { return names.c_str() + name_at[size_t(i)]; }
  std::filesystem::path path(int64_t i) const { return root / name(i); }
  // SHA-256 (hex) of the classes, names, labels and byte sizes: what a run's manifest records.
  std::string fingerprint() const;
  // Bytes the index holds, for the docs' per-file figure.
  size_t memory_bytes() const;
};

struct IndexOptions {
  int threads = 1;                  // parallel listing and header reads
  bool skip_bad = false;            // data.on_bad_image = "skip": leave bad files out, listed
  std::vector<std::string> expect;  // the train split's classes, which a val split must have
  std::string what = "images";      // "train images", for the progress line
};

// Indexes `dir`. Error::usage (exit 2) naming the folder or file for: a missing folder, no
// class folders, a class folder without images, a val class set unlike `expect`, and (unless
// skip_bad) a file whose header is not a JPEG or PNG of at least 1x1 pixels.
ImageIndex index_images(const std::filesystem::path& dir, const IndexOptions& opts);

// True for .jpg, .jpeg and .png, in any case.
bool is_image_name(const std::filesystem::path& p);

}  // namespace kiln::data
