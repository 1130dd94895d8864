/* The expiry order shared by the store (store.c) and the synthesis engine (synth.c): per-ttl
 * lists kept sorted by (expiry, order) with a 4-ary heap for the out-of-order rest, step for
 * step as src/util/expiry.ts and src/util/heap.ts, on the same arrays (the owner binds them).
 * Static inline: each owner's hot loop gets its own inlined copy. */
#ifndef QIS_EXPIRY_H
#define QIS_EXPIRY_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* src/util/expiry.ts QUEUES, MAX_WALK; links[4·slot + LOC / NEXT / PREV] */
#define QIS_EXPIRY_QUEUES 8
#define QX_MAX_WALK 8
#define QX_IN_HEAP 1
#define QX_LOC 0
#define QX_NEXT 1
#define QX_PREV 2

/* ExpiryQueue's arrays and (copied in and out around a call) its scalars. */
typedef struct qis_expiry {
  double *exp, *ord, *ttl, *head_exp, *head_ord, *h_keys;
  int32_t *links, *head, *tail, *h_slots, *h_pos;
  int32_t count, last, high, next_slot, h_size;
  double next_exp, heap_inserts;
  /* C only, rebuilt by qx_load: a queue that may hold ttl t, at by_ttl[t mod 16] (-1: none) */
  int8_t by_ttl[16];
} qis_expiry;

/* ---- ExpiryHeap (src/util/heap.ts), keyed by (exp, ord) */

static inline int qx_heap_before(const qis_expiry *q, int32_t a, int32_t b) {
  double ka = q->exp[a], kb = q->exp[b];
  return ka < kb || (ka == kb && q->ord[a] < q->ord[b]);
}

static inline void qx_heap_up(qis_expiry *q, int32_t i, int32_t slot) {
  double key = q->exp[slot];
  while (i > 0) {
    int32_t p = (i - 1) >> 2, ps = q->h_slots[p];
    double pk = q->h_keys[p];
    if (pk < key || (pk == key && q->ord[ps] <= q->ord[slot])) break;
    q->h_slots[i] = ps;
    q->h_keys[i] = pk;
    q->h_pos[ps] = i + 1;
    i = p;
  }
  q->h_slots[i] = slot;
  q->h_keys[i] = key;
  q->h_pos[slot] = i + 1;
}

static inline void qx_heap_down(qis_expiry *q, int32_t i, int32_t slot) {
  double key = q->exp[slot];
  int32_t n = q->h_size;
  for (;;) {
    int32_t first = 4 * i + 1, c, end, j, cs;
    double ck;
    if (first >= n) break;
    c = first;
    ck = q->h_keys[first];
    end = first + 4 < n ? first + 4 : n;
    for (j = first + 1; j < end; j++) {
      double jk = q->h_keys[j];
      if (jk < ck || (jk == ck && q->ord[q->h_slots[j]] < q->ord[q->h_slots[c]])) {
        c = j;
        ck = jk;
      }
    }
    if (ck > key || (ck == key && q->ord[q->h_slots[c]] >= q->ord[slot])) break;
    cs = q->h_slots[c];
    q->h_slots[i] = cs;
    q->h_keys[i] = ck;
    q->h_pos[cs] = i + 1;
    i = c;
  }
  q->h_slots[i] = slot;
  q->h_keys[i] = key;
  q->h_pos[slot] = i + 1;
}

static inline void qx_heap_remove(qis_expiry *q, int32_t slot) {
  int32_t i = q->h_pos[slot] - 1, last, moved;
  if (i < 0) return;
  q->h_pos[slot] = 0;
  last = --q->h_size;
  if (i == last) return;
  moved = q->h_slots[last];
  if (i > 0 && qx_heap_before(q, moved, q->h_slots[(i - 1) >> 2])) qx_heap_up(q, i, moved);
  else qx_heap_down(q, i, moved);
}

/* ---- ExpiryQueue (src/util/expiry.ts) */

