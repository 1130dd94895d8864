/* The qis-edge outcome packet, version 1: the wire layout as a C struct.
 * docs/packet.md is the specification; the TypeScript loader compares the sizeof/offsetof
 * values the addon exports with its own constants and refuses a build whose layout drifted.
 * Multi-byte fields are little-endian on the wire; every target we ship (x86-64, arm64,
 * armv7) is little-endian, which the addon checks at load. */
#ifndef QIS_PACKET_H
#define QIS_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define QIS_PACKET_SIZE 512u
#define QIS_VERSION 1u
#define QIS_ADDRESS_MAX 96u
#define QIS_CONTEXT_MAX 16u
#define QIS_CONCLUSION_MAX 172u
#define QIS_CRC_COVERED 508u

#define QIS_FLAG_SIGNED 0x0001u
#define QIS_FLAG_SYNTHESIZED 0x0002u
#define QIS_FLAG_LEGACY 0x0004u
#define QIS_FLAGS_KNOWN 0x0007u

/* 2^53 - 1: u64 fields must round-trip through a JavaScript number. */
#define QIS_U64_MAX_SAFE 0x1FFFFFFFFFFFFFull

typedef struct qis_packet {
  uint8_t magic[4]; /* 'Q' 'I' 'S' version */
  uint16_t flags;
  uint8_t hops;
  uint8_t address_len;
  uint64_t timestamp_ms;
  uint32_t ttl_s;
  uint32_t n_observations;
  float outcome_delta;
  float confidence;
  uint64_t seq;
  uint8_t node_id[16];
  uint8_t address_hash[16];
  uint8_t context_hash[16];
  uint8_t context_len;
  uint8_t conclusion_len;
  uint8_t reserved0[6];
  uint8_t address[QIS_ADDRESS_MAX];
  float context[QIS_CONTEXT_MAX];
  uint8_t conclusion[QIS_CONCLUSION_MAX];
  uint8_t key_id[8];
  uint8_t signature[64];
  uint8_t reserved1[8];
  uint32_t crc32c;
} qis_packet;

/* C99 has no _Static_assert: a negative array size stops the build if the layout drifts. */
typedef char qis_assert_packet_size[sizeof(qis_packet) == QIS_PACKET_SIZE ? 1 : -1];
typedef char qis_assert_crc_last[offsetof(qis_packet, crc32c) == QIS_CRC_COVERED ? 1 : -1];

/* Verdicts, in the order the checks run (docs/packet.md). The numbers are shared with
 * src/packet/errors.ts; 0 is a valid packet. */
enum qis_verdict {
  QIS_OK = 0,
  QIS_E_LENGTH = 1,
  QIS_E_CRC = 2,
  QIS_E_MAGIC = 3,
  QIS_E_VERSION = 4,
  QIS_E_FLAGS = 5,
  QIS_E_OVERSIZE = 6,
  QIS_E_RESERVED = 7,
  QIS_E_NOT_FINITE = 8,
  QIS_E_RANGE = 9,
  QIS_E_UTF8 = 10,
  QIS_E_ADDRESS_HASH = 11
};

#endif
