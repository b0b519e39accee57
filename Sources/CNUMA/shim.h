// libnuma (Debian libnuma-dev): node discovery, memory placement (mbind, move_pages) and
// CPU affinity (numa_sched_setaffinity). No feature macros here: a _GNU_SOURCE in this
// module would change glibc's struct definitions against other modules (fd_set).
#include <numa.h>
#include <numaif.h>
#include <sys/mman.h>

// libnuma's global node mask, read through a function (Swift 6 refuses C globals).
static inline struct bitmask *m2m_numa_all_nodes(void) { return numa_all_nodes_ptr; }
