// Native training kernels for the TensorFlow.js wasm backend (see docs/kernels.md, "Native path").
//
// A Node-API addon (C API only: ABI-stable, one binary for Node 20+ and Electron) over libtorch.
// Every kernel works in place on the wasm backend's heap: JavaScript passes a typed-array view
// of the heap (a SharedArrayBuffer in the threaded build; its address does not move when the
// heap grows) and byte offsets of the tensors, and the kernel wraps them with at::from_blob.
// tfjs tensors are NHWC, which is a valid channels_last view of an NCHW tensor, so nothing is
// transposed; filters are HWIO ([kh, kw, in, out]) viewed as OIHW with strides.
//
// Each kernel takes (heap: Uint8Array, params: Float64Array); the layouts of `params` are listed
// with each kernel below and mirrored in src/engine/tfjs/native/addon.ts.

#include <node_api.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "conv_shape.h"
#ifdef REGBENCH_WITH_DNNL
#include "dnnl_conv.h"
#endif

#ifndef REGBENCH_LIBTORCH_VERSION
#define REGBENCH_LIBTORCH_VERSION "unknown"
#endif

namespace {

struct Args {
  uint8_t* heap = nullptr;
  size_t heapBytes = 0;
  const double* p = nullptr;
  size_t n = 0;

  int64_t i(size_t k) const { return static_cast<int64_t>(p[k]); }
  float* f32(size_t k) const { return reinterpret_cast<float*>(heap + static_cast<uint64_t>(p[k])); }
};

bool typedArray(napi_env env, napi_value v, void** data, size_t* bytes) {
  napi_typedarray_type type;
  size_t length = 0;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &buffer, &offset) != napi_ok) return false;
  size_t width = type == napi_float64_array ? 8 : type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array ? 4 : 1;
  *bytes = length * width;
  return true;
}

// Parses (heap, params); throws a JS TypeError and returns false when they are not typed arrays.
bool parse(napi_env env, napi_callback_info info, size_t want, Args* a) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void* heap = nullptr;
  void* params = nullptr;
  size_t paramBytes = 0;
  if (argc < 2 || !typedArray(env, argv[0], &heap, &a->heapBytes) || !typedArray(env, argv[1], &params, &paramBytes)) {
    napi_throw_type_error(env, nullptr, "regbench native kernel: expected (heap: Uint8Array, params: Float64Array)");
    return false;
  }
  a->heap = static_cast<uint8_t*>(heap);
  a->p = static_cast<const double*>(params);
  a->n = paramBytes / 8;
  if (a->n < want) {
    napi_throw_type_error(env, nullptr, ("regbench native kernel: expected " + std::to_string(want) + " parameters, got " + std::to_string(a->n)).c_str());
    return false;
  }
  return true;
}

// NHWC data at `ptr` as an NCHW tensor in channels_last layout.
at::Tensor nhwc(float* ptr, int64_t n, int64_t h, int64_t w, int64_t c) {
  return at::from_blob(ptr, {n, c, h, w}, {h * w * c, 1, w * c, c}, at::TensorOptions().dtype(at::kFloat));
}

// A tfjs filter [kh, kw, cg, o] (cg = input channels per group) as torch's [o, cg, kh, kw].
at::Tensor hwio(float* ptr, int64_t kh, int64_t kw, int64_t cg, int64_t o) {
  return at::from_blob(ptr, {o, cg, kh, kw}, {1, o, kw * cg * o, cg * o}, at::TensorOptions().dtype(at::kFloat));
}

// The convolution geometry shared by the three convolution kernels:
// [N, H, W, C, kh, kw, O, strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH,
//  dilationW, outH, outW, groups] starting at params[first].
struct Geometry : ConvShape {
  explicit Geometry(const Args& a, size_t first) {
    int64_t* f[] = {&n, &h, &w, &c, &kh, &kw, &o, &sh, &sw, &pt, &pl, &pb, &pr, &dh, &dw, &oh, &ow, &groups};
    for (size_t k = 0; k < 18; k++) *f[k] = a.i(first + k);
  }
  bool symmetric() const { return pt == pb && pl == pr; }
  std::vector<int64_t> stride() const { return {sh, sw}; }
  std::vector<int64_t> dilation() const { return {dh, dw}; }
  std::vector<int64_t> padding() const { return symmetric() ? std::vector<int64_t>{pt, pl} : std::vector<int64_t>{0, 0}; }
};
constexpr size_t GEOMETRY_LEN = 18;

