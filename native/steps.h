// A layer's whole recurrence over a window in one call (src/core/{elman,lstm,gru}.ts forward):
// per step the recurrent product with the packed W_hhᵀ, then the cell's nonlinearity — the
// same kernels, in the same order, as one N-API call per step would run, so the same bits;
// one call per window instead of two per step. Buffers are the layers' own, from offset 0.
// `mask` [B,H] (recurrent dropout) or null: R[t] = h_{t-1} ⊙ mask is what W_hh multiplies.
// bih, bhh (or null) are added to each step's rows first, b_ih then b_hh (GRU: b_ih to GI, b_hh
// to GH after its product), the additions addRows over the window made, while the rows are in L1.
// Small enough W_hh, the window runs as blocks of batch rows, one thread each (steps.cc).
#pragma once
#include "gemm.h"

namespace rnnk {

// S [(T+1), B, H]: s_0 then the input projections of steps 1..T, overwritten by s_t.
template <typename T>
void elman_steps(int act, T* S, const Packed<T>& p, const T* bih, const T* bhh, int steps, int B, int H, const T* mask, T* R);

// G [T, B, 4H] input projections; Hs, Cs [(T+1), B, H] with h_0, c_0 first; tanhC [T, B, H].
template <typename T>
void lstm_steps(T* G, T* Hs, T* Cs, T* tanhC, const Packed<T>& p, const T* bih, const T* bhh, int steps, int B, int H, const T* mask, T* R);

// GI, GH [T, B, 3H]: the input part (overwritten by r, z, n) and the recurrent part.
template <typename T>
void gru_steps(T* GI, T* GH, T* Hs, const Packed<T>& p, const T* bih, const T* bhh, int steps, int B, int H, const T* mask, T* R);

}  // namespace rnnk

namespace rnnk {

// Backward through time, t = steps−1 … 0 (src/core/kernels.ts `*BackSteps`): p holds W_hh packed
// for the backward product (op = W_hh [G·H, H]); dh [T,B,H]; gradout [T,B,H] or null; mask or null.
template <typename T>
void elman_back_steps(int act, const T* S, const T* dh, T* gradout, T* dpre, T* dnext, const Packed<T>& p, int steps, int B, int H, const T* mask);
template <typename T>
void lstm_back_steps(const T* G, const T* Cs, const T* tanhC, const T* dh, T* gradout, T* dG, T* dhnext, T* dcnext,
                     const Packed<T>& p, int steps, int B, int H, const T* mask);
template <typename T>
void gru_back_steps(const T* GI, const T* GH, const T* Hs, const T* dh, T* gradout, T* dGI, T* dGH, T* dhnext, T* dhR,
                    const Packed<T>& p, int steps, int B, int H, const T* mask);

}  // namespace rnnk
