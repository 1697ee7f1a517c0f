// The float32 forward gates (and Elman's tanh) on AVX-512: gates-rows.h over 16-float registers, twice the lanes
// of gates.cc's AVX2, the same bits. gates.cc calls them where the GEMM runs AVX-512 (cpu.cc).
#pragma GCC target("avx512f,avx2,fma")
#include <immintrin.h>

#include "gates-rows.h"

namespace rnnk {

namespace {
struct W512 {
  typedef float V __attribute__((vector_size(64), aligned(4)));
  static constexpr int L = 16;
  static __mmask16 lanes(int n) { return (__mmask16)((1u << n) - 1u); }
  __attribute__((always_inline)) static inline V load(const float* p, int n) {
    return n == L ? (V)_mm512_loadu_ps(p) : (V)_mm512_maskz_loadu_ps(lanes(n), p);
  }
  __attribute__((always_inline)) static inline void store(float* p, V v, int n) {
    if (n == L) _mm512_storeu_ps(p, (__m512)v);
    else _mm512_mask_storeu_ps(p, lanes(n), (__m512)v);
  }
};
}  // namespace

void lstm_rows512(float* g, const float* cprev, float* c, float* tanhc, float* h, int b0, int b1, int H) {
  GateRows<W512>::lstm(g, cprev, c, tanhc, h, b0, b1, H);
}
void tanh512(float* x, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) W512::store(x + i, tanh_t(W512::load(x + i, 16)), 16);
  if (i < n) W512::store(x + i, tanh_t(W512::load(x + i, (int)(n - i))), (int)(n - i));
}
void gru_rows512(float* gi, const float* gh, const float* hprev, float* h, int b0, int b1, int H) {
  GateRows<W512>::gru(gi, gh, hprev, h, b0, b1, H);
}

}  // namespace rnnk
