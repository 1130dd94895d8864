/* CRC-32C (Castagnoli), the packet checksum (docs/packet.md, offset 508). */
#ifndef QIS_CRC32C_H
#define QIS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The implementation is picked once, when the shared object is loaded (a constructor in
 * crc32c.c probes the CPU), so there is no init call to forget. */

/* Chains like zlib.crc32: pass 0 to start, or the previous result to continue. */
uint32_t qis_crc32c(uint32_t crc, const void *data, size_t len);

/* The CRC-32C of the 508 covered bytes of a packet whose bytes past its address (alen),
 * context (clen values) and conclusion (tlen) are all zero, as the encoder writes it; same
 * result as qis_crc32c(0, p, 508), which it is wherever the fast path (x86-64 with SSE4.2
 * and PCLMUL, unsigned packets) does not apply. */
uint32_t qis_crc32c_packet(const uint8_t *p, unsigned alen, unsigned clen, unsigned tlen, int is_signed);

/* "sse4.2", "armv8-crc" or "table". */
const char *qis_crc32c_impl(void);

/* The portable slice-by-8 path whatever the CPU, so a C test can check it against the
 * hardware path on the same machine. */
uint32_t qis_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
