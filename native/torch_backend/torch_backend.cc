// The TensorFlow.js backend over libtorch ('torch', src/engine/torch/): every tensor of the
// backend is an at::Tensor held by this addon, and every kernel it registers is one entry of the
// op table below, run by `run(op, inputs, params)`.
//
// A Node-API addon (C API only: ABI-stable, one binary for Node 20+ and Electron). A tensor
// handle is a napi external, type-tagged so that nothing else passes for one, owning a Holder;
// `release` frees the tensor at once (the engine's disposeData), the external's finalizer frees
// the Holder when JavaScript drops the handle. Tensors are never written in place after they are
// made, so a kernel may return a view or an alias of its input.
//
// Layout: a tfjs tensor keeps its tfjs shape (NHWC for images); convolutions and pooling view it
// as NCHW through a permutation (channels_last strides, nothing copied). Filters are HWIO
// ([kh, kw, in, out]; depthwise [kh, kw, c, m]) and are viewed the same way.
//
// Only ATen functions present from torch 1.13 through 2.x are used (at::convolution,
// at::convolution_backward, at::max_pool2d_with_indices(_backward), at::avg_pool2d(_backward),
// at::matmul, ...). Every handle, length and parameter from JavaScript is checked; a check that
// fails, and any c10::Error, becomes a JavaScript Error naming the op.

#include <node_api.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef REGBENCH_LIBTORCH_VERSION
#define REGBENCH_LIBTORCH_VERSION "unknown"
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Handles

const napi_type_tag HANDLE_TAG = {0x7265676265e7c401ULL, 0x746f726368a5d102ULL};

struct Holder {
  at::Tensor t;
};

at::Device currentDevice = at::Device(at::kCPU);

struct JsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void finalizeHolder(napi_env, void* data, void*) { delete static_cast<Holder*>(data); }

Holder* holderOf(napi_env env, napi_value v) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) throw JsError("not a torch tensor handle");
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &HANDLE_TAG, &tagged) != napi_ok || !tagged) throw JsError("not a torch tensor handle");
  void* data = nullptr;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) throw JsError("not a torch tensor handle");
  return static_cast<Holder*>(data);
}

const at::Tensor& tensorOf(napi_env env, napi_value v) {
  const Holder* h = holderOf(env, v);
  if (!h->t.defined()) throw JsError("tensor handle used after it was released");
  return h->t;
}

napi_value makeHandle(napi_env env, at::Tensor t) {
  auto* h = new Holder{std::move(t)};
  napi_value out;
  if (napi_create_external(env, h, finalizeHolder, nullptr, &out) != napi_ok) {
    delete h;
    throw JsError("cannot create a tensor handle");
  }
  napi_type_tag_object(env, out, &HANDLE_TAG);
  return out;
}

// tfjs dtypes: float32, int32, bool. Results of other types are brought back to these.
const char* dtypeName(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return "float32";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    default: return "unsupported";
  }
}

at::ScalarType dtypeOf(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "int32") return at::kInt;
  if (name == "bool") return at::kBool;
  throw JsError("unsupported dtype '" + name + "' (float32, int32 or bool)");
}

at::Tensor tfjsDtype(at::Tensor t) {
  switch (t.scalar_type()) {
    case at::kFloat:
    case at::kInt:
    case at::kBool:
      return t;
    case at::kLong:
    case at::kShort:
    case at::kByte:
    case at::kChar:
      return t.to(at::kInt);
    default:
      return t.to(at::kFloat);
  }
}

// ---------------------------------------------------------------------------------------------
// Parameters of an op: numbers from a Float64Array, every read checked.

struct Params {
  const double* p = nullptr;
  size_t n = 0;
  std::string op;

  double f(size_t k) const {
    if (k >= n) throw JsError(op + ": expected at least " + std::to_string(k + 1) + " parameters, got " + std::to_string(n));
    return p[k];
  }
  int64_t i(size_t k) const {
    double v = f(k);
    if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 9.0e15) throw JsError(op + ": parameter " + std::to_string(k) + " must be an integer, got " + std::to_string(v));
    return static_cast<int64_t>(v);
  }
  bool b(size_t k) const { return f(k) != 0; }
  // `count` integers from k on.
  std::vector<int64_t> ints(size_t k, size_t count) const {
    std::vector<int64_t> out;
    for (size_t j = 0; j < count; j++) out.push_back(i(k + j));
    return out;
  }
  // The rest of the parameters from k on as integers.
  std::vector<int64_t> rest(size_t k) const { return k >= n ? std::vector<int64_t>{} : ints(k, n - k); }
};

using Inputs = std::vector<at::Tensor>;
using Outputs = std::vector<at::Tensor>;
using OpFn = std::function<Outputs(const Inputs&, const Params&)>;

void needInputs(const Inputs& in, size_t want, const Params& p) {
  if (in.size() < want) throw JsError(p.op + ": expected " + std::to_string(want) + " inputs, got " + std::to_string(in.size()));
}

int64_t axisOf(int64_t axis, int64_t rank, const Params& p) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1)) throw JsError(p.op + ": axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return a;
}

// ---------------------------------------------------------------------------------------------
// Elementwise

using Unary = std::function<at::Tensor(const at::Tensor&, const Params&)>;
using Binary = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;

