/* The synthesis engine's per-packet path in C (src/synth/ingest.ts is the reference and the
 * fallback; docs/synth.md the specification). The engine's state stays in the TypeScript
 * engine's typed arrays: they are bound once, in the order below, and the C reads and writes
 * them in place, so that TypeScript and C can take turns on the same state. What C leaves to
 * TypeScript (an address it has not interned yet) it hands back before changing anything.
 * The scalar fields of the TypeScript tables travel in `regs` (src/synth/native.ts copies
 * them in before a call and out after it). The order of both lists is shared with
 * src/synth/native.ts, which checks the count at load. */
#ifndef QIS_SYNTH_H
#define QIS_SYNTH_H

#include <stddef.h>
#include <stdint.h>

/* The bound arrays. F: Float64Array, B: Uint8Array, the others Int32Array. */
enum qis_synth_array {
  SA_T_F, SA_LOG1P_F,
  SA_NAME_CELLS, SA_A_HASH, SA_A_LEN_B, SA_A_WORDS, SA_A_EMPTY_LISTED_B, SA_EMPTY_STACK,
  SA_NODE_CELLS, SA_N_WORDS, SA_N_REF, SA_FREE_NODES,
  SA_P_NODE, SA_P_RAW, SA_P_SYNTH, SA_A_NODES, SA_A_PAIR_HIGH, SA_P_INDEX,
  SA_C_F, SA_C_I, SA_FREE_SLOTS, SA_A_HEAD, SA_SEEN_CELLS,
  SA_Q_EXP_F, SA_Q_ORD_F, SA_Q_LINKS, SA_Q_TTL_F, SA_Q_HEAD, SA_Q_TAIL, SA_Q_HEAD_EXP_F, SA_Q_HEAD_ORD_F,
  SA_H_KEYS_F, SA_H_SLOTS, SA_H_POS,
  SA_S_ACC_F, SA_S_COUNT, SA_S_WCOUNT, SA_S_SYNTH_COUNT, SA_S_OBS_F, SA_S_HOP_HIST, SA_S_MAX_HOPS,
  SA_S_TS_MIN_F, SA_S_TS_MAX_F, SA_S_WIN_DIRTY_B,
  SA_E_CHANGED_B, SA_E_DIRTY_B, SA_E_DIRTY_LIST,
  SA_REGS_F,
  SA_COUNT
};

/* The constants of one engine, given at bind. */
enum qis_synth_dim {
  SD_SEED, SD_OWN0, SD_OWN1, SD_OWN2, SD_OWN3, SD_MAX_HOPS, SD_MAX_NODES, SD_PER_ADDRESS,
  SD_HOP_SLOTS, SD_CAP, SD_ADDRESSES, SD_LOG1P_N, SD_NAME_MASK, SD_NODE_MASK, SD_SEEN_MASK, SD_PAIR_MASK,
  SD_COUNT
};

/* regs: counters, then the tables' scalars, then what a call reports. */
enum qis_synth_reg {
  R_OFFERED, R_ADDED, R_EXPIRED, R_DROPPED_EARLY, R_SELF_IGNORED, R_HOP_REFUSED, R_STALE,
  R_DUPLICATES, R_SHADOWED, R_SUPERSEDED, R_ADDRESS_COLLISIONS, R_NODES_REFUSED,
  R_FREE_TOP, R_HIGH, R_LIVE,
  R_Q_COUNT, R_Q_LAST, R_Q_HIGH, R_Q_NEXT_SLOT, R_Q_NEXT_EXP, R_Q_HEAP_INSERTS, R_H_SIZE,
  R_EMPTY_TOP, R_NODE_COUNT, R_SEEN_COUNT, R_NODE_FREE_TOP, R_NODE_HIGH, R_DIRTY_COUNT,
  R_OUTCOME, R_ADDED_NOW, R_EXPIRED_NOW,
  R_COUNT
};

/* 32-bit words of an address in the address table (src/synth/addresses.ts). */
#define QIS_SYNTH_ADDRESS_WORDS 24
/* ingest() of a packet C leaves to TypeScript (nothing was changed). */
#define QIS_SYNTH_NEED_TS (-1)

/* The minimum length, in elements, of bound array i for these dims. */
size_t qis_synth_min_length(const int32_t *dim, int i);

/* On the arrays a and dims dim (bound in the orders above): optionally expires what is due
 * (sweep != 0), then adds up to count packets at p + i·512,
 * stopping before the first one TypeScript must add. Returns how many it added. */
size_t qis_synth_run(void *const *a, const int32_t *dim, const uint8_t *p, size_t count, int sweep);

#endif
