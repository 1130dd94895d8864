/* The Node-API surface of qis-edge. TypeScript validates sizes and counts; this layer only
 * checks what it must to stay memory-safe (argument types, and that every range it touches
 * lies inside the typed array: one comparison per call), then loops in C. Nothing is
 * allocated and no JS object is created on the hot paths, and no napi_value or pointer to a
 * caller's buffer is kept across calls (buffers can be detached or collected between them).
 * The exceptions are the synthesis engine's and the store's own state, bound once and held by
 * references (synthBind and storeBind, below). */
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "encode.h"
#include "murmur3.h"
#include "notify.h"
#include "packet.h"
#include "store.h"
#include "synth.h"
#include "verify.h"

#define MAX_ARGS 9

static void throw_type(napi_env env, const char *what) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
}

static void throw_range(napi_env env, const char *what) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what);
}

/* Gets the typed array's data (Node-API has already added the view's own byteOffset) and
 * its length in elements; returns 0 with a pending TypeError if v is not that kind of array.
 * Success is reported apart from the pointer: an empty array may have no data at all. */
static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data,
                     size_t *length, const char *what) {
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok || type != want) {
    throw_type(env, what);
    return 0;
  }
  return 1;
}

/* A non-negative integer argument (offsets, lengths, counts). */
static int get_size(napi_env env, napi_value v, size_t *out, const char *what) {
  int64_t n;
  if (napi_get_value_int64(env, v, &n) != napi_ok) {
    throw_type(env, what);
    return 0;
  }
  if (n < 0 || (uint64_t)n > (uint64_t)SIZE_MAX) {
    throw_range(env, what);
    return 0;
  }
  *out = (size_t)n;
  return 1;
}

/* [offset, offset + count * unit) inside [0, length), without overflow. */
static int in_bounds(size_t length, size_t offset, size_t count, size_t unit) {
  return offset <= length && count <= (length - offset) / unit;
}

static int get_args(napi_env env, napi_callback_info info, napi_value *argv) {
  size_t argc = MAX_ARGS;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok;
}

/* crc32c(buf, byteOffset, length, seed) -> u32 */
static napi_value js_crc32c(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], result;
  void *data;
  size_t len, off, n;
  uint32_t seed;
  if (!get_args(env, info, argv) ||
      !get_typed(env, argv[0], napi_uint8_array, &data, &len, "buf must be a Uint8Array") ||
      !get_size(env, argv[1], &off, "byteOffset must be a non-negative integer") ||
      !get_size(env, argv[2], &n, "length must be a non-negative integer"))
    return NULL;
  if (napi_get_value_uint32(env, argv[3], &seed) != napi_ok) {
    throw_type(env, "seed must be a number");
    return NULL;
  }
  if (!in_bounds(len, off, n, 1)) {
    throw_range(env, "byteOffset + length is past the end of buf");
    return NULL;
  }
  if (n) seed = qis_crc32c(seed, (const uint8_t *)data + off, n);
  return napi_create_uint32(env, seed, &result) == napi_ok ? result : NULL;
}

/* murmur128(buf, byteOffset, length, out) -> undefined; 16 bytes to out[0..16) */
static napi_value js_murmur128(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  void *data, *out;
  size_t len, off, n, out_len;
  if (!get_args(env, info, argv) ||
      !get_typed(env, argv[0], napi_uint8_array, &data, &len, "buf must be a Uint8Array") ||
      !get_size(env, argv[1], &off, "byteOffset must be a non-negative integer") ||
      !get_size(env, argv[2], &n, "length must be a non-negative integer") ||
      !get_typed(env, argv[3], napi_uint8_array, &out, &out_len, "out must be a Uint8Array"))
    return NULL;
  if (!in_bounds(len, off, n, 1) || out_len < 16) {
    throw_range(env, "byteOffset + length is past the end of buf, or out is shorter than 16 bytes");
    return NULL;
  }
  qis_murmur3_x86_128(n ? (const uint8_t *)data + off : (const uint8_t *)"", n, 0, (uint8_t *)out);
  return NULL;
}

/* Shared prologue of the batch calls: buf, byteOffset, count, checked against the buffer.
 * *p stays NULL when count is 0 (an empty array may have no data to offset from). */