std::map<std::string, Unary> unaryOps() {
  auto flt = [](const at::Tensor& x) { return x.is_floating_point() ? x : x.to(at::kFloat); };
  return {
      {"Abs", [](const at::Tensor& x, const Params&) { return at::abs(x); }},
      {"Neg", [](const at::Tensor& x, const Params&) { return at::neg(x); }},
      {"Exp", [=](const at::Tensor& x, const Params&) { return at::exp(flt(x)); }},
      {"Expm1", [=](const at::Tensor& x, const Params&) { return at::expm1(flt(x)); }},
      {"Log", [=](const at::Tensor& x, const Params&) { return at::log(flt(x)); }},
      {"Log1p", [=](const at::Tensor& x, const Params&) { return at::log1p(flt(x)); }},
      {"Sqrt", [=](const at::Tensor& x, const Params&) { return at::sqrt(flt(x)); }},
      {"Rsqrt", [=](const at::Tensor& x, const Params&) { return at::rsqrt(flt(x)); }},
      {"Square", [](const at::Tensor& x, const Params&) { return at::mul(x, x); }},
      {"Reciprocal", [=](const at::Tensor& x, const Params&) { return at::reciprocal(flt(x)); }},
      {"Relu", [](const at::Tensor& x, const Params&) { return at::relu(x); }},
      {"Relu6", [](const at::Tensor& x, const Params&) { return at::clamp(x, 0, 6); }},
      {"Sigmoid", [=](const at::Tensor& x, const Params&) { return at::sigmoid(flt(x)); }},
      {"Tanh", [=](const at::Tensor& x, const Params&) { return at::tanh(flt(x)); }},
      {"Sin", [=](const at::Tensor& x, const Params&) { return at::sin(flt(x)); }},
      {"Cos", [=](const at::Tensor& x, const Params&) { return at::cos(flt(x)); }},
      {"Tan", [=](const at::Tensor& x, const Params&) { return at::tan(flt(x)); }},
      {"Asin", [=](const at::Tensor& x, const Params&) { return at::asin(flt(x)); }},
      {"Acos", [=](const at::Tensor& x, const Params&) { return at::acos(flt(x)); }},
      {"Atan", [=](const at::Tensor& x, const Params&) { return at::atan(flt(x)); }},
      {"Sinh", [=](const at::Tensor& x, const Params&) { return at::sinh(flt(x)); }},
      {"Cosh", [=](const at::Tensor& x, const Params&) { return at::cosh(flt(x)); }},
      {"Asinh", [=](const at::Tensor& x, const Params&) { return at::asinh(flt(x)); }},
      {"Acosh", [=](const at::Tensor& x, const Params&) { return at::acosh(flt(x)); }},
      {"Atanh", [=](const at::Tensor& x, const Params&) { return at::atanh(flt(x)); }},
      {"Erf", [=](const at::Tensor& x, const Params&) { return at::erf(flt(x)); }},
      {"Floor", [](const at::Tensor& x, const Params&) { return at::floor(x); }},
      {"Ceil", [](const at::Tensor& x, const Params&) { return at::ceil(x); }},
      {"Round", [](const at::Tensor& x, const Params&) { return at::round(x); }},
      {"Sign", [](const at::Tensor& x, const Params&) { return at::sign(x); }},
      {"IsNan", [](const at::Tensor& x, const Params&) { return at::isnan(x); }},
      {"IsInf", [](const at::Tensor& x, const Params&) { return at::isinf(x); }},
      {"IsFinite", [](const at::Tensor& x, const Params&) { return at::isfinite(x); }},
      {"LogicalNot", [](const at::Tensor& x, const Params&) { return at::logical_not(x); }},
      {"Elu", [=](const at::Tensor& x, const Params&) { return at::elu(flt(x)); }},
      {"Selu", [=](const at::Tensor& x, const Params&) { return at::selu(flt(x)); }},
      {"Softplus", [=](const at::Tensor& x, const Params&) { return at::softplus(flt(x)); }},
      // x > 0 ? 1 : alpha, NaN kept (tfjs' Step).
      {"Step", [](const at::Tensor& x, const Params& p) {
         at::Tensor one = at::ones({}, x.options()), alpha = at::full({}, p.f(0), x.options());
         return at::where(at::isnan(x), x, at::where(x > 0, one, alpha));
       }},
      {"LeakyRelu", [](const at::Tensor& x, const Params& p) { return at::where(x < 0, x * p.f(0), x); }},
      {"ClipByValue", [](const at::Tensor& x, const Params& p) { return at::clamp(x, p.f(0), p.f(1)); }},
  };
}

std::map<std::string, Binary> binaryOps() {
  return {
      {"Add", [](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }},
      {"Sub", [](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); }},
      {"Multiply", [](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }},
      {"RealDiv", [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b); }},
      // tfjs' FloorDiv is int32 whatever its inputs.
      {"FloorDiv", [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b, "floor").to(at::kInt); }},
      {"Mod", [](const at::Tensor& a, const at::Tensor& b) { return at::remainder(a, b); }},
      {"Maximum", [](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); }},
      {"Minimum", [](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); }},
      {"Pow", [](const at::Tensor& a, const at::Tensor& b) { return at::pow(a, b); }},
      {"Atan2", [](const at::Tensor& a, const at::Tensor& b) { return at::atan2(a, b); }},
      {"SquaredDifference", [](const at::Tensor& a, const at::Tensor& b) {
         at::Tensor d = at::sub(a, b);
         return at::mul(d, d);
       }},
      {"Equal", [](const at::Tensor& a, const at::Tensor& b) { return at::eq(a, b); }},
      {"NotEqual", [](const at::Tensor& a, const at::Tensor& b) { return at::ne(a, b); }},
      {"Less", [](const at::Tensor& a, const at::Tensor& b) { return at::lt(a, b); }},
      {"LessEqual", [](const at::Tensor& a, const at::Tensor& b) { return at::le(a, b); }},
      {"Greater", [](const at::Tensor& a, const at::Tensor& b) { return at::gt(a, b); }},
      {"GreaterEqual", [](const at::Tensor& a, const at::Tensor& b) { return at::ge(a, b); }},
      {"LogicalAnd", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_and(a, b); }},
      {"LogicalOr", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_or(a, b); }},
      {"LogicalXor", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_xor(a, b); }},
  };
}

// ---------------------------------------------------------------------------------------------
// Reductions: params [keepDims, axis...]; no axis = the tensor itself.

