// Debian's libzstd-dev: the streaming decompressor for zstd-compressed image layers.
#include <zstd.h>
