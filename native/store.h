/* The packet store's in-memory insert path in C (src/store/ring.ts `insertBatch` is the
 * reference and the fallback; docs/store.md the specification). As with synthesis
 * (native/synth.h), the state stays in the TypeScript store's typed arrays, bound once in the
 * order below; the tables' scalars travel in `regs` (src/store/native.ts copies them in before
 * a call and out after it). The order of both lists is shared with src/store/native.ts, which
 * checks the counts at load. File mode stays in TypeScript. */
#ifndef QIS_STORE_H
#define QIS_STORE_H

#include <stddef.h>
#include <stdint.h>

/* The bound arrays. B: Uint8Array, F: Float64Array, the others Int32Array. Q_EXP is the
 * store's per-slot expiry and Q_ORD its per-slot cursor (the queue's keys are the store's). */
enum qis_store_array {
  QS_DATA_B,
  QS_ID_TABLE, QS_ID_SLOT_HASH,
  QS_A_SLOT_ADDR, QS_A_PREV, QS_A_NEXT, QS_A_HEAD, QS_A_TAIL, QS_A_COUNT, QS_A_LIVE, QS_A_LIVE_POS,
  QS_A_ID_HASH, QS_A_HASH_WORDS, QS_A_RECORDS, QS_A_FREE, QS_A_TABLE, QS_A_FRONT,
  QS_Q_EXP_F, QS_Q_ORD_F, QS_Q_LINKS, QS_Q_TTL_F, QS_Q_HEAD, QS_Q_TAIL, QS_Q_HEAD_EXP_F, QS_Q_HEAD_ORD_F,
  QS_H_KEYS_F, QS_H_SLOTS, QS_H_POS,
  QS_REGS_F,
  QS_COUNT
};

/* The constants of one store, given at bind. */
enum qis_store_dim {
  QS_D_CAPACITY, QS_D_ID_SEED, QS_D_ID_MASK, QS_D_A_SEED, QS_D_A_MASK, QS_D_RECORD_IDS, QS_D_FRONT_SHIFT,
  QS_D_COUNT
};

/* regs: the clock, the store's scalars and counters, the address index's and the expiry
 * queue's scalars, then what a call reports. */
enum qis_store_reg {
  QS_R_CLOCK, QS_R_CURSOR, QS_R_HEAD, QS_R_SIZE,
  QS_R_STORED, QS_R_DUPLICATES, QS_R_EXPIRED, QS_R_EXPIRED_ON_ARRIVAL, QS_R_EVICTED, QS_R_INVALID,
  QS_R_A_FREE_TOP, QS_R_A_HIGH_ID, QS_R_A_LIVE_COUNT, QS_R_A_GENERATION,
  QS_R_Q_COUNT, QS_R_Q_LAST, QS_R_Q_HIGH, QS_R_Q_NEXT_SLOT, QS_R_Q_NEXT_EXP, QS_R_Q_HEAP_INSERTS, QS_R_H_SIZE,
  QS_R_STORED_NOW, QS_R_EXPIRED_NOW,
  QS_R_COUNT
};

/* The minimum length, in elements, of bound array i for these dims. */
size_t qis_store_min_length(const int32_t *dim, int i);

/* Whether dims describe a store (bind refuses others: the C trusts them afterwards). */
int qis_store_dims_ok(const int32_t *dim);

/* Optionally frees what has expired by regs[QS_R_CLOCK] (sweep != 0), then stores the count
 * packets at p + i·512 whose codes[i] is 0 (the others count as invalid), writing each one's
 * InsertStatus to statuses[i] when statuses is not NULL. Returns how many it stored. */
size_t qis_store_run(void *const *a, const int32_t *dim, const uint8_t *p, size_t count,
                     const uint8_t *codes, uint8_t *statuses, int sweep);

#endif