at::Tensor reduce(const std::string& op, const at::Tensor& x, const Params& p) {
  bool keep = p.b(0);
  std::vector<int64_t> axes;
  for (int64_t a : p.rest(1)) axes.push_back(axisOf(a, x.dim(), p));
  if (op == "ArgMax" || op == "ArgMin") {
    if (axes.size() != 1) throw JsError(p.op + ": exactly one axis");
    return (op == "ArgMax" ? at::argmax(x, axes[0], keep) : at::argmin(x, axes[0], keep)).to(at::kInt);
  }
  if (axes.empty()) return x;
  if (op == "Sum") return at::sum(x.scalar_type() == at::kBool ? x.to(at::kInt) : x, axes, keep);
  if (op == "Mean") return at::mean(x.is_floating_point() ? x : x.to(at::kFloat), axes, keep);
  if (op == "Max" || op == "Min" || op == "All" || op == "Any" || op == "Prod") {
    at::Tensor r = x;
    // One axis at a time, the highest first, so that the remaining axis numbers stay valid.
    std::vector<int64_t> sorted = axes;
    std::sort(sorted.rbegin(), sorted.rend());
    for (int64_t a : sorted) {
      if (op == "Max") r = std::get<0>(at::max(r, a, keep));
      else if (op == "Min") r = std::get<0>(at::min(r, a, keep));
      else if (op == "All") r = at::all(r, a, keep);
      else if (op == "Any") r = at::any(r, a, keep);
      else r = at::prod(r, a, keep);
    }
    return r;
  }
  throw JsError("unknown reduction " + op);
}

// ---------------------------------------------------------------------------------------------
// Convolutions. Geometry params (from tfjs' computeConv2DInfo):
// [strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW, depthwise]

struct Conv {
  int64_t sh, sw, pt, pb, pl, pr, dh, dw;
  bool depthwise;
  explicit Conv(const Params& p, size_t k = 0) {
    sh = p.i(k), sw = p.i(k + 1), pt = p.i(k + 2), pb = p.i(k + 3), pl = p.i(k + 4), pr = p.i(k + 5), dh = p.i(k + 6), dw = p.i(k + 7);
    depthwise = p.b(k + 8);
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || pt < 0 || pb < 0 || pl < 0 || pr < 0) throw JsError(p.op + ": strides and dilations must be >= 1, pads >= 0");
  }
  bool symmetric() const { return pt == pb && pl == pr; }
  std::vector<int64_t> padding() const { return symmetric() ? std::vector<int64_t>{pt, pl} : std::vector<int64_t>{0, 0}; }
  at::Tensor padded(const at::Tensor& nchw, double value = 0) const {
    return symmetric() ? nchw : at::constant_pad_nd(nchw, {pl, pr, pt, pb}, value);
  }
};

at::Tensor toNchw(const at::Tensor& nhwc, const Params& p) {
  if (nhwc.dim() != 4) throw JsError(p.op + ": expected a 4-d NHWC tensor, got rank " + std::to_string(nhwc.dim()));
  return nhwc.permute({0, 3, 1, 2});
}
at::Tensor toNhwc(const at::Tensor& nchw) { return nchw.permute({0, 2, 3, 1}).contiguous(); }

// HWIO ([kh, kw, in, out]) or depthwise [kh, kw, c, m] as torch's weight.
at::Tensor weightOf(const at::Tensor& f, bool depthwise, const Params& p) {
  if (f.dim() != 4) throw JsError(p.op + ": expected a 4-d filter, got rank " + std::to_string(f.dim()));
  if (!depthwise) return f.permute({3, 2, 0, 1});
  return f.reshape({f.size(0), f.size(1), f.size(2) * f.size(3)}).permute({2, 0, 1}).unsqueeze(1);
}

// torch's weight gradient back to the tfjs filter layout.
at::Tensor filterOf(const at::Tensor& w, bool depthwise, int64_t c, int64_t m) {
  if (!depthwise) return w.permute({2, 3, 1, 0}).contiguous();
  return w.squeeze(1).permute({1, 2, 0}).reshape({w.size(2), w.size(3), c, m}).contiguous();
}

at::Tensor activate(at::Tensor y, int64_t activation, double alpha, const at::Tensor& prelu) {
  switch (activation) {
    case 0: return y;
    case 1: return at::relu(y);
    case 2: return at::clamp(y, 0, 6);
    case 3: return at::where(y < 0, y * alpha, y);
    case 4: return at::sigmoid(y);
    case 5: return at::elu(y);
    case 6: return at::where(y < 0, y * prelu, y);
    default: throw JsError("unknown fused activation " + std::to_string(activation));
  }
}

// Conv2D / DepthwiseConv2dNative / their fused forms: inputs (x, filter[, bias][, preluWeights]);
// params geometry + [hasBias, activation, alpha].
Outputs convForward(const Inputs& in, const Params& p) {
  needInputs(in, 2, p);
  Conv g(p);
  at::Tensor x = toNchw(in[0], p), w = weightOf(in[1], g.depthwise, p);
  int64_t groups = g.depthwise ? x.size(1) : 1;
  bool hasBias = p.n > 9 && p.b(9);
  int64_t activation = p.n > 10 ? p.i(10) : 0;
  double alpha = p.n > 11 ? p.f(11) : 0;
  size_t next = 2;
  at::Tensor bias = hasBias ? in.at(next++) : at::Tensor();
  at::Tensor prelu = activation == 6 ? in.at(next) : at::Tensor();
  at::Tensor y = at::convolution(g.padded(x), w, c10::nullopt, {g.sh, g.sw}, g.padding(), {g.dh, g.dw}, false, {0, 0}, groups);
  y = toNhwc(y);
  if (hasBias) y = y + bias;
  return {activate(y, activation, alpha, prelu)};
}

// The rows (columns) of the padded input a convolution reads: trailing ones beyond are never
// read. libtorch 1.13's CPU gradients over such an input were seen to return garbage now and then
// (1x1 filter, stride 2), so the gradients below run on the read extent only, pads explicit.
int64_t readExtent(int64_t out, int64_t k, int64_t s, int64_t d) { return (out - 1) * s + d * (k - 1) + 1; }

