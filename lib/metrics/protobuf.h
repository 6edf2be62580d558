// A protocol-buffers wire-format writer, just enough for TensorBoard's Event and Summary
// messages (tensorboard/compat/proto/*.proto): varints, 64- and 32-bit fixed fields and
// length-delimited fields (strings, bytes, nested messages). Fields are written in the
// order the caller calls, which any protobuf parser accepts.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::metrics::proto {

class Writer {
 public:
  void varint(int field, uint64_t v);                               // wire type 0: int32/int64/uint64/bool/enum
  void int64(int field, int64_t v) { varint(field, uint64_t(v)); }  // two's complement, as protobuf does
  void fixed64_double(int field, double v);                         // wire type 1
  void fixed32_float(int field, float v);                           // wire type 5
  void bytes(int field, std::string_view v);                        // wire type 2: string, bytes, a nested message
  void message(int field, const Writer& m) { bytes(field, m.str()); }

  const std::string& str() const { return out_; }

 private:
  void key(int field, int wire_type);
  void raw_varint(uint64_t v);
  std::string out_;
};

}  // namespace kiln::metrics::proto
