# gradc's optional native matrix-product kernels (compile/codegen/native/), built at install by compile/codegen/native/install.mjs.
# -march=native: built on the machine that runs it (AVX-512 where the CPU has it);
# -ffp-contract=off: no fused multiply-add, so float64 products equal the interpreter's bit for bit.
{
  "targets": [
    {
      "target_name": "gradc_native",
      "sources": ["compile/codegen/native/addon.cc"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-ffp-contract=off", "-fno-fast-math"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-march=native", "-ffp-contract=off"] }
    }
  ]
}