// Conv2DBackpropInput / DepthwiseConv2dNativeBackpropInput: inputs (dy, filter); params geometry
// + [N, H, W, C, outH, outW].
Outputs convBackpropInput(const Inputs& in, const Params& p) {
  needInputs(in, 2, p);
  Conv g(p);
  std::vector<int64_t> s = p.ints(9, 6);
  int64_t n = s[0], h = s[1], w = s[2], c = s[3], oh = s[4], ow = s[5];
  at::Tensor dy = toNchw(in[0], p);
  if (dy.size(2) < oh || dy.size(3) < ow || oh < 1 || ow < 1) throw JsError(p.op + ": dy is smaller than the convolution's output");
  dy = dy.slice(2, 0, oh).slice(3, 0, ow);
  at::Tensor wt = weightOf(in[1], g.depthwise, p);
  int64_t hp = h + g.pt + g.pb, wp = w + g.pl + g.pr;
  int64_t uh = readExtent(oh, wt.size(2), g.sh, g.dh), uw = readExtent(ow, wt.size(3), g.sw, g.dw);
  if (uh > hp || uw > wp) throw JsError(p.op + ": the output size does not fit the input and pads");
  bool direct = g.symmetric() && uh == hp && uw == wp;
  at::Tensor shape = at::zeros(direct ? std::vector<int64_t>{n, c, h, w} : std::vector<int64_t>{n, c, uh, uw}, dy.options().memory_format(at::MemoryFormat::ChannelsLast));
  std::vector<int64_t> padding = direct ? g.padding() : std::vector<int64_t>{0, 0};
  auto grads = at::convolution_backward(dy, shape, wt, c10::nullopt, {g.sh, g.sw}, padding, {g.dh, g.dw}, false, {0, 0}, g.depthwise ? c : 1, {true, false, false});
  at::Tensor gi = std::get<0>(grads);
  if (!direct) {
    if (uh < hp || uw < wp) gi = at::constant_pad_nd(gi, {0, wp - uw, 0, hp - uh}, 0);
    gi = gi.slice(2, g.pt, g.pt + h).slice(3, g.pl, g.pl + w);
  }
  return {toNhwc(gi)};
}

// Conv2DBackpropFilter / DepthwiseConv2dNativeBackpropFilter: inputs (x, dy); params geometry +
// [kh, kw, inChannels, outChannelsOrMultiplier, outH, outW].
Outputs convBackpropFilter(const Inputs& in, const Params& p) {
  needInputs(in, 2, p);
  Conv g(p);
  std::vector<int64_t> s = p.ints(9, 6);
  int64_t kh = s[0], kw = s[1], ci = s[2], co = s[3], oh = s[4], ow = s[5];
  at::Tensor x = toNchw(in[0], p);
  at::Tensor dy = toNchw(in[1], p);
  if (dy.size(2) < oh || dy.size(3) < ow || oh < 1 || ow < 1) throw JsError(p.op + ": dy is smaller than the convolution's output");
  dy = dy.slice(2, 0, oh).slice(3, 0, ow);
  int64_t hp = x.size(2) + g.pt + g.pb, wp = x.size(3) + g.pl + g.pr;
  int64_t uh = readExtent(oh, kh, g.sh, g.dh), uw = readExtent(ow, kw, g.sw, g.dw);
  if (uh > hp || uw > wp) throw JsError(p.op + ": the output size does not fit the input and pads");
  bool direct = g.symmetric() && uh == hp && uw == wp;
  std::vector<int64_t> padding = direct ? g.padding() : std::vector<int64_t>{0, 0};
  if (!direct) x = at::constant_pad_nd(x, {g.pl, g.pr, g.pt, g.pb}, 0).slice(2, 0, uh).slice(3, 0, uw);
  std::vector<int64_t> wshape = g.depthwise ? std::vector<int64_t>{ci * co, 1, kh, kw} : std::vector<int64_t>{co, ci, kh, kw};
  at::Tensor wt = at::zeros(wshape, dy.options());
  auto grads = at::convolution_backward(dy, x, wt, c10::nullopt, {g.sh, g.sw}, padding, {g.dh, g.dw}, false, {0, 0}, g.depthwise ? ci : 1, {false, true, false});
  return {filterOf(std::get<1>(grads), g.depthwise, ci, co)};
}

// ---------------------------------------------------------------------------------------------
// Pooling: params [kh, kw, sh, sw, padTop, padBottom, padLeft, padRight].

struct Pool {
  int64_t kh, kw, sh, sw, pt, pb, pl, pr;
  explicit Pool(const Params& p) {
    std::vector<int64_t> v = p.ints(0, 8);
    kh = v[0], kw = v[1], sh = v[2], sw = v[3], pt = v[4], pb = v[5], pl = v[6], pr = v[7];
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || pt < 0 || pb < 0 || pl < 0 || pr < 0) throw JsError(p.op + ": bad pooling geometry");
  }
  bool padded() const { return pt || pb || pl || pr; }
  at::Tensor pad(const at::Tensor& x, double v) const { return padded() ? at::constant_pad_nd(x, {pl, pr, pt, pb}, v) : x; }
  at::Tensor unpad(const at::Tensor& x) const { return padded() ? x.slice(2, pt, x.size(2) - pb).slice(3, pl, x.size(3) - pr) : x; }
};

const double NEG_INF = -std::numeric_limits<double>::infinity();

// Average pooling over the valid (unpadded) positions of each window, as tfjs computes it.
at::Tensor avgDivisor(const Pool& g, const at::Tensor& x) {
  at::Tensor ones = g.pad(at::ones({1, 1, x.size(2), x.size(3)}, x.options()), 0);
  return at::avg_pool2d(ones, {g.kh, g.kw}, {g.sh, g.sw});
}

Outputs maxPool(const Inputs& in, const Params& p) {
  needInputs(in, 1, p);
  Pool g(p);
  at::Tensor x = g.pad(toNchw(in[0], p), NEG_INF);
  return {toNhwc(at::max_pool2d(x, {g.kh, g.kw}, {g.sh, g.sw}))};
}

