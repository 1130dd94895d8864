/*
 * libFuzzer target for the C packet paths (scripts/fuzz.sh builds it with ASan and UBSan):
 * whatever the bytes, verify, unpack, seal and the UTF-8 check must neither read nor write out
 * of bounds nor hit undefined behaviour, and the verdicts must be consistent:
 *  - a packet sealed by qis_seal fails at most the checks that do not involve hash or CRC;
 *  - a valid packet unpacks to finite numbers within its fields' ranges.
 * Inputs shorter than 512 bytes are zero-padded; longer ones are cut (the TypeScript side
 * refuses other lengths before reaching C).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../native/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A heap copy of exactly 512 bytes: ASan then catches a read one byte past the packet. */
  uint8_t *p = malloc(QIS_PACKET_SIZE);
  if (p == NULL) return 0;
  memset(p, 0, QIS_PACKET_SIZE);
  memcpy(p, data, size < QIS_PACKET_SIZE ? size : QIS_PACKET_SIZE);

  (void)qis_utf8_valid(data, size);
  enum qis_verdict v = qis_verify(p);
  double out[QIS_UNPACK_STRIDE];
  if (v == QIS_OK) {
    qis_unpack(p, out);
    for (unsigned i = 0; i < QIS_UNPACK_STRIDE; i++)
      if (!isfinite(out[i])) abort();
  }
  /* Sealed, the packet's hash and CRC are right: verify must not answer with their verdicts. */
  qis_seal(p);
  enum qis_verdict sealed = qis_verify(p);
  if (sealed == QIS_E_CRC || sealed == QIS_E_ADDRESS_HASH) abort();
  if (v == QIS_OK && sealed != QIS_OK) abort();
  free(p);
  return 0;
}
