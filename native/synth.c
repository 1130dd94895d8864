/* The synthesis engine's per-packet path: the input rules, the commit of a contribution, its
 * exact removal and the sweep, step for step as src/synth/ingest.ts and the tables it calls
 * (contributions.ts, nodes.ts, estimates.ts, sums.ts, emission.ts markDirty, and
 * src/util/expiry.ts, heap.ts, idtable.ts) do them, on the same arrays. Every double is
 * computed with the same operations in the same order (no contraction into fused
 * multiply-adds: binding.gyp passes -ffp-contract=off), so both give the same bytes;
 * test/synth/native.test.ts compares every array after random streams. */
#include "synth.h"

#include <math.h>
#include <string.h>

#include "expiry.h"
#include "packet.h"
#include "shift.h"

/* 2^-30: weights below count as 0 (src/synth/sums.ts MIN_WEIGHT) */
#define MIN_WEIGHT (1.0 / 1073741824.0)
#define TWO32 4294967296.0
/* how many packets ahead of its add a packet's hashes are computed and its first reads
 * prefetched: about a memory latency's worth of adds */
#ifndef AHEAD
#define AHEAD 4
#endif
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
typedef int32_t v4i __attribute__((vector_size(16)));
#else
#define PREFETCH(p) ((void)(p))
#endif

enum { ADDED = 0, SELF = 1, HOP_LIMIT = 2, STALE = 3, DUPLICATE = 4, SHADOWED = 5, OUTDATED = 6,
       ADDRESS_COLLISION = 9, NODE_REFUSED = 10 };

/* One call's view of the engine: typed pointers into the bound arrays, and the scalars. */
typedef struct ctx {
  double *T, *log1p;
  int32_t *name_cells, *a_hash, *a_words, *empty_stack;
  uint8_t *a_len, *a_empty_listed;
  int32_t *node_cells, *n_words, *n_ref, *free_nodes;
  int32_t *p_node, *p_raw, *p_synth, *a_nodes, *a_pair_high, *p_index;
  double *cF;
  int32_t *cI, *free_slots, *a_head, *seen_cells;
  double *s_acc, *s_obs, *s_ts_min, *s_ts_max;
  int32_t *s_count, *s_wcount, *s_synth_count, *s_hop_hist, *s_max_hops;
  uint8_t *s_win_dirty, *e_changed, *e_dirty;
  int32_t *e_dirty_list;
  const int32_t *dim;
  double *regs;
  /* scalars (regs) */
  double c[R_NODES_REFUSED + 1];
  int32_t free_top, high, live;
  qis_expiry q;
  int32_t empty_top, node_count, seen_count, node_free_top, node_high, dirty_count;
} ctx;

static uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

static int32_t mix4(uint32_t seed, uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3) {
  return (int32_t)fmix32(seed ^ w0 ^ (w1 * 0x9e3779b1u) ^ (w2 * 0x85ebca77u) ^ (w3 * 0xc2b2ae3du));
}

static int32_t mix2(uint32_t seed, uint32_t w0, uint32_t w1) {
  return (int32_t)fmix32(seed ^ w0 ^ (w1 * 0x9e3779b1u));
}

static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static float rdf32(const uint8_t *p) {
  float v;
  memcpy(&v, p, 4);
  return v;
}

/* ln(1 + n) for an integer n (src/synth/sums.ts ln1pCount, the same operations). */
static double ln1p_count(const ctx *x, uint32_t n) {
  int k;
  double f, s, z, p;
  if (n < (uint32_t)x->dim[SD_LOG1P_N]) return x->log1p[n];
#if defined(__GNUC__)
  k = 31 - __builtin_clz(n);
#else
  k = 31;
  while (!(n >> k)) k--;
#endif
  f = ((double)n + 1.0) * ldexp(1.0, -k);
  if (f > 1.4142135623730951) {
    f = f * 0.5;
    k++;
  }
  s = (f - 1.0) / (f + 1.0);
  z = s * s;
  p = 1.0 / 23.0;
  p = p * z + 1.0 / 21.0;
  p = p * z + 1.0 / 19.0;
  p = p * z + 1.0 / 17.0;
  p = p * z + 1.0 / 15.0;
  p = p * z + 1.0 / 13.0;
  p = p * z + 1.0 / 11.0;
  p = p * z + 1.0 / 9.0;
  p = p * z + 1.0 / 7.0;
  p = p * z + 1.0 / 5.0;
  p = p * z + 1.0 / 3.0;
  p = p * z + 1.0;
  return (double)k * 0.6931471805599453 + 2.0 * s * p;
}

