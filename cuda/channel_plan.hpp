// cuda/channel_plan.hpp — how the PReLU kernels split a [outer][channels][inner] tensor into
// blocks. The split depends on the shape only (not on the GPU, the stream or the data type), so
// the workspace size is a function of the shape, and dalpha's summation order — hence its
// bits — is the same on every run and every device. Plain C++: the host layer sizes the
// workspace with it.
//
// Two layouts:
//   rows     inner > kTileEntries (NCHW with large feature maps, one shared slope): each row
//            (o, c) is `inner` contiguous elements with one slope; a block takes one segment of
//            up to kSegment elements of one row and reduces its dalpha share to one partial.
//   columns  inner <= kTileEntries (NHWC, small feature maps): the [outer][channels*inner]
//            matrix is cut into tiles of whole channels (tile_cols columns) by tile_rows rows;
//            a thread owns a group of columns in one of `lanes` row lanes and sums down its
//            rows, and the block adds the lanes and the columns of each channel: one partial
//            per channel per row tile.
// The partials land in workspace[k * channels + c]; a second kernel adds the `partials` of
// each channel in a fixed order.
#pragma once

#include <algorithm>
#include <cstddef>

#include "actlayer/activation.hpp"
#include "actlayer/detail/elementwise_plan.hpp"

#if defined(__CUDACC__)
#define ACTLAYER_PLAN_HD __host__ __device__ __forceinline__
#else
#define ACTLAYER_PLAN_HD inline
#endif

namespace actlayer::cuda_impl {

constexpr std::size_t kChannelThreads = detail::kThreads;  // the one block size
constexpr std::size_t kTileEntries = 2048;   // doubles of shared memory per column tile (16 KB)
constexpr std::size_t kSegment = 16384;      // elements per block in the rows layout
constexpr std::size_t kGranule = 8;          // consecutive elements a thread owns at a time
constexpr std::size_t kTargetBlocks = 4096;  // enough blocks to fill any current GPU a few times
constexpr std::size_t kMinTileElements =
    64;  // elements per partial sum, at least (bounds the workspace)

struct ChannelPlan {
  enum class Layout { rows, columns };
  Layout layout = Layout::rows;
  std::size_t outer = 0, channels = 0, inner = 0, n = 0;
  // rows
  std::size_t segment = 0;   // elements per block
  std::size_t segments = 0;  // blocks per row
  // columns
  std::size_t tile_channels = 0;  // channels per column tile
  std::size_t tile_cols = 0;      // = tile_channels * inner
  std::size_t col_tiles = 0;
  std::size_t group = 1;  // columns a thread owns (kGranule, or 1 when tiles don't divide)
  std::size_t lanes = 1;  // row lanes per tile
  std::size_t tile_rows = 0;
  std::size_t row_tiles = 0;
  // both
  std::size_t partials = 0;  // partial sums per channel
  std::size_t blocks = 0;

