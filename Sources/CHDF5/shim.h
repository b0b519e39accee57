// libhdf5 (Debian libhdf5-dev, serial flavour): reads MATLAB v7.3 .mat files.
#include <hdf5/serial/hdf5.h>