static int get_packets(napi_env env, napi_value *argv, uint8_t **p, size_t *count) {
  void *data;
  size_t len, off;
  if (!get_typed(env, argv[0], napi_uint8_array, &data, &len, "buf must be a Uint8Array") ||
      !get_size(env, argv[1], &off, "byteOffset must be a non-negative integer") ||
      !get_size(env, argv[2], count, "count must be a non-negative integer"))
    return 0;
  if (!in_bounds(len, off, *count, QIS_PACKET_SIZE)) {
    throw_range(env, "byteOffset + count * 512 is past the end of buf");
    return 0;
  }
  *p = *count ? (uint8_t *)data + off : NULL;
  return 1;
}

/* seal(buf, byteOffset, count) -> undefined */
static napi_value js_seal(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  size_t count, i;
  uint8_t *p;
  if (!get_args(env, info, argv) || !get_packets(env, argv, &p, &count)) return NULL;
  for (i = 0; i < count; i++) qis_seal(p + i * QIS_PACKET_SIZE);
  return NULL;
}

/* encode(buf, byteOffset, count, records: Uint8Array, slots: Uint8Array) -> undefined: packs
 * and seals `count` staged records (encode.h). Each record's two slot numbers are checked
 * against the table, so no record can make C read outside the arrays it was given. */
static napi_value js_encode(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  size_t count, rec_len, slots_len, nslots;
  void *rec, *slots;
  uint8_t *p;
  if (!get_args(env, info, argv) || !get_packets(env, argv, &p, &count) ||
      !get_typed(env, argv[3], napi_uint8_array, &rec, &rec_len, "records must be a Uint8Array") ||
      !get_typed(env, argv[4], napi_uint8_array, &slots, &slots_len, "slots must be a Uint8Array"))
    return NULL;
  nslots = slots_len / QIS_SLOT_SIZE;
  if (rec_len / QIS_REC_SIZE < count) {
    throw_range(env, "records is shorter than count * 216");
    return NULL;
  }
  if (count && qis_encode_batch(p, count, rec, slots, nslots) != 0)
    throw_range(env, "a record refers to a slot past the end of slots");
  return NULL;
}

/* verify(buf, byteOffset, count, codes) -> number of valid packets */
static napi_value js_verify(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], result;
  size_t count, codes_len, i;
  uint32_t valid = 0;
  void *codes;
  uint8_t *p;
  if (!get_args(env, info, argv) || !get_packets(env, argv, &p, &count) ||
      !get_typed(env, argv[3], napi_uint8_array, &codes, &codes_len, "codes must be a Uint8Array"))
    return NULL;
  if (codes_len < count) {
    throw_range(env, "codes is shorter than count");
    return NULL;
  }
  for (i = 0; i < count; i++) {
    enum qis_verdict v = qis_verify(p + i * QIS_PACKET_SIZE);
    ((uint8_t *)codes)[i] = (uint8_t)v;
    valid += v == QIS_OK;
  }
  return napi_create_uint32(env, valid, &result) == napi_ok ? result : NULL;
}

/* verifyOne(buf, byteOffset) -> verdict */
static napi_value js_verify_one(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], result;
  void *data;
  size_t len, off;
  if (!get_args(env, info, argv) ||
      !get_typed(env, argv[0], napi_uint8_array, &data, &len, "buf must be a Uint8Array") ||
      !get_size(env, argv[1], &off, "byteOffset must be a non-negative integer"))
    return NULL;
  if (!in_bounds(len, off, 1, QIS_PACKET_SIZE)) {
    throw_range(env, "byteOffset + 512 is past the end of buf");
    return NULL;
  }
  return napi_create_uint32(env, qis_verify((const uint8_t *)data + off), &result) == napi_ok
             ? result
             : NULL;
}

/* unpack(buf, byteOffset, count, out: Float64Array) -> undefined */
static napi_value js_unpack(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  size_t count, out_len, i;
  void *out;
  uint8_t *p;
  if (!get_args(env, info, argv) || !get_packets(env, argv, &p, &count) ||
      !get_typed(env, argv[3], napi_float64_array, &out, &out_len, "out must be a Float64Array"))
    return NULL;
  if (out_len / QIS_UNPACK_STRIDE < count) {
    throw_range(env, "out is shorter than count * 11");
    return NULL;
  }
  for (i = 0; i < count; i++)
    qis_unpack(p + i * QIS_PACKET_SIZE, (double *)out + i * QIS_UNPACK_STRIDE);
  return NULL;
}

