// index_images (see image_index.h): list the class folders, then the files of every class
// in parallel, then read every file's header in parallel.
#include "data/image_index.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "image/decode.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/sha256.h"

namespace kiln::data {
namespace fs = std::filesystem;
namespace {

constexpr size_t kHeadBytes = 64 * 1024;  // enough for a JPEG's SOF behind typical EXIF blocks

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The first kHeadBytes of a file (all of it when `all`).
std::vector<uint8_t> read_head(const fs::path& p, uint64_t bytes, bool all) {
  std::vector<uint8_t> buf;
  util::read_prefix(p, all ? size_t(bytes) : std::min<size_t>(kHeadBytes, size_t(bytes)), buf);
  return buf;
}

struct ClassFiles {
  std::vector<std::string> names;  // relative to the split dir, sorted
  std::vector<uint64_t> bytes;
};

ClassFiles list_class(const fs::path& root, const std::string& cls) {
  std::vector<std::pair<std::string, uint64_t>> files;
  const auto opts = fs::directory_options::follow_directory_symlink;
  for (auto it = fs::recursive_directory_iterator(root / cls, opts); it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file() || !is_image_name(it->path())) continue;
    files.emplace_back(it->path().lexically_relative(root).string(), it->file_size());
  }
  // Python's sorted(os.walk(...)) then sorted(files): by folder, then by name.
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    const fs::path pa(a.first), pb(b.first);
    return pa.parent_path() != pb.parent_path() ? pa.parent_path().string() < pb.parent_path().string()
                                                : pa.filename().string() < pb.filename().string();
  });
  ClassFiles out;
  for (auto& [n, b] : files) {
    out.names.push_back(std::move(n));
    out.bytes.push_back(b);
  }
  return out;
}

std::vector<std::string> class_folders(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error::usage("image folder " + dir.string() + " does not exist or is not a directory",
                       "data.dir must hold train/<class>/* (and val/<class>/* or test/<class>/*)");
  }
  std::vector<std::string> classes;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory()) classes.push_back(e.path().filename().string());
  }
  std::sort(classes.begin(), classes.end());
  if (classes.empty()) {
    throw Error::usage("image folder " + dir.string() + " has no class folders",
                       "put each class's images in a folder of its own: " + dir.string() + "/<class>/<image>.jpg");
  }
  return classes;
}

void check_classes(const fs::path& dir, const std::vector<std::string>& have, const std::vector<std::string>& want) {
  if (want.empty() || have == want) return;
  for (const auto& c : want) {
    if (!std::binary_search(have.begin(), have.end(), c)) {
      throw Error::usage("image folder " + dir.string() + " has no class folder '" + c + "', which the train split has",
                         "every class needs images in both splits");
    }
  }
  for (const auto& c : have) {
    if (!std::binary_search(want.begin(), want.end(), c)) {
      throw Error::usage("image folder " + dir.string() + " has a class folder '" + c + "' that the train split lacks",
                         "every class needs images in both splits");
    }
  }
}

}  // namespace

bool is_image_name(const fs::path& p) {
  const std::string e = lower(p.extension().string());
  return e == ".jpg" || e == ".jpeg" || e == ".png";
}

