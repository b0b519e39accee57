/* AVX2 variant (8 floats per vector). Contraction stays off, so FMA hardware is not
 * used for a*b+c: the bits equal the baseline's. */
#if defined(__x86_64__)
#define M2M_SUFFIX avx2
#define M2M_TARGET __attribute__((target("avx2,fma")))
#define M2M_INTERLEAVE 4
#include "kernels_body.h"
#endif
