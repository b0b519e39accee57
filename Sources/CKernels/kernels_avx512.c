/* AVX-512 variant (16 floats per vector). */
#if defined(__x86_64__)
#define M2M_SUFFIX avx512
#define M2M_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define M2M_INTERLEAVE 4
#include "kernels_body.h"
#endif
