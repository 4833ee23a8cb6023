// The geometry of one 2-D convolution over NHWC tensors, shared by the libtorch and oneDNN paths.
#pragma once

#include <cstdint>

// Input [n, h, w, c], filter kh x kw to o output channels in `groups` groups (1, or c for
// depthwise), strides, paddings (top, left, bottom, right; may differ), dilations, output oh x ow.
struct ConvShape {
  int64_t n, h, w, c, kh, kw, o, sh, sw, pt, pl, pb, pr, dh, dw, oh, ow, groups;
};