/* ---- IdTable (src/synth/idtable.ts): cells[2i] = id + 1 (0 empty), cells[2i + 1] = hash */

/* The probe starts at cell i: hash & mask, or where a lookup of this hash ended on an empty cell. */
static void id_insert(int32_t *cells, uint32_t mask, uint32_t i, int32_t hash, int32_t id, int32_t *count) {
  while (cells[2 * i] != 0) i = (i + 1) & mask;
  cells[2 * i] = id + 1;
  cells[2 * i + 1] = hash;
  (*count)++;
}

static void id_remove(int32_t *cells, uint32_t mask, int32_t hash, int32_t id, int32_t *count) {
  uint32_t hole = (uint32_t)hash & mask, j;
  while (cells[2 * hole] != id + 1) hole = (hole + 1) & mask;
  j = hole;
  for (;;) {
    int32_t v, hj;
    j = (j + 1) & mask;
    v = cells[2 * j];
    if (v == 0) break;
    hj = cells[2 * j + 1];
    if (qis_stays_in_shift((uint32_t)hj & mask, hole, j)) continue;
    cells[2 * hole] = v;
    cells[2 * hole + 1] = hj;
    hole = j;
  }
  cells[2 * hole] = 0;
  (*count)--;
}

/* ---- Expiry (native/expiry.h), with the prefetch of what the next removals read */

static void expiry_remove(ctx *x, int32_t slot) {
  int32_t n = qx_remove(&x->q, slot);
  if (n >= 0) {
    int32_t m = x->q.links[4 * n + QX_NEXT];
    /* Heads leave in order, and the records they leave from were written long ago (out of
     * cache): fetch what the removal of n will read (its (node, seq) cell, from its record
     * fetched here one removal ago), and what the removal of the one after it will. */
    PREFETCH(x->seen_cells + 2 * ((uint32_t)x->cI[n * 8 + 3] & (uint32_t)x->dim[SD_SEEN_MASK]));
    if (m >= 0) {
      PREFETCH(x->cI + m * 8);
      PREFETCH(x->cF + m * 8);
      PREFETCH(x->q.links + 4 * m);
      PREFETCH(x->q.exp + m);
      PREFETCH(x->q.ord + m);
    }
  }
}

/* ---- AddressSums (src/synth/estimates.ts, sums.ts) */

static void nstep(double *acc, int32_t i, double v) {
  double s = acc[i], t = s + v;
  acc[i + 1] = acc[i + 1] + (fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s);
  acc[i] = t;
}

#if defined(__GNUC__)
typedef double v2d __attribute__((vector_size(16)));
typedef int64_t v2l __attribute__((vector_size(16)));

/* nstep on the first two sums (w and w·δ: acc[i], acc[i + 2], their errors at i + 1, i + 3) in
 * two-lane vectors: v = (v0, v1). The error is taken with Knuth's TwoSum, which needs no
 * comparison; nstep's Neumaier form gives the same bits (both are the exact error of s + v,
 * a double), which test/synth/native.test.ts checks against the TypeScript path. */
#if defined(__clang__)
#define EVEN(a, b) __builtin_shufflevector(a, b, 0, 2)
#define ODD(a, b) __builtin_shufflevector(a, b, 1, 3)
#else
#define EVEN(a, b) __builtin_shuffle(a, b, (v2l){0, 2})
#define ODD(a, b) __builtin_shuffle(a, b, (v2l){1, 3})
#endif
static void nstep2(double *acc, int32_t i, v2d v) {
  v2d lo, hi, s, c, t, vv, sv;
  memcpy(&lo, acc + i, 16);
  memcpy(&hi, acc + i + 2, 16);
  s = EVEN(lo, hi);
  c = ODD(lo, hi);
  t = s + v;
  vv = t - s;
  sv = t - vv;
  c = c + ((s - sv) + (v - vv));
  lo = EVEN(t, c);
  hi = ODD(t, c);
  memcpy(acc + i, &lo, 16);
  memcpy(acc + i + 2, &hi, 16);
}

