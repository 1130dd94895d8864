/* Backward-shift deletion from linear-probing tables (src/util/hash.ts staysInShift), shared by
 * the store (store.c) and the synthesis engine (synth.c). */
#ifndef QIS_SHIFT_H
#define QIS_SHIFT_H

#include <stdint.h>

/* With the hole at `hole` and a later entry of the run at `j`, whose home cell is `home`:
 * whether that entry stays where it is, its home lying cyclically in (hole, j] (moving it into
 * the hole would put it before its home). */
static inline int qis_stays_in_shift(uint32_t home, uint32_t hole, uint32_t j) {
  return hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
}

#endif
