/* MurmurHash3_x86_128, written from the public algorithm description (Austin Appleby,
 * SMHasher). Blocks are read and the result written with memcpy, in host order: the addon
 * refuses to load on a big-endian host, so host order is the little-endian the spec asks for. */
#include "murmur3.h"

#include <string.h>

#define C1 0x239b961bu
#define C2 0xab0e9789u
#define C3 0x38b34ae5u
#define C4 0xa1e38b93u

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

void qis_murmur3_x86_128(const void *key, size_t len, uint32_t seed, uint8_t out[16]) {
  const uint8_t *p = (const uint8_t *)key;
  const size_t nblocks = len / 16;
  const size_t rem = len & 15;
  uint32_t h1 = seed, h2 = seed, h3 = seed, h4 = seed;
  uint32_t k1 = 0, k2 = 0, k3 = 0, k4 = 0, h[4];
  size_t i;

  for (i = 0; i < nblocks; i++, p += 16) {
    uint32_t k[4];
    memcpy(k, p, 16);
    h1 ^= rotl32(k[0] * C1, 15) * C2;
    h1 = rotl32(h1, 19) + h2;
    h1 = h1 * 5 + 0x561ccd1bu;
    h2 ^= rotl32(k[1] * C2, 16) * C3;
    h2 = rotl32(h2, 17) + h3;
    h2 = h2 * 5 + 0x0bcaa747u;
    h3 ^= rotl32(k[2] * C3, 17) * C4;
    h3 = rotl32(h3, 15) + h4;
    h3 = h3 * 5 + 0x96cd1c35u;
    h4 ^= rotl32(k[3] * C4, 18) * C1;
    h4 = rotl32(h4, 13) + h1;
    h4 = h4 * 5 + 0x32ac3b17u;
  }

  /* The tail is read byte by byte, little-endian, exactly as the reference does. */
  switch (rem) {
    case 15: k4 ^= (uint32_t)p[14] << 16; /* fall through */
    case 14: k4 ^= (uint32_t)p[13] << 8;  /* fall through */
    case 13: k4 ^= (uint32_t)p[12];
      h4 ^= rotl32(k4 * C4, 18) * C1;     /* fall through */
    case 12: k3 ^= (uint32_t)p[11] << 24; /* fall through */
    case 11: k3 ^= (uint32_t)p[10] << 16; /* fall through */
    case 10: k3 ^= (uint32_t)p[9] << 8;   /* fall through */
    case 9: k3 ^= (uint32_t)p[8];
      h3 ^= rotl32(k3 * C3, 17) * C4;     /* fall through */
    case 8: k2 ^= (uint32_t)p[7] << 24;   /* fall through */
    case 7: k2 ^= (uint32_t)p[6] << 16;   /* fall through */
    case 6: k2 ^= (uint32_t)p[5] << 8;    /* fall through */
    case 5: k2 ^= (uint32_t)p[4];
      h2 ^= rotl32(k2 * C2, 16) * C3;     /* fall through */
    case 4: k1 ^= (uint32_t)p[3] << 24;   /* fall through */
    case 3: k1 ^= (uint32_t)p[2] << 16;   /* fall through */
    case 2: k1 ^= (uint32_t)p[1] << 8;    /* fall through */
    case 1: k1 ^= (uint32_t)p[0];
      h1 ^= rotl32(k1 * C1, 15) * C2;
  }

  /* The reference takes len as an int; only its low 32 bits ever mattered. */
  h1 ^= (uint32_t)len;
  h2 ^= (uint32_t)len;
  h3 ^= (uint32_t)len;
  h4 ^= (uint32_t)len;
  h1 += h2 + h3 + h4;
  h2 += h1;
  h3 += h1;
  h4 += h1;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);
  h1 += h2 + h3 + h4;
  h2 += h1;
  h3 += h1;
  h4 += h1;

  /* One 16-byte store: byte-wise stores here stall the 16-byte load that compares it. */
  h[0] = h1;
  h[1] = h2;
  h[2] = h3;
  h[3] = h4;
  memcpy(out, h, sizeof h);
}