/* sign · (r[0], r[1]) into the first two sums, sign · r[2] into the third */
static void nadd3(double *acc, int32_t i, const double *r, double sign) {
  v2d v;
  memcpy(&v, r, 16);
  nstep2(acc, i, v * sign);
  nstep(acc, i + 4, sign * r[2]);
}
#else
static void nadd3(double *acc, int32_t i, const double *r, double sign) {
  nstep(acc, i, sign * r[0]);
  nstep(acc, i + 2, sign * r[1]);
  nstep(acc, i + 4, sign * r[2]);
}
#endif

static void sums_add(ctx *x, int32_t slot, int32_t a) {
  const double *r = x->cF + slot * 8;
  int32_t ai = a * 6, count = ++x->s_count[a], hops = x->cI[slot * 8 + 6];
  double ts = r[4];
  if (r[0] > 0) {
    x->s_wcount[a]++;
    nadd3(x->s_acc, ai, r, 1.0);
  }
  if (x->cI[slot * 8 + 7] == 1) x->s_synth_count[a]++;
  x->s_obs[a] += r[3];
  x->s_hop_hist[a * x->dim[SD_HOP_SLOTS] + hops]++;
  if (hops > x->s_max_hops[a]) x->s_max_hops[a] = hops;
  if (count == 1) {
    x->s_ts_min[a] = ts;
    x->s_ts_max[a] = ts;
    x->s_win_dirty[a] = 0;
  } else if (x->s_win_dirty[a] == 0) {
    if (ts < x->s_ts_min[a]) x->s_ts_min[a] = ts;
    if (ts > x->s_ts_max[a]) x->s_ts_max[a] = ts;
  }
}

static void sums_remove(ctx *x, int32_t slot, int32_t a) {
  const double *r = x->cF + slot * 8;
  int32_t ai = a * 6, count = --x->s_count[a], hops = x->cI[slot * 8 + 6];
  int32_t hb = a * x->dim[SD_HOP_SLOTS];
  if (r[0] > 0) {
    if (--x->s_wcount[a] == 0) memset(x->s_acc + ai, 0, 6 * sizeof(double));
    else {
      nadd3(x->s_acc, ai, r, -1.0);
    }
  }
  if (x->cI[slot * 8 + 7] == 1) x->s_synth_count[a]--;
  x->s_obs[a] -= r[3];
  if (--x->s_hop_hist[hb + hops] == 0 && hops == x->s_max_hops[a]) {
    int32_t h = hops - 1;
    while (h >= 0 && x->s_hop_hist[hb + h] == 0) h--;
    x->s_max_hops[a] = h;
  }
  if (count == 0) x->s_win_dirty[a] = 0;
  else if (r[4] == x->s_ts_min[a] || r[4] == x->s_ts_max[a]) x->s_win_dirty[a] = 1;
}

/* Without a branch, as emission.ts markDirty: whether a is already listed changes from packet to
 * packet. The list has room for every address + 1, so writing a past its end is harmless. */
static void mark_dirty(ctx *x, int32_t a) {
  int32_t listed = x->e_dirty[a];
  x->e_changed[a] = 1;
  x->e_dirty[a] = 1;
  x->e_dirty_list[x->dirty_count] = a;
  x->dirty_count += 1 - listed;
}

/* ---- Nodes and (address, node) entries (src/synth/nodes.ts) */

/* node n's id (h: its hash, mix4 of its words), or -1 */
static int32_t node_find(const ctx *x, int32_t h, const uint32_t *n) {
  uint32_t mask = (uint32_t)x->dim[SD_NODE_MASK];
  uint32_t i = (uint32_t)h & mask;
  for (;;) {
    int32_t g = x->node_cells[2 * i] - 1;
    const int32_t *w;
    if (g < 0) return -1;
    w = x->n_words + (g << 2);
    if (x->node_cells[2 * i + 1] == h && (uint32_t)w[0] == n[0] && (uint32_t)w[1] == n[1] &&
        (uint32_t)w[2] == n[2] && (uint32_t)w[3] == n[3])
      return g;
    i = (i + 1) & mask;
  }
}

static int32_t node_intern(ctx *x, int32_t h, const uint32_t *n) {
  int32_t g = x->node_free_top > 0 ? x->free_nodes[--x->node_free_top] : x->node_high++;
  uint32_t mask = (uint32_t)x->dim[SD_NODE_MASK];
  id_insert(x->node_cells, mask, (uint32_t)h & mask, h, g, &x->node_count);
  memcpy(x->n_words + (g << 2), n, 16);
  x->n_ref[g] = 0;
  return g;
}

