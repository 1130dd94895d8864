/* The packet store's in-memory insert path: the sweep, then per packet the expiry check, the
 * duplicate check, the eviction of the oldest slot, the copy and the indexing, step for step as
 * src/store/ring.ts (#sweep, #insertOne, #release) and the indexes it calls (identity.ts,
 * addresses.ts, src/util/expiry.ts) do them, on the same arrays, so that a store has the same
 * bytes whichever path filled it; test/store/native.test.ts compares every array after random
 * streams. The store's buffer is its own; the batch is the caller's, read only. */
#include "store.h"

#include <math.h>
#include <string.h>

#include "expiry.h"
#include "packet.h"
#include "shift.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define HAVE_STREAM 1
#endif

#define ID_AT offsetof(qis_packet, seq) /* seq (8) then node_id (16): the identity, 24 bytes */
#define ID_LEN 24
#define REC 32 /* words per address record: hash (4), length (1), the address (24), padding (3) */
#define REC_LEN 4
#define REC_ADDR 5
#define ADDRESS_WORDS 24
#define TWO32 4294967296.0
/* packets between an identity hash (and the fetch of its bucket) and the packet's insert */
#define AHEAD 4
#if defined(__GNUC__)
#define PREFETCH_W(p) __builtin_prefetch((p), 1)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH_W(p) ((void)(p))
#define PREFETCH(p) ((void)(p))
#endif

enum { STORED = 0, DUPLICATE = 1, EXPIRED = 2, INVALID = 3 };

/* One call's view of the store. */
typedef struct ctx {
  uint8_t *data;
  int32_t *id_table, *slot_hash;
  int32_t *slot_addr, *prev, *next, *head, *tail, *count, *live, *live_pos;
  int32_t *id_hash, *hash_words, *records, *free_ids, *a_table, *front;
  double *expiry, *cursor_of; /* the queue's exp and ord */
  qis_expiry q;
  uint32_t cap, id_seed, id_mask, a_seed, a_mask, record_ids, front_shift;
  int stream; /* copy_packet: streaming stores */
  /* scalars */
  double clock, cursor, stored, duplicates, expired, expired_on_arrival, evicted, invalid, generation;
  int32_t ring_head, size, free_top, high_id, live_count;
} ctx;

static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* ---- Hashing (src/util/hash.ts mixWord, fmix32; src/store/hash.ts finish) */

static uint32_t rotl(uint32_t v, int r) {
  return (v << r) | (v >> (32 - r));
}

static uint32_t mix_word(uint32_t h, uint32_t k) {
  k *= 0xcc9e2d51u;
  k = rotl(k, 15);
  k *= 0x1b873593u;
  h ^= k;
  h = rotl(h, 13);
  return h * 5u + 0xe6546b64u;
}

static int32_t finish(uint32_t h, uint32_t length) {
  h ^= length;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return (int32_t)(h ^ (h >> 16));
}

/* ---- IdentityIndex (src/store/identity.ts): buckets [hash, slot + 1] */

static int32_t id_hash(const ctx *x, const uint8_t *p) {
  uint32_t h = x->id_seed;
  int k;
  for (k = 0; k < ID_LEN; k += 4) h = mix_word(h, rd32(p + ID_AT + k));
  return finish(h, ID_LEN);
}

static int32_t id_find(const ctx *x, int32_t h, const uint8_t *p) {
  const int32_t *t = x->id_table;
  uint32_t i = (uint32_t)h & x->id_mask;
  for (;; i = (i + 1) & x->id_mask) {
    int32_t e = t[2 * i + 1];
    if (e == 0) return -1;
    if (t[2 * i] == h && memcmp(x->data + (size_t)(e - 1) * QIS_PACKET_SIZE + ID_AT, p + ID_AT, ID_LEN) == 0)
      return e - 1;
  }
}

static void id_add(ctx *x, int32_t slot, int32_t h) {
  int32_t *t = x->id_table;
  uint32_t i = (uint32_t)h & x->id_mask;
  x->slot_hash[slot] = h;
  while (t[2 * i + 1] != 0) i = (i + 1) & x->id_mask;
  t[2 * i] = h;
  t[2 * i + 1] = slot + 1;
}

static void id_remove(ctx *x, int32_t slot) {
  int32_t *t = x->id_table;
  uint32_t mask = x->id_mask, i = (uint32_t)x->slot_hash[slot] & mask, j;
  for (;;) {
    int32_t e = t[2 * i + 1];
    if (e == slot + 1) break;
    if (e == 0) return;
    i = (i + 1) & mask;
  }
  j = i;
  for (;;) {
    int32_t e, hj;
    j = (j + 1) & mask;
    e = t[2 * j + 1];
    if (e == 0) break;
    hj = t[2 * j];
    if (qis_stays_in_shift((uint32_t)hj & mask, i, j)) continue;
    t[2 * i] = hj;
    t[2 * i + 1] = e;
    i = j;
  }
  t[2 * i] = 0;
  t[2 * i + 1] = 0;
}

