// CRC-32C (Castagnoli, the polynomial of iSCSI and of TFRecord files) and TFRecord's masked
// form. Table-driven, one byte at a time: event files are kilobytes per step, so the
// hardware instruction would buy nothing measurable.
#pragma once
#include <cstdint>
#include <string_view>

namespace kiln::util {

// CRC-32C of `bytes` (reflected polynomial 0x82F63B78, initial and final xor ~0):
// crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view bytes);

// TFRecord's mask: rotate right by 15, add 0xa282ead8 (so a CRC of data that itself holds
// CRCs stays well distributed).
uint32_t masked_crc32c(std::string_view bytes);

}  // namespace kiln::util