static void node_release(ctx *x, int32_t g) {
  const uint32_t *w = (const uint32_t *)(x->n_words + (g << 2));
  if (--x->n_ref[g] != 0) return;
  id_remove(x->node_cells, (uint32_t)x->dim[SD_NODE_MASK], mix4((uint32_t)x->dim[SD_SEED], w[0], w[1], w[2], w[3]), g,
            &x->node_count);
  x->free_nodes[x->node_free_top++] = g;
}

/* The entry of node g at address a, or -1 (a node is at most once per address), through the
 * address's index (nodes.ts PairTable). */
static int32_t pair_find(const ctx *x, int32_t a, int32_t g) {
  uint32_t mask = (uint32_t)x->dim[SD_PAIR_MASK], i = (uint32_t)g & mask;
  const int32_t *cells = x->p_index + (size_t)a * (mask + 1);
  for (;;) {
    int32_t k = cells[i] - 1;
    if (k < 0 || x->p_node[k] == g) return k;
    i = (i + 1) & mask;
  }
}

static int32_t pair_insert(ctx *x, int32_t a, int32_t g) {
  int32_t k = a * x->dim[SD_PER_ADDRESS], high = x->a_pair_high[a], end = k + high;
  uint32_t mask = (uint32_t)x->dim[SD_PAIR_MASK], i = (uint32_t)g & mask;
  int32_t *cells = x->p_index + (size_t)a * (mask + 1);
  while (k < end && x->p_node[k] >= 0) k++;
  if (k == end) x->a_pair_high[a] = high + 1;
  x->p_node[k] = g;
  x->p_raw[k] = 0;
  x->p_synth[k] = -1;
  x->a_nodes[a]++;
  while (cells[i] != 0) i = (i + 1) & mask;
  cells[i] = k + 1;
  return k;
}

/* Takes entry e (node g, at address a) out of the index: backward shift, as id_remove (an
 * entry's home is its node id mod the index's size). */
static void pair_unindex(ctx *x, int32_t a, int32_t e, int32_t g) {
  uint32_t mask = (uint32_t)x->dim[SD_PAIR_MASK], hole = (uint32_t)g & mask, j;
  int32_t *cells = x->p_index + (size_t)a * (mask + 1);
  while (cells[hole] != e + 1) hole = (hole + 1) & mask;
  for (j = (hole + 1) & mask;; j = (j + 1) & mask) {
    int32_t v = cells[j];
    if (v == 0) break;
    if (qis_stays_in_shift((uint32_t)x->p_node[v - 1] & mask, hole, j)) continue;
    cells[hole] = v;
    hole = j;
  }
  cells[hole] = 0;
}

static void pair_release(ctx *x, int32_t a, int32_t e, int32_t slot, int synth) {
  if (synth) {
    if (x->p_synth[e] == slot) x->p_synth[e] = -1;
  } else x->p_raw[e]--;
  if (x->p_raw[e] == 0 && x->p_synth[e] < 0) {
    int32_t base = a * x->dim[SD_PER_ADDRESS], high = x->a_pair_high[a];
    pair_unindex(x, a, e, x->p_node[e]);
    x->p_node[e] = -1;
    x->a_nodes[a]--;
    while (high > 0 && x->p_node[base + high - 1] < 0) high--;
    x->a_pair_high[a] = high;
  }
}

/* ---- Contributions (src/synth/contributions.ts) and their exact removal (ingest.ts) */

/* The slot of the contribution (g, seq), or -1 with *empty set to the cell where the probe
 * ended: the cell id_insert would take for hash h, as long as the table is not changed between. */
static int32_t seen_find(const ctx *x, int32_t h, int32_t g, double seq, uint32_t *empty) {
  uint32_t mask = (uint32_t)x->dim[SD_SEEN_MASK], i = (uint32_t)h & mask;
  for (;;) {
    int32_t s = x->seen_cells[2 * i] - 1;
    if (s < 0) {
      *empty = i;
      return -1;
    }
    if (x->seen_cells[2 * i + 1] == h && x->cI[s * 8 + 2] == g && x->cF[s * 8 + 7] == seq) return s;
    i = (i + 1) & mask;
  }
}