// MaxPoolGrad: inputs (dy, x, y).
Outputs maxPoolGrad(const Inputs& in, const Params& p) {
  needInputs(in, 2, p);
  Pool g(p);
  at::Tensor x = g.pad(toNchw(in[1], p), NEG_INF);
  auto pooled = at::max_pool2d_with_indices(x, {g.kh, g.kw}, {g.sh, g.sw}, {0, 0}, {1, 1}, false);
  at::Tensor dy = toNchw(in[0], p);
  at::Tensor dx = at::max_pool2d_with_indices_backward(dy, x, {g.kh, g.kw}, {g.sh, g.sw}, {0, 0}, {1, 1}, false, std::get<1>(pooled));
  return {toNhwc(g.unpad(dx))};
}

Outputs avgPool(const Inputs& in, const Params& p) {
  needInputs(in, 1, p);
  Pool g(p);
  at::Tensor x = toNchw(in[0], p);
  at::Tensor y = at::avg_pool2d(g.pad(x, 0), {g.kh, g.kw}, {g.sh, g.sw});
  if (g.padded()) y = y * (static_cast<double>(g.kh * g.kw)) / (avgDivisor(g, x) * static_cast<double>(g.kh * g.kw));
  return {toNhwc(y)};
}

// AvgPoolGrad: inputs (dy, x). As tfjs' own kernels: every window's gradient is divided by the
// full window size, pads included (its forward divides by the valid positions only).
Outputs avgPoolGrad(const Inputs& in, const Params& p) {
  needInputs(in, 2, p);
  Pool g(p);
  at::Tensor x = toNchw(in[1], p);
  at::Tensor dy = toNchw(in[0], p);
  at::Tensor xp = g.pad(x, 0);
  at::Tensor dx = at::avg_pool2d_backward(dy.contiguous(at::MemoryFormat::ChannelsLast), xp, {g.kh, g.kw}, {g.sh, g.sw}, {0, 0}, false, true, c10::nullopt);
  return {toNhwc(g.unpad(dx))};
}

// ---------------------------------------------------------------------------------------------
// Helpers of the project's own kernels.

// [..., C] as [rows, C].
at::Tensor rowsOf(const at::Tensor& x) { return x.reshape({-1, x.size(-1)}); }

// dy where x is in (0, cap] or NaN (the ReLU / ReLU6 gradient with PyTorch's rule at NaN), else 0.
at::Tensor maskedBy(const at::Tensor& dy, const at::Tensor& x, double cap) {
  at::Tensor keep = at::logical_or(at::logical_and(x > 0, x <= cap), at::isnan(x));
  return at::where(keep, dy, at::zeros({}, dy.options()));
}

// ---------------------------------------------------------------------------------------------
// The op table.