/* ---- AddressIndex (src/store/addresses.ts) */

/* Whether address id has hash words w, length len and the bytes b[0, len): against its record,
 * or, for an id without one, against its newest packet. */
static int address_same(const ctx *x, int32_t id, const uint32_t *w, const uint8_t *b, uint32_t len) {
  const uint8_t *s;
  if ((uint32_t)id < x->record_ids) {
    const int32_t *rec = x->records + (size_t)id * REC;
    uint32_t full = len >> 2, rest = len & 3;
    if ((uint32_t)rec[0] != w[0] || (uint32_t)rec[1] != w[1] || (uint32_t)rec[2] != w[2] ||
        (uint32_t)rec[3] != w[3] || (uint32_t)rec[REC_LEN] != len)
      return 0;
    if (memcmp(rec + REC_ADDR, b, full * 4) != 0) return 0;
    /* the last partial word: only its first `rest` bytes (the record is zero after the address) */
    return rest == 0 || (((uint32_t)rec[REC_ADDR + full] ^ rd32(b + full * 4)) & ((1u << (rest * 8)) - 1)) == 0;
  }
  {
    const int32_t *hw = x->hash_words + (size_t)id * 4;
    if ((uint32_t)hw[0] != w[0] || (uint32_t)hw[1] != w[1] || (uint32_t)hw[2] != w[2] || (uint32_t)hw[3] != w[3])
      return 0;
  }
  s = x->data + (size_t)x->tail[id] * QIS_PACKET_SIZE;
  return s[offsetof(qis_packet, address_len)] == len && memcmp(s + offsetof(qis_packet, address), b, len) == 0;
}

static int32_t address_find(const ctx *x, int32_t h, const uint32_t *w, const uint8_t *b, uint32_t len) {
  uint32_t i = (uint32_t)h & x->a_mask;
  for (;; i = (i + 1) & x->a_mask) {
    int32_t e = x->a_table[i];
    if (e == 0) return -1;
    if (address_same(x, e - 1, w, b, len)) return e - 1;
  }
}

static int32_t address_create(ctx *x, int32_t h, const uint32_t *w, const uint8_t *b, uint32_t len) {
  /* a freed id first (the most recently freed), else the lowest never used: ids stay low */
  int32_t id = x->free_top > 0 ? x->free_ids[--x->free_top] : x->high_id++;
  uint32_t i = (uint32_t)h & x->a_mask;
  x->id_hash[id] = h;
  memcpy(x->hash_words + (size_t)id * 4, w, 16);
  if ((uint32_t)id < x->record_ids) {
    int32_t *rec = x->records + (size_t)id * REC;
    memcpy(rec, w, 16);
    rec[REC_LEN] = (int32_t)len;
    memset(rec + REC_ADDR, 0, ADDRESS_WORDS * 4);
    memcpy(rec + REC_ADDR, b, len);
  }
  while (x->a_table[i] != 0) i = (i + 1) & x->a_mask;
  x->a_table[i] = id + 1;
  x->head[id] = -1;
  x->tail[id] = -1;
  x->count[id] = 0;
  x->live_pos[id] = x->live_count;
  x->live[x->live_count++] = id;
  x->generation++;
  return id;
}

static void address_drop(ctx *x, int32_t id) {
  int32_t *t = x->a_table, target = id + 1, h = x->id_hash[id], pos, last;
  uint32_t mask = x->a_mask, i = (uint32_t)h & mask, j, f;
  while (t[i] != target) i = (i + 1) & mask;
  /* backward-shift deletion (src/store/hash.ts backwardShiftDelete) */
  j = i;
  for (;;) {
    int32_t e;
    j = (j + 1) & mask;
    e = t[j];
    if (e == 0) break;
    if (qis_stays_in_shift((uint32_t)x->id_hash[e - 1] & mask, i, j)) continue;
    t[i] = e;
    i = j;
  }
  t[i] = 0;
  f = (uint32_t)h >> x->front_shift;
  if (x->front[f] == target) x->front[f] = 0;
  pos = x->live_pos[id];
  last = x->live[--x->live_count];
  x->live[pos] = last;
  x->live_pos[last] = pos;
  x->live_pos[id] = -1;
  x->head[id] = -1;
  x->tail[id] = -1;
  x->free_ids[x->free_top++] = id;
  x->generation++;
}

