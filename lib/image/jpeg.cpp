// Region decoding through the libjpeg API; see jpeg.h.
#include "image/jpeg.h"

// jpeglib.h needs size_t and FILE declared before it.
#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>

namespace kiln::image {
namespace {

// Columns decoded beyond the region on each side: the "fancy" 4:2:0 and 4:2:2 upsampling
// treats a cropped row's edges as the image's, so the output pixels of its outermost chroma
// sample may differ from a full decode (libjpeg.txt, "Partial image decompression"). One
// chroma sample is 2 pixels wide; with no margin, tests/image_decode_test.cpp's region check
// fails, with 1 it passes, 2 covers the whole sample.
constexpr int kColumnMargin = 2;

struct ErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char text[JMSG_LENGTH_MAX];
};

[[noreturn]] void fail(j_common_ptr c) {
  auto* e = reinterpret_cast<ErrorManager*>(c->err);
  c->err->format_message(c, e->text);
  std::longjmp(e->jump, 1);
}

// Warnings (level -1: corrupt data, a truncated file padded with gray) stop the decode, so a
// damaged file never trains silently; trace messages (level >= 0) are dropped.
void message(j_common_ptr c, int level) {
  if (level < 0) fail(c);
}

// Whether an end-of-image marker (FF D9) follows `from`. Entropy-coded data cannot hold one
// (an FF there is followed by 00 or a restart marker), so a file cut short has none after
// its first scan, while bytes after the marker are allowed, as libjpeg and PIL allow them.
// The rows below a region are never decoded, so this is what sees a truncated file.
bool has_end_marker(const uint8_t* from, const uint8_t* end) {
  for (const uint8_t* p = end - 1; p > from; --p) {
    if (p[0] == 0xd9 && p[-1] == 0xff) return true;
  }
  return false;
}

}  // namespace

struct JpegReader::State {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  std::vector<JSAMPROW> rows;
};

JpegReader::JpegReader() : s_(std::make_unique<State>()) {
  std::memset(&s_->cinfo, 0, sizeof(s_->cinfo));
  s_->cinfo.err = jpeg_std_error(&s_->err.pub);
  s_->err.pub.error_exit = fail;
  s_->err.pub.emit_message = message;
  jpeg_create_decompress(&s_->cinfo);  // allocates only its own memory pool: cannot fail here
}

JpegReader::~JpegReader() { jpeg_destroy_decompress(&s_->cinfo); }

std::string JpegReader::read(const uint8_t* data, size_t size, int channels, Scale scale, Rect region, Pixels& out) {
  jpeg_decompress_struct& c = s_->cinfo;
  // libjpeg reports errors by longjmp: nothing below may own memory or need destructors
  // between here and the decode's end (out's vector is resized before any jump can follow).
  if (setjmp(s_->err.jump)) {
    jpeg_abort_decompress(&c);
    return std::string("JPEG: ") + s_->err.text;
  }
  jpeg_mem_src(&c, data, static_cast<unsigned long>(size));
  jpeg_read_header(&c, TRUE);
  if (c.image_width > unsigned(kMaxSide) || c.image_height > unsigned(kMaxSide)) {
    jpeg_abort_decompress(&c);
    return "JPEG: " + std::to_string(c.image_width) + "x" + std::to_string(c.image_height) + " pixels is over the " +
           std::to_string(kMaxSide) + " a side accepted";
  }
  if (!has_end_marker(c.src->next_input_byte, data + size)) {
    jpeg_abort_decompress(&c);
    return "JPEG: the file ends before its end-of-image marker (truncated?)";
  }
  c.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  c.scale_num = unsigned(scale.num);
  c.scale_denom = unsigned(scale.denom);
  jpeg_start_decompress(&c);
  const int width = int(c.output_width), height = int(c.output_height);
  if (region.width <= 0 || region.height <= 0) region = {0, 0, width, height};
  const int y0 = std::max(0, region.y), y1 = std::min(height, region.y + region.height);
  JDIMENSION x = JDIMENSION(std::max(0, region.x - kColumnMargin));
  JDIMENSION w = JDIMENSION(std::min(width, region.x + region.width + kColumnMargin)) - x;
  if (int(w) < width) jpeg_crop_scanline(&c, &x, &w);  // moves x left to an iMCU edge
  out.full_width = width;
  out.full_height = height;
  out.x = int(x);
  out.y = y0;
  out.width = int(w);
  out.height = y1 - y0;
  out.channels = channels;
  out.data.resize(size_t(out.width) * size_t(out.height) * size_t(channels));
  s_->rows.resize(size_t(out.height));
  for (int r = 0; r < out.height; ++r) s_->rows[size_t(r)] = out.data.data() + size_t(r) * out.width * channels;
  if (y0 > 0) jpeg_skip_scanlines(&c, JDIMENSION(y0));
  while (int(c.output_scanline) < y1) {
    const int r = int(c.output_scanline) - y0;
    jpeg_read_scanlines(&c, s_->rows.data() + r, JDIMENSION(y1 - int(c.output_scanline)));
  }
  if (int(c.output_scanline) == height) {
    jpeg_finish_decompress(&c);  // reads to the end-of-image marker (its warnings count)
  } else {
    jpeg_abort_decompress(&c);
  }
  return "";
}

}  // namespace kiln::image
