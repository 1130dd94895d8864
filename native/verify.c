/* Verify, seal and unpack one 512-byte packet. Multi-byte fields are read with memcpy: a
 * packet may sit at any byte offset of a Buffer, and memcpy is the one aliasing- and
 * alignment-safe way to read it (the compiler turns it into a plain load). */
#include "verify.h"

#include <string.h>

#include "crc32c.h"
#include "murmur3.h"

#define OFF(field) offsetof(qis_packet, field)
#define SIZE(field) sizeof(((qis_packet *)0)->field)

/* key_id and signature are checked as one run, reserved1 follows them. */
typedef char qis_assert_key_sig_contiguous[OFF(signature) == OFF(key_id) + SIZE(key_id) ? 1 : -1];
typedef char qis_assert_reserved1_follows[OFF(reserved1) == OFF(signature) + SIZE(signature) ? 1 : -1];

static inline uint16_t rd16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline float rdf32(const uint8_t *p) {
  float v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* ORs a byte range into an accumulator; the caller tests it once for all ranges. */
static inline uint64_t or_bytes(uint64_t acc, const uint8_t *p, size_t n) {
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    acc |= w;
    p += 8;
    n -= 8;
  }
  while (n--) acc |= *p++;
  return acc;
}

/* Exponent all ones = NaN or +-Inf. Tested on the bits so -ffast-math can never fold it away. */
static inline int not_finite(const uint8_t *p) { return (rd32(p) & 0x7F800000u) == 0x7F800000u; }

int qis_utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  uint64_t acc = 0;
  /* Addresses and most conclusions are pure ASCII: one branch-free pass settles them. */
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    acc |= w;
  }
  while (i < n) acc |= s[i++];
  if (!(acc & 0x8080808080808080ull)) return 1;

  i = 0;
  while (i < n) {
    uint8_t c = s[i], c1, lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull) break;
      }
      while (i < n && s[i] < 0x80) i++;
      continue;
    }
    if (c < 0xC2) return 0; /* stray continuation byte, or overlong C0/C1 */
    if (c < 0xE0) {
      if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
      i += 2;
      continue;
    }
    if (c < 0xF0) {
      if (i + 2 >= n) return 0;
      if (c == 0xE0) lo = 0xA0;      /* overlong */
      else if (c == 0xED) hi = 0x9F; /* U+D800..U+DFFF */
      c1 = s[i + 1];
      if (c1 < lo || c1 > hi || (s[i + 2] & 0xC0) != 0x80) return 0;
      i += 3;
      continue;
    }
    if (c < 0xF5) {
      if (i + 3 >= n) return 0;
      if (c == 0xF0) lo = 0x90;      /* overlong */
      else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
      c1 = s[i + 1];
      if (c1 < lo || c1 > hi || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) return 0;
      i += 4;
      continue;
    }
    return 0; /* F5..FF: above U+10FFFF */
  }
  return 1;
}

enum qis_verdict qis_verify(const uint8_t *p) {
  uint16_t flags;
  unsigned alen, clen, tlen, i;
  uint64_t nz;
  float delta, conf;
  uint8_t hash[16];

  if (qis_crc32c(0, p, QIS_CRC_COVERED) != rd32(p + OFF(crc32c))) return QIS_E_CRC;
  if (p[0] != 'Q' || p[1] != 'I' || p[2] != 'S') return QIS_E_MAGIC;
  if (p[3] != QIS_VERSION) return QIS_E_VERSION;
  flags = rd16(p + OFF(flags));
  if (flags & ~QIS_FLAGS_KNOWN) return QIS_E_FLAGS;

  alen = p[OFF(address_len)];
  clen = p[OFF(context_len)];
  tlen = p[OFF(conclusion_len)];
  if (alen > QIS_ADDRESS_MAX || clen > QIS_CONTEXT_MAX || tlen > QIS_CONCLUSION_MAX)
    return QIS_E_OVERSIZE;

  nz = or_bytes(0, p + OFF(reserved0), SIZE(reserved0));
  nz = or_bytes(nz, p + OFF(address) + alen, QIS_ADDRESS_MAX - alen);
  nz = or_bytes(nz, p + OFF(context) + 4 * clen, 4 * (QIS_CONTEXT_MAX - clen));
  nz = or_bytes(nz, p + OFF(conclusion) + tlen, QIS_CONCLUSION_MAX - tlen);
  if (!(flags & QIS_FLAG_SIGNED)) nz = or_bytes(nz, p + OFF(key_id), SIZE(key_id) + SIZE(signature));
  nz = or_bytes(nz, p + OFF(reserved1), SIZE(reserved1));
  if (nz) return QIS_E_RESERVED;

  if (not_finite(p + OFF(outcome_delta)) || not_finite(p + OFF(confidence))) return QIS_E_NOT_FINITE;
  for (i = 0; i < clen; i++)
    if (not_finite(p + OFF(context) + 4 * i)) return QIS_E_NOT_FINITE;

  delta = rdf32(p + OFF(outcome_delta));
  conf = rdf32(p + OFF(confidence));
  if (alen == 0 || delta < -1.0f || delta > 1.0f || conf < 0.0f || conf > 1.0f ||
      rd64(p + OFF(timestamp_ms)) > QIS_U64_MAX_SAFE || rd64(p + OFF(seq)) > QIS_U64_MAX_SAFE)
    return QIS_E_RANGE;

  if (!qis_utf8_valid(p + OFF(address), alen) || !qis_utf8_valid(p + OFF(conclusion), tlen))
    return QIS_E_UTF8;

  qis_murmur3_x86_128(p + OFF(address), alen, 0, hash);
  if (memcmp(hash, p + OFF(address_hash), sizeof hash) != 0) return QIS_E_ADDRESS_HASH;
  return QIS_OK;
}

void qis_seal(uint8_t *p) {
  uint32_t crc;
  qis_murmur3_x86_128(p + OFF(address), p[OFF(address_len)], 0, p + OFF(address_hash));
  crc = qis_crc32c(0, p, QIS_CRC_COVERED);
  memcpy(p + OFF(crc32c), &crc, sizeof crc);
}

void qis_unpack(const uint8_t *p, double out[QIS_UNPACK_STRIDE]) {
  out[0] = rd16(p + OFF(flags));
  out[1] = p[OFF(hops)];
  out[2] = (double)rd64(p + OFF(timestamp_ms));
  out[3] = rd32(p + OFF(ttl_s));
  out[4] = rd32(p + OFF(n_observations));
  out[5] = rdf32(p + OFF(outcome_delta));
  out[6] = rdf32(p + OFF(confidence));
  out[7] = (double)rd64(p + OFF(seq));
  out[8] = p[OFF(address_len)];
  out[9] = p[OFF(context_len)];
  out[10] = p[OFF(conclusion_len)];
}