/* Links slot at the tail of the list of the address of packet p, creating the address if new. */
static void address_append(ctx *x, int32_t slot, const uint8_t *p) {
  uint32_t w[4], len = p[offsetof(qis_packet, address_len)], h, f;
  const uint8_t *b = p + offsetof(qis_packet, address);
  int32_t id, e, tail;
  memcpy(w, p + offsetof(qis_packet, address_hash), 16);
  h = x->a_seed;
  h = mix_word(h, w[0]);
  h = mix_word(h, w[1]);
  h = mix_word(h, w[2]);
  h = mix_word(h, w[3]);
  h = (uint32_t)finish(h, 16);
  f = h >> x->front_shift;
  e = x->front[f];
  id = e - 1;
  if (e == 0 || !address_same(x, id, w, b, len)) {
    id = address_find(x, (int32_t)h, w, b, len);
    if (id < 0) id = address_create(x, (int32_t)h, w, b, len);
    x->front[f] = id + 1;
  }
  tail = x->tail[id];
  x->slot_addr[slot] = id + 1;
  x->prev[slot] = tail;
  x->next[slot] = -1;
  if (tail < 0) x->head[id] = slot;
  else x->next[tail] = slot;
  x->tail[id] = slot;
  x->count[id]++;
}

static void address_remove(ctx *x, int32_t slot) {
  int32_t id = x->slot_addr[slot] - 1, p, n;
  if (id < 0) return;
  p = x->prev[slot];
  n = x->next[slot];
  if (p < 0) x->head[id] = n;
  else x->next[p] = n;
  if (n < 0) x->tail[id] = p;
  else x->prev[n] = p;
  x->slot_addr[slot] = 0;
  x->prev[slot] = -1;
  x->next[slot] = -1;
  if (--x->count[id] == 0) address_drop(x, id);
}

/* The identity hash of packet p, its bucket fetched. */
static int32_t id_ahead(const ctx *x, const uint8_t *p) {
  int32_t h = id_hash(x, p);
  PREFETCH(x->id_table + 2 * ((uint32_t)h & x->id_mask));
  return h;
}

/* ---- The store (src/store/ring.ts) */

/* Out of every index (#release; the eviction does the same but leaves cursor_of to the insert). */
static void unindex(ctx *x, int32_t slot) {
  id_remove(x, slot);
  address_remove(x, slot);
  if (x->expiry[slot] != INFINITY) qx_remove(&x->q, slot);
  x->size--;
}

static void sweep(ctx *x) {
  while (x->q.next_exp <= x->clock) {
    int32_t slot = x->q.next_slot;
    unindex(x, slot);
    x->cursor_of[slot] = 0;
    x->expired++;
  }
}

/* The slots an insert writes were last written capacity inserts ago (out of cache), and the
 * identity table is larger than the caches: fetch ahead what the next inserts will touch.
 * Slot s is two inserts ahead: what its eviction reads (its identity bucket needs its hash,
 * fetched with the slot's other per-slot words one insert earlier, as s2) and, unless
 * copy_packet streams, its 512 bytes, about to be overwritten. */
static void prefetch_slots(const ctx *x, uint32_t s, uint32_t s2) {
  uint8_t *d = x->data + (size_t)s * QIS_PACKET_SIZE;
  int k;
  if (x->cursor_of[s] != 0) {
    PREFETCH(x->id_table + 2 * ((uint32_t)x->slot_hash[s] & x->id_mask));
    PREFETCH(x->slot_addr + s);
    PREFETCH(x->prev + s);
    PREFETCH(x->next + s);
    PREFETCH(x->q.links + 4 * s);
  }
  if (!x->stream)
    for (k = 0; k < (int)QIS_PACKET_SIZE; k += 64) PREFETCH_W(d + k);
  PREFETCH(x->slot_hash + s2);
  PREFETCH(x->cursor_of + s2);
  PREFETCH(x->expiry + s2);
}

/* A slot buffer larger than this is written with streaming stores where the CPU has them. */
#define STREAM_ABOVE (8u << 20)

/* Copies packet p into slot memory d. A large store's slot is out of cache when it is reused
 * (capacity inserts later), and will not be read again soon: on x86-64 the packet is written
 * with streaming stores, which neither read the old line first nor evict hot data. Elsewhere,
 * and for a small store, a plain copy. */
