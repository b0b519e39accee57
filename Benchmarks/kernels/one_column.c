/* OpenBLAS's sgemm against sgemv / sger on the one-column products of the FNO projection
 * (hidden 128 -> 1 output channel), one thread, operands in cache, best of 7 rounds:
 *   forward   y [256] += h [256 x 128] w2 [128]        (the fused mlp's second product, per block)
 *   dW2       g^T [128 x 4096] dy [4096]                (the weight gradient, per sample)
 *   dg        dy [4096] w2^T [128]: an outer product    (the input gradient, per sample: sgemm K = 1)
 * Build and run from the repository root (needs libopenblas-dev):
 *   clang -O2 Benchmarks/kernels/one_column.c -lopenblas -o /tmp/one_column && /tmp/one_column */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *filled(long n) {
    float *p = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) p[i] = (rand() % 2001 - 1000) / 1000.0f;
    return p;
}

int main(void) {
    openblas_set_num_threads(1);
    { /* OpenBLAS runs some small shapes slowly until a larger product has run (Benchmarks README). */
        float *w = calloc(512 * 512, sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 512, 512, 512, 1, w, 512, w, 512, 0, w, 512);
        free(w);
    }
    enum { BLOCK = 256, K = 128, R = 4096 };
    float *h = filled(BLOCK * K), *w2 = filled(K), *y = filled(BLOCK), *dy = filled(R), *g = filled((long)R * K);
    float *dw = filled(K), *dg = filled((long)R * K);
    double best[6] = { 1e9, 1e9, 1e9, 1e9, 1e9, 1e9 };
    for (int round = 0; round < 7; round++) {
        double t[7];
        t[0] = now();
        for (int r = 0; r < 1000; r++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BLOCK, 1, K, 1, h, K, w2, 1, 1, y, 1);
        t[1] = now();
        for (int r = 0; r < 1000; r++) cblas_sgemv(CblasRowMajor, CblasNoTrans, BLOCK, K, 1, h, K, w2, 1, 1, y, 1);
        t[2] = now();
        for (int r = 0; r < 100; r++) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, 1, R, 1, g, K, dy, 1, 0, dw, 1);
        t[3] = now();
        for (int r = 0; r < 100; r++) cblas_sgemv(CblasRowMajor, CblasTrans, R, K, 1, g, K, dy, 1, 0, dw, 1);
        t[4] = now();
        for (int r = 0; r < 100; r++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, K, 1, 1, dy, 1, w2, 1, 0, dg, K);
        t[5] = now();
        for (int r = 0; r < 100; r++)
            for (long i = 0; i < R; i++)
                for (long j = 0; j < K; j++) dg[i * K + j] = dy[i] * w2[j];
        t[6] = now();
        for (int v = 0; v < 6; v++) {
            double per = (t[v + 1] - t[v]) / (v < 2 ? 1000 : 100);
            if (per < best[v]) best[v] = per;
        }
    }
    printf("forward 256 x 1 x 128:  sgemm %6.1f us, sgemv %6.1f us (%.1fx)\n", best[0] * 1e6, best[1] * 1e6, best[0] / best[1]);
    printf("dW2 128 x 1 x 4096:     sgemm %6.1f us, sgemv %6.1f us (%.1fx)\n", best[2] * 1e6, best[3] * 1e6, best[2] / best[3]);
    printf("dg 4096 x 128 x 1:      sgemm %6.1f us, outer-product loop %6.1f us (%.1fx)\n", best[4] * 1e6, best[5] * 1e6,
           best[4] / best[5]);
    return 0;
}
