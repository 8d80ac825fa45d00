/*
 * CRC-32C, slicing by eight: eight table lookups per eight bytes, about a
 * byte per cycle, far more than the journal needs; the SSE4.2 instruction
 * is used instead where the CPU has it.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "runtime/crc32c.h"

#define CRC32C_POLY	0x82f63b78u	/* reflected */

static uint32_t		crc32c_table[8][256];
static bool		crc32c_hw;
static pthread_once_t	crc32c_once = PTHREAD_ONCE_INIT;

static void
crc32c_init(void)
{
	uint32_t	c;
	int		i, j, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		for (k = 1; k < 8; k++)
			crc32c_table[k][i] = (crc32c_table[k - 1][i] >> 8) ^
			    crc32c_table[0][crc32c_table[k - 1][i] & 0xff];
	}
#if defined(__x86_64__)
	crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t
crc32c_sw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t	w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		w ^= crc;
		crc = crc32c_table[7][w & 0xff] ^
		    crc32c_table[6][(w >> 8) & 0xff] ^
		    crc32c_table[5][(w >> 16) & 0xff] ^
		    crc32c_table[4][(w >> 24) & 0xff] ^
		    crc32c_table[3][(w >> 32) & 0xff] ^
		    crc32c_table[2][(w >> 40) & 0xff] ^
		    crc32c_table[1][(w >> 48) & 0xff] ^
		    crc32c_table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t
crc32c_hw_run(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t	c = crc, w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t
crc32c(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	crc = ~crc;
#if defined(__x86_64__)
	if (crc32c_hw)
		return ~crc32c_hw_run(crc, data, len);
#endif
	return ~crc32c_sw(crc, data, len);
}

uint32_t
crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return ~crc32c_sw(~crc, data, len);
}
