#ifndef CONDUIT_CRC32C_HARDWARE_H
#define CONDUIT_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// Whether this processor computes CRC-32C in hardware (x86-64 with SSE 4.2).
int conduit_crc32c_hardware_available(void);

/// The CRC-32C register after `count` bytes at `bytes`, from register `crc` (not inverted: the caller inverts before
/// and after, as the software version does). Call only when conduit_crc32c_hardware_available() is true.
uint32_t conduit_crc32c_hardware(uint32_t crc, const void *bytes, size_t count);

#endif