// Convolutions on oneDNN directly (where built with it) unless REGBENCH_NATIVE_CONV=libtorch,
// which keeps libtorch's path testable on machines that have both.
bool convOnDnnl() {
#ifdef REGBENCH_WITH_DNNL
  static const bool on = [] {
    const char* e = std::getenv("REGBENCH_NATIVE_CONV");
    return !(e && std::string(e) == "libtorch");
  }();
  return on;
#else
  return false;
#endif
}

void activate(at::Tensor& y, int64_t activation) {
  if (activation == 1) y.clamp_min_(0);
  else if (activation == 2) y.clamp_(0, 6);
}

// Runs `body`, turning a C++ exception into a JS Error.
template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    c10::InferenceMode guard;
    body();
  } catch (const std::exception& e) {
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    napi_throw_error(env, nullptr, ("regbench native kernel: " + msg).c_str());
  }
  return nullptr;
}

// conv2d: [x, filter, bias (0 = none), out, activation (0 none, 1 relu, 2 relu6), ...geometry]
napi_value Conv2d(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 5 + GEOMETRY_LEN, &a)) return nullptr;
  return guarded(env, [&] {
    Geometry g(a, 5);
#ifdef REGBENCH_WITH_DNNL
    if (convOnDnnl()) return dnnl_conv::forward(g, a.f32(0), a.f32(1), a.p[2] != 0 ? a.f32(2) : nullptr, a.f32(3), a.i(4));
#endif
    at::Tensor x = nhwc(a.f32(0), g.n, g.h, g.w, g.c);
    at::Tensor wt = hwio(a.f32(1), g.kh, g.kw, g.c / g.groups, g.o);
    c10::optional<at::Tensor> bias;
    if (a.p[2] != 0) bias = at::from_blob(a.f32(2), {g.o}, at::TensorOptions().dtype(at::kFloat));
    if (!g.symmetric()) x = at::constant_pad_nd(x, {g.pl, g.pr, g.pt, g.pb}).contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor y = at::convolution(x, wt, bias, g.stride(), g.padding(), g.dilation(), false, {0, 0}, g.groups);
    activate(y, a.i(4));
    at::Tensor out = nhwc(a.f32(3), g.n, g.oh, g.ow, g.o);
    out.copy_(y);
  });
}

// conv2dBackpropInput: [dy, filter, dx, ...geometry]
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 3 + GEOMETRY_LEN, &a)) return nullptr;
  return guarded(env, [&] {
    Geometry g(a, 3);
#ifdef REGBENCH_WITH_DNNL
    if (convOnDnnl()) return dnnl_conv::backwardInput(g, a.f32(0), a.f32(1), a.f32(2));
#endif
    at::Tensor dy = nhwc(a.f32(0), g.n, g.oh, g.ow, g.o);
    at::Tensor wt = hwio(a.f32(1), g.kh, g.kw, g.c / g.groups, g.o);
    at::Tensor dx = nhwc(a.f32(2), g.n, g.h, g.w, g.c);
    // Only the input's shape and memory format matter for its gradient.
    at::Tensor shape = g.symmetric() ? dx : at::empty({g.n, g.c, g.h + g.pt + g.pb, g.w + g.pl + g.pr}, at::TensorOptions().dtype(at::kFloat).memory_format(at::MemoryFormat::ChannelsLast));
    auto grads = at::convolution_backward(dy, shape, wt, c10::nullopt, g.stride(), g.padding(), g.dilation(), false, {0, 0}, g.groups, {true, false, false});
    at::Tensor gi = std::get<0>(grads);
    if (!g.symmetric()) gi = gi.slice(2, g.pt, g.pt + g.h).slice(3, g.pl, g.pl + g.w);
    dx.copy_(gi);
  });
}