/* The queue of this ttl: the one that has it (ttls are unique among the queues), else the first
 * empty one (which takes it), else a new one, else -1 (all taken: the heap). by_ttl finds the
 * one that has it without a data-dependent branch: ttls arrive in no order, and the scan alone
 * mispredicted about once per insert. The scan stays for what by_ttl misses. */
static inline int32_t qx_queue_for(qis_expiry *q, double ttl) {
  int8_t *mapped = &q->by_ttl[(uint32_t)ttl & 15u];
  int32_t high = q->high, free_q = -1, k = *mapped;
  if (k >= 0 && q->ttl[k] == ttl) return q->last = k;
  for (k = 0; k < high; k++) {
    if (q->ttl[k] == ttl) {
      *mapped = (int8_t)k;
      return q->last = k;
    }
    if (free_q < 0 && q->head[k] < 0) free_q = k;
  }
  if (free_q < 0 && high < QIS_EXPIRY_QUEUES) {
    free_q = high;
    q->high = high + 1;
  }
  if (free_q >= 0) {
    q->ttl[free_q] = ttl;
    q->last = free_q;
    *mapped = (int8_t)free_q;
  }
  return free_q;
}

/* Adds slot, whose exp[slot] and ord[slot] (the largest order present) are written. */
static inline void qx_insert(qis_expiry *q, int32_t slot, double ttl) {
  double exp = q->exp[slot], order = q->ord[slot];
  int32_t k, *L = q->links;
  q->count++;
  k = qx_queue_for(q, ttl);
  if (k >= 0) {
    int32_t p = q->tail[k], steps = 0;
    while (p >= 0 && exp < q->exp[p]) {
      if (++steps > QX_MAX_WALK) break;
      p = L[4 * p + QX_PREV];
    }
    if (steps <= QX_MAX_WALK) {
      int32_t n = p >= 0 ? L[4 * p + QX_NEXT] : q->head[k];
      L[4 * slot + QX_PREV] = p;
      L[4 * slot + QX_NEXT] = n;
      if (p >= 0) L[4 * p + QX_NEXT] = slot;
      else {
        q->head[k] = slot;
        q->head_exp[k] = exp;
        q->head_ord[k] = order;
      }
      if (n >= 0) L[4 * n + QX_PREV] = slot;
      else q->tail[k] = slot;
      L[4 * slot + QX_LOC] = -1 - k;
      if ((p < 0 && exp < q->next_exp) || q->next_slot < 0) {
        q->next_exp = exp;
        q->next_slot = slot;
      }
      return;
    }
  }
  q->heap_inserts++;
  L[4 * slot + QX_LOC] = QX_IN_HEAP;
  qx_heap_up(q, q->h_size++, slot);
  if (q->next_slot < 0 || exp < q->next_exp) {
    q->next_exp = exp;
    q->next_slot = slot;
  }
}

/* The bits of a key (an expiry or an order): keys are never negative (+inf at most), and the
 * IEEE bits of such doubles order as their values do, so that a min over keys can use integer
 * selects (conditional moves; compilers branch on double ones). */
static inline int64_t qx_bits(double v) {
  int64_t b;
  memcpy(&b, &v, 8);
  return b;
}

/* next_slot and next_exp: the earliest of the heap's top and the lists' heads, by (exp, ord).
 * Branch-free: which one is earliest changes from one expiry to the next. */