static void remove_slot(ctx *x, int32_t slot) {
  int32_t *r = x->cI + slot * 8, a = r[0], e = r[1], g = r[2], prev, next;
  /* unlink: expiry order, (node, seq) table, the address's list */
  expiry_remove(x, slot);
  id_remove(x->seen_cells, (uint32_t)x->dim[SD_SEEN_MASK], r[3], slot, &x->seen_count);
  prev = r[4];
  next = r[5];
  if (prev >= 0) x->cI[prev * 8 + 5] = next;
  else x->a_head[a] = next;
  if (next >= 0) x->cI[next * 8 + 4] = prev;
  x->live--;
  pair_release(x, a, e, slot, r[7] == 1);
  node_release(x, g);
  sums_remove(x, slot, a);
  mark_dirty(x, a);
  x->free_slots[x->free_top++] = slot;
  if (x->s_count[a] == 0 && x->a_empty_listed[a] == 0) {
    x->a_empty_listed[a] = 1;
    x->empty_stack[x->empty_top++] = a;
  }
}

static void sweep(ctx *x) {
  double now = x->T[0], n = 0;
  while (x->q.next_exp <= now) {
    remove_slot(x, x->q.next_slot);
    n++;
  }
  x->c[R_EXPIRED] += n;
  x->regs[R_EXPIRED_NOW] = n;
}

static int32_t address_find(const ctx *x, const uint8_t *p) {
  uint32_t h[4], mask = (uint32_t)x->dim[SD_NAME_MASK], i;
  int32_t hh;
  memcpy(h, p + offsetof(qis_packet, address_hash), 16);
  hh = mix4((uint32_t)x->dim[SD_SEED], h[0], h[1], h[2], h[3]);
  i = (uint32_t)hh & mask;
  for (;;) {
    int32_t a = x->name_cells[2 * i] - 1;
    const int32_t *w;
    if (a < 0) return -1;
    w = x->a_hash + (a << 2);
    if (x->name_cells[2 * i + 1] == hh && (uint32_t)w[0] == h[0] && (uint32_t)w[1] == h[1] && (uint32_t)w[2] == h[2] &&
        (uint32_t)w[3] == h[3])
      return a;
    i = (i + 1) & mask;
  }
}

/* The address bytes of p against an address's words (the first (len + 3) / 4 of them: the
 * bytes TypeScript compares). The first 12 words (48 bytes: most addresses) are compared
 * without a branch on the length, lanes past it masked: lengths vary from packet to packet,
 * and memcmp's loop mispredicted on most packets. */
static int same_address(const int32_t *words, const uint8_t *p, uint32_t len) {
  const uint8_t *b = p + offsetof(qis_packet, address);
  uint32_t n = (len + 3) >> 2;
#if defined(__GNUC__)
  v4i diff = {0, 0, 0, 0}, lane = {0, 1, 2, 3};
  const v4i four = {4, 4, 4, 4}, nv = {(int32_t)n, (int32_t)n, (int32_t)n, (int32_t)n};
  int j;
  for (j = 0; j < 12; j += 4) {
    v4i w, v;
    memcpy(&w, words + j, 16);
    memcpy(&v, b + 4 * j, 16);
    diff |= (w ^ v) & (lane < nv);
    lane += four;
  }
  if ((diff[0] | diff[1] | diff[2] | diff[3]) != 0) return 0;
  return n <= 12 || memcmp(words + 12, b + 48, 4 * (size_t)(n - 12)) == 0;
#else
  return memcmp(words, b, 4 * (size_t)n) == 0;
#endif
}

/* What the add of a packet needs first, computed a few packets ahead (see qis_synth_run). */
typedef struct ahead {
  int32_t node_hash, seen_hash;
} ahead;

/* Packet q's hashes, and prefetches of what its add reads first: its (node, seq) cell (at a
 * random place in a table larger than the caches: where adds stalled most) and the packet's
 * address lines. The (node, seq) hash mixes the node's hash, not its id, so that no lookup
 * is needed here (contributions.ts seenHash). */
static void look_ahead(const ctx *x, const uint8_t *q, ahead *out) {
  uint32_t n[4], seed = (uint32_t)x->dim[SD_SEED];
  memcpy(n, q + offsetof(qis_packet, node_id), 16);
  out->node_hash = mix4(seed, n[0], n[1], n[2], n[3]);
  out->seen_hash = mix2(seed, (uint32_t)out->node_hash, rd32(q + offsetof(qis_packet, seq)));
  PREFETCH(x->seen_cells + 2 * ((uint32_t)out->seen_hash & (uint32_t)x->dim[SD_SEEN_MASK]));
  PREFETCH(q + 64);
  PREFETCH(q + 128);
}

