// libpng's simplified API (png_image_*); Debian: libpng-dev. Only Shared/Imaging imports this.
#include <png.h>
#include <string.h>

/// A zeroed png_image with the API version set (Swift cannot zero-initialise it directly).
static inline png_image anatomix_png_image(void) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    return image;
}