// conv2dBackpropFilter: [x, dy, dw, ...geometry]
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 3 + GEOMETRY_LEN, &a)) return nullptr;
  return guarded(env, [&] {
    Geometry g(a, 3);
#ifdef REGBENCH_WITH_DNNL
    if (convOnDnnl()) return dnnl_conv::backwardFilter(g, a.f32(0), a.f32(1), a.f32(2));
#endif
    at::Tensor x = nhwc(a.f32(0), g.n, g.h, g.w, g.c);
    at::Tensor dy = nhwc(a.f32(1), g.n, g.oh, g.ow, g.o);
    at::Tensor dw = hwio(a.f32(2), g.kh, g.kw, g.c / g.groups, g.o);
    if (!g.symmetric()) x = at::constant_pad_nd(x, {g.pl, g.pr, g.pt, g.pb}).contiguous(at::MemoryFormat::ChannelsLast);
    // The filter's values are not read for the filter gradient; its shape is.
    auto grads = at::convolution_backward(dy, x, dw, c10::nullopt, g.stride(), g.padding(), g.dilation(), false, {0, 0}, g.groups, {false, true, false});
    dw.copy_(std::get<1>(grads));
  });
}

// batchMatMul: [a, b, bias (0 = none), out, activation, batchA, batchB, m, k, n, transposeA,
// transposeB, biasLength]. a is [batchA, m, k] ([batchA, k, m] when transposed), b likewise
// [batchB, k, n] / [batchB, n, k]; a batch of 1 broadcasts. bias has biasLength = n values (or 1).
napi_value BatchMatMul(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 13, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t ba = a.i(5), bb = a.i(6), m = a.i(7), k = a.i(8), n = a.i(9);
    bool ta = a.p[10] != 0, tb = a.p[11] != 0;
    int64_t batch = std::max(ba, bb);
    auto opts = at::TensorOptions().dtype(at::kFloat);
    at::Tensor A = ta ? at::from_blob(a.f32(0), {ba, k, m}, opts).transpose(1, 2) : at::from_blob(a.f32(0), {ba, m, k}, opts);
    at::Tensor B = tb ? at::from_blob(a.f32(1), {bb, n, k}, opts).transpose(1, 2) : at::from_blob(a.f32(1), {bb, k, n}, opts);
    at::Tensor out = at::from_blob(a.f32(3), {batch, m, n}, opts);
    at::bmm_out(out, A.expand({batch, m, k}), B.expand({batch, k, n}));
    if (a.p[2] != 0) out.add_(at::from_blob(a.f32(2), {a.i(12)}, opts));
    activate(out, a.i(4));
  });
}

// ---- Per-channel passes over [rows, C] (BatchNorm statistics and gradients, ReLU masks). ----
// Sums are float32 over blocks of BLOCK rows, float64 across blocks, added in block order
// whatever the thread count (deterministic, and as accurate as the wasm SIMD loops).
constexpr int64_t BLOCK = 256;

template <typename F>
void blockSums(int64_t rows, int64_t c, std::vector<double>& total, F pass) {
  int64_t blocks = (rows + BLOCK - 1) / BLOCK;
  std::vector<float> partial(static_cast<size_t>(blocks * 2 * c), 0.f);
  at::parallel_for(0, blocks, 1, [&](int64_t from, int64_t to) {
    for (int64_t b = from; b < to; b++) pass(b * BLOCK, std::min(BLOCK, rows - b * BLOCK), partial.data() + b * 2 * c);
  });
  total.assign(static_cast<size_t>(2 * c), 0.0);
  for (int64_t b = 0; b < blocks; b++) {
    const float* p = partial.data() + b * 2 * c;
    for (int64_t j = 0; j < 2 * c; j++) total[j] += p[j];
  }
}