/* One packet through the input rules, then its commit (SynthCore.ingest, same order); its
 * hashes computed by look_ahead. */
static int ingest(ctx *x, const uint8_t *p, const ahead *h) {
  double now = x->T[0], ts, exp, seq, w, wd, delta, *cf;
  uint32_t n[4], ttl, nobs, seq_lo, seen_cell = 0, seen_mask = (uint32_t)x->dim[SD_SEEN_MASK];
  int synth = (p[offsetof(qis_packet, flags)] & QIS_FLAG_SYNTHESIZED) != 0;
  int32_t a, g, e = -1, seen_hash = h->seen_hash, replaced = -1, slot, *ci;
  uint8_t hops, len;
  x->c[R_OFFERED]++;
  memcpy(n, p + offsetof(qis_packet, node_id), 16);
  if (synth && (int32_t)n[0] == x->dim[SD_OWN0] && (int32_t)n[1] == x->dim[SD_OWN1] &&
      (int32_t)n[2] == x->dim[SD_OWN2] && (int32_t)n[3] == x->dim[SD_OWN3]) {
    x->c[R_SELF_IGNORED]++;
    return SELF;
  }
  hops = p[offsetof(qis_packet, hops)];
  if (hops > x->dim[SD_MAX_HOPS]) {
    x->c[R_HOP_REFUSED]++;
    return HOP_LIMIT;
  }
  ts = (double)rd32(p + offsetof(qis_packet, timestamp_ms) + 4) * TWO32 + (double)rd32(p + offsetof(qis_packet, timestamp_ms));
  ttl = rd32(p + offsetof(qis_packet, ttl_s));
  exp = ttl == 0 ? INFINITY : ts + (double)ttl * 1000.0;
  if (exp <= now) {
    x->c[R_STALE]++;
    return STALE;
  }
  a = address_find(x, p);
  if (a < 0) {
    /* a new address: TypeScript interns it (and runs this packet from the top) */
    x->c[R_OFFERED]--;
    return QIS_SYNTH_NEED_TS;
  }
  len = p[offsetof(qis_packet, address_len)];
  if (x->a_len[a] != len || !same_address(x->a_words + a * QIS_SYNTH_ADDRESS_WORDS, p, len)) {
    x->c[R_ADDRESS_COLLISIONS]++;
    return ADDRESS_COLLISION;
  }
  g = node_find(x, h->node_hash, n);
  seq_lo = rd32(p + offsetof(qis_packet, seq));
  seq = (double)rd32(p + offsetof(qis_packet, seq) + 4) * TWO32 + (double)seq_lo;
  x->T[2] = seq;
  if (g >= 0) {
    if (seen_find(x, seen_hash, g, seq, &seen_cell) >= 0) {
      x->c[R_DUPLICATES]++;
      return DUPLICATE;
    }
    e = pair_find(x, a, g);
  }
  if (e >= 0) {
    int32_t s = x->p_synth[e];
    if (synth) {
      if (x->p_raw[e] > 0) {
        x->c[R_SHADOWED]++;
        return SHADOWED;
      }
      if (s >= 0) {
        double sts = x->cF[s * 8 + 4];
        if (ts < sts || (ts == sts && seq <= x->cF[s * 8 + 7])) {
          x->c[R_SUPERSEDED]++;
          return OUTDATED;
        }
        replaced = s;
      }
    } else replaced = s;
  } else if ((g < 0 && x->node_count >= x->dim[SD_MAX_NODES]) || x->a_nodes[a] >= x->dim[SD_PER_ADDRESS]) {
    x->c[R_NODES_REFUSED]++;
    return NODE_REFUSED;
  }
  if (g < 0) {
    g = node_intern(x, h->node_hash, n);
    seen_cell = (uint32_t)seen_hash & seen_mask;
  }
  if (e < 0) e = pair_insert(x, a, g);

  /* commit the contribution */
  slot = x->free_top > 0 ? x->free_slots[--x->free_top] : x->high++;
  nobs = rd32(p + offsetof(qis_packet, n_observations));
  delta = (double)rdf32(p + offsetof(qis_packet, outcome_delta));
  w = (double)rdf32(p + offsetof(qis_packet, confidence)) * ln1p_count(x, nobs);
  if (w < MIN_WEIGHT) w = 0;
  wd = w * delta;
  ci = x->cI + slot * 8;
  cf = x->cF + slot * 8;
  ci[0] = a;
  ci[1] = e;
  ci[2] = g;
  cf[0] = w;
  cf[1] = wd;
  cf[2] = wd * delta;
  cf[3] = (double)nobs;
  cf[4] = ts;
  cf[5] = exp;
  cf[7] = seq;
  ci[6] = hops;
  ci[7] = synth;
  x->q.exp[slot] = exp;
  x->q.ord[slot] = x->T[1];
  x->T[1] = x->T[1] + 1;
  /* link: expiry order, (node, seq) table, head of the address's list */
  qx_insert(&x->q, slot, (double)ttl);
  ci[3] = seen_hash;
  /* from where the duplicate check's probe ended (nothing changed the table since), or for a new
   * node from the hash's own cell */
  id_insert(x->seen_cells, seen_mask, seen_cell, seen_hash, slot, &x->seen_count);
  ci[4] = -1;
  ci[5] = x->a_head[a];
  if (ci[5] >= 0) x->cI[ci[5] * 8 + 4] = slot;
  x->a_head[a] = slot;
  x->live++;
  x->n_ref[g]++;
  if (synth) x->p_synth[e] = slot;
  else x->p_raw[e]++;
  sums_add(x, slot, a);
  mark_dirty(x, a);
  x->c[R_ADDED]++;
  if (replaced >= 0) {
    remove_slot(x, replaced);
    x->c[R_SUPERSEDED]++;
  }
  if (x->live > x->dim[SD_CAP]) {
    remove_slot(x, x->q.next_slot);
    x->c[R_DROPPED_EARLY]++;
  }
  return ADDED;
}

