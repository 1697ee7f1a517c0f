// Fused LSTM / GRU gate kernels: one step's nonlinearities, state update and derivatives in a
// single pass over each row, instead of one TypeScript loop per step. float32 is vectorised
// with AVX2 (tanh_v; σ(x) = ½ + ½·tanh(x/2) so both gates share one approximation); float64
// uses the C library's exp/tanh, whose last bits may differ from Math.exp/Math.tanh.
// The backward loops have no transcendental functions; GCC vectorises them as written (as
// plain functions: in the lambdas of for_rows GCC 12 did not).
#pragma GCC target("avx2,fma")
#include "gates.h"

#include <algorithm>
#include <cmath>

#include "cpu.h"
#include "gates-rows.h"
#include "gemm.h"
#include "simd.h"

namespace rnnk {

namespace {

// Calls f(b0, b1) over row ranges covering [0, B), split across the pool when the step is big
// (tuning().gates_parallel_min elements B·H: below, waking another thread costs more).
// Each element is computed the same way in any split, so results do not depend on the threads.
template <typename F>
void for_rows(int B, int H, const F& f) {
  const int threads = get_threads();
  const int parts = (threads > 1 && (long)B * H >= tuning().gates_parallel_min && B >= 2) ? std::min(threads, B) : 1;
  if (parts == 1) { f(0, B); return; }
  struct Ctx { const F* f; int B, parts; };
  Ctx ctx{&f, B, parts};
  run_parallel(parts, [](void* p, int k) {
    const Ctx& c = *static_cast<Ctx*>(p);
    (*c.f)((int)((long)c.B * k / c.parts), (int)((long)c.B * (k + 1) / c.parts));
  }, &ctx);
}

// AVX2's loads and stores for gates-rows.h: 8 floats, masked for the last n < 8.
struct W256 {
  typedef Vec<float>::v V;
  static constexpr int L = 8;
  __attribute__((always_inline)) static inline V load(const float* p, int n) { return n == 8 ? loadu(p) : load_part(p, n); }
  __attribute__((always_inline)) static inline void store(float* p, V v, int n) { if (n == 8) storeu(p, v); else store_part(p, v, n); }
};

inline double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

template <>
void lstm_forward<float>(float* g, const float* cprev, float* c, float* tanhc, float* h, int B, int H) {
  const bool wide = tuning().gates512;
  for_rows(B, H, [=](int b0, int b1) {
    if (wide) lstm_rows512(g, cprev, c, tanhc, h, b0, b1, H);
    else GateRows<W256>::lstm(g, cprev, c, tanhc, h, b0, b1, H);
  });
}

template <>
void lstm_forward<double>(double* g, const double* cprev, double* c, double* tanhc, double* h, int B, int H) {
  for_rows(B, H, [=](int b0, int b1) {
    for (int b = b0; b < b1; b++) {
      double* gr = g + (size_t)b * 4 * H;
      const size_t r = (size_t)b * H;
      for (int j = 0; j < H; j++) {
        const double i = sigmoid_d(gr[j]), f = sigmoid_d(gr[H + j]), gg = std::tanh(gr[2 * H + j]), o = sigmoid_d(gr[3 * H + j]);
        gr[j] = i; gr[H + j] = f; gr[2 * H + j] = gg; gr[3 * H + j] = o;
        const double cv = f * cprev[r + j] + i * gg, th = std::tanh(cv);
        c[r + j] = cv; tanhc[r + j] = th; h[r + j] = o * th;
      }
    }
  });
}

// One row of lstm_backward, a plain function: inside the lambda GCC 12 would not vectorise it
// ("no vectype"); here it does, with the same operations in the same order (no FMA contraction
// in ISO C++ mode), so the same bits.
template <typename T>
static inline void lstm_backward_row(T* __restrict d, const T* __restrict gi, const T* __restrict cp, const T* __restrict tc,
                                     const T* __restrict dhr, T* __restrict go, const T* __restrict dn, T* __restrict dc, int H) {
  if (go) for (int j = 0; j < H; j++) go[j] = dhr[j] + dn[j];
  for (int j = 0; j < H; j++) {
    const T i = gi[j], f = gi[H + j], gg = gi[2 * H + j], o = gi[3 * H + j], th = tc[j];
    const T dht = dhr[j] + dn[j];
    const T dcv = dc[j] + dht * o * (T(1) - th * th);
    d[j] = dcv * gg * i * (T(1) - i);
    d[H + j] = dcv * cp[j] * f * (T(1) - f);
    d[2 * H + j] = dcv * i * (T(1) - gg * gg);
    d[3 * H + j] = dht * th * o * (T(1) - o);
    dc[j] = dcv * f;
  }
}

template <typename T>
void lstm_backward(T* dg, const T* g, const T* cprev, const T* tanhc, const T* dh, T* gradout,
                   const T* dhnext, T* dcnext, int B, int H) {
  for_rows(B, H, [=](int b0, int b1) {
    for (int b = b0; b < b1; b++) {
      const size_t gr = (size_t)b * 4 * H, r = (size_t)b * H;
      lstm_backward_row<T>(dg + gr, g + gr, cprev + r, tanhc + r, dh + r, gradout ? gradout + r : nullptr, dhnext + r, dcnext + r, H);
    }
  });
}

template <>
void gru_forward<float>(float* gi, const float* gh, const float* hprev, float* h, int B, int H) {
  const bool wide = tuning().gates512;
  for_rows(B, H, [=](int b0, int b1) {
    if (wide) gru_rows512(gi, gh, hprev, h, b0, b1, H);
    else GateRows<W256>::gru(gi, gh, hprev, h, b0, b1, H);
  });
}

template <>
void gru_forward<double>(double* gi, const double* gh, const double* hprev, double* h, int B, int H) {
  for_rows(B, H, [=](int b0, int b1) {
    for (int b = b0; b < b1; b++) {
      double* g = gi + (size_t)b * 3 * H;
      const double* q = gh + (size_t)b * 3 * H;
      const size_t r = (size_t)b * H;
      for (int j = 0; j < H; j++) {
        const double rr = sigmoid_d(g[j] + q[j]), z = sigmoid_d(g[H + j] + q[H + j]);
        const double n = std::tanh(g[2 * H + j] + rr * q[2 * H + j]);
        g[j] = rr; g[H + j] = z; g[2 * H + j] = n;
        h[r + j] = (1 - z) * n + z * hprev[r + j];
      }
    }
  });
}

// One row of gru_backward, a plain function for GCC's vectoriser (as lstm_backward_row).
template <typename T>
static inline void gru_backward_row(T* __restrict di, T* __restrict dq, const T* __restrict g, const T* __restrict q,
                                    const T* __restrict hp, const T* __restrict dhr, T* __restrict go, T* __restrict dn, int H) {
  if (go) for (int j = 0; j < H; j++) go[j] = dhr[j] + dn[j];
  for (int j = 0; j < H; j++) {
    const T rr = g[j], z = g[H + j], n = g[2 * H + j];
    const T dht = dhr[j] + dn[j];
    const T dpn = dht * (T(1) - z) * (T(1) - n * n);
    const T dpr = dpn * q[2 * H + j] * rr * (T(1) - rr);
    const T dpz = dht * (hp[j] - n) * z * (T(1) - z);
    di[j] = dpr; di[H + j] = dpz; di[2 * H + j] = dpn;
    dq[j] = dpr; dq[H + j] = dpz; dq[2 * H + j] = dpn * rr;
    dn[j] = dht * z;  // the direct path; the caller adds dgh · W_hh
  }
}

template <typename T>
void gru_backward(T* dgi, T* dgh, const T* gi, const T* gh, const T* hprev, const T* dh, T* gradout,
                  T* dhnext, int B, int H) {
  for_rows(B, H, [=](int b0, int b1) {
    for (int b = b0; b < b1; b++) {
      const size_t gr = (size_t)b * 3 * H, r = (size_t)b * H;
      gru_backward_row<T>(dgi + gr, dgh + gr, gi + gr, gh + gr, hprev + r, dh + r, gradout ? gradout + r : nullptr, dhnext + r, H);
    }
  });
}

template void lstm_backward<float>(float*, const float*, const float*, const float*, const float*, float*, const float*, float*, int, int);
template void lstm_backward<double>(double*, const double*, const double*, const double*, const double*, double*, const double*, double*, int, int);
template void gru_backward<float>(float*, float*, const float*, const float*, const float*, const float*, float*, float*, int, int);
template void gru_backward<double>(double*, double*, const double*, const double*, const double*, const double*, double*, double*, int, int);

}  // namespace rnnk
