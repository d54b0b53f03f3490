// libpng's simplified API (png_image_*); Debian: libpng-dev. Only Shared/Imaging imports this.
#include <png.h>