static inline void qx_recompute(qis_expiry *q) {
#if defined(__SIZEOF_INT128__)
  /* (exp, ord) as one unsigned 128-bit key: a compare and a borrow, and selects of whole keys.
   * An empty list's key is all ones, which no (exp, ord) reaches (their bits are below 2^63), so
   * it never wins and the first list that has a head wins over the start value. */
  typedef unsigned __int128 qx_key;
  const qx_key none = ~(qx_key)0;
  int32_t m = -1, k;
  qx_key mkey = none;
  uint64_t bits;
  if (q->h_size > 0) {
    m = q->h_slots[0];
    mkey = (qx_key)(uint64_t)qx_bits(q->h_keys[0]) << 64 | (uint64_t)qx_bits(q->ord[m]);
  }
  for (k = 0; k < q->high; k++) {
    int32_t h = q->head[k];
    qx_key hkey = (qx_key)(uint64_t)qx_bits(q->head_exp[k]) << 64 | (uint64_t)qx_bits(q->head_ord[k]);
    hkey = h >= 0 ? hkey : none;
    if (hkey < mkey) m = h;
    mkey = hkey < mkey ? hkey : mkey;
  }
  q->next_slot = m;
  bits = m >= 0 ? (uint64_t)(mkey >> 64) : (uint64_t)qx_bits(INFINITY);
  memcpy(&q->next_exp, &bits, 8);
#else
  int32_t m = -1, k;
  int64_t mk = qx_bits(INFINITY), mo = mk;
  if (q->h_size > 0) {
    m = q->h_slots[0];
    mk = qx_bits(q->h_keys[0]);
    mo = qx_bits(q->ord[m]);
  }
  for (k = 0; k < q->high; k++) {
    int32_t h = q->head[k];
    int64_t hk = qx_bits(q->head_exp[k]), ho = qx_bits(q->head_ord[k]);
    int64_t take = -(int64_t)((h >= 0) & ((m < 0) | (hk < mk) | ((hk == mk) & (ho < mo))));
    /* masks, not ?: (which compilers may still turn into a branch) */
    m ^= (m ^ h) & (int32_t)take;
    mk ^= (mk ^ hk) & take;
    mo ^= (mo ^ ho) & take;
  }
  q->next_slot = m;
  memcpy(&q->next_exp, &mk, 8);
#endif
}

/* Removes slot (present). Returns the list's new head when slot was one (its owner may prefetch
 * what the next expiry reads), else -1. */
static inline int32_t qx_remove(qis_expiry *q, int32_t slot) {
  int32_t *L = q->links, l = L[4 * slot + QX_LOC], new_head = -1;
  q->count--;
  if (l == QX_IN_HEAP) qx_heap_remove(q, slot);
  else {
    int32_t k = -1 - l, p = L[4 * slot + QX_PREV], n = L[4 * slot + QX_NEXT];
    if (p >= 0) L[4 * p + QX_NEXT] = n;
    else {
      q->head[k] = n;
      if (n >= 0) {
        q->head_exp[k] = q->exp[n];
        q->head_ord[k] = q->ord[n];
        new_head = n;
      }
    }
    if (n >= 0) L[4 * n + QX_PREV] = p;
    else q->tail[k] = p;
  }
  if (slot == q->next_slot) qx_recompute(q);
  return new_head;
}

/* The arrays, in the order both owners bind them: exp, ord, links, ttl, head, tail, head_exp,
 * head_ord, h_keys, h_slots, h_pos (a[0..10]). */
static inline void qx_arrays(qis_expiry *q, void *const *a) {
  q->exp = a[0], q->ord = a[1], q->links = a[2], q->ttl = a[3], q->head = a[4], q->tail = a[5];
  q->head_exp = a[6], q->head_ord = a[7], q->h_keys = a[8], q->h_slots = a[9], q->h_pos = a[10];
}

/* Scalars from and to regs[0..6]: count, last, high, next_slot, next_exp, heap_inserts, h_size. */
static inline void qx_load(qis_expiry *q, const double *r) {
  int32_t k;
  q->count = (int32_t)r[0], q->last = (int32_t)r[1], q->high = (int32_t)r[2];
  q->next_slot = (int32_t)r[3], q->next_exp = r[4], q->heap_inserts = r[5], q->h_size = (int32_t)r[6];
  memset(q->by_ttl, -1, sizeof q->by_ttl);
  for (k = 0; k < q->high; k++) q->by_ttl[(uint32_t)q->ttl[k] & 15u] = (int8_t)k;
}

static inline void qx_save(const qis_expiry *q, double *r) {
  r[0] = q->count, r[1] = q->last, r[2] = q->high;
  r[3] = q->next_slot, r[4] = q->next_exp, r[5] = q->heap_inserts, r[6] = q->h_size;
}

#endif
