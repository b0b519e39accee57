// libhdf5 (Debian libhdf5-dev, serial flavour): reads MATLAB v7.3 .mat files.
#include <hdf5/serial/hdf5.h>

// libhdf5's predefined type and property-list class ids are mutable C globals (H5T_NATIVE_FLOAT
// expands to `(H5open(), H5T_NATIVE_FLOAT_g)`), which Swift 6 refuses to read as shared mutable
// state. These accessors read them as the macros do, after H5open.
static inline hid_t m2m_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t m2m_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t m2m_h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t m2m_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
