// Convolutions (forward, input gradient, filter gradient; dense and depthwise) straight on oneDNN,
// reading and writing the wasm heap in place: the source, the output and both gradients are
// oneDNN memories over the heap in NHWC, the filter is described with its tfjs strides (HWIO, or
// [kh, kw, c, m] for depthwise), so nothing is copied but the filter's reorder into the layout
// the primitive wants (a few KB). libtorch's convolution (the fallback, where oneDNN's headers
// are absent, as with pip's torch) allocates its result and is copied into the heap afterwards;
// on this machine that copy and allocation cost 20-40 % of a ResNet convolution.
//
// Primitives are made once per geometry and kept (a network has a few dozen shapes); all calls
// come from the JavaScript thread, so the caches and the shared scratchpad need no lock. oneDNN
// uses the OpenMP runtime libtorch uses, with the thread count set by setThreads.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "conv_shape.h"

namespace dnnl_conv {

using dnnl::memory;
using Tag = memory::format_tag;
using Type = memory::data_type;

inline dnnl::engine& cpu() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

inline dnnl::stream& queue() {
  static dnnl::stream s(cpu());
  return s;
}

// A grow-only 64-byte aligned buffer for the primitives' scratchpads. The new size is recorded
// only once its allocation succeeded; a failed one leaves the old buffer and size as they were.
inline void* scratch(size_t bytes) {
  static void* buffer = nullptr;
  static size_t size = 0;
  if (bytes > size) {
    if (bytes > SIZE_MAX - 4095) throw std::bad_alloc();
    size_t rounded = (bytes + 4095) / 4096 * 4096;
    void* grown = std::aligned_alloc(64, rounded);
    if (!grown) throw std::bad_alloc();
    std::free(buffer);
    buffer = grown;
    size = rounded;
  }
  return buffer;
}

inline memory::desc nhwc(int64_t n, int64_t c, int64_t h, int64_t w) { return memory::desc({n, c, h, w}, Type::f32, Tag::nhwc); }

inline bool grouped(const ConvShape& g) { return g.groups > 1; }

// The filter as tfjs lays it out: dense [kh, kw, c, o]; depthwise [kh, kw, c, m] (o = c * m),
// as oneDNN's grouped weights [groups = c, m, 1, kh, kw].
inline memory::desc userFilter(const ConvShape& g) {
  if (!grouped(g)) return memory::desc({g.o, g.c, g.kh, g.kw}, Type::f32, memory::dims{1, g.o, g.kw * g.c * g.o, g.c * g.o});
  int64_t m = g.o / g.groups, cg = g.c / g.groups;
  return memory::desc({g.groups, m, cg, g.kh, g.kw}, Type::f32, memory::dims{cg * m, 1, m, g.kw * g.c * m, g.c * m});
}

inline memory::desc anyFilter(const ConvShape& g) {
  if (!grouped(g)) return memory::desc({g.o, g.c, g.kh, g.kw}, Type::f32, Tag::any);
  return memory::desc({g.groups, g.o / g.groups, g.c / g.groups, g.kh, g.kw}, Type::f32, Tag::any);
}

struct Window {
  memory::dims strides, dilates, padL, padR;
  explicit Window(const ConvShape& g) : strides{g.sh, g.sw}, dilates{g.dh - 1, g.dw - 1}, padL{g.pt, g.pl}, padR{g.pb, g.pr} {}
};

inline dnnl::primitive_attr attrs(int64_t activation) {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  if (activation == 1) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  if (activation == 2) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f);
  if (activation != 0) a.set_post_ops(ops);
  return a;
}

inline dnnl::convolution_forward::primitive_desc forwardDesc(const ConvShape& g, bool bias, int64_t activation) {
  Window win(g);
  memory::desc biasDesc = bias ? memory::desc({g.o}, Type::f32, Tag::a) : memory::desc();
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, nhwc(g.n, g.c, g.h, g.w), anyFilter(g), biasDesc,
                                    nhwc(g.n, g.o, g.oh, g.ow), win.strides, win.dilates, win.padL, win.padR);
  return dnnl::convolution_forward::primitive_desc(d, attrs(activation), cpu());
}

using Key = std::tuple<int, int64_t, bool, std::vector<int64_t>>;

inline Key keyOf(int kind, const ConvShape& g, int64_t activation, bool bias) {
  return {kind, activation, bias, {g.n, g.h, g.w, g.c, g.kh, g.kw, g.o, g.sh, g.sw, g.pt, g.pl, g.pb, g.pr, g.dh, g.dw, g.oh, g.ow, g.groups}};
}

// A primitive with its reorders between the tfjs filter layout and the one it computes in.
struct Entry {
  dnnl::primitive prim;
  memory::desc scratchpad;
  memory::desc filter;      // the primitive's filter (or filter gradient) layout
  bool sameLayout = false;  // the tfjs layout itself: no reorder
  memory filterBuffer;      // the filter in the primitive's layout, when it differs
  dnnl::reorder toPrimitive, toUser;
};

