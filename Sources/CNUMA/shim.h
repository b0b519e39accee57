// libnuma (Debian libnuma-dev): node discovery, memory placement (mbind, move_pages) and
// CPU affinity (numa_sched_setaffinity). No feature macros here: a _GNU_SOURCE in this
// module would change glibc's struct definitions against other modules (fd_set).
#include <numa.h>
#include <numaif.h>
#include <sys/mman.h>
