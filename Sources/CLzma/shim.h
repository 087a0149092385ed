// Debian's liblzma-dev: xz and LZMA-alone (`.lzma`) files and `.deb` members, opened by the secret scan.
#include <lzma.h>
