/* Measures the two forms of a stride-1 "same" 3x3 convolution on channels-last data
 * [H, W, Ci] -> [H, W, Co] (one sample, one thread, periodic padding), to choose the
 * conv2d kernel's form:
 *   im2col : per block of output rows (about 256 KiB of patches, or the whole sample),
 *            the k*k*Ci patch matrix, then one sgemm (rows x k*k*Ci) . (k*k*Ci x Co);
 *   shifted: per block of output rows (about 256 KiB, or the whole sample), the input rows
 *            padded to [rows+2p, W+2p, Ci]; the output accumulated in a padded-width
 *            [rows, W+2p, Co] buffer by k*k sgemms (one per kernel offset, each a contiguous
 *            shifted view of the padded input, K = Ci), pad columns dropped.
 * Build: cc -O2 Benchmarks/conv2d_forms.c -lopenblas -o /tmp/conv2d_forms
 * Run:   OPENBLAS_NUM_THREADS=1 /tmp/conv2d_forms */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec;
}
static int wrap(int i, int n) { return (i % n + n) % n; }

static void im2col_conv(const float *x, const float *w, float *y, float *cols, int H, int W, int ci, int co, int k,
                        int block) {
    int p = (k - 1) / 2, kk = k * k * ci;
    for (int r0 = 0; r0 < H; r0 += block) {
        int rows = r0 + block <= H ? block : H - r0;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < W; j++) {
                float *dst = cols + ((size_t)r * W + j) * kk;
                for (int dh = 0; dh < k; dh++)
                    for (int dw = 0; dw < k; dw++)
                        memcpy(dst + (dh * k + dw) * ci,
                               x + ((size_t)wrap(r0 + r + dh - p, H) * W + wrap(j + dw - p, W)) * ci, ci * sizeof(float));
            }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows * W, co, kk, 1, cols, kk, w, co, 0,
                    y + (size_t)r0 * W * co, co);
    }
}

static void shifted_conv(const float *x, const float *w, float *y, float *xp, float *yp, int H, int W, int ci, int co,
                         int k, int block) {
    int p = (k - 1) / 2, Wp = W + 2 * p;
    for (int r0 = 0; r0 < H; r0 += block) {
        int rows = r0 + block <= H ? block : H - r0;
        for (int i = 0; i < rows + 2 * p; i++)
            for (int j = 0; j < Wp; j++)
                memcpy(xp + ((size_t)i * Wp + j) * ci, x + ((size_t)wrap(r0 + i - p, H) * W + wrap(j - p, W)) * ci,
                       ci * sizeof(float));
        int m = (rows - 1) * Wp + W;
        for (int dh = 0; dh < k; dh++)
            for (int dw = 0; dw < k; dw++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, co, ci, 1, xp + ((size_t)dh * Wp + dw) * ci, ci,
                            w + (size_t)(dh * k + dw) * ci * co, co, dh == 0 && dw == 0 ? 0 : 1, yp, co);
        for (int i = 0; i < rows; i++)
            memcpy(y + (size_t)(r0 + i) * W * co, yp + (size_t)i * Wp * co, (size_t)W * co * sizeof(float));
    }
}

int main(void) {
    int shapes[][3] = {{64, 10, 64}, {64, 64, 8}, {64, 16, 16}, {32, 32, 32}, {16, 64, 64}, {8, 128, 128}};
    int k = 3, reps = 20;
    for (int s = 0; s < 6; s++) {
        int H = shapes[s][0], W = H, ci = shapes[s][1], co = shapes[s][2], p = 1;
        float *x = malloc(sizeof(float) * H * W * ci), *w = malloc(sizeof(float) * k * k * ci * co);
        float *y1 = malloc(sizeof(float) * H * W * co), *y2 = malloc(sizeof(float) * H * W * co);
        int block = (1 << 16) / (W * k * k * ci); if (block < 1) block = 1; if (block > H) block = H;
        float *cols = malloc(sizeof(float) * (size_t)H * W * k * k * ci);
        float *xp = malloc(sizeof(float) * (H + 2 * p) * (W + 2 * p) * ci), *yp = malloc(sizeof(float) * H * (W + 2 * p) * co);
        for (int i = 0; i < H * W * ci; i++) x[i] = (float)rand() / RAND_MAX - 0.5f;
        for (int i = 0; i < k * k * ci * co; i++) w[i] = (float)rand() / RAND_MAX - 0.5f;
        int sblock = (1 << 16) / ((W + 2 * p) * (ci > co ? ci : co)); if (sblock < 1) sblock = 1; if (sblock > H) sblock = H;
        double best1 = 1e9, best2 = 1e9, best3 = 1e9, best4 = 1e9;
        for (int r = 0; r < reps; r++) {
            double t0 = now(); im2col_conv(x, w, y1, cols, H, W, ci, co, k, block);
            double t1 = now(); shifted_conv(x, w, y2, xp, yp, H, W, ci, co, k, H);
            double t2 = now(); im2col_conv(x, w, y1, cols, H, W, ci, co, k, H);
            double t3 = now(); shifted_conv(x, w, y2, xp, yp, H, W, ci, co, k, sblock);
            double t4 = now();
            if (t4 - t3 < best4) best4 = t4 - t3;
            if (t1 - t0 < best1) best1 = t1 - t0;
            if (t2 - t1 < best2) best2 = t2 - t1;
            if (t3 - t2 < best3) best3 = t3 - t2;
        }
        double diff = 0;
        for (int i = 0; i < H * W * co; i++) { double d = y1[i] - y2[i]; if (d < 0) d = -d; if (d > diff) diff = d; }
        printf("%3dx%-3d ci %3d co %3d: im2col %7.1f us (blocks of %2d rows) %7.1f us (whole sample) | shifted %7.1f us "
               "(blocks of %2d rows) %7.1f us (whole sample) | max|diff| %.1e\n", H, W, ci, co, best1 * 1e6, block,
               best3 * 1e6, best4 * 1e6, sblock, best2 * 1e6, diff);
    }
    return 0;
}