inline Entry& entry(int kind, const ConvShape& g, int64_t activation, bool bias) {
  static std::map<Key, std::unique_ptr<Entry>> cache;
  auto& slot = cache[keyOf(kind, g, activation, bias)];
  if (slot) return *slot;
  auto e = std::make_unique<Entry>();
  Window win(g);
  memory::desc user = userFilter(g);
  if (kind == 0) {
    auto pd = forwardDesc(g, bias, activation);
    e->prim = dnnl::convolution_forward(pd);
    e->scratchpad = pd.scratchpad_desc();
    e->filter = pd.weights_desc();
  } else if (kind == 1) {
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, nhwc(g.n, g.c, g.h, g.w), anyFilter(g), nhwc(g.n, g.o, g.oh, g.ow), win.strides, win.dilates, win.padL, win.padR);
    dnnl::convolution_backward_data::primitive_desc pd(d, attrs(0), cpu(), forwardDesc(g, false, 0));
    e->prim = dnnl::convolution_backward_data(pd);
    e->scratchpad = pd.scratchpad_desc();
    e->filter = pd.weights_desc();
  } else {
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, nhwc(g.n, g.c, g.h, g.w), anyFilter(g), nhwc(g.n, g.o, g.oh, g.ow), win.strides, win.dilates, win.padL, win.padR);
    dnnl::convolution_backward_weights::primitive_desc pd(d, attrs(0), cpu(), forwardDesc(g, false, 0));
    e->prim = dnnl::convolution_backward_weights(pd);
    e->scratchpad = pd.scratchpad_desc();
    e->filter = pd.diff_weights_desc();
  }
  e->sameLayout = e->filter == user;
  if (!e->sameLayout) {
    e->filterBuffer = memory(e->filter, cpu());
    memory userMem(user, cpu(), DNNL_MEMORY_NONE);
    if (kind == 2) e->toUser = dnnl::reorder(e->filterBuffer, userMem);
    else e->toPrimitive = dnnl::reorder(userMem, e->filterBuffer);
  }
  slot = std::move(e);
  return *slot;
}

inline memory scratchpadFor(const Entry& e) { return memory(e.scratchpad, cpu(), scratch(e.scratchpad.get_size())); }

// The filter (kind 0, 1) as the primitive reads it: the tfjs data itself, or its reorder.
inline memory filterIn(Entry& e, const ConvShape& g, float* w) {
  memory user(userFilter(g), cpu(), w);
  if (e.sameLayout) return user;
  e.toPrimitive.execute(queue(), user, e.filterBuffer);
  return e.filterBuffer;
}

// y = activation(conv(x, w) + bias); bias may be null.
inline void forward(const ConvShape& g, float* x, float* w, float* bias, float* y, int64_t activation) {
  Entry& e = entry(0, g, activation, bias != nullptr);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(nhwc(g.n, g.c, g.h, g.w), cpu(), x)},
      {DNNL_ARG_WEIGHTS, filterIn(e, g, w)},
      {DNNL_ARG_DST, memory(nhwc(g.n, g.o, g.oh, g.ow), cpu(), y)},
      {DNNL_ARG_SCRATCHPAD, scratchpadFor(e)},
  };
  if (bias) args[DNNL_ARG_BIAS] = memory(memory::desc({g.o}, Type::f32, Tag::a), cpu(), bias);
  e.prim.execute(queue(), args);
  queue().wait();
}

// dx = the input gradient of the convolution for the output gradient dy.
inline void backwardInput(const ConvShape& g, float* dy, float* w, float* dx) {
  Entry& e = entry(1, g, 0, false);
  e.prim.execute(queue(), {
                              {DNNL_ARG_DIFF_DST, memory(nhwc(g.n, g.o, g.oh, g.ow), cpu(), dy)},
                              {DNNL_ARG_WEIGHTS, filterIn(e, g, w)},
                              {DNNL_ARG_DIFF_SRC, memory(nhwc(g.n, g.c, g.h, g.w), cpu(), dx)},
                              {DNNL_ARG_SCRATCHPAD, scratchpadFor(e)},
                          });
  queue().wait();
}

// dw = the filter gradient, written in the tfjs filter layout.
inline void backwardFilter(const ConvShape& g, float* x, float* dy, float* dw) {
  Entry& e = entry(2, g, 0, false);
  memory user(userFilter(g), cpu(), dw);
  e.prim.execute(queue(), {
                              {DNNL_ARG_SRC, memory(nhwc(g.n, g.c, g.h, g.w), cpu(), x)},
                              {DNNL_ARG_DIFF_DST, memory(nhwc(g.n, g.o, g.oh, g.ow), cpu(), dy)},
                              {DNNL_ARG_DIFF_WEIGHTS, e.sameLayout ? user : e.filterBuffer},
                              {DNNL_ARG_SCRATCHPAD, scratchpadFor(e)},
                          });
  if (!e.sameLayout) e.toUser.execute(queue(), e.filterBuffer, user);
  queue().wait();
}

}  // namespace dnnl_conv