// channelMoments: [x, mean out, variance out, rows, C]; shift = the first row (as the wasm loop).
napi_value ChannelMoments(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 5, &a)) return nullptr;
  return guarded(env, [&] {
    const float* x = a.f32(0);
    int64_t rows = a.i(3), c = a.i(4);
    std::vector<float> shift(x, x + c);
    std::vector<double> total;
    blockSums(rows, c, total, [&](int64_t r0, int64_t count, float* acc) {
      float* s1 = acc;
      float* s2 = acc + c;
      for (int64_t r = r0; r < r0 + count; r++) {
        const float* row = x + r * c;
        for (int64_t j = 0; j < c; j++) {
          float d = row[j] - shift[j];
          s1[j] += d;
          s2[j] += d * d;
        }
      }
    });
    float* mean = a.f32(1);
    float* var = a.f32(2);
    for (int64_t j = 0; j < c; j++) {
      double d = total[j] / rows;
      mean[j] = static_cast<float>(shift[j] + d);
      var[j] = static_cast<float>(std::max(0.0, total[c + j] / rows - d * d));
    }
  });
}

// channelGradSums: [dy, x, mean, sumDy out, sumDyXc out, rows, C(, y)]; with y (an offset, 0 =
// none), dy counts only where y > 0 or y is NaN: the gradient through a ReLU whose output is y.
napi_value ChannelGradSums(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 7, &a)) return nullptr;
  return guarded(env, [&] {
    const float* dy = a.f32(0);
    const float* x = a.f32(1);
    int64_t rows = a.i(5), c = a.i(6);
    const float* y = a.n > 7 && a.p[7] != 0 ? a.f32(7) : nullptr;
    std::vector<float> mean(a.f32(2), a.f32(2) + c);
    std::vector<double> total;
    blockSums(rows, c, total, [&](int64_t r0, int64_t count, float* acc) {
      float* s1 = acc;
      float* s2 = acc + c;
      // Two loops, so that each is branch-free and vectorizes (a mask test inside the loop was
      // compiled as a jump: 5x slower on real activations).
      for (int64_t r = r0; r < r0 + count; r++) {
        const float* g = dy + r * c;
        const float* v = x + r * c;
        if (y) {
          const float* m = y + r * c;
          for (int64_t j = 0; j < c; j++) {
            float gj = g[j], mj = m[j];
            float d = mj <= 0.f ? 0.f : gj;
            s1[j] += d;
            s2[j] += d * (v[j] - mean[j]);
          }
        } else {
          for (int64_t j = 0; j < c; j++) {
            s1[j] += g[j];
            s2[j] += g[j] * (v[j] - mean[j]);
          }
        }
      }
    });
    float* sumDy = a.f32(3);
    float* sumDyXc = a.f32(4);
    for (int64_t j = 0; j < c; j++) {
      sumDy[j] = static_cast<float>(total[j]);
      sumDyXc[j] = static_cast<float>(total[c + j]);
    }
  });
}

// channelAffine: [x, a, b, out, rows, C(, relu)] -> out = x * a + b per channel; with relu = 1,
// max(x * a + b, 0), where NaN stays NaN and -0 becomes 0 (BatchNorm2d followed by ReLU).
// channelAffine2: [dy, x, a, k, b, out, rows, C] -> out = dy * a + x * k + b per channel.
napi_value ChannelAffine(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 6, &a)) return nullptr;
  return guarded(env, [&] {
    const float *x = a.f32(0), *s = a.f32(1), *b = a.f32(2);
    float* out = a.f32(3);
    int64_t rows = a.i(4), c = a.i(5);
    bool relu = a.n > 6 && a.p[6] != 0;
    at::parallel_for(0, rows, 512, [&](int64_t from, int64_t to) {
      if (!relu) {
        for (int64_t r = from; r < to; r++)
          for (int64_t j = 0; j < c; j++) out[r * c + j] = x[r * c + j] * s[j] + b[j];
        return;
      }
      for (int64_t r = from; r < to; r++)
        for (int64_t j = 0; j < c; j++) {
          float v = x[r * c + j] * s[j] + b[j];
          out[r * c + j] = v <= 0.f ? 0.f : v;  // branch-free select; false for NaN
        }
    });
  });
}