std::map<std::string, OpFn> buildOps() {
  std::map<std::string, OpFn> ops;
  for (auto& [name, f] : unaryOps()) {
    Unary fn = f;
    ops[name] = [fn](const Inputs& in, const Params& p) -> Outputs {
      needInputs(in, 1, p);
      return {fn(in[0], p)};
    };
  }
  for (auto& [name, f] : binaryOps()) {
    Binary fn = f;
    ops[name] = [fn](const Inputs& in, const Params& p) -> Outputs {
      needInputs(in, 2, p);
      return {fn(in[0], in[1])};
    };
  }
  for (const char* name : {"Sum", "Mean", "Max", "Min", "Prod", "All", "Any", "ArgMax", "ArgMin"}) {
    std::string op = name;
    ops[op] = [op](const Inputs& in, const Params& p) -> Outputs {
      needInputs(in, 1, p);
      return {reduce(op, in[0], p)};
    };
  }
  ops["Conv2D"] = convForward;
  ops["Conv2DBackpropInput"] = convBackpropInput;
  ops["Conv2DBackpropFilter"] = convBackpropFilter;
  ops["MaxPool"] = maxPool;
  ops["MaxPoolGrad"] = maxPoolGrad;
  ops["AvgPool"] = avgPool;
  ops["AvgPoolGrad"] = avgPoolGrad;
  // params [transposeA, transposeB, hasBias, activation, alpha]; inputs (a, b[, bias][, prelu]).
  ops["BatchMatMul"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 2, p);
    at::Tensor a = p.b(0) ? in[0].transpose(-1, -2) : in[0];
    at::Tensor b = p.b(1) ? in[1].transpose(-1, -2) : in[1];
    at::Tensor y = at::matmul(a, b);
    bool hasBias = p.n > 2 && p.b(2);
    int64_t activation = p.n > 3 ? p.i(3) : 0;
    size_t next = 2;
    if (hasBias) y = y + in.at(next++);
    return {activate(y, activation, p.n > 4 ? p.f(4) : 0, activation == 6 ? in.at(next) : at::Tensor())};
  };
  // params [dim]
  ops["Softmax"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    return {at::softmax(in[0], axisOf(p.i(0), in[0].dim(), p))};
  };
  // FusedBatchNorm: inputs (x, mean, variance[, offset][, scale]); params [eps, hasOffset, hasScale].
  ops["FusedBatchNorm"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 3, p);
    size_t next = 3;
    at::Tensor y = (in[0] - in[1]) * at::rsqrt(in[2] + p.f(0));
    at::Tensor offset = p.b(1) ? in.at(next++) : at::Tensor();
    if (p.b(2)) y = y * in.at(next);
    if (offset.defined()) y = y + offset;
    return {y};
  };
  // params: the new shape.
  ops["Reshape"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    std::vector<int64_t> shape = p.rest(0);
    int64_t size = 1;
    for (int64_t d : shape) {
      if (d < 0) throw JsError("Reshape: negative dimension");
      size *= d;
    }
    if (size != in[0].numel()) throw JsError("Reshape: " + std::to_string(in[0].numel()) + " values cannot take a shape of " + std::to_string(size));
    return {in[0].reshape(shape)};
  };
  ops["Identity"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    return {in[0]};
  };
  // params [dtype: 0 float32, 1 int32, 2 bool]
  ops["Cast"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    int64_t d = p.i(0);
    if (d < 0 || d > 2) throw JsError("Cast: dtype code must be 0, 1 or 2");
    at::ScalarType t = d == 0 ? at::kFloat : d == 1 ? at::kInt : at::kBool;
    return {in[0].scalar_type() == t ? in[0] : in[0].to(t)};
  };
  ops["Transpose"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    std::vector<int64_t> perm = p.rest(0);
    if (static_cast<int64_t>(perm.size()) != in[0].dim()) throw JsError("Transpose: perm length differs from the rank");
    return {in[0].permute(perm).contiguous()};
  };
  // params [begin..., size...] (size -1: to the end)
  ops["Slice"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    int64_t r = in[0].dim();
    std::vector<int64_t> v = p.ints(0, static_cast<size_t>(2 * r));
    at::Tensor y = in[0];
    for (int64_t d = 0; d < r; d++) {
      int64_t b = v[d], s = v[r + d] < 0 ? in[0].size(d) - b : v[r + d];
      if (b < 0 || s < 0 || b + s > in[0].size(d)) throw JsError("Slice: begin/size out of range on axis " + std::to_string(d));
      y = y.slice(d, b, b + s);
    }
    return {y.contiguous()};
  };
  // params [axis]
  ops["Concat"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    return {at::cat(in, axisOf(p.i(0), in[0].dim(), p))};
  };
  ops["Pack"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    return {at::stack(in, axisOf(p.i(0), in[0].dim() + 1, p))};
  };
  ops["Unpack"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    Outputs out;
    for (const at::Tensor& t : at::unbind(in[0], axisOf(p.i(0), in[0].dim(), p))) out.push_back(t.contiguous());
    return out;
  };
  // params [axis, size...]
  ops["SplitV"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    Outputs out;
    for (const at::Tensor& t : at::split_with_sizes(in[0], p.rest(1), axisOf(p.i(0), in[0].dim(), p))) out.push_back(t.contiguous());
    return out;
  };
  // params [constant, before0, after0, before1, after1, ...]
  ops["PadV2"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    int64_t r = in[0].dim();
    std::vector<int64_t> v = p.ints(1, static_cast<size_t>(2 * r));
    std::vector<int64_t> torchPads;
    for (int64_t d = r - 1; d >= 0; d--) torchPads.push_back(v[2 * d]), torchPads.push_back(v[2 * d + 1]);
    for (int64_t q : torchPads) if (q < 0) throw JsError("PadV2: negative padding");
    return {at::constant_pad_nd(in[0], torchPads, p.f(0))};
  };
  ops["Tile"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    return {in[0].repeat(p.rest(0))};
  };
  ops["Reverse"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    std::vector<int64_t> dims;
    for (int64_t a : p.rest(0)) dims.push_back(axisOf(a, in[0].dim(), p));
    return {dims.empty() ? in[0] : at::flip(in[0], dims)};
  };
  // GatherV2 with batchDims 0: inputs (x, indices int32); params [axis]. Indices are checked.
  ops["GatherV2"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 2, p);
    int64_t axis = axisOf(p.i(0), in[0].dim(), p);
    at::Tensor idx = in[1].to(at::kLong);
    if (idx.numel() > 0) {
      int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
      if (lo < 0 || hi >= in[0].size(axis)) throw JsError("GatherV2: index " + std::to_string(lo < 0 ? lo : hi) + " out of range [0, " + std::to_string(in[0].size(axis)) + ")");
    }
    at::Tensor flat = at::index_select(in[0], axis, idx.reshape({-1}));
    std::vector<int64_t> shape(in[0].sizes().begin(), in[0].sizes().begin() + axis);
    for (int64_t d : idx.sizes()) shape.push_back(d);
    for (int64_t d = axis + 1; d < in[0].dim(); d++) shape.push_back(in[0].size(d));
    return {flat.reshape(shape)};
  };
  ops["Select"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 3, p);
    at::Tensor c = in[0].to(at::kBool);
    // tfjs' Select takes a 1-d condition over the first axis as well.
    if (c.dim() == 1 && in[1].dim() > 1) {
      std::vector<int64_t> shape(static_cast<size_t>(in[1].dim()), 1);
      shape[0] = c.size(0);
      c = c.reshape(shape);
    }
    return {at::where(c, in[1], in[2])};
  };
  ops["AddN"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    at::Tensor s = in[0];
    for (size_t k = 1; k < in.size(); k++) s = s + in[k];
    return {s};
  };
  ops["ZerosLike"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    return {at::zeros_like(in[0])};
  };
  ops["OnesLike"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    return {at::ones_like(in[0])};
  };
  // Fill: no inputs; params [dtype code, value, shape...].
  ops["Fill"] = [](const Inputs&, const Params& p) -> Outputs {
    int64_t d = p.i(0);
    at::ScalarType t = d == 0 ? at::kFloat : d == 1 ? at::kInt : at::kBool;
    return {at::full(p.rest(2), p.f(1), at::TensorOptions().dtype(t).device(currentDevice))};
  };
  // OneHot: inputs (indices); params [depth, onValue, offValue, dtype code].
  ops["OneHot"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    int64_t depth = p.i(0), d = p.i(3);
    if (depth < 0) throw JsError("OneHot: negative depth");
    at::ScalarType t = d == 0 ? at::kFloat : d == 1 ? at::kInt : at::kBool;
    at::Tensor idx = in[0].to(at::kLong);
    // Out-of-range indices give a row of offValue, as in tfjs.
    at::Tensor classes = at::arange(depth, idx.options());
    at::Tensor hit = idx.unsqueeze(-1) == classes;
    at::Tensor on = at::full({}, p.f(1), at::TensorOptions().dtype(t).device(idx.device()));
    at::Tensor off = at::full({}, p.f(2), at::TensorOptions().dtype(t).device(idx.device()));
    return {at::where(hit, on, off)};
  };
  // The project's own training kernels (src/engine/tfjs/kernels/: same contracts as on wasm).
  // RegbenchMaskedGrad (dy, x); params [cap]: dy where x in (0, cap] or NaN, else 0.
  ops["RegbenchMaskedGrad"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 2, p);
    return {maskedBy(in[0], in[1], p.f(0))};
  };
  // RegbenchAddRelu (a, b): relu(a + b).
  ops["RegbenchAddRelu"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 2, p);
    return {at::relu(in[0] + in[1])};
  };
  // RegbenchChannelMoments (x): per-channel mean and biased variance over [rows, C].
  ops["RegbenchChannelMoments"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 1, p);
    auto vm = at::var_mean(rowsOf(in[0]), {0}, false, false);
    return {std::get<1>(vm), std::get<0>(vm)};
  };
  // RegbenchChannelGradSums(Relu) (dy, x, mean[, y]): [sum dy, sum dy * (x - mean)] per channel.
  for (bool relu : {false, true}) {
    ops[relu ? "RegbenchChannelGradSumsRelu" : "RegbenchChannelGradSums"] = [relu](const Inputs& in, const Params& p) -> Outputs {
      needInputs(in, relu ? 4 : 3, p);
      at::Tensor dy = rowsOf(relu ? maskedBy(in[0], in[3], INFINITY) : in[0]);
      return {dy.sum(0), (dy * (rowsOf(in[1]) - in[2])).sum(0)};
    };
  }
  // RegbenchChannelAffine(Relu) (x, a, b): x * a + b per channel (then relu).
  ops["RegbenchChannelAffine"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 3, p);
    return {at::addcmul(in[2], in[0], in[1])};
  };
  ops["RegbenchChannelAffineRelu"] = [](const Inputs& in, const Params& p) -> Outputs {
    needInputs(in, 3, p);
    return {at::relu(at::addcmul(in[2], in[0], in[1]))};
  };
  // RegbenchChannelAffine2(Relu) (dy, x, a, k, b[, y]): dy * a + x * k + b per channel.
  for (bool relu : {false, true}) {
    ops[relu ? "RegbenchChannelAffine2Relu" : "RegbenchChannelAffine2"] = [relu](const Inputs& in, const Params& p) -> Outputs {
      needInputs(in, relu ? 6 : 5, p);
      at::Tensor dy = relu ? maskedBy(in[0], in[5], INFINITY) : in[0];
      return {at::addcmul(at::addcmul(in[4], in[1], in[3]), dy, in[2])};
    };
  }
  // RegbenchSgdUpdate (p0, m0, g0, p1, ...); params [lr, momentum, weightDecay]: torch.optim.SGD,
  // d = g + wd * p; buf = momentum * buf + d; p = p - lr * buf. Outputs p0', m0', p1', ...
  ops["RegbenchSgdUpdate"] = [](const Inputs& in, const Params& p) -> Outputs {
    if (in.size() % 3 != 0) throw JsError("RegbenchSgdUpdate: inputs must be (param, momentum, gradient) triples");
    double lr = p.f(0), momentum = p.f(1), wd = p.f(2);
    Outputs out;
    for (size_t k = 0; k < in.size(); k += 3) {
      at::Tensor d = in[k + 2] + in[k] * wd;
      at::Tensor buf = in[k + 1] * momentum + d;
      out.push_back(in[k] - buf * lr);
      out.push_back(buf);
    }
    return out;
  };
  return ops;
}

