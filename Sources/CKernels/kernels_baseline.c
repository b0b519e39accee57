/* Baseline x86-64 (SSE2) variant. */
#define M2M_SUFFIX baseline
#define M2M_TARGET
#define M2M_INTERLEAVE 8
#include "kernels_body.h"
