#include "steps.h"

#include <algorithm>

#include "cpu.h"
#include "gates.h"

namespace rnnk {

namespace {
// The rows W_hh multiplies at step t for batch rows [b0, b0+nb): h_{t-1}, or h_{t-1} ⊙ mask in R[t].
template <typename T>
const T* recurrent_rows(const T* Hs, const T* mask, T* R, int t, size_t BH, int b0, int nb, int H) {
  const size_t o = t * BH + (size_t)b0 * H;
  if (!mask) return Hs + o;
  mul_mask<T>(R + o, Hs + o, mask + (size_t)b0 * H, (size_t)nb * H, false);
  return R + o;
}

// Batch rows are independent through the recurrence, so a window can run as `parts` blocks of
// rows, each through every step on one thread: no barrier per step, where splitting each step's
// product by columns needs two. Worth it when every core keeps all of W_hh in its own L2
// (tuning().rows_split_max_bytes) and each block has rows enough to fill the micro-kernel.
// Returns the blocks, 1 for the per-step path (whose products and gates split themselves).
template <typename T>
int row_blocks(const Packed<T>& p, int B) {
  const int threads = get_threads();
  const double bytes = (double)p.K * p.Npad * sizeof(T);
  if (threads < 2 || bytes > (double)tuning().rows_split_max_bytes) return 1;
  const int parts = std::min(threads, B / 4);  // at least 4 rows a block
  return parts >= 2 ? parts : 1;
}

// Runs steps(b0, nb) over `parts` even blocks of [0, B) on the pool (or once over all of it).
template <typename F>
void over_blocks(int parts, int B, const F& steps) {
  if (parts == 1) { steps(0, B); return; }
  struct Ctx { const F* f; int B, parts; };
  Ctx ctx{&steps, B, parts};
  run_parallel(parts, [](void* c, int k) {
    const Ctx& x = *static_cast<Ctx*>(c);
    const int b0 = (int)((long)x.B * k / x.parts), b1 = (int)((long)x.B * (k + 1) / x.parts);
    (*x.f)(b0, b1 - b0);
  }, &ctx);
}
}  // namespace

// The biases (either may be null) onto a step's rows before its recurrent product: b_ih, then
// b_hh, as addRows over the whole window did, but while the rows are in L1.
template <typename T>
void add_biases(T* rows, const T* bih, const T* bhh, int nb, size_t N) {
  if (bih) add_rows<T>(rows, bih, nb, N);
  if (bhh) add_rows<T>(rows, bhh, nb, N);
}

template <typename T>
void elman_steps(int act, T* S, const Packed<T>& p, const T* bih, const T* bhh, int steps, int B, int H, const T* mask, T* R) {
  const size_t BH = (size_t)B * H;
  over_blocks(row_blocks(p, B), B, [=, &p](int b0, int nb) {
    for (int t = 0; t < steps; t++) {
      T* s = S + (t + 1) * BH + (size_t)b0 * H;
      add_biases<T>(s, bih, bhh, nb, H);
      gemm_packed<T>(nb, recurrent_rows(S, mask, R, t, BH, b0, nb, H), p, s, true);
      activate<T>(act, s, (size_t)nb * H);
    }
  });
}

template <typename T>
void lstm_steps(T* G, T* Hs, T* Cs, T* tanhC, const Packed<T>& p, const T* bih, const T* bhh, int steps, int B, int H, const T* mask, T* R) {
  const size_t BH = (size_t)B * H;
  over_blocks(row_blocks(p, B), B, [=, &p](int b0, int nb) {
    const size_t o = (size_t)b0 * H;
    for (int t = 0; t < steps; t++) {
      T* g = G + t * 4 * BH + 4 * o;
      add_biases<T>(g, bih, bhh, nb, 4 * (size_t)H);
      gemm_packed<T>(nb, recurrent_rows(Hs, mask, R, t, BH, b0, nb, H), p, g, true);
      lstm_forward<T>(g, Cs + t * BH + o, Cs + (t + 1) * BH + o, tanhC + t * BH + o, Hs + (t + 1) * BH + o, nb, H);
    }
  });
}

template <typename T>
void gru_steps(T* GI, T* GH, T* Hs, const Packed<T>& p, const T* bih, const T* bhh, int steps, int B, int H, const T* mask, T* R) {
  const size_t BH = (size_t)B * H;
  over_blocks(row_blocks(p, B), B, [=, &p](int b0, int nb) {
    const size_t o = (size_t)b0 * H;
    for (int t = 0; t < steps; t++) {
      T* gi = GI + t * 3 * BH + 3 * o, *gh = GH + t * 3 * BH + 3 * o;
      add_biases<T>(gi, bih, nullptr, nb, 3 * (size_t)H);
      gemm_packed<T>(nb, recurrent_rows(Hs, mask, R, t, BH, b0, nb, H), p, gh, false);
      add_biases<T>(gh, nullptr, bhh, nb, 3 * (size_t)H);
      gru_forward<T>(gi, gh, Hs + t * BH + o, Hs + (t + 1) * BH + o, nb, H);
    }
  });
}

template <typename T>
void elman_back_steps(int act, const T* S, const T* dh, T* gradout, T* dpre, T* dnext, const Packed<T>& p, int steps, int B, int H, const T* mask) {
  const size_t BH = (size_t)B * H;
  over_blocks(row_blocks(p, B), B, [=, &p](int b0, int nb) {
    const size_t r = (size_t)b0 * H, n = (size_t)nb * H;
    T* dn = dnext + r;
    for (int t = steps - 1; t >= 0; t--) {
      const size_t o = t * BH + r;
      if (gradout) for (size_t i = 0; i < n; i++) gradout[o + i] = dh[o + i] + dn[i];
      activate_backward<T>(act, dpre + o, dh + o, dn, S + BH + o, n);
      gemm_packed<T>(nb, dpre + o, p, dn, false);  // ds_{t-1} = (dpre_t · W_hh) ⊙ m
      if (mask) mul_mask<T>(dn, dn, mask + r, n, false);
    }
  });
}

template <typename T>
void lstm_back_steps(const T* G, const T* Cs, const T* tanhC, const T* dh, T* gradout, T* dG, T* dhnext, T* dcnext,
                     const Packed<T>& p, int steps, int B, int H, const T* mask) {
  const size_t BH = (size_t)B * H;
  over_blocks(row_blocks(p, B), B, [=, &p](int b0, int nb) {
    const size_t r = (size_t)b0 * H, n = (size_t)nb * H;
    for (int t = steps - 1; t >= 0; t--) {
      const size_t o = t * BH + r, g = t * 4 * BH + 4 * r;
      lstm_backward<T>(dG + g, G + g, Cs + o, tanhC + o, dh + o, gradout ? gradout + o : nullptr, dhnext + r, dcnext + r, nb, H);
      gemm_packed<T>(nb, dG + g, p, dhnext + r, false);  // dh_{t-1} = (dG_t · W_hh) ⊙ m
      if (mask) mul_mask<T>(dhnext + r, dhnext + r, mask + r, n, false);
    }
  });
}

template <typename T>
void gru_back_steps(const T* GI, const T* GH, const T* Hs, const T* dh, T* gradout, T* dGI, T* dGH, T* dhnext, T* dhR,
                    const Packed<T>& p, int steps, int B, int H, const T* mask) {
  const size_t BH = (size_t)B * H;
  over_blocks(row_blocks(p, B), B, [=, &p](int b0, int nb) {
    const size_t r = (size_t)b0 * H, n = (size_t)nb * H;
    for (int t = steps - 1; t >= 0; t--) {
      const size_t o = t * BH + r, g = t * 3 * BH + 3 * r;
      gru_backward<T>(dGI + g, dGH + g, GI + g, GH + g, Hs + o, dh + o, gradout ? gradout + o : nullptr, dhnext + r, nb, H);
      // dh_{t-1} = dht ⊙ z + (dGH_t · W_hh) ⊙ m
      if (mask) {
        gemm_packed<T>(nb, dGH + g, p, dhR + r, false);
        mul_mask<T>(dhnext + r, dhR + r, mask + r, n, true);
      } else {
        gemm_packed<T>(nb, dGH + g, p, dhnext + r, true);
      }
    }
  });
}

template void elman_back_steps<float>(int, const float*, const float*, float*, float*, float*, const Packed<float>&, int, int, int, const float*);
template void elman_back_steps<double>(int, const double*, const double*, double*, double*, double*, const Packed<double>&, int, int, int, const double*);
template void lstm_back_steps<float>(const float*, const float*, const float*, const float*, float*, float*, float*, float*, const Packed<float>&, int, int, int, const float*);
template void lstm_back_steps<double>(const double*, const double*, const double*, const double*, double*, double*, double*, double*, const Packed<double>&, int, int, int, const double*);
template void gru_back_steps<float>(const float*, const float*, const float*, const float*, float*, float*, float*, float*, float*, const Packed<float>&, int, int, int, const float*);
template void gru_back_steps<double>(const double*, const double*, const double*, const double*, double*, double*, double*, double*, double*, const Packed<double>&, int, int, int, const double*);

template void elman_steps<float>(int, float*, const Packed<float>&, const float*, const float*, int, int, int, const float*, float*);
template void elman_steps<double>(int, double*, const Packed<double>&, const double*, const double*, int, int, int, const double*, double*);
template void lstm_steps<float>(float*, float*, float*, float*, const Packed<float>&, const float*, const float*, int, int, int, const float*, float*);
template void lstm_steps<double>(double*, double*, double*, double*, const Packed<double>&, const double*, const double*, int, int, int, const double*, double*);
template void gru_steps<float>(float*, float*, float*, const Packed<float>&, const float*, const float*, int, int, int, const float*, float*);
template void gru_steps<double>(double*, double*, double*, const Packed<double>&, const double*, const double*, int, int, int, const double*, double*);

}  // namespace rnnk
