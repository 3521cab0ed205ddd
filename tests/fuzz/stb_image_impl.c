/* The fuzz build compiles stb_image's decoders itself, instrumented, so that libFuzzer sees their
   coverage (Debian's libstb is not instrumented); these definitions take precedence over it. */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
