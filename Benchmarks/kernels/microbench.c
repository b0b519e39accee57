/* Times the CKernels variants one by one on 32768 floats (one elementwise tile), min of
 * 300 repetitions, one core. Build and run from the repository root:
 *   S=Sources/CKernels; clang -O2 -I$S/include Benchmarks/kernels/microbench.c $S/dispatch.c $S/kernels_*.c -lpthread -o /tmp/ckbench && /tmp/ckbench
 * (-O2 as SwiftPM's release build compiles the target.) */
#include "CKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define TIME(slot, call) do { double t0 = now(); call; double dt = now() - t0; if (dt < best[slot]) best[slot] = dt; } while (0)

int main(void) {
    const long n = 1 << 15;
    float *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4), *w = malloc(n * 4);
    for (long i = 0; i < n; i++) { x[i] = (i % 1000) * 0.01f - 5; y[i] = 0.5f; z[i] = 0.1f; w[i] = 0.01f; }
    for (int isa = 0; isa < M2M_ISA_COUNT; isa++) {
        if (m2m_isa_select(isa) != 0) { printf("%-8s not supported by this CPU\n", m2m_isa_name(isa)); continue; }
        double best[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
        for (int r = 0; r < 300; r++) {
            TIME(0, m2m_gelu(x, y, n));
            TIME(1, m2m_gelu_grad(x, y, z, n));
            for (long i = 0; i < n; i++) z[i] = x[i];
            TIME(2, m2m_gelu(z, z, n));
            TIME(3, m2m_add(x, y, z, n));
            TIME(4, m2m_adam(z, x, y, w, n, 0.9f, 0.999f, 1e-8f, 1e-4f, 1, 1e-3f, 0.5f));
        }
        printf("%-8s gelu %.1f us, gelu_grad %.1f us, gelu in place %.1f us, add %.1f us, adam %.1f us\n",
               m2m_isa_name(isa), best[0] * 1e6, best[1] * 1e6, best[2] * 1e6, best[3] * 1e6, best[4] * 1e6);
    }
    return 0;
}