static void copy_packet(const ctx *x, uint8_t *d, const uint8_t *p) {
#ifdef HAVE_STREAM
  if (x->stream && ((uintptr_t)d & 15) == 0) {
    int k;
    for (k = 0; k < (int)QIS_PACKET_SIZE; k += 16)
      _mm_stream_si128((__m128i *)(void *)(d + k), _mm_loadu_si128((const __m128i *)(const void *)(p + k)));
    return;
  }
#endif
  memcpy(d, p, QIS_PACKET_SIZE);
}

/* Stores packet p, whose identity hash is h. */
static int insert_one(ctx *x, const uint8_t *p, int32_t h) {
  uint32_t ttl = rd32(p + offsetof(qis_packet, ttl_s));
  double expiry = INFINITY, cursor;
  int32_t slot;
  if (ttl != 0) {
    const uint8_t *ts = p + offsetof(qis_packet, timestamp_ms);
    expiry = (double)rd32(ts + 4) * TWO32 + (double)rd32(ts) + (double)ttl * 1000.0;
  }
  if (expiry <= x->clock) {
    x->expired_on_arrival++;
    return EXPIRED;
  }
  if (id_find(x, h, p) >= 0) {
    x->duplicates++;
    return DUPLICATE;
  }
  slot = x->ring_head;
  if (x->cursor_of[slot] != 0) {
    /* expired packets were swept first: whatever is here is live, and the oldest */
    x->evicted++;
    unindex(x, slot);
  }
  copy_packet(x, x->data + (size_t)slot * QIS_PACKET_SIZE, p);
  cursor = ++x->cursor;
  x->cursor_of[slot] = cursor;
  x->expiry[slot] = expiry;
  id_add(x, slot, h);
  address_append(x, slot, p);
  if (expiry != INFINITY) qx_insert(&x->q, slot, (double)ttl);
  x->size++;
  x->stored++;
  x->ring_head = (uint32_t)slot + 1 == x->cap ? 0 : slot + 1;
  return STORED;
}

int qis_store_dims_ok(const int32_t *d) {
  uint32_t id_size = (uint32_t)d[QS_D_ID_MASK] + 1, a_size = (uint32_t)d[QS_D_A_MASK] + 1;
  return d[QS_D_CAPACITY] >= 1 && d[QS_D_ID_MASK] > 0 && d[QS_D_A_MASK] > 0 && (id_size & (id_size - 1)) == 0 &&
         (a_size & (a_size - 1)) == 0 && id_size >= 2 * (uint32_t)d[QS_D_CAPACITY] &&
         a_size >= 2 * (uint32_t)d[QS_D_CAPACITY] && d[QS_D_RECORD_IDS] >= 0 &&
         d[QS_D_RECORD_IDS] <= d[QS_D_CAPACITY] && d[QS_D_FRONT_SHIFT] >= 1 && d[QS_D_FRONT_SHIFT] <= 31;
}

size_t qis_store_min_length(const int32_t *dim, int i) {
  size_t cap = (size_t)dim[QS_D_CAPACITY];
  switch (i) {
    case QS_DATA_B: return cap * QIS_PACKET_SIZE;
    case QS_ID_TABLE: return 2 * ((size_t)(uint32_t)dim[QS_D_ID_MASK] + 1);
    case QS_A_HASH_WORDS: return 4 * cap;
    case QS_A_RECORDS: return REC * (size_t)dim[QS_D_RECORD_IDS];
    case QS_A_TABLE: return (size_t)(uint32_t)dim[QS_D_A_MASK] + 1;
    case QS_A_FRONT: return (size_t)1 << (32 - dim[QS_D_FRONT_SHIFT]);
    case QS_Q_LINKS: return 4 * cap;
    case QS_Q_TTL_F: case QS_Q_HEAD: case QS_Q_TAIL: case QS_Q_HEAD_EXP_F: case QS_Q_HEAD_ORD_F: return QIS_EXPIRY_QUEUES;
    case QS_REGS_F: return QS_R_COUNT;
    default: return cap; /* per slot or per address id */
  }
}

