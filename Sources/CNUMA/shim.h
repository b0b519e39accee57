// libnuma (Debian libnuma-dev): node discovery and memory placement.
#include <numa.h>