/* ---- Bound state: the synthesis engine (native/synth.h) and the store (native/store.h).
 * Unlike the codec calls, their arrays are bound once: an engine passes ~50 of them, and
 * resolving each on every call would cost more than the work. A binding holds a reference to
 * each array, so none is collected while it is bound; the owners never detach or replace
 * them. Each kind's handle carries its own type tag. */

#define BOUND_MAX_ARRAYS 48
#define BOUND_MAX_DIMS 16

typedef struct bound_kind {
  napi_type_tag tag;
  int arrays, dims;
  napi_typedarray_type (*array_type)(int i);
  int (*dims_ok)(const int32_t *d);
  size_t (*min_length)(const int32_t *d, int i);
  const char *bad_handle; /* the TypeError for a handle of another kind */
} bound_kind;

typedef struct binding {
  void *a[BOUND_MAX_ARRAYS];
  int32_t dim[BOUND_MAX_DIMS];
  napi_ref refs[BOUND_MAX_ARRAYS];
  int arrays;
} binding;

typedef char assert_bound_sizes[SA_COUNT <= BOUND_MAX_ARRAYS && QS_COUNT <= BOUND_MAX_ARRAYS &&
                                        SD_COUNT <= BOUND_MAX_DIMS && QS_D_COUNT <= BOUND_MAX_DIMS
                                    ? 1
                                    : -1];

static napi_typedarray_type synth_array_type(int i) {
  switch (i) {
    case SA_A_LEN_B: case SA_A_EMPTY_LISTED_B: case SA_S_WIN_DIRTY_B: case SA_E_CHANGED_B: case SA_E_DIRTY_B:
      return napi_uint8_array;
    case SA_T_F: case SA_LOG1P_F: case SA_C_F: case SA_Q_EXP_F: case SA_Q_ORD_F: case SA_Q_TTL_F:
    case SA_Q_HEAD_EXP_F: case SA_Q_HEAD_ORD_F: case SA_H_KEYS_F: case SA_S_ACC_F: case SA_S_OBS_F:
    case SA_S_TS_MIN_F: case SA_S_TS_MAX_F: case SA_REGS_F:
      return napi_float64_array;
    default:
      return napi_int32_array;
  }
}

static int synth_dims_ok(const int32_t *d) {
  int i;
  for (i = SD_MAX_HOPS; i < SD_COUNT; i++)
    if (d[i] < 0) return 0;
  return d[SD_MAX_HOPS] < 256 && d[SD_HOP_SLOTS] == d[SD_MAX_HOPS] + 1 && d[SD_LOG1P_N] >= 1 &&
         ((uint32_t)d[SD_NAME_MASK] & ((uint32_t)d[SD_NAME_MASK] + 1)) == 0 &&
         ((uint32_t)d[SD_NODE_MASK] & ((uint32_t)d[SD_NODE_MASK] + 1)) == 0 &&
         ((uint32_t)d[SD_SEEN_MASK] & ((uint32_t)d[SD_SEEN_MASK] + 1)) == 0 &&
         /* a power of two with more cells than entries: a probe always meets an empty cell */
         ((uint32_t)d[SD_PAIR_MASK] & ((uint32_t)d[SD_PAIR_MASK] + 1)) == 0 && d[SD_PAIR_MASK] >= d[SD_PER_ADDRESS];
}

static napi_typedarray_type store_array_type(int i) {
  switch (i) {
    case QS_DATA_B:
      return napi_uint8_array;
    case QS_Q_EXP_F: case QS_Q_ORD_F: case QS_Q_TTL_F: case QS_Q_HEAD_EXP_F: case QS_Q_HEAD_ORD_F:
    case QS_H_KEYS_F: case QS_REGS_F:
      return napi_float64_array;
    default:
      return napi_int32_array;
  }
}

static const bound_kind synth_kind = {{0x71697365646765ull, 0x73796e7468303031ull}, SA_COUNT, SD_COUNT,
                                      synth_array_type, synth_dims_ok, qis_synth_min_length, "handle must come from synthBind"};
static const bound_kind store_kind = {{0x71697365646765ull, 0x73746f7265303031ull}, QS_COUNT, QS_D_COUNT,
                                      store_array_type, qis_store_dims_ok, qis_store_min_length, "handle must come from storeBind"};