size_t qis_synth_min_length(const int32_t *dim, int i) {
  size_t A = (size_t)dim[SD_ADDRESSES], C = (size_t)dim[SD_CAP] + 1, N = (size_t)dim[SD_MAX_NODES];
  size_t P = (size_t)dim[SD_PER_ADDRESS];
  switch (i) {
    case SA_T_F: return 3;
    case SA_LOG1P_F: return (size_t)dim[SD_LOG1P_N];
    case SA_NAME_CELLS: return 2 * ((size_t)(uint32_t)dim[SD_NAME_MASK] + 1);
    case SA_A_HASH: case SA_N_WORDS: return 4 * (i == SA_A_HASH ? A : N);
    case SA_A_WORDS: return QIS_SYNTH_ADDRESS_WORDS * A;
    case SA_NODE_CELLS: return 2 * ((size_t)(uint32_t)dim[SD_NODE_MASK] + 1);
    case SA_SEEN_CELLS: return 2 * ((size_t)(uint32_t)dim[SD_SEEN_MASK] + 1);
    case SA_N_REF: case SA_FREE_NODES: return N;
    case SA_P_NODE: case SA_P_RAW: case SA_P_SYNTH: return A * P;
    case SA_P_INDEX: return A * ((size_t)(uint32_t)dim[SD_PAIR_MASK] + 1);
    case SA_C_F: case SA_C_I: return 8 * C;
    case SA_Q_LINKS: return 4 * C;
    case SA_FREE_SLOTS: case SA_Q_EXP_F: case SA_Q_ORD_F: case SA_H_KEYS_F: case SA_H_SLOTS: case SA_H_POS: return C;
    case SA_Q_TTL_F: case SA_Q_HEAD: case SA_Q_TAIL: case SA_Q_HEAD_EXP_F: case SA_Q_HEAD_ORD_F: return QIS_EXPIRY_QUEUES;
    case SA_S_ACC_F: return 6 * A;
    case SA_S_HOP_HIST: return A * (size_t)dim[SD_HOP_SLOTS];
    case SA_REGS_F: return R_COUNT;
    case SA_E_DIRTY_LIST: return A + 1;
    default: return A; /* the per-address arrays */
  }
}