// channelAffine2 with (, y) as channelGradSums: dy masked by the ReLU output y first.
napi_value ChannelAffine2(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 8, &a)) return nullptr;
  return guarded(env, [&] {
    const float *dy = a.f32(0), *x = a.f32(1), *s = a.f32(2), *k = a.f32(3), *b = a.f32(4);
    float* out = a.f32(5);
    int64_t rows = a.i(6), c = a.i(7);
    const float* y = a.n > 8 && a.p[8] != 0 ? a.f32(8) : nullptr;
    at::parallel_for(0, rows, 512, [&](int64_t from, int64_t to) {
      if (!y) {
        for (int64_t r = from; r < to; r++)
          for (int64_t j = 0; j < c; j++) out[r * c + j] = dy[r * c + j] * s[j] + x[r * c + j] * k[j] + b[j];
        return;
      }
      for (int64_t r = from; r < to; r++)
        for (int64_t j = 0; j < c; j++) {
          float g = dy[r * c + j], m = y[r * c + j];
          float d = m <= 0.f ? 0.f : g;
          out[r * c + j] = d * s[j] + x[r * c + j] * k[j] + b[j];
        }
    });
  });
}

// out[i] = f(a[i], b[i]) over `size` values on the thread pool: the two-input elementwise
// kernels below, each written branch-free so that it vectorizes.
template <typename F>
void binaryMap(const float* a, const float* b, float* out, int64_t size, F f) {
  at::parallel_for(0, size, 16384, [&](int64_t from, int64_t to) {
    for (int64_t i = from; i < to; i++) out[i] = f(a[i], b[i]);
  });
}

// addRelu: [a, b, out, size] -> out = max(a + b, 0) elementwise (NaN stays NaN, -0 becomes 0):
// a residual block's sum and its ReLU in one pass.
napi_value AddRelu(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 4, &a)) return nullptr;
  return guarded(env, [&] {
    binaryMap(a.f32(0), a.f32(1), a.f32(2), a.i(3), [](float x, float z) {
      float v = x + z;
      return v <= 0.f ? 0.f : v;
    });
  });
}

// maskedGrad: [dy, x, out, size, cap] -> out = (x <= 0 || x > cap) ? 0 : dy (cap < 0: no cap).
napi_value MaskedGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 5, &a)) return nullptr;
  return guarded(env, [&] {
    float cap = a.p[4] < 0 ? INFINITY : static_cast<float>(a.p[4]);
    // Branch-free (both operands loaded, the mask combined with a bitwise or) so that it
    // vectorizes: with `&&` and a conditional load, every sign change of x was a mispredicted
    // branch (6.3 ms for 2M values against 0.5 ms).
    binaryMap(a.f32(0), a.f32(1), a.f32(2), a.i(3), [cap](float d, float v) {
      bool drop = (v <= 0.f) | (v > cap);  // false for NaN: its gradient passes, as in PyTorch
      return drop ? 0.f : d;
    });
  });
}

// leadingSum: [x, out, rows, C] -> out[c] = sum over rows of x[row][c] (a Sum over leading axes).
napi_value LeadingSum(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 4, &a)) return nullptr;
  return guarded(env, [&] {
    const float* x = a.f32(0);
    int64_t rows = a.i(2), c = a.i(3);
    std::vector<double> total;
    // blockSums keeps two sums per channel; the second half stays unused here.
    blockSums(rows, c, total, [&](int64_t r0, int64_t count, float* acc) {
      for (int64_t r = r0; r < r0 + count; r++)
        for (int64_t j = 0; j < c; j++) acc[j] += x[r * c + j];
    });
    float* out = a.f32(1);
    for (int64_t j = 0; j < c; j++) out[j] = static_cast<float>(total[j]);
  });
}

