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
// with each kernel below and mirrored in src/engine/tfjs/native/addon.ts. Nothing from JavaScript
// is trusted: every number is checked before use (`Args`: finite, non-negative, integral, in
// range; every tensor's offset and length inside the heap) and a bad one is a JS Error naming
// the kernel and the parameter, thrown before any memory is touched.

#include <node_api.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
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

// A bad parameter from JavaScript: thrown before anything is read or written, and turned into a
// JS Error naming the kernel and the parameter by `guarded`.
[[noreturn]] void reject(const char* kernel, size_t k, const char* name, const std::string& what) {
  throw std::invalid_argument(std::string(kernel) + ": parameter " + std::to_string(k) + " (" + name + ") " + what);
}

// a * b * ..., or a JS error where the product overflows int64.
int64_t product(const char* kernel, std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (int64_t f : factors)
    if (__builtin_mul_overflow(p, f, &p)) throw std::invalid_argument(std::string(kernel) + ": tensor size overflows");
  return p;
}

// The parameters of one kernel call. Every value read from `params` goes through `integer`
// (finite, non-negative, integral, at most `max`: no NaN or huge double ever becomes an int64) or
// through `f32`, the single way to a tensor: its offset and element count are checked against
// the heap's size (overflow-safe) and its alignment before a pointer is made.
struct Args {
  const char* kernel = "";
  uint8_t* heap = nullptr;
  size_t heapBytes = 0;
  const double* p = nullptr;
  size_t n = 0;

  // Dimensions, strides, pads, flags: below 2^31 (the wasm32 heap holds at most 2^30 floats).
  static constexpr double MAX_DIM = 2147483647.0;
  // Byte offsets: exact doubles.
  static constexpr double MAX_OFFSET = 9007199254740992.0;

  int64_t integer(size_t k, const char* name, double max = MAX_DIM) const {
    double v = p[k];
    if (!std::isfinite(v)) reject(kernel, k, name, "is not a finite number");
    if (v < 0) reject(kernel, k, name, "is negative (" + std::to_string(v) + ")");
    if (v != std::floor(v)) reject(kernel, k, name, "is not an integer (" + std::to_string(v) + ")");
    if (v > max) reject(kernel, k, name, "is too large (" + std::to_string(v) + ")");
    return static_cast<int64_t>(v);
  }

  // An integer that must be at least 1 (a dimension that is divided by, a stride, a batch).
  int64_t positive(size_t k, const char* name) const {
    int64_t v = integer(k, name);
    if (v < 1) reject(kernel, k, name, "must be at least 1");
    return v;
  }

  // `count` floats at the byte offset params[k], all inside the heap.
  float* f32(size_t k, const char* name, int64_t count) const {
    int64_t offset = integer(k, name, MAX_OFFSET);
    uint64_t bytes = 0;
    if (count < 0 || __builtin_mul_overflow(static_cast<uint64_t>(count), sizeof(float), &bytes)) reject(kernel, k, name, "has an invalid size");
    uint64_t off = static_cast<uint64_t>(offset);
    if (bytes > heapBytes || off > heapBytes - bytes)
      reject(kernel, k, name, "lies outside the heap: " + std::to_string(count) + " floats at byte " + std::to_string(off) + ", heap " + std::to_string(heapBytes) + " bytes");
    if ((reinterpret_cast<uintptr_t>(heap) + off) % alignof(float) != 0) reject(kernel, k, name, "is not 4-byte aligned (byte " + std::to_string(off) + ")");
    return reinterpret_cast<float*>(heap + off);
  }

  // An optional tensor: offset 0 means none (no tfjs tensor starts at the heap's first byte).
  float* optionalF32(size_t k, const char* name, int64_t count) const { return k < n && p[k] != 0 ? f32(k, name, count) : nullptr; }

