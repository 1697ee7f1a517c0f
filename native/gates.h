// Fused gate kernels for one time step of the LSTM and GRU cells (src/core/lstm.ts, gru.ts):
// the gate nonlinearities, the state update and their derivatives, one pass over each row.
// Row-major, B rows; H is the hidden size. Element-wise, so results do not depend on the
// thread count.
#pragma once

namespace rnnk {

// LSTM, gates i, f, g, o. g[B,4H] pre-activations in, activations out; cprev, c, tanhc,
// h [B,H]: c = f ⊙ cprev + i ⊙ g, tanhc = tanh(c), h = o ⊙ tanhc.
template <typename T>
void lstm_forward(T* g, const T* cprev, T* c, T* tanhc, T* h, int B, int H);

// LSTM backward through one step. g[B,4H] activations, cprev, tanhc, dh [B,H];
// dhnext [B,H] the gradient from step t+1 through W_hh, dcnext [B,H] the cell carry (updated
// in place to the carry into step t-1); dg[B,4H] out; gradout [B,H] (may be null) gets dh + dhnext.
template <typename T>
void lstm_backward(T* dg, const T* g, const T* cprev, const T* tanhc, const T* dh, T* gradout,
                   const T* dhnext, T* dcnext, int B, int H);

// GRU, gates r, z, n (linear_before_reset). gi[B,3H] x W_ihᵀ + b_ih in, r, z, n out;
// gh[B,3H] h W_hhᵀ + b_hh; hprev, h [B,H]: h = (1 − z) ⊙ n + z ⊙ hprev.
template <typename T>
void gru_forward(T* gi, const T* gh, const T* hprev, T* h, int B, int H);

// GRU backward through one step. gi[B,3H] r, z, n; gh[B,3H]; hprev, dh [B,H]; dhnext [B,H]
// in: the gradient from step t+1; out: its direct path dht ⊙ z (the caller adds dgh · W_hh).
// dgi, dgh [B,3H] out; gradout [B,H] (may be null) gets dh + dhnext.
template <typename T>
void gru_backward(T* dgi, T* dgh, const T* gi, const T* gh, const T* hprev, const T* dh, T* gradout,
                  T* dhnext, int B, int H);

}  // namespace rnnk
