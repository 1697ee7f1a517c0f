#include "steps.h"

#include "gates.h"

namespace rnnk {

namespace {
// The rows W_hh multiplies at step t: h_{t-1}, or h_{t-1} ⊙ mask stored in R[t].
template <typename T>
const T* recurrent_rows(const T* Hs, const T* mask, T* R, int t, size_t BH) {
  if (!mask) return Hs + t * BH;
  mul_mask<T>(R + t * BH, Hs + t * BH, mask, BH, false);
  return R + t * BH;
}
}  // namespace

template <typename T>
void elman_steps(int act, T* S, const Packed<T>& p, int steps, int B, int H, const T* mask, T* R) {
  const size_t BH = (size_t)B * H;
  for (int t = 0; t < steps; t++) {
    gemm_packed<T>(B, recurrent_rows(S, mask, R, t, BH), p, S + (t + 1) * BH, true);
    activate<T>(act, S + (t + 1) * BH, BH);
  }
}

template <typename T>
void lstm_steps(T* G, T* Hs, T* Cs, T* tanhC, const Packed<T>& p, int steps, int B, int H, const T* mask, T* R) {
  const size_t BH = (size_t)B * H;
  for (int t = 0; t < steps; t++) {
    T* g = G + t * 4 * BH;
    gemm_packed<T>(B, recurrent_rows(Hs, mask, R, t, BH), p, g, true);
    lstm_forward<T>(g, Cs + t * BH, Cs + (t + 1) * BH, tanhC + t * BH, Hs + (t + 1) * BH, B, H);
  }
}

template <typename T>
void gru_steps(T* GI, T* GH, T* Hs, const Packed<T>& p, const T* bhh, int steps, int B, int H, const T* mask, T* R) {
  const size_t BH = (size_t)B * H;
  for (int t = 0; t < steps; t++) {
    T* gh = GH + t * 3 * BH;
    gemm_packed<T>(B, recurrent_rows(Hs, mask, R, t, BH), p, gh, false);
    if (bhh) add_rows<T>(gh, bhh, B, 3 * (size_t)H);
    gru_forward<T>(GI + t * 3 * BH, gh, Hs + t * BH, Hs + (t + 1) * BH, B, H);
  }
}

template void elman_steps<float>(int, float*, const Packed<float>&, int, int, int, const float*, float*);
template void elman_steps<double>(int, double*, const Packed<double>&, int, int, int, const double*, double*);
template void lstm_steps<float>(float*, float*, float*, float*, const Packed<float>&, int, int, int, const float*, float*);
template void lstm_steps<double>(double*, double*, double*, double*, const Packed<double>&, int, int, int, const double*, double*);
template void gru_steps<float>(float*, float*, float*, const Packed<float>&, const float*, int, int, int, const float*, float*);
template void gru_steps<double>(double*, double*, double*, const Packed<double>&, const double*, int, int, int, const double*, double*);

}  // namespace rnnk
