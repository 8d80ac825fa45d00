/*
 * CRC-32C (Castagnoli), the checksum of the journal's records (as Kafka's
 * and ext4's): crc32c(0, data, n) for one buffer, or fed in pieces by
 * passing the previous value.
 */
#ifndef LOOM_CRC32C_H
#define LOOM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t	crc32c(uint32_t crc, const void *data, size_t len);
/* The same without the CPU's instruction (for the tests). */
uint32_t	crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
