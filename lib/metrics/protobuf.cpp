#include "metrics/protobuf.h"

#include <cstring>

namespace kiln::metrics::proto {

void Writer::raw_varint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out_.push_back(char(uint8_t(v)));
}

void Writer::key(int field, int wire_type) { raw_varint((uint64_t(field) << 3) | uint64_t(wire_type)); }

void Writer::varint(int field, uint64_t v) {
  key(field, 0);
  raw_varint(v);
}

void Writer::fixed64_double(int field, double v) {
  key(field, 1);
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  for (int i = 0; i < 8; ++i) out_.push_back(char(uint8_t(bits >> (8 * i))));  // little-endian
}

void Writer::fixed32_float(int field, float v) {
  key(field, 5);
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  for (int i = 0; i < 4; ++i) out_.push_back(char(uint8_t(bits >> (8 * i))));
}

void Writer::bytes(int field, std::string_view v) {
  key(field, 2);
  raw_varint(v.size());
  out_.append(v);
}

}  // namespace kiln::metrics::proto