size_t qis_synth_run(void *const *A, const int32_t *dim, const uint8_t *p, size_t count, int do_sweep) {
  ctx x;
  ahead ring[AHEAD];
  size_t i, added = 0;
  int r = ADDED;
  double *R;
  x.T = A[SA_T_F], x.log1p = A[SA_LOG1P_F];
  x.name_cells = A[SA_NAME_CELLS], x.a_hash = A[SA_A_HASH], x.a_len = A[SA_A_LEN_B], x.a_words = A[SA_A_WORDS];
  x.a_empty_listed = A[SA_A_EMPTY_LISTED_B], x.empty_stack = A[SA_EMPTY_STACK];
  x.node_cells = A[SA_NODE_CELLS], x.n_words = A[SA_N_WORDS], x.n_ref = A[SA_N_REF], x.free_nodes = A[SA_FREE_NODES];
  x.p_node = A[SA_P_NODE], x.p_raw = A[SA_P_RAW], x.p_synth = A[SA_P_SYNTH], x.a_nodes = A[SA_A_NODES];
  x.a_pair_high = A[SA_A_PAIR_HIGH], x.p_index = A[SA_P_INDEX];
  x.cF = A[SA_C_F], x.cI = A[SA_C_I], x.free_slots = A[SA_FREE_SLOTS], x.a_head = A[SA_A_HEAD];
  x.seen_cells = A[SA_SEEN_CELLS];
  qx_arrays(&x.q, A + SA_Q_EXP_F);
  x.s_acc = A[SA_S_ACC_F], x.s_count = A[SA_S_COUNT], x.s_wcount = A[SA_S_WCOUNT], x.s_synth_count = A[SA_S_SYNTH_COUNT];
  x.s_obs = A[SA_S_OBS_F], x.s_hop_hist = A[SA_S_HOP_HIST], x.s_max_hops = A[SA_S_MAX_HOPS];
  x.s_ts_min = A[SA_S_TS_MIN_F], x.s_ts_max = A[SA_S_TS_MAX_F], x.s_win_dirty = A[SA_S_WIN_DIRTY_B];
  x.e_changed = A[SA_E_CHANGED_B], x.e_dirty = A[SA_E_DIRTY_B], x.e_dirty_list = A[SA_E_DIRTY_LIST];
  x.dim = dim;
  R = x.regs = A[SA_REGS_F];
  memcpy(x.c, R, sizeof x.c);
  x.free_top = (int32_t)R[R_FREE_TOP], x.high = (int32_t)R[R_HIGH], x.live = (int32_t)R[R_LIVE];
  qx_load(&x.q, R + R_Q_COUNT);
  x.empty_top = (int32_t)R[R_EMPTY_TOP], x.node_count = (int32_t)R[R_NODE_COUNT];
  x.seen_count = (int32_t)R[R_SEEN_COUNT], x.node_free_top = (int32_t)R[R_NODE_FREE_TOP];
  x.node_high = (int32_t)R[R_NODE_HIGH], x.dirty_count = (int32_t)R[R_DIRTY_COUNT];

  R[R_EXPIRED_NOW] = 0;
  if (do_sweep) sweep(&x);
  /* packet i + AHEAD's hashes and prefetches while packet i is added */
  for (i = 0; i < count && i < AHEAD; i++) look_ahead(&x, p + i * QIS_PACKET_SIZE, &ring[i]);
  for (i = 0; i < count; i++) {
    int v;
    ahead h = ring[i % AHEAD];
    if (i + AHEAD < count) look_ahead(&x, p + (i + AHEAD) * QIS_PACKET_SIZE, &ring[i % AHEAD]);
    v = ingest(&x, p + i * QIS_PACKET_SIZE, &h);
    if (v == QIS_SYNTH_NEED_TS) break;
    r = v;
    added += v == ADDED;
  }

  memcpy(R, x.c, sizeof x.c);
  R[R_FREE_TOP] = x.free_top, R[R_HIGH] = x.high, R[R_LIVE] = x.live;
  qx_save(&x.q, R + R_Q_COUNT);
  R[R_EMPTY_TOP] = x.empty_top, R[R_NODE_COUNT] = x.node_count;
  R[R_SEEN_COUNT] = x.seen_count, R[R_NODE_FREE_TOP] = x.node_free_top;
  R[R_NODE_HIGH] = x.node_high, R[R_DIRTY_COUNT] = x.dirty_count;
  R[R_OUTCOME] = r;
  R[R_ADDED_NOW] = (double)added;
  return i;
}
