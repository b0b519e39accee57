// OpenBLAS cblas (Debian libopenblas-dev). Driven single-threaded: the
// executor partitions work itself (openblas_set_num_threads(1)).
#include <x86_64-linux-gnu/cblas-openblas.h>