// maxPoolGrad: [dy, x, dx, N, H, W, C, kh, kw, strideH, strideW, padTop, padLeft, outH, outW].
// Each window's gradient goes to its first maximum in row-major order (tfjs' convention).
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 15, &a)) return nullptr;
  return guarded(env, [&] {
    const float *dy = a.f32(0), *x = a.f32(1);
    float* dx = a.f32(2);
    int64_t n = a.i(3), h = a.i(4), w = a.i(5), c = a.i(6), kh = a.i(7), kw = a.i(8), sh = a.i(9), sw = a.i(10), pt = a.i(11), pl = a.i(12), oh = a.i(13), ow = a.i(14);
    at::parallel_for(0, n, 1, [&](int64_t from, int64_t to) {
      std::vector<float> best(c);
      std::vector<int64_t> pos(c);
      for (int64_t b = from; b < to; b++) {
        const float* xb = x + b * h * w * c;
        float* dxb = dx + b * h * w * c;
        std::fill(dxb, dxb + h * w * c, 0.f);
        for (int64_t y = 0; y < oh; y++)
          for (int64_t z = 0; z < ow; z++) {
            std::fill(best.begin(), best.end(), -INFINITY);
            std::fill(pos.begin(), pos.end(), -1);
            for (int64_t ky = 0; ky < kh; ky++) {
              int64_t iy = y * sh - pt + ky;
              if (iy < 0 || iy >= h) continue;
              for (int64_t kx = 0; kx < kw; kx++) {
                int64_t ix = z * sw - pl + kx;
                if (ix < 0 || ix >= w) continue;
                const float* px = xb + (iy * w + ix) * c;
                for (int64_t j = 0; j < c; j++)
                  if (px[j] > best[j] || pos[j] < 0) {
                    best[j] = px[j];
                    pos[j] = (iy * w + ix) * c + j;
                  }
              }
            }
            const float* g = dy + ((b * oh + y) * ow + z) * c;
            for (int64_t j = 0; j < c; j++)
              if (pos[j] >= 0) dxb[pos[j]] += g[j];
          }
      }
    });
  });
}

// sgdUpdate: [count, lr, momentum, weightDecay, then per tensor: p, m, g, pOut, mOut, size] ->
// torch.optim.SGD on every parameter in one call: d = g + wd * p; mOut = momentum * m + d;
// pOut = p - lr * mOut. float32 throughout, in that order (no contraction into fused
// multiply-adds: -ffp-contract=off), so the values are those of the same tf ops on wasm.
napi_value SgdUpdate(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, 4, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t count = a.i(0);
    if (a.n < static_cast<size_t>(4 + 6 * count)) throw std::invalid_argument("sgdUpdate: fewer parameters than its tensor count needs");
    const float lr = static_cast<float>(a.p[1]), mom = static_cast<float>(a.p[2]), wd = static_cast<float>(a.p[3]);
    for (int64_t t = 0; t < count; t++) {
      size_t k = 4 + 6 * t;
      const float *p = a.f32(k), *m = a.f32(k + 1), *g = a.f32(k + 2);
      float *pOut = a.f32(k + 3), *mOut = a.f32(k + 4);
      at::parallel_for(0, a.i(k + 5), 65536, [&](int64_t from, int64_t to) {
        for (int64_t i = from; i < to; i++) {
          float d = g[i] + p[i] * wd;
          float buf = m[i] * mom + d;
          mOut[i] = buf;
          pOut[i] = p[i] - buf * lr;
        }
      });
    }
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t n = 1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_type_error(env, nullptr, "setThreads(n): n must be a positive integer");
    return nullptr;
  }
  at::set_num_threads(n);
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, at::get_num_threads(), &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_create_string_utf8(env, REGBENCH_LIBTORCH_VERSION, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "libtorch", v);
  napi_get_boolean(env, at::hasMKLDNN(), &v);
  napi_set_named_property(env, obj, "mkldnn", v);
#ifdef REGBENCH_ONEDNN_VERSION
  if (convOnDnnl()) {
    napi_create_string_utf8(env, REGBENCH_ONEDNN_VERSION, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, "onednn", v);
  }
#endif
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  } fns[] = {
      {"conv2d", Conv2d},
      {"conv2dBackpropInput", Conv2dBackpropInput},
      {"conv2dBackpropFilter", Conv2dBackpropFilter},
      {"batchMatMul", BatchMatMul},
      {"channelMoments", ChannelMoments},
      {"channelGradSums", ChannelGradSums},
      {"channelAffine", ChannelAffine},
      {"channelAffine2", ChannelAffine2},
      {"maskedGrad", MaskedGrad},
      {"addRelu", AddRelu},
      {"leadingSum", LeadingSum},
      {"maxPoolGrad", MaxPoolGrad},
      {"sgdUpdate", SgdUpdate},
      {"setThreads", SetThreads},
      {"info", Info},
  };
  for (const Fn& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
