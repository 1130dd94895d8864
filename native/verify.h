/* Per-packet work on 512-byte slots. Callers guarantee 512 readable (and, for seal, writable)
 * bytes at p; TypeScript has already validated sizes and counts. */
#ifndef QIS_VERIFY_H
#define QIS_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* Number of doubles qis_unpack writes per packet. */
#define QIS_UNPACK_STRIDE 11u

/* The first failing check of docs/packet.md "Verification" (checks 2..11), or QIS_OK. */
enum qis_verdict qis_verify(const uint8_t *p);

/* Writes address_hash, then the CRC-32C of bytes 0..507 (in that order: the CRC covers the hash). */
void qis_seal(uint8_t *p);

/* flags, hops, timestamp_ms, ttl_s, n_observations, outcome_delta, confidence, seq,
 * address_len, context_len, conclusion_len. */
void qis_unpack(const uint8_t *p, double out[QIS_UNPACK_STRIDE]);

/* RFC 3629 UTF-8: no overlong forms, surrogates, code points above U+10FFFF, stray
 * continuation bytes or truncated sequences. Returns 1 when valid. */
int qis_utf8_valid(const uint8_t *s, size_t len);

#endif
