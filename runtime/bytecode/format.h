#pragma once

// The bundle file format (.wfb). All integers are little-endian.
//
//   offset  size  field
//   0       4     magic "WAFB"
//   4       2     format major (a reader refuses a newer major)
//   6       2     format minor (older readers ignore what a newer minor adds)
//   8       4     byte order mark 0x0A0B0C0D (reads as 0x0D0C0B0A on the wrong endianness)
//   12      4     check bytes "\r\n\x1a\n" (catch text-mode transfers)
//   16      4     section count N
//   20      4     total size of the file in bytes
//   24      16*N  section table: {id u32, offset u32, size u32, crc32 u32}
//   ...           sections, in table order, each at its offset
//
// Sections (see docs/bytecode.md for each one's layout):
//   1 strings    every string (UTF-8), by id
//   2 numbers    number constants (IEEE 754 binary64)
//   3 code       the instructions of every flow
//   4 flows      the flow table
//   5 triggers   the trigger table
//   6 steps      step ids, kinds and entry pcs
//   7 lines      localisable strings: stable line id -> string id
//   8 debug      pc -> source file, line, column
//   9 meta       compiler version, source files and their SHA-256

#include <cstdint>

namespace waflow::bytecode {

inline constexpr char kMagic[4] = {'W', 'A', 'F', 'B'};
inline constexpr std::uint16_t kFormatMajor = 1;
inline constexpr std::uint16_t kFormatMinor = 0;
inline constexpr std::uint32_t kByteOrderMark = 0x0A0B0C0DU;
inline constexpr char kCheckBytes[4] = {'\r', '\n', '\x1a', '\n'};
inline constexpr std::uint32_t kHeaderSize = 24;
inline constexpr std::uint32_t kSectionEntrySize = 16;
// Bundles larger than this are refused before parsing.
inline constexpr std::uint32_t kMaxBundleSize = 256U * 1024U * 1024U;

enum class SectionId : std::uint32_t {
  Strings = 1,
  Numbers = 2,
  Code = 3,
  Flows = 4,
  Triggers = 5,
  Steps = 6,
  Lines = 7,
  Debug = 8,
  Meta = 9,
};

inline constexpr std::uint32_t kSectionCount = 9;

}  // namespace waflow::bytecode
