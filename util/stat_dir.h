#ifndef SGXEMU_UTIL_STAT_DIR_H
#define SGXEMU_UTIL_STAT_DIR_H

#include <stddef.h>

/* $SGXEMU_STAT_DIR, else $XDG_RUNTIME_DIR/sgxemu, else /tmp/sgxemu-UID. */
void sgxemu_stat_dir(char *buf, size_t len);

#endif
