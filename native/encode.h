/* Packing staged records into packets (the native half of encode). TypeScript validates every
 * field of a PacketFields and writes it into a 216-byte staging record, its strings into
 * 192-byte slots of a string table (src/packet/stage.ts, src/packet/intern.ts); C packs the
 * struct and seals it. The loader compares these numbers with its own. */
#ifndef QIS_ENCODE_H
#define QIS_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* A staging record. */
#define QIS_REC_SIZE 216u
#define QIS_REC_TIMESTAMP 0u  /* f64, an integer 0..2^53-1 */
#define QIS_REC_SEQ 8u        /* f64, an integer 0..2^53-1 */
#define QIS_REC_HEAD 16u      /* u32: flags | hops << 16 | context_len << 24 */
#define QIS_REC_ADDRESS 20u   /* u32 slot */
#define QIS_REC_CONCLUSION 24u /* u32 slot (0: the empty string) */
#define QIS_REC_TTL 28u
#define QIS_REC_N_OBS 32u
#define QIS_REC_DELTA 36u     /* f32 */
#define QIS_REC_CONFIDENCE 40u /* f32 */
#define QIS_REC_NODE_ID 48u
#define QIS_REC_CONTEXT_HASH 64u
#define QIS_REC_CONTEXT 80u   /* f32[16] */
#define QIS_REC_KEY_ID 144u   /* with SIGNED only, as is the signature */
#define QIS_REC_SIGNATURE 152u

/* A string-table slot: UTF-8 bytes zero-padded to 172, u32 length, MurmurHash3 of the bytes.
 * The packer copies whole fields from it and its CRC skips the padding, so it relies on the
 * zero padding (intern.ts clears a slot before filling it): a slot without it would make a
 * packet that fails its CRC check, never a read or write outside the arrays. */
#define QIS_SLOT_SIZE 192u
#define QIS_SLOT_LENGTH 172u
#define QIS_SLOT_HASH 176u

/* Packs `count` records (QIS_REC_SIZE apart) into packets (QIS_PACKET_SIZE apart) at p, each
 * with its CRC, every byte written. `slots` holds nslots slots; a record whose slot number is
 * past them stops the batch with -1 (packets before it are written). Lengths are clamped to
 * their fields, so a bad record can make a wrong packet but never touch memory outside p,
 * the records and the slots. */
int qis_encode_batch(uint8_t *p, size_t count, const uint8_t *rec, const uint8_t *slots, size_t nslots);

#endif