  std::size_t workspace_bytes() const { return partials * channels * sizeof(double); }
};

inline std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

/// The plan for a valid shape (channels >= 1, no overflow).
inline ChannelPlan make_channel_plan(const PReluShape& s) {
  ChannelPlan p;
  p.outer = s.outer;
  p.channels = s.channels;
  p.inner = s.inner;
  p.n = s.outer * s.channels * s.inner;
  if (p.n == 0) return p;  // nothing to read: dalpha is just blended with 0
  if (s.inner > kTileEntries) {
    p.layout = ChannelPlan::Layout::rows;
    // Equal segments of whole granules: inner = 16385 gives two of 8200, not 16384 and 1.
    p.segments = ceil_div(s.inner, kSegment);
    p.segment = std::min(s.inner, ceil_div(ceil_div(s.inner, p.segments), kGranule) * kGranule);
    p.partials = s.outer * p.segments;
    p.blocks = s.outer * s.channels * p.segments;
    return p;
  }
  p.layout = ChannelPlan::Layout::columns;
  const std::size_t fit = kTileEntries / s.inner;  // >= 1
  if (s.channels <= fit) {
    p.tile_channels = s.channels;
  } else {
    // Prefer tiles whose width is a whole number of granules, so threads own 8 columns.
    p.tile_channels = fit;
    while (p.tile_channels > 1 && (p.tile_channels * s.inner) % kGranule != 0) --p.tile_channels;
    if ((p.tile_channels * s.inner) % kGranule != 0) p.tile_channels = fit;
  }
  p.tile_cols = p.tile_channels * s.inner;
  p.col_tiles = ceil_div(s.channels, p.tile_channels);
  p.group = p.tile_cols % kGranule == 0 ? kGranule : 1;
  p.lanes = std::max<std::size_t>(1, kTileEntries / p.tile_cols);
  // Row tiles: enough blocks to fill the GPU, each with a few thousand elements at least, and
  // no more than n / (channels * kMinTileElements), which keeps the workspace (row_tiles *
  // channels doubles) below n / kMinTileElements doubles: an eighth of a float tensor's bytes
  // at most.
  const std::size_t by_target = ceil_div(kTargetBlocks, p.col_tiles);
  const std::size_t by_work = std::max<std::size_t>(1, s.outer * p.tile_cols / 4096);
  const std::size_t by_rows = std::max<std::size_t>(1, s.outer * s.inner / kMinTileElements);
  const std::size_t wanted = std::min({by_target, by_work, by_rows});
  p.tile_rows = ceil_div(s.outer, wanted);
  p.row_tiles = ceil_div(s.outer, p.tile_rows);
  p.partials = p.row_tiles;
  p.blocks = p.row_tiles * p.col_tiles;
  return p;
}

// ---- Where each block works (shared by the kernels and the CPU tests of the plan) ----------

ACTLAYER_PLAN_HD std::size_t min_size(std::size_t a, std::size_t b) { return a < b ? a : b; }

/// Rows layout, block b: elements [begin, end) of row `row`, all with slope `channel`; its
/// dalpha share goes to workspace[partial].
struct RowSegment {
  std::size_t channel, begin, end, partial;
};

ACTLAYER_PLAN_HD RowSegment row_segment(const ChannelPlan& p, std::size_t b) {
  const std::size_t row = b / p.segments, seg = b % p.segments;
  RowSegment r;
  r.channel = row % p.channels;
  r.begin = row * p.inner + seg * p.segment;
  r.end = min_size(r.begin + p.segment, (row + 1) * p.inner);
  r.partial = ((row / p.channels) * p.segments + seg) * p.channels + r.channel;
  return r;
}

/// Columns layout, block b: rows [o0, o1) by columns [j0, j0 + width) of the
/// [outer][channels*inner] matrix, which are the whole channels [c0, c0 + channels). Its
/// threads own `group` consecutive columns each in one of plan.lanes row lanes:
/// `groups` * plan.lanes work items. Channel c0 + lc's dalpha share goes to
/// workspace[partial_base + lc].
struct ColumnTile {
  std::size_t c0, channels, width, group, groups, j0, o0, o1, partial_base;
};

ACTLAYER_PLAN_HD ColumnTile column_tile(const ChannelPlan& p, std::size_t b) {
  const std::size_t rt = b / p.col_tiles, ct = b % p.col_tiles;
  ColumnTile t;
  t.c0 = ct * p.tile_channels;
  t.channels = min_size(p.tile_channels, p.channels - t.c0);
  t.width = t.channels * p.inner;
  t.group = t.width % p.group == 0 ? p.group : 1;
  t.groups = t.width / t.group;
  t.j0 = t.c0 * p.inner;
  t.o0 = rt * p.tile_rows;
  t.o1 = min_size(t.o0 + p.tile_rows, p.outer);
  t.partial_base = rt * p.channels + t.c0;
  return t;
}

}  // namespace actlayer::cuda_impl
