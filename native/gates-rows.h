// The float32 LSTM and GRU forward gates of rows [b0, b1), written once over W, a vector width's
// loads and stores (W::V a GCC vector of W::L floats; load/store of n ≤ L lanes, the rest 0 on
// loading and untouched on storing), and included by gates.cc (AVX2, 8 lanes) and gates512.cc
// (AVX-512, 16 lanes). Every lane runs the same operations whatever the width: the same bits.
#pragma once
#include <cstddef>

#include "simd.h"

namespace rnnk {

template <typename W>
struct GateRows {
  typedef typename W::V V;
  static constexpr int L = W::L;

  __attribute__((always_inline)) static inline V sigmoid(V x) { return 0.5f + 0.5f * tanh_t(0.5f * x); }

  // One LSTM row of H: gr[4H], the others [H], lanes [j, j+n).
  __attribute__((always_inline)) static inline void lstm_lanes(float* gr, const float* cp, float* c, float* tc, float* h, int H, int j, int n) {
    const V i = sigmoid(W::load(gr + j, n)), f = sigmoid(W::load(gr + H + j, n));
    const V g = tanh_t(W::load(gr + 2 * H + j, n)), o = sigmoid(W::load(gr + 3 * H + j, n));
    W::store(gr + j, i, n); W::store(gr + H + j, f, n); W::store(gr + 2 * H + j, g, n); W::store(gr + 3 * H + j, o, n);
    const V cv = f * W::load(cp + j, n) + i * g;
    const V th = tanh_t(cv);
    W::store(c + j, cv, n); W::store(tc + j, th, n); W::store(h + j, o * th, n);
  }

  // One GRU row of H: gi, gh [3H], hp, h [H].
  __attribute__((always_inline)) static inline void gru_lanes(float* gi, const float* gh, const float* hp, float* h, int H, int j, int n) {
    const V r = sigmoid(W::load(gi + j, n) + W::load(gh + j, n));
    const V z = sigmoid(W::load(gi + H + j, n) + W::load(gh + H + j, n));
    const V nn = tanh_t(W::load(gi + 2 * H + j, n) + r * W::load(gh + 2 * H + j, n));
    W::store(gi + j, r, n); W::store(gi + H + j, z, n); W::store(gi + 2 * H + j, nn, n);
    W::store(h + j, (1.0f - z) * nn + z * W::load(hp + j, n), n);
  }

  static void lstm(float* g, const float* cprev, float* c, float* tanhc, float* h, int b0, int b1, int H) {
    for (int b = b0; b < b1; b++) {
      float* gr = g + (size_t)b * 4 * H;
      const size_t r = (size_t)b * H;
      int j = 0;
      for (; j + L <= H; j += L) lstm_lanes(gr, cprev + r, c + r, tanhc + r, h + r, H, j, L);
      if (j < H) lstm_lanes(gr, cprev + r, c + r, tanhc + r, h + r, H, j, H - j);
    }
  }

  static void gru(float* gi, const float* gh, const float* hprev, float* h, int b0, int b1, int H) {
    for (int b = b0; b < b1; b++) {
      const size_t gr = (size_t)b * 3 * H, r = (size_t)b * H;
      int j = 0;
      for (; j + L <= H; j += L) gru_lanes(gi + gr, gh + gr, hprev + r, h + r, H, j, L);
      if (j < H) gru_lanes(gi + gr, gh + gr, hprev + r, h + r, H, j, H - j);
    }
  }
};

// gates512.cc: the AVX-512 instantiation (rows [b0, b1)).
void lstm_rows512(float* g, const float* cprev, float* c, float* tanhc, float* h, int b0, int b1, int H);
void gru_rows512(float* gi, const float* gh, const float* hprev, float* h, int b0, int b1, int H);
// x[0 … n) = tanh(x), 16 lanes at a time (an Elman step's activation).
void tanh512(float* x, size_t n);

}  // namespace rnnk
