/* MurmurHash3_x86_128 (Austin Appleby, public domain algorithm), the packet's address hash. */
#ifndef QIS_MURMUR3_H
#define QIS_MURMUR3_H

#include <stddef.h>
#include <stdint.h>

/* Writes h1, h2, h3, h4, each as u32 little-endian (host order: the addon refuses to load
 * on a big-endian host), to out[0..16). */
void qis_murmur3_x86_128(const void *key, size_t len, uint32_t seed, uint8_t out[16]);

#endif