  // A float32 setting (learning rate, momentum...): NaN stays NaN, beyond float's range is an
  // infinity (a double out of float's range converted with a cast is undefined behaviour).
  float real(size_t k) const {
    double v = p[k];
    if (std::isnan(v)) return NAN;
    if (v > static_cast<double>(FLT_MAX)) return INFINITY;
    if (v < -static_cast<double>(FLT_MAX)) return -INFINITY;
    return static_cast<float>(v);
  }
};

// Parses (heap: Uint8Array, params: Float64Array) of kernel `name` with at least `want` params;
// throws a JS TypeError and returns false otherwise.
bool parse(napi_env env, napi_callback_info info, const char* name, size_t want, Args* a) {
  size_t argc = 2;
  napi_value argv[2];
  a->kernel = name;
  const std::string usage = std::string("regbench native kernel ") + name + ": expected (heap: Uint8Array, params: Float64Array)";
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2) {
    napi_throw_type_error(env, nullptr, usage.c_str());
    return false;
  }
  napi_typedarray_type heapType, paramType;
  size_t heapLength = 0, paramLength = 0, byteOffset = 0;
  void *heap = nullptr, *params = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(env, argv[0], &heapType, &heapLength, &heap, &buffer, &byteOffset) != napi_ok || heapType != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[1], &paramType, &paramLength, &params, &buffer, &byteOffset) != napi_ok || paramType != napi_float64_array) {
    napi_throw_type_error(env, nullptr, usage.c_str());
    return false;
  }
  a->heap = static_cast<uint8_t*>(heap);
  a->heapBytes = heap ? heapLength : 0;
  a->p = static_cast<const double*>(params);
  a->n = params ? paramLength : 0;
  if (a->n < want) {
    napi_throw_type_error(env, nullptr, (std::string("regbench native kernel ") + name + ": expected " + std::to_string(want) + " parameters, got " + std::to_string(a->n)).c_str());
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
//  dilationW, outH, outW, groups] starting at params[first]. Checked to be one convolution:
// sizes, strides, dilations and groups at least 1, groups dividing C and O, and the output size
// the one the input, filter, pads, strides and dilations give (oneDNN requires the same).
struct Geometry : ConvShape {
  explicit Geometry(const Args& a, size_t first) {
    static const char* names[] = {"N", "H", "W", "C", "kh", "kw", "O", "strideH", "strideW", "padTop", "padLeft", "padBottom", "padRight", "dilationH", "dilationW", "outH", "outW", "groups"};
    int64_t* f[] = {&n, &h, &w, &c, &kh, &kw, &o, &sh, &sw, &pt, &pl, &pb, &pr, &dh, &dw, &oh, &ow, &groups};
    for (size_t k = 0; k < 18; k++) {
      bool pad = k >= 9 && k <= 12;
      *f[k] = pad ? a.integer(first + k, names[k]) : a.positive(first + k, names[k]);
    }
    if (c % groups != 0 || o % groups != 0) reject(a.kernel, first + 17, "groups", "must divide C (" + std::to_string(c) + ") and O (" + std::to_string(o) + ")");
    if (oh != outSize(h, pt, pb, kh, dh, sh)) reject(a.kernel, first + 15, "outH", "is " + std::to_string(oh) + ", the geometry gives " + std::to_string(outSize(h, pt, pb, kh, dh, sh)));
    if (ow != outSize(w, pl, pr, kw, dw, sw)) reject(a.kernel, first + 16, "outW", "is " + std::to_string(ow) + ", the geometry gives " + std::to_string(outSize(w, pl, pr, kw, dw, sw)));
  }
  // Output length along one axis (every term below 2^31: no overflow in int64); 0 where the
  // dilated filter is longer than the padded input.
  static int64_t outSize(int64_t in, int64_t padBefore, int64_t padAfter, int64_t k, int64_t dilation, int64_t stride) {
    int64_t span = (k - 1) * dilation + 1, padded = in + padBefore + padAfter;
    return padded < span ? 0 : (padded - span) / stride + 1;
  }
  bool symmetric() const { return pt == pb && pl == pr; }
  std::vector<int64_t> stride() const { return {sh, sw}; }
  std::vector<int64_t> dilation() const { return {dh, dw}; }
  std::vector<int64_t> padding() const { return symmetric() ? std::vector<int64_t>{pt, pl} : std::vector<int64_t>{0, 0}; }
  // Element counts of the input, the output and the filter ([kh, kw, C / groups, O]).
  int64_t inputSize(const char* kernel) const { return product(kernel, {n, h, w, c}); }
  int64_t outputSize(const char* kernel) const { return product(kernel, {n, oh, ow, o}); }
  int64_t filterSize(const char* kernel) const { return product(kernel, {kh, kw, c / groups, o}); }
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
  if (!parse(env, info, "conv2d", 5 + GEOMETRY_LEN, &a)) return nullptr;
  return guarded(env, [&] {
    Geometry g(a, 5);
    float* x = a.f32(0, "x", g.inputSize(a.kernel));
    float* filter = a.f32(1, "filter", g.filterSize(a.kernel));
    float* biasData = a.optionalF32(2, "bias", g.o);
    float* outData = a.f32(3, "out", g.outputSize(a.kernel));
    int64_t activation = a.integer(4, "activation", 2);
#ifdef REGBENCH_WITH_DNNL
    if (convOnDnnl()) return dnnl_conv::forward(g, x, filter, biasData, outData, activation);
#endif
    at::Tensor xt = nhwc(x, g.n, g.h, g.w, g.c);
    at::Tensor wt = hwio(filter, g.kh, g.kw, g.c / g.groups, g.o);
    c10::optional<at::Tensor> bias;
    if (biasData) bias = at::from_blob(biasData, {g.o}, at::TensorOptions().dtype(at::kFloat));
    if (!g.symmetric()) xt = at::constant_pad_nd(xt, {g.pl, g.pr, g.pt, g.pb}).contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor y = at::convolution(xt, wt, bias, g.stride(), g.padding(), g.dilation(), false, {0, 0}, g.groups);
    activate(y, activation);
    at::Tensor out = nhwc(outData, g.n, g.oh, g.ow, g.o);
    out.copy_(y);
  });
}

// conv2dBackpropInput: [dy, filter, dx, ...geometry]
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, "conv2dBackpropInput", 3 + GEOMETRY_LEN, &a)) return nullptr;
  return guarded(env, [&] {
    Geometry g(a, 3);
    float* dyData = a.f32(0, "dy", g.outputSize(a.kernel));
    float* filter = a.f32(1, "filter", g.filterSize(a.kernel));
    float* dxData = a.f32(2, "dx", g.inputSize(a.kernel));
#ifdef REGBENCH_WITH_DNNL
    if (convOnDnnl()) return dnnl_conv::backwardInput(g, dyData, filter, dxData);
#endif
    at::Tensor dy = nhwc(dyData, g.n, g.oh, g.ow, g.o);
    at::Tensor wt = hwio(filter, g.kh, g.kw, g.c / g.groups, g.o);
    at::Tensor dx = nhwc(dxData, g.n, g.h, g.w, g.c);
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
  if (!parse(env, info, "conv2dBackpropFilter", 3 + GEOMETRY_LEN, &a)) return nullptr;
  return guarded(env, [&] {
    Geometry g(a, 3);
    float* xData = a.f32(0, "x", g.inputSize(a.kernel));
    float* dyData = a.f32(1, "dy", g.outputSize(a.kernel));
    float* dwData = a.f32(2, "dw", g.filterSize(a.kernel));
#ifdef REGBENCH_WITH_DNNL
    if (convOnDnnl()) return dnnl_conv::backwardFilter(g, xData, dyData, dwData);
#endif
    at::Tensor x = nhwc(xData, g.n, g.h, g.w, g.c);
    at::Tensor dy = nhwc(dyData, g.n, g.oh, g.ow, g.o);
    at::Tensor dw = hwio(dwData, g.kh, g.kw, g.c / g.groups, g.o);
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
  if (!parse(env, info, "batchMatMul", 13, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t ba = a.positive(5, "batchA"), bb = a.positive(6, "batchB"), m = a.integer(7, "m"), k = a.integer(8, "k"), n = a.integer(9, "n");
    bool ta = a.integer(10, "transposeA", 1) == 1, tb = a.integer(11, "transposeB", 1) == 1;
    if (ba != bb && ba != 1 && bb != 1) reject(a.kernel, 6, "batchB", "must equal batchA or one of them be 1");
    int64_t batch = std::max(ba, bb);
    int64_t activation = a.integer(4, "activation", 2);
    float* aData = a.f32(0, "a", product(a.kernel, {ba, m, k}));
    float* bData = a.f32(1, "b", product(a.kernel, {bb, k, n}));
    float* outData = a.f32(3, "out", product(a.kernel, {batch, m, n}));
    float* biasData = nullptr;
    int64_t biasLength = 0;
    if (a.p[2] != 0) {
      biasLength = a.integer(12, "biasLength");
      if (biasLength != n && biasLength != 1) reject(a.kernel, 12, "biasLength", "must be n (" + std::to_string(n) + ") or 1");
      biasData = a.f32(2, "bias", biasLength);
    }
    auto opts = at::TensorOptions().dtype(at::kFloat);
    at::Tensor A = ta ? at::from_blob(aData, {ba, k, m}, opts).transpose(1, 2) : at::from_blob(aData, {ba, m, k}, opts);
    at::Tensor B = tb ? at::from_blob(bData, {bb, n, k}, opts).transpose(1, 2) : at::from_blob(bData, {bb, k, n}, opts);
    at::Tensor out = at::from_blob(outData, {batch, m, n}, opts);
    at::bmm_out(out, A.expand({batch, m, k}), B.expand({batch, k, n}));
    if (biasData) out.add_(at::from_blob(biasData, {biasLength}, opts));
    activate(out, activation);
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
  if (!parse(env, info, "channelMoments", 5, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t rows = a.positive(3, "rows"), c = a.integer(4, "C");
    const float* x = a.f32(0, "x", product(a.kernel, {rows, c}));
    float* mean = a.f32(1, "mean", c);
    float* var = a.f32(2, "variance", c);
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
  if (!parse(env, info, "channelGradSums", 7, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t rows = a.integer(5, "rows"), c = a.integer(6, "C");
    int64_t size = product(a.kernel, {rows, c});
    const float* dy = a.f32(0, "dy", size);
    const float* x = a.f32(1, "x", size);
    const float* meanData = a.f32(2, "mean", c);
    float* sumDy = a.f32(3, "sumDy", c);
    float* sumDyXc = a.f32(4, "sumDyXc", c);
    const float* y = a.optionalF32(7, "y", size);
    std::vector<float> mean(meanData, meanData + c);
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
  if (!parse(env, info, "channelAffine", 6, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t rows = a.integer(4, "rows"), c = a.integer(5, "C");
    int64_t size = product(a.kernel, {rows, c});
    const float *x = a.f32(0, "x", size), *s = a.f32(1, "a", c), *b = a.f32(2, "b", c);
    float* out = a.f32(3, "out", size);
    bool relu = a.n > 6 && a.integer(6, "relu", 1) == 1;
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
  if (!parse(env, info, "channelAffine2", 8, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t rows = a.integer(6, "rows"), c = a.integer(7, "C");
    int64_t size = product(a.kernel, {rows, c});
    const float *dy = a.f32(0, "dy", size), *x = a.f32(1, "x", size), *s = a.f32(2, "a", c), *k = a.f32(3, "k", c), *b = a.f32(4, "b", c);
    float* out = a.f32(5, "out", size);
    const float* y = a.optionalF32(8, "y", size);
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
// kernels below, each written branch-free so that it vectorizes. params: [a, b, out, size, ...].
template <typename F>
void binaryMap(const Args& args, F f) {
  int64_t size = args.integer(3, "size");
  const float *a = args.f32(0, "a", size), *b = args.f32(1, "b", size);
  float* out = args.f32(2, "out", size);
  at::parallel_for(0, size, 16384, [&](int64_t from, int64_t to) {
    for (int64_t i = from; i < to; i++) out[i] = f(a[i], b[i]);
  });
}

// addRelu: [a, b, out, size] -> out = max(a + b, 0) elementwise (NaN stays NaN, -0 becomes 0):
// a residual block's sum and its ReLU in one pass.
napi_value AddRelu(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, "addRelu", 4, &a)) return nullptr;
  return guarded(env, [&] {
    binaryMap(a, [](float x, float z) {
      float v = x + z;
      return v <= 0.f ? 0.f : v;
    });
  });
}

// maskedGrad: [dy, x, out, size, cap] -> out = (x <= 0 || x > cap) ? 0 : dy (cap < 0: no cap).
napi_value MaskedGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, "maskedGrad", 5, &a)) return nullptr;
  return guarded(env, [&] {
    float cap = a.p[4] < 0 ? INFINITY : a.real(4);
    // Branch-free (both operands loaded, the mask combined with a bitwise or) so that it
    // vectorizes: with `&&` and a conditional load, every sign change of x was a mispredicted
    // branch (6.3 ms for 2M values against 0.5 ms).
    binaryMap(a, [cap](float d, float v) {
      bool drop = (v <= 0.f) | (v > cap);  // false for NaN: its gradient passes, as in PyTorch
      return drop ? 0.f : d;
    });
  });
}

// leadingSum: [x, out, rows, C] -> out[c] = sum over rows of x[row][c] (a Sum over leading axes).
napi_value LeadingSum(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, "leadingSum", 4, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t rows = a.integer(2, "rows"), c = a.integer(3, "C");
    const float* x = a.f32(0, "x", product(a.kernel, {rows, c}));
    float* out = a.f32(1, "out", c);
    std::vector<double> total;
    // blockSums keeps two sums per channel; the second half stays unused here.
    blockSums(rows, c, total, [&](int64_t r0, int64_t count, float* acc) {
      for (int64_t r = r0; r < r0 + count; r++)
        for (int64_t j = 0; j < c; j++) acc[j] += x[r * c + j];
    });
    for (int64_t j = 0; j < c; j++) out[j] = static_cast<float>(total[j]);
  });
}

// maxPoolGrad: [dy, x, dx, N, H, W, C, kh, kw, strideH, strideW, padTop, padLeft, outH, outW].
// Each window's gradient goes to its first maximum in row-major order (tfjs' convention).
// Windows are clipped to the input, so any pads and output sizes stay inside x and dx.
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!parse(env, info, "maxPoolGrad", 15, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t n = a.positive(3, "N"), h = a.positive(4, "H"), w = a.positive(5, "W"), c = a.positive(6, "C");
    int64_t kh = a.positive(7, "kh"), kw = a.positive(8, "kw"), sh = a.positive(9, "strideH"), sw = a.positive(10, "strideW");
    int64_t pt = a.integer(11, "padTop"), pl = a.integer(12, "padLeft"), oh = a.integer(13, "outH"), ow = a.integer(14, "outW");
    const float* dy = a.f32(0, "dy", product(a.kernel, {n, oh, ow, c}));
    const float* x = a.f32(1, "x", product(a.kernel, {n, h, w, c}));
    float* dx = a.f32(2, "dx", product(a.kernel, {n, h, w, c}));
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
  if (!parse(env, info, "sgdUpdate", 4, &a)) return nullptr;
  return guarded(env, [&] {
    int64_t count = a.integer(0, "count");
    if (static_cast<uint64_t>(count) > (a.n - 4) / 6) reject(a.kernel, 0, "count", "needs " + std::to_string(4 + 6 * count) + " parameters, got " + std::to_string(a.n));
    const float lr = a.real(1), mom = a.real(2), wd = a.real(3);
    struct Tensors {
      const float *p, *m, *g;
      float *pOut, *mOut;
      int64_t size;
    };
    // Every tensor is checked before any is updated.
    std::vector<Tensors> all;
    for (int64_t t = 0; t < count; t++) {
      size_t k = 4 + 6 * static_cast<size_t>(t);
      int64_t size = a.integer(k + 5, "size");
      all.push_back({a.f32(k, "p", size), a.f32(k + 1, "m", size), a.f32(k + 2, "g", size), a.f32(k + 3, "pOut", size), a.f32(k + 4, "mOut", size), size});
    }
    for (const Tensors& t : all) {
      at::parallel_for(0, t.size, 65536, [&](int64_t from, int64_t to) {
        for (int64_t i = from; i < to; i++) {
          float d = t.g[i] + t.p[i] * wd;
          float buf = t.m[i] * mom + d;
          t.mOut[i] = buf;
          t.pOut[i] = t.p[i] - buf * lr;
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
  // The sanitizers this build was compiled with: the compiler's own macro for AddressSanitizer,
  // the build script's for UndefinedBehaviorSanitizer (GCC defines none).
  napi_create_array(env, &v);
  [[maybe_unused]] uint32_t sanitizers = 0;
  [[maybe_unused]] napi_value name;
#if defined(__SANITIZE_ADDRESS__)
  napi_create_string_utf8(env, "address", NAPI_AUTO_LENGTH, &name);
  napi_set_element(env, v, sanitizers++, name);
#endif
#if defined(REGBENCH_UBSAN)
  napi_create_string_utf8(env, "undefined", NAPI_AUTO_LENGTH, &name);
  napi_set_element(env, v, sanitizers++, name);
#endif
  napi_set_named_property(env, obj, "sanitizers", v);
#ifdef REGBENCH_ONEDNN_VERSION
  if (convOnDnnl()) {
    napi_create_string_utf8(env, REGBENCH_ONEDNN_VERSION, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, "onednn", v);
  }
#endif
  return obj;
}

#if defined(__SANITIZE_ADDRESS__) && defined(REGBENCH_UBSAN)
// sanitizerProbe(kind): sanitizer builds only. Makes the error the sanitizer of `kind` must
// report, so that a test can see the sanitizers are really active: "address" reads one int past
// a heap block, "undefined" overflows a signed int. The report goes to stderr (and, with
// halt_on_error, ends the process).
napi_value SanitizerProbe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char kind[16] = {0};
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1 || napi_get_value_string_utf8(env, argv[0], kind, sizeof kind, &length) != napi_ok) {
    napi_throw_type_error(env, nullptr, "sanitizerProbe(kind): kind must be 'address' or 'undefined'");
    return nullptr;
  }
  volatile int result = 0;
  if (std::string(kind) == "address") {
    // Through a volatile pointer: UBSan's object-size check cannot see the block's size, so the
    // read reaches ASan (whose report is the one asked for).
    int* volatile block = new int[4]();
    volatile int index = 4;
    result = block[index];
    delete[] block;
  } else if (std::string(kind) == "undefined") {
    volatile int big = INT32_MAX;
    result = big + 1;
  }
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}
#endif

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
#if defined(__SANITIZE_ADDRESS__) && defined(REGBENCH_UBSAN)
  napi_value probe;
  napi_create_function(env, "sanitizerProbe", NAPI_AUTO_LENGTH, SanitizerProbe, nullptr, &probe);
  napi_set_named_property(env, exports, "sanitizerProbe", probe);
#endif
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