ImageIndex index_images(const fs::path& dir, const IndexOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  ImageIndex ix;
  ix.root = dir;
  ix.classes = class_folders(dir);
  check_classes(dir, ix.classes, opts.expect);

  std::vector<ClassFiles> per_class(ix.classes.size());
  util::parallel_for(int64_t(per_class.size()), opts.threads,
                     [&](int64_t c) { per_class[size_t(c)] = list_class(dir, ix.classes[size_t(c)]); });
  std::vector<std::string> names;
  for (size_t c = 0; c < per_class.size(); ++c) {
    if (per_class[c].names.empty()) {
      throw Error::usage("class folder " + (dir / ix.classes[c]).string() + " holds no .jpg, .jpeg or .png file",
                         "add its images, or remove the folder");
    }
    for (size_t i = 0; i < per_class[c].names.size(); ++i) {
      names.push_back(std::move(per_class[c].names[i]));
      ix.bytes.push_back(per_class[c].bytes[i]);
      ix.label.push_back(int32_t(c));
    }
    per_class[c] = {};
  }
  log::info("indexing " + opts.what + " in " + dir.string() + ": " + std::to_string(names.size()) + " files, " +
            std::to_string(ix.classes.size()) + " classes");

  // Headers, in parallel; a progress line every few seconds on large folders.
  const size_t n = names.size();
  ix.width.assign(n, 0);
  ix.height.assign(n, 0);
  std::vector<std::string> bad(n);
  std::atomic<int64_t> checked{0};
  std::atomic<bool> finished{false};
  std::thread progress([&] {
    auto last = std::chrono::steady_clock::now();
    while (!finished) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (std::chrono::steady_clock::now() - last < std::chrono::seconds(5)) continue;
      last = std::chrono::steady_clock::now();
      log::info("indexing " + opts.what + ": " + std::to_string(checked.load()) + " / " + std::to_string(n) +
                " headers");
    }
  });
  try {
    util::parallel_for(
        int64_t(n), opts.threads,
        [&](int64_t i) {
          thread_local image::Decoder decoder;
          const fs::path p = dir / names[size_t(i)];
          try {
            std::vector<uint8_t> head = read_head(p, ix.bytes[size_t(i)], false);
            image::Header h;
            try {
              h = decoder.header(head.data(), head.size(), p.string());
            } catch (const Error&) {
              if (head.size() >= ix.bytes[size_t(i)]) throw;
              head = read_head(p, ix.bytes[size_t(i)], true);  // a header further in than kHeadBytes
              h = decoder.header(head.data(), head.size(), p.string());
            }
            ix.width[size_t(i)] = uint16_t(h.width);
            ix.height[size_t(i)] = uint16_t(h.height);
          } catch (const Error& e) {
            if (!opts.skip_bad) throw;
            bad[size_t(i)] = names[size_t(i)] + ": " + e.what();
          }
        },
        &checked);
  } catch (...) {
    finished = true;
    progress.join();
    throw;
  }
  finished = true;
  progress.join();

  // The kept files' names into one buffer.
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!bad[i].empty()) {
      ix.skipped.push_back(std::move(bad[i]));
      continue;
    }
    ix.name_at.push_back(ix.names.size());
    ix.names += names[i];
    ix.names.push_back('\0');
    ix.bytes[kept] = ix.bytes[i];
    ix.label[kept] = ix.label[i];
    ix.width[kept] = ix.width[i];
    ix.height[kept] = ix.height[i];
    ++kept;
  }
  ix.width.resize(kept);
  ix.height.resize(kept);
  ix.bytes.resize(kept);
  ix.label.resize(kept);
  ix.names.shrink_to_fit();
  std::vector<bool> has(ix.classes.size(), false);
  for (int32_t l : ix.label) has[size_t(l)] = true;
  for (size_t c = 0; c < has.size(); ++c) {
    if (!has[c]) {
      throw Error::usage("class folder " + (dir / ix.classes[c]).string() +
                         " has no readable image left after skipping bad files");
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char when[32];
  std::snprintf(when, sizeof when, "%.1f s", secs);
  log::info("indexed " + opts.what + ": " + std::to_string(kept) + " images in " + std::to_string(ix.classes.size()) +
            " classes in " + when +
            (ix.skipped.empty() ? "" : ", " + std::to_string(ix.skipped.size()) + " bad files skipped"));
  return ix;
}

std::string ImageIndex::fingerprint() const {
  util::Sha256 h;
  for (const auto& c : classes) h.update(c + '\n');
  h.update(names);
  for (size_t i = 0; i < bytes.size(); ++i) h.update(std::to_string(label[i]) + ":" + std::to_string(bytes[i]) + "\n");
  return h.hex_digest();
}

size_t ImageIndex::memory_bytes() const {
  return names.capacity() + name_at.capacity() * sizeof(uint64_t) + bytes.capacity() * sizeof(uint64_t) +
         label.capacity() * sizeof(int32_t) + (width.capacity() + height.capacity()) * sizeof(uint16_t);
}

}  // namespace kiln::data
