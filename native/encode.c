/* Packs a staged record into a packet (see encode.h). Every byte of the 512 is written (fields,
 * then zero padding), so the slot needs no clearing first and is written once, front to back,
 * while the CRC that follows still finds it in L1. */
#include "encode.h"

#include <string.h>

#include "crc32c.h"
#include "packet.h"

#define OFF(field) offsetof(qis_packet, field)

static inline uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline uint64_t rd_u53(const uint8_t *p) {
  double v;
  memcpy(&v, p, sizeof v);
  return (uint64_t)v; /* TypeScript checked: an integer in 0..2^53-1, so exact */
}

/* Writes every byte of the packet but the CRC. */
static void pack(uint8_t *p, const uint8_t *rec, const uint8_t *address, const uint8_t *conclusion) {
  uint32_t head = rd32(rec + QIS_REC_HEAD);
  uint32_t alen = rd32(address + QIS_SLOT_LENGTH), tlen = rd32(conclusion + QIS_SLOT_LENGTH);
  uint32_t clen = head >> 24, i;
  uint16_t flags = (uint16_t)head;
  uint64_t v;

  if (alen > QIS_ADDRESS_MAX) alen = QIS_ADDRESS_MAX;
  if (tlen > QIS_CONCLUSION_MAX) tlen = QIS_CONCLUSION_MAX;
  if (clen > QIS_CONTEXT_MAX) clen = QIS_CONTEXT_MAX;

  memcpy(p, "QIS", 3);
  p[3] = QIS_VERSION;
  memcpy(p + OFF(flags), &flags, 2);
  p[OFF(hops)] = (uint8_t)(head >> 16);
  p[OFF(address_len)] = (uint8_t)alen;
  v = rd_u53(rec + QIS_REC_TIMESTAMP);
  memcpy(p + OFF(timestamp_ms), &v, 8);
  /* ttl_s, n_observations, outcome_delta, confidence: four words in the same order. */
  memcpy(p + OFF(ttl_s), rec + QIS_REC_TTL, 16);
  v = rd_u53(rec + QIS_REC_SEQ);
  memcpy(p + OFF(seq), &v, 8);
  memcpy(p + OFF(node_id), rec + QIS_REC_NODE_ID, 16);
  memcpy(p + OFF(address_hash), address + QIS_SLOT_HASH, 16);
  memcpy(p + OFF(context_hash), rec + QIS_REC_CONTEXT_HASH, 16);
  p[OFF(context_len)] = (uint8_t)clen;
  p[OFF(conclusion_len)] = (uint8_t)tlen;
  memset(p + OFF(reserved0), 0, sizeof(((qis_packet *)0)->reserved0));
  /* The slots are zero past the string, so whole fields carry their padding with them. */
  memcpy(p + OFF(address), address, QIS_ADDRESS_MAX);
  /* The context as 16 words, zero from clen on: a fixed-size loop the compiler vectorizes,
   * instead of a variable memcpy + memset (two libc calls per packet). */
  for (i = 0; i < QIS_CONTEXT_MAX; i++) {
    uint32_t w;
    memcpy(&w, rec + QIS_REC_CONTEXT + 4 * i, 4);
    w = i < clen ? w : 0;
    memcpy(p + OFF(context) + 4 * i, &w, 4);
  }
  memcpy(p + OFF(conclusion), conclusion, QIS_CONCLUSION_MAX);
  if (flags & QIS_FLAG_SIGNED) {
    memcpy(p + OFF(key_id), rec + QIS_REC_KEY_ID, 8);
    memcpy(p + OFF(signature), rec + QIS_REC_SIGNATURE, 64);
  } else {
    memset(p + OFF(key_id), 0, 8 + 64);
  }
  memset(p + OFF(reserved1), 0, 8);
}

int qis_encode_batch(uint8_t *p, size_t count, const uint8_t *rec, const uint8_t *slots, size_t nslots) {
  size_t i;
  for (i = 0; i < count; i++, p += QIS_PACKET_SIZE, rec += QIS_REC_SIZE) {
    uint32_t a, c, crc;
    memcpy(&a, rec + QIS_REC_ADDRESS, 4);
    memcpy(&c, rec + QIS_REC_CONCLUSION, 4);
    if (a >= nslots || c >= nslots) return -1;
    pack(p, rec, slots + (size_t)a * QIS_SLOT_SIZE, slots + (size_t)c * QIS_SLOT_SIZE);
    /* The packet was just written (the CRC reads it from L1), its padding zero: the CRC may
     * skip it. */
    crc = qis_crc32c_packet(p, p[OFF(address_len)], p[OFF(context_len)], p[OFF(conclusion_len)],
                            (p[OFF(flags)] & QIS_FLAG_SIGNED) != 0);
    memcpy(p + OFF(crc32c), &crc, 4);
  }
  return 0;
}