const std::map<std::string, OpFn>& opTable() {
  static const std::map<std::string, OpFn> table = buildOps();
  return table;
}

// ---------------------------------------------------------------------------------------------
// Node-API entry points

template <typename F>
napi_value guarded(napi_env env, const char* what, F body) {
  try {
    return body();
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    napi_throw_error(env, nullptr, (std::string("torch backend ") + what + ": " + msg.substr(0, msg.find('\n'))).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("torch backend ") + what + ": " + e.what()).c_str());
  }
  return nullptr;
}

std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t want) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) throw JsError("bad call");
  if (argc < want) throw JsError("expected " + std::to_string(want) + " arguments, got " + std::to_string(argc));
  return std::vector<napi_value>(argv, argv + argc);
}

std::string stringOf(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) throw JsError("expected a string");
  if (len > 4096) throw JsError("string argument too long");
  std::string s(len, '\0');
  napi_get_value_string_utf8(env, v, s.data(), len + 1, &len);
  return s;
}

std::vector<int64_t> intArray(napi_env env, napi_value v, const char* what) {
  bool isArray = false;
  napi_is_array(env, v, &isArray);
  if (!isArray) throw JsError(std::string(what) + " must be an array");
  uint32_t len = 0;
  napi_get_array_length(env, v, &len);
  if (len > 64) throw JsError(std::string(what) + " has more than 64 entries");
  std::vector<int64_t> out;
  for (uint32_t k = 0; k < len; k++) {
    napi_value e;
    double d = 0;
    napi_get_element(env, v, k, &e);
    if (napi_get_value_double(env, e, &d) != napi_ok || d < 0 || d != std::floor(d) || d > 9.0e15) throw JsError(std::string(what) + ": entries must be non-negative integers");
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

// fromArray(data: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: string) -> handle
napi_value FromArray(napi_env env, napi_callback_info info) {
  return guarded(env, "fromArray", [&] {
    auto a = args(env, info, 3);
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    void* data = nullptr;
    napi_value buffer;
    if (napi_get_typedarray_info(env, a[0], &type, &length, &data, &buffer, &offset) != napi_ok) throw JsError("data must be a typed array");
    std::vector<int64_t> shape = intArray(env, a[1], "shape");
    at::ScalarType dtype = dtypeOf(stringOf(env, a[2]));
    size_t want = 1;
    for (int64_t d : shape) want *= static_cast<size_t>(d);
    size_t width = type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array ? 4 : type == napi_uint8_array || type == napi_int8_array || type == napi_uint8_clamped_array ? 1 : 0;
    size_t needWidth = dtype == at::kBool ? 1 : 4;
    if (width != needWidth) throw JsError(std::string("data's element type does not fit dtype ") + dtypeName(dtype));
    if (length != want) throw JsError("data has " + std::to_string(length) + " values, shape needs " + std::to_string(want));
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (want) std::memcpy(t.data_ptr(), data, want * width);
    if (dtype == at::kBool) t = t.ne(0);  // any non-zero byte is true
    return makeHandle(env, currentDevice.is_cpu() ? t : t.to(currentDevice));
  });
}

// toArray(handle) -> a new Float32Array / Int32Array / Uint8Array with the values.
napi_value ToArray(napi_env env, napi_callback_info info) {
  return guarded(env, "toArray", [&] {
    auto a = args(env, info, 1);
    at::Tensor t = tensorOf(env, a[0]).to(at::kCPU).contiguous();
    at::ScalarType s = t.scalar_type();
    if (s != at::kFloat && s != at::kInt && s != at::kBool) t = tfjsDtype(t).contiguous(), s = t.scalar_type();
    size_t n = static_cast<size_t>(t.numel()), width = s == at::kBool ? 1 : 4;
    void* out = nullptr;
    napi_value ab, arr;
    if (napi_create_arraybuffer(env, n * width, &out, &ab) != napi_ok) throw JsError("cannot allocate the result");
    if (n) std::memcpy(out, t.data_ptr(), n * width);
    napi_create_typedarray(env, s == at::kFloat ? napi_float32_array : s == at::kInt ? napi_int32_array : napi_uint8_array, n, ab, 0, &arr);
    return arr;
  });
}

napi_value Release(napi_env env, napi_callback_info info) {
  return guarded(env, "release", [&]() -> napi_value {
    auto a = args(env, info, 1);
    holderOf(env, a[0])->t = at::Tensor();
    return nullptr;
  });
}

napi_value describe(napi_env env, const at::Tensor& t) {
  napi_value obj, h, shape, dtype;
  napi_create_object(env, &obj);
  h = makeHandle(env, t);
  napi_create_array_with_length(env, static_cast<size_t>(t.dim()), &shape);
  for (int64_t d = 0; d < t.dim(); d++) {
    napi_value v;
    napi_create_double(env, static_cast<double>(t.size(d)), &v);
    napi_set_element(env, shape, static_cast<uint32_t>(d), v);
  }
  napi_create_string_utf8(env, dtypeName(t.scalar_type()), NAPI_AUTO_LENGTH, &dtype);
  napi_set_named_property(env, obj, "h", h);
  napi_set_named_property(env, obj, "shape", shape);
  napi_set_named_property(env, obj, "dtype", dtype);
  return obj;
}

// run(op: string, inputs: handle[], params: Float64Array) -> [{h, shape, dtype}, ...]
napi_value Run(napi_env env, napi_callback_info info) {
  std::string op;
  return guarded(env, "run", [&] {
    auto a = args(env, info, 3);
    op = stringOf(env, a[0]);
    auto it = opTable().find(op);
    if (it == opTable().end()) throw JsError("no op '" + op + "'");
    bool isArray = false;
    napi_is_array(env, a[1], &isArray);
    if (!isArray) throw JsError(op + ": inputs must be an array of handles");
    uint32_t count = 0;
    napi_get_array_length(env, a[1], &count);
    if (count > 4096) throw JsError(op + ": too many inputs");
    Inputs in;
    for (uint32_t k = 0; k < count; k++) {
      napi_value e;
      napi_get_element(env, a[1], k, &e);
      in.push_back(tensorOf(env, e));
    }
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    void* data = nullptr;
    napi_value buffer;
    if (napi_get_typedarray_info(env, a[2], &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_float64_array) throw JsError(op + ": params must be a Float64Array");
    Params p{static_cast<const double*>(data), length, op};
    Outputs out;
    {
      c10::InferenceMode guard;
      out = it->second(in, p);
    }
    napi_value result;
    napi_create_array_with_length(env, out.size(), &result);
    for (size_t k = 0; k < out.size(); k++) napi_set_element(env, result, static_cast<uint32_t>(k), describe(env, tfjsDtype(out[k])));
    return result;
  });
}

// ops() -> the names of the op table.
napi_value Ops(napi_env env, napi_callback_info) {
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t k = 0;
  for (const auto& entry : opTable()) {
    napi_value s;
    napi_create_string_utf8(env, entry.first.c_str(), NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, k++, s);
  }
  return arr;
}

int64_t cudaDeviceCount() {
  if (!at::hasCUDA()) return 0;
  return at::detail::getCUDAHooks().getNumGPUs();
}

// setDevice("cpu" | "cuda" | "cuda:N"): throws when that device is not there.
napi_value SetDevice(napi_env env, napi_callback_info info) {
  return guarded(env, "setDevice", [&]() -> napi_value {
    auto a = args(env, info, 1);
    at::Device d(stringOf(env, a[0]));
    if (d.is_cuda()) {
      int64_t n = cudaDeviceCount();
      if (n == 0) throw JsError("CUDA is not available to this libtorch");
      if (d.has_index() && d.index() >= n) throw JsError("no CUDA device " + std::to_string(d.index()) + " (" + std::to_string(n) + " found)");
      if (!d.has_index()) d = at::Device(at::kCUDA, 0);
    } else if (!d.is_cpu()) {
      throw JsError("device must be cpu or cuda[:N]");
    }
    currentDevice = d;
    return nullptr;
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, "setThreads", [&]() -> napi_value {
    auto a = args(env, info, 1);
    int32_t n = 0;
    if (napi_get_value_int32(env, a[0], &n) != napi_ok || n < 1 || n > 1024) throw JsError("setThreads(n): n must be an integer in 1..1024");
    at::set_num_threads(n);
    return nullptr;
  });
}

napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, "info", [&] {
    napi_value obj, v;
    napi_create_object(env, &obj);
    napi_create_string_utf8(env, REGBENCH_LIBTORCH_VERSION, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, "libtorch", v);
    napi_create_int32(env, at::get_num_threads(), &v);
    napi_set_named_property(env, obj, "threads", v);
    napi_create_int32(env, static_cast<int32_t>(cudaDeviceCount()), &v);
    napi_set_named_property(env, obj, "cudaDevices", v);
    napi_create_string_utf8(env, currentDevice.str().c_str(), NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, "device", v);
    return obj;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  } fns[] = {{"fromArray", FromArray}, {"toArray", ToArray}, {"release", Release}, {"run", Run}, {"ops", Ops}, {"setDevice", SetDevice}, {"setThreads", SetThreads}, {"info", Info}};
  for (const Fn& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
