#pragma once

// A small PNG reader for the HTML report's screenshot test: decodes 8-bit RGB/RGBA
// non-interlaced PNGs (what Chromium's --screenshot writes) with zlib and counts colours.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <zlib.h>

namespace harness::report::testing {

struct PngStats {
  std::uint32_t width = 0, height = 0;
  std::size_t colours = 0;     // distinct RGB values
  double non_background = 0.0; // share of pixels that differ from the top-left one
};

inline std::uint32_t be32(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

// PNG spec section 9 (filter types 0-4, Paeth predictor).
inline void unfilter(std::vector<std::uint8_t>& raw, std::uint32_t h, std::size_t stride,
                     std::size_t bpp) {
  std::vector<std::uint8_t> prev(stride, 0);
  for (std::uint32_t y = 0; y < h; ++y) {
    std::uint8_t* row = raw.data() + y * (stride + 1);
    const std::uint8_t type = row[0];
    std::uint8_t* px = row + 1;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? px[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      int pred = 0;
      if (type == 1)
        pred = a;
      else if (type == 2)
        pred = b;
      else if (type == 3)
        pred = (a + b) / 2;
      else if (type == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[i] = static_cast<std::uint8_t>(px[i] + pred);
    }
    prev.assign(px, px + stride);
  }
}

inline std::optional<PngStats> png_stats(const std::string& png) {
  if (png.size() < 33 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0)
    return std::nullopt;
  PngStats st;
  std::string idat;
  int colour_type = -1;
  for (std::size_t at = 8; at + 8 <= png.size();) {
    const std::uint32_t len = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    if (type == "IHDR") {
      st.width = be32(png, at + 8);
      st.height = be32(png, at + 12);
      if (png[at + 16] != 8 || png[at + 20] != 0) // 8 bits per channel, not interlaced
        return std::nullopt;
      colour_type = png[at + 17];
    } else if (type == "IDAT")
      idat += png.substr(at + 8, len);
    at += 12 + len;
  }
  const std::size_t bpp = colour_type == 6 ? 4 : colour_type == 2 ? 3 : 0;
  if (bpp == 0 || st.width == 0 || st.height == 0)
    return std::nullopt;
  const std::size_t stride = st.width * bpp;
  std::vector<std::uint8_t> raw((stride + 1) * st.height);
  uLongf n = raw.size();
  if (uncompress(raw.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
          Z_OK ||
      n != raw.size())
    return std::nullopt;
  unfilter(raw, st.height, stride, bpp);
  std::set<std::uint32_t> colours;
  std::uint64_t differ = 0;
  std::uint32_t background = 0;
  for (std::uint32_t y = 0; y < st.height; ++y)
    for (std::uint32_t x = 0; x < st.width; ++x) {
      const std::uint8_t* p = raw.data() + y * (stride + 1) + 1 + x * bpp;
      const std::uint32_t rgb = static_cast<std::uint32_t>(p[0]) << 16 | p[1] << 8 | p[2];
      if (x == 0 && y == 0)
        background = rgb;
      colours.insert(rgb);
      differ += rgb != background;
    }
  st.colours = colours.size();
  st.non_background = static_cast<double>(differ) / (static_cast<double>(st.width) * st.height);
  return st;
}

} // namespace harness::report::testing
