{
  "targets": [
    {
      "target_name": "rnn_mpi",
      "sources": ["mpi.cc"],
      "defines": ["OMPI_SKIP_MPICXX", "MPICH_SKIP_MPICXX"],
      "cflags_cc": ["-O2", "-std=c++17", "<!@(node ../../scripts/mpi-flags.mjs cflags)"],
      "libraries": ["<!@(node ../../scripts/mpi-flags.mjs libs)"]
    }
  ]
}