static void binding_finalize(napi_env env, void *data, void *hint) {
  binding *b = data;
  int i;
  (void)hint;
  for (i = 0; i < b->arrays; i++)
    if (b->refs[i] != NULL) napi_delete_reference(env, b->refs[i]);
  free(b);
}

/* synthBind / storeBind (arrays, dims: Int32Array) -> handle */
static napi_value bind_state(napi_env env, napi_callback_info info, const bound_kind *k) {
  napi_value argv[MAX_ARGS], result, v;
  void *dims;
  size_t dims_len, n;
  uint32_t count;
  bool is_array;
  binding *b;
  int i;
  if (!get_args(env, info, argv) ||
      !get_typed(env, argv[1], napi_int32_array, &dims, &dims_len, "dims must be an Int32Array"))
    return NULL;
  if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &count) != napi_ok || count != (uint32_t)k->arrays) {
    throw_type(env, "arrays must be an Array of the owner's typed arrays, in the order of its native header");
    return NULL;
  }
  if (dims_len != (size_t)k->dims || !k->dims_ok(dims)) {
    throw_range(env, "dims are not the owner's dimensions (see its native header)");
    return NULL;
  }
  b = calloc(1, sizeof *b);
  if (b == NULL) {
    napi_throw_error(env, "ERR_NO_MEMORY", "bind: out of memory");
    return NULL;
  }
  memcpy(b->dim, dims, (size_t)k->dims * sizeof(int32_t));
  b->arrays = k->arrays;
  for (i = 0; i < k->arrays; i++) {
    if (napi_get_element(env, argv[0], (uint32_t)i, &v) != napi_ok ||
        !get_typed(env, v, k->array_type(i), &b->a[i], &n, "arrays: an element has the wrong type") ||
        napi_create_reference(env, v, 1, &b->refs[i]) != napi_ok)
      goto fail;
    if (n < k->min_length(b->dim, i)) {
      throw_range(env, "arrays: an element is shorter than the dimensions need");
      goto fail;
    }
  }
  if (napi_create_external(env, b, binding_finalize, NULL, &result) != napi_ok) goto fail;
  if (napi_type_tag_object(env, result, &k->tag) != napi_ok) return NULL; /* b is the external's now */
  return result;
fail:
  binding_finalize(env, b, NULL);
  return NULL;
}

/* The binding behind `handle`, a handle of kind k, or NULL with a pending TypeError. */
static binding *bound(napi_env env, napi_value handle, const bound_kind *k) {
  bool tagged = false;
  void *b;
  if (napi_check_object_type_tag(env, handle, &k->tag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, handle, &b) != napi_ok) {
    throw_type(env, k->bad_handle);
    return NULL;
  }
  return b;
}

/* The packets argv[1] at byteOffset argv[2], count argv[3]: in bounds, or 0 with a pending error
 * (success apart from the pointer, as get_typed: an empty buffer may have no data at all). */
static int get_batch(napi_env env, napi_value *argv, const uint8_t **p, size_t *count) {
  void *data;
  size_t len, off;
  if (!get_typed(env, argv[1], napi_uint8_array, &data, &len, "buf must be a Uint8Array") ||
      !get_size(env, argv[2], &off, "byteOffset must be a non-negative integer") ||
      !get_size(env, argv[3], count, "count must be a non-negative integer"))
    return 0;
  if (!in_bounds(len, off, *count, QIS_PACKET_SIZE)) {
    throw_range(env, "byteOffset + count * 512 is past the end of buf");
    return 0;
  }
  *p = (const uint8_t *)data + off;
  return 1;
}

static napi_value js_synth_bind(napi_env env, napi_callback_info info) {
  return bind_state(env, info, &synth_kind);
}

static napi_value js_store_bind(napi_env env, napi_callback_info info) {
  return bind_state(env, info, &store_kind);
}

/* synthRun(handle, buf, byteOffset, count, sweep) -> packets added before the first one left to TypeScript */
static napi_value js_synth_run(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], result;
  binding *b;
  const uint8_t *p;
  size_t count;
  int32_t sweep;
  if (!get_args(env, info, argv) || (b = bound(env, argv[0], &synth_kind)) == NULL ||
      !get_batch(env, argv, &p, &count))
    return NULL;
  if (napi_get_value_int32(env, argv[4], &sweep) != napi_ok) {
    throw_type(env, "sweep must be a number");
    return NULL;
  }
  count = qis_synth_run(b->a, b->dim, p, count, sweep != 0);
  return napi_create_uint32(env, (uint32_t)count, &result) == napi_ok ? result : NULL;
}

