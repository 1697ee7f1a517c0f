{
  "targets": [
    {
      "target_name": "rnn_kernels",
      "sources": ["native/addon.cc", "native/gemm.cc", "native/cpu.cc", "native/cpu-napi.cc", "native/gemm512.cc", "native/gates.cc", "native/gates512.cc", "native/steps.cc", "native/format.cc", "native/csv.cc", "native/embedding.cc", "native/loss.cc", "native/heads.cc", "native/heads512.cc", "native/optim.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"]
    }
  ]
}
