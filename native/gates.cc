// Fused LSTM / GRU gate kernels: one step's nonlinearities, state update and derivatives in a
// single pass over each row, instead of one TypeScript loop per step. float32 is vectorised
// with AVX2 (tanh_v; σ(x) = ½ + ½·tanh(x/2) so both gates share one approximation); float64
// uses the C library's exp/tanh, whose last bits may differ from Math.exp/Math.tanh.
// The backward loops have no transcendental functions; GCC vectorises them as written.
#pragma GCC target("avx2,fma")
#include "gates.h"

#include <algorithm>
#include <cmath>

#include "cpu.h"
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

typedef Vec<float>::v VF;

// n ≤ 8 floats at p; the missing lanes are 0 (and computed, harmlessly, then dropped).
__attribute__((always_inline)) inline VF load_f(const float* p, int n) { return n == 8 ? loadu(p) : load_part(p, n); }
__attribute__((always_inline)) inline void store_f(float* p, VF v, int n) { if (n == 8) storeu(p, v); else store_part(p, v, n); }
__attribute__((always_inline)) inline VF sigmoid_v(VF x) { return 0.5f + 0.5f * tanh_v(0.5f * x); }

inline double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// One LSTM row of H: gr[4H], the others [H]. 8 lanes at j (n of them valid).
__attribute__((always_inline)) inline void lstm_fwd8(float* gr, const float* cp, float* c, float* tc, float* h, int H, int j, int n) {
  const VF i = sigmoid_v(load_f(gr + j, n)), f = sigmoid_v(load_f(gr + H + j, n));
  const VF g = tanh_v(load_f(gr + 2 * H + j, n)), o = sigmoid_v(load_f(gr + 3 * H + j, n));
  store_f(gr + j, i, n); store_f(gr + H + j, f, n); store_f(gr + 2 * H + j, g, n); store_f(gr + 3 * H + j, o, n);
  const VF cv = f * load_f(cp + j, n) + i * g;
  const VF th = tanh_v(cv);
  store_f(c + j, cv, n); store_f(tc + j, th, n); store_f(h + j, o * th, n);
}

// One GRU row of H: gi, gh [3H], hp, h [H].
__attribute__((always_inline)) inline void gru_fwd8(float* gi, const float* gh, const float* hp, float* h, int H, int j, int n) {
  const VF r = sigmoid_v(load_f(gi + j, n) + load_f(gh + j, n));
  const VF z = sigmoid_v(load_f(gi + H + j, n) + load_f(gh + H + j, n));
  const VF nn = tanh_v(load_f(gi + 2 * H + j, n) + r * load_f(gh + 2 * H + j, n));
  store_f(gi + j, r, n); store_f(gi + H + j, z, n); store_f(gi + 2 * H + j, nn, n);
  store_f(h + j, (1.0f - z) * nn + z * load_f(hp + j, n), n);
}

}  // namespace

template <>
void lstm_forward<float>(float* g, const float* cprev, float* c, float* tanhc, float* h, int B, int H) {
  for_rows(B, H, [=](int b0, int b1) {
    for (int b = b0; b < b1; b++) {
      float* gr = g + (size_t)b * 4 * H;
      const size_t r = (size_t)b * H;
      int j = 0;
      for (; j + 8 <= H; j += 8) lstm_fwd8(gr, cprev + r, c + r, tanhc + r, h + r, H, j, 8);
      if (j < H) lstm_fwd8(gr, cprev + r, c + r, tanhc + r, h + r, H, j, H - j);
    }
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

template <typename T>
void lstm_backward(T* dg, const T* g, const T* cprev, const T* tanhc, const T* dh, T* gradout,
                   const T* dhnext, T* dcnext, int B, int H) {
  for_rows(B, H, [=](int b0, int b1) {
    for (int b = b0; b < b1; b++) {
      const size_t gr = (size_t)b * 4 * H, r = (size_t)b * H;
      const T* __restrict gi = g + gr; T* __restrict d = dg + gr;
      const T* __restrict cp = cprev + r; const T* __restrict tc = tanhc + r; const T* __restrict dhr = dh + r;
      const T* __restrict dn = dhnext + r; T* __restrict dc = dcnext + r;
      if (gradout) { T* __restrict go = gradout + r; for (int j = 0; j < H; j++) go[j] = dhr[j] + dn[j]; }
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
  });
}

template <>
void gru_forward<float>(float* gi, const float* gh, const float* hprev, float* h, int B, int H) {
  for_rows(B, H, [=](int b0, int b1) {
    for (int b = b0; b < b1; b++) {
      const size_t gr = (size_t)b * 3 * H, r = (size_t)b * H;
      int j = 0;
      for (; j + 8 <= H; j += 8) gru_fwd8(gi + gr, gh + gr, hprev + r, h + r, H, j, 8);
      if (j < H) gru_fwd8(gi + gr, gh + gr, hprev + r, h + r, H, j, H - j);
    }
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

template <typename T>
void gru_backward(T* dgi, T* dgh, const T* gi, const T* gh, const T* hprev, const T* dh, T* gradout,
                  T* dhnext, int B, int H) {
  for_rows(B, H, [=](int b0, int b1) {
    for (int b = b0; b < b1; b++) {
      const size_t gr = (size_t)b * 3 * H, r = (size_t)b * H;
      const T* __restrict g = gi + gr; const T* __restrict q = gh + gr;
      T* __restrict di = dgi + gr; T* __restrict dq = dgh + gr;
      const T* __restrict hp = hprev + r; const T* __restrict dhr = dh + r; T* __restrict dn = dhnext + r;
      if (gradout) { T* __restrict go = gradout + r; for (int j = 0; j < H; j++) go[j] = dhr[j] + dn[j]; }
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
  });
}

template void lstm_backward<float>(float*, const float*, const float*, const float*, const float*, float*, const float*, float*, int, int);
template void lstm_backward<double>(double*, const double*, const double*, const double*, const double*, double*, const double*, double*, int, int);
template void gru_backward<float>(float*, float*, const float*, const float*, const float*, const float*, float*, float*, int, int);
template void gru_backward<double>(double*, double*, const double*, const double*, const double*, const double*, double*, double*, int, int);

}  // namespace rnnk