/* storeRun(handle, buf, byteOffset, count, sweep, codes, codesOffset, statuses | null,
 * statusesOffset) -> packets stored */
static napi_value js_store_run(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], result;
  napi_valuetype type;
  binding *b;
  const uint8_t *p;
  void *codes, *statuses = NULL;
  size_t count, codes_len, codes_off, statuses_len, statuses_off = 0;
  int32_t sweep;
  if (!get_args(env, info, argv) || (b = bound(env, argv[0], &store_kind)) == NULL ||
      !get_batch(env, argv, &p, &count))
    return NULL;
  if (napi_get_value_int32(env, argv[4], &sweep) != napi_ok) {
    throw_type(env, "sweep must be a number");
    return NULL;
  }
  if (!get_typed(env, argv[5], napi_uint8_array, &codes, &codes_len, "codes must be a Uint8Array") ||
      !get_size(env, argv[6], &codes_off, "codesOffset must be a non-negative integer") ||
      napi_typeof(env, argv[7], &type) != napi_ok)
    return NULL;
  if (type != napi_null &&
      (!get_typed(env, argv[7], napi_uint8_array, &statuses, &statuses_len, "statuses must be a Uint8Array or null") ||
       !get_size(env, argv[8], &statuses_off, "statusesOffset must be a non-negative integer")))
    return NULL;
  if (!in_bounds(codes_len, codes_off, count, 1) ||
      (type != napi_null && !in_bounds(statuses_len, statuses_off, count, 1))) {
    throw_range(env, "codesOffset + count is past the end of codes or statuses");
    return NULL;
  }
  count = qis_store_run(b->a, b->dim, p, count, (const uint8_t *)codes + codes_off,
                        type == napi_null ? NULL : (uint8_t *)statuses + statuses_off, sweep != 0);
  return napi_create_uint32(env, (uint32_t)count, &result) == napi_ok ? result : NULL;
}

/* sdNotify(path, message) -> 0 or the errno of the failed send. path is sun_path's bytes
 * (src/systemd/notify-socket.ts makes them from NOTIFY_SOCKET); its length is checked here only
 * because it is copied into a fixed array. */
static napi_value js_sd_notify(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS], result;
  void *path, *msg;
  size_t path_len, msg_len;
  if (!get_args(env, info, argv) ||
      !get_typed(env, argv[0], napi_uint8_array, &path, &path_len, "path must be a Uint8Array") ||
      !get_typed(env, argv[1], napi_uint8_array, &msg, &msg_len, "message must be a Uint8Array"))
    return NULL;
  if (path_len == 0 || path_len > QIS_NOTIFY_PATH_MAX) {
    throw_range(env, "path must be 1 to 108 bytes");
    return NULL;
  }
  return napi_create_int32(env, qis_notify_send(path, path_len, msg, msg_len), &result) == napi_ok ? result : NULL;
}

static napi_status set_u32(napi_env env, napi_value obj, const char *name, uint32_t v) {
  napi_value n;
  napi_status s = napi_create_uint32(env, v, &n);
  return s == napi_ok ? napi_set_named_property(env, obj, name, n) : s;
}

/* layout() -> { size, littleEndian, hwCrc, hwCrcName, offsets, stage, synth, store, notify } from the compiler's view of
 * qis_packet, so the TypeScript loader can refuse a build whose layout drifted. */
