// libpng (Debian libpng-dev): the simplified write and read API (png_image) for figures.
#include <png.h>
