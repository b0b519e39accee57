// FFTW3 (Debian libfftw3-dev): single precision with its threads library for the model,
// double precision for the data generator.
#include <fftw3.h>