static napi_value js_layout(napi_env env, napi_callback_info info) {
  static const struct {
    const char *name;
    size_t offset;
  } fields[] = {
#define F(f) {#f, offsetof(qis_packet, f)}
      F(magic),        F(flags),          F(hops),         F(address_len), F(timestamp_ms),
      F(ttl_s),        F(n_observations), F(outcome_delta), F(confidence), F(seq),
      F(node_id),      F(address_hash),   F(context_hash), F(context_len), F(conclusion_len),
      F(reserved0),    F(address),        F(context),      F(conclusion),  F(key_id),
      F(signature),    F(reserved1),      F(crc32c),
#undef F
  };
  static const struct {
    const char *name;
    size_t offset;
  } stage[] = {
      {"size", QIS_REC_SIZE},           {"timestamp_ms", QIS_REC_TIMESTAMP},
      {"seq", QIS_REC_SEQ},             {"head", QIS_REC_HEAD},
      {"address_slot", QIS_REC_ADDRESS}, {"conclusion_slot", QIS_REC_CONCLUSION},
      {"ttl_s", QIS_REC_TTL},           {"n_observations", QIS_REC_N_OBS},
      {"outcome_delta", QIS_REC_DELTA}, {"confidence", QIS_REC_CONFIDENCE},
      {"node_id", QIS_REC_NODE_ID},     {"context_hash", QIS_REC_CONTEXT_HASH},
      {"context", QIS_REC_CONTEXT},     {"key_id", QIS_REC_KEY_ID},
      {"signature", QIS_REC_SIGNATURE}, {"slot_size", QIS_SLOT_SIZE},
      {"slot_length", QIS_SLOT_LENGTH}, {"slot_hash", QIS_SLOT_HASH},
  };
  napi_value obj, offsets, staging, synth, store, notify, v;
  size_t i;
  const char *name = qis_crc32c_impl();
  (void)info;
  if (napi_create_object(env, &obj) != napi_ok || napi_create_object(env, &offsets) != napi_ok ||
      set_u32(env, obj, "size", (uint32_t)sizeof(qis_packet)) != napi_ok ||
      napi_get_boolean(env, 1, &v) != napi_ok ||
      napi_set_named_property(env, obj, "littleEndian", v) != napi_ok ||
      napi_get_boolean(env, strcmp(name, "table") != 0, &v) != napi_ok ||
      napi_set_named_property(env, obj, "hwCrc", v) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v) != napi_ok ||
      napi_set_named_property(env, obj, "hwCrcName", v) != napi_ok)
    return NULL;
  for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (set_u32(env, offsets, fields[i].name, (uint32_t)fields[i].offset) != napi_ok) return NULL;
  if (napi_create_object(env, &staging) != napi_ok) return NULL;
  for (i = 0; i < sizeof stage / sizeof stage[0]; i++)
    if (set_u32(env, staging, stage[i].name, (uint32_t)stage[i].offset) != napi_ok) return NULL;
  if (napi_create_object(env, &synth) != napi_ok || set_u32(env, synth, "arrays", SA_COUNT) != napi_ok ||
      set_u32(env, synth, "dims", SD_COUNT) != napi_ok || set_u32(env, synth, "regs", R_COUNT) != napi_ok ||
      napi_create_object(env, &store) != napi_ok || set_u32(env, store, "arrays", QS_COUNT) != napi_ok ||
      set_u32(env, store, "dims", QS_D_COUNT) != napi_ok || set_u32(env, store, "regs", QS_R_COUNT) != napi_ok ||
      napi_create_object(env, &notify) != napi_ok || set_u32(env, notify, "pathMax", QIS_NOTIFY_PATH_MAX) != napi_ok)
    return NULL;
  return napi_set_named_property(env, obj, "offsets", offsets) == napi_ok &&
                 napi_set_named_property(env, obj, "stage", staging) == napi_ok &&
                 napi_set_named_property(env, obj, "synth", synth) == napi_ok &&
                 napi_set_named_property(env, obj, "store", store) == napi_ok &&
                 napi_set_named_property(env, obj, "notify", notify) == napi_ok
             ? obj
             : NULL;
}

NAPI_MODULE_INIT() {
  /* Multi-byte fields are read and written in host order; the wire format is little-endian. */
  static const uint16_t one = 1;
  uint8_t first;
  memcpy(&first, &one, 1);
  if (first != 1) {
    napi_throw_error(env, "ERR_QIS_BIG_ENDIAN",
                     "qis-edge: the native addon needs a little-endian CPU; use the TypeScript fallback");
    return NULL;
  }
  {
#define M(js, fn) {js, NULL, fn, NULL, NULL, NULL, napi_default_jsproperty, NULL}
    const napi_property_descriptor props[] = {
        M("layout", js_layout),   M("crc32c", js_crc32c),        M("murmur128", js_murmur128),
        M("seal", js_seal),       M("verify", js_verify),        M("verifyOne", js_verify_one),
        M("unpack", js_unpack),   M("encode", js_encode),        M("synthBind", js_synth_bind),
        M("synthRun", js_synth_run), M("storeBind", js_store_bind),  M("storeRun", js_store_run),
        M("sdNotify", js_sd_notify),
    };
#undef M
    if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
      return NULL;
  }
  return exports;
}