size_t qis_store_run(void *const *a, const int32_t *dim, const uint8_t *p, size_t count,
                     const uint8_t *codes, uint8_t *statuses, int do_sweep) {
  ctx x;
  double *R = a[QS_REGS_F], stored_before;
  int32_t ahead[AHEAD];
  size_t i;
  x.data = a[QS_DATA_B];
  x.id_table = a[QS_ID_TABLE], x.slot_hash = a[QS_ID_SLOT_HASH];
  x.slot_addr = a[QS_A_SLOT_ADDR], x.prev = a[QS_A_PREV], x.next = a[QS_A_NEXT], x.head = a[QS_A_HEAD];
  x.tail = a[QS_A_TAIL], x.count = a[QS_A_COUNT], x.live = a[QS_A_LIVE], x.live_pos = a[QS_A_LIVE_POS];
  x.id_hash = a[QS_A_ID_HASH], x.hash_words = a[QS_A_HASH_WORDS], x.records = a[QS_A_RECORDS];
  x.free_ids = a[QS_A_FREE], x.a_table = a[QS_A_TABLE], x.front = a[QS_A_FRONT];
  qx_arrays(&x.q, a + QS_Q_EXP_F);
  x.expiry = x.q.exp, x.cursor_of = x.q.ord;
  x.cap = (uint32_t)dim[QS_D_CAPACITY], x.id_seed = (uint32_t)dim[QS_D_ID_SEED], x.id_mask = (uint32_t)dim[QS_D_ID_MASK];
  x.a_seed = (uint32_t)dim[QS_D_A_SEED], x.a_mask = (uint32_t)dim[QS_D_A_MASK];
  x.record_ids = (uint32_t)dim[QS_D_RECORD_IDS], x.front_shift = (uint32_t)dim[QS_D_FRONT_SHIFT];
#ifdef HAVE_STREAM
  x.stream = (size_t)x.cap * QIS_PACKET_SIZE > STREAM_ABOVE;
#else
  x.stream = 0;
#endif

  x.clock = R[QS_R_CLOCK], x.cursor = R[QS_R_CURSOR], x.ring_head = (int32_t)R[QS_R_HEAD], x.size = (int32_t)R[QS_R_SIZE];
  x.stored = R[QS_R_STORED], x.duplicates = R[QS_R_DUPLICATES], x.expired = R[QS_R_EXPIRED];
  x.expired_on_arrival = R[QS_R_EXPIRED_ON_ARRIVAL], x.evicted = R[QS_R_EVICTED], x.invalid = R[QS_R_INVALID];
  x.free_top = (int32_t)R[QS_R_A_FREE_TOP], x.high_id = (int32_t)R[QS_R_A_HIGH_ID];
  x.live_count = (int32_t)R[QS_R_A_LIVE_COUNT], x.generation = R[QS_R_A_GENERATION];
  qx_load(&x.q, R + QS_R_Q_COUNT);

  stored_before = x.stored;
  R[QS_R_EXPIRED_NOW] = x.expired;
  if (do_sweep) sweep(&x);
  R[QS_R_EXPIRED_NOW] = x.expired - R[QS_R_EXPIRED_NOW];
  /* identity hashes, computed AHEAD packets early so that their buckets can be fetched */
  for (i = 0; i < AHEAD && i < count; i++) ahead[i] = id_ahead(&x, p + i * QIS_PACKET_SIZE);
  for (i = 0; i < count; i++) {
    int status;
    int32_t h = ahead[i % AHEAD];
    if (i + AHEAD < count) ahead[i % AHEAD] = id_ahead(&x, p + (i + AHEAD) * QIS_PACKET_SIZE);
    if (codes[i] != 0) {
      x.invalid++;
      status = INVALID;
    } else {
      uint32_t s = (uint32_t)x.ring_head + 2, s2 = s + 1;
      /* the slots two and three inserts ahead (the ring wraps) */
      if (s >= x.cap) s -= x.cap;
      if (s2 >= x.cap) s2 -= x.cap;
      prefetch_slots(&x, s, s2);
      status = insert_one(&x, p + i * QIS_PACKET_SIZE, h);
    }
    if (statuses != NULL) statuses[i] = (uint8_t)status;
  }

  R[QS_R_CURSOR] = x.cursor, R[QS_R_HEAD] = x.ring_head, R[QS_R_SIZE] = x.size;
  R[QS_R_STORED] = x.stored, R[QS_R_DUPLICATES] = x.duplicates, R[QS_R_EXPIRED] = x.expired;
  R[QS_R_EXPIRED_ON_ARRIVAL] = x.expired_on_arrival, R[QS_R_EVICTED] = x.evicted, R[QS_R_INVALID] = x.invalid;
  R[QS_R_A_FREE_TOP] = x.free_top, R[QS_R_A_HIGH_ID] = x.high_id;
  R[QS_R_A_LIVE_COUNT] = x.live_count, R[QS_R_A_GENERATION] = x.generation;
  qx_save(&x.q, R + QS_R_Q_COUNT);
#ifdef HAVE_STREAM
  if (x.stream) _mm_sfence(); /* streaming stores are weakly ordered: done before the call returns */
#endif
  R[QS_R_STORED_NOW] = x.stored - stored_before;
  return (size_t)(x.stored - stored_before);
}
