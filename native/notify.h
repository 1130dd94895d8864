#ifndef QIS_NOTIFY_H
#define QIS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes of sun_path an address may take (sizeof(struct sockaddr_un).sun_path on
 * Linux); src/systemd/notify-socket.ts refuses longer NOTIFY_SOCKET values before they get here. */
#define QIS_NOTIFY_PATH_MAX 108

/* Sends one datagram `msg[0..msg_len)` to the AF_UNIX datagram socket whose sun_path bytes are
 * `path[0..path_len)` (a leading NUL byte: the abstract namespace; the caller has turned
 * NOTIFY_SOCKET's '@' into it). Never blocks: a full receive queue is EAGAIN. Returns 0, or
 * the errno of what failed. path_len must be 1..QIS_NOTIFY_PATH_MAX. */
int qis_notify_send(const uint8_t *path, size_t path_len, const uint8_t *msg, size_t msg_len);

#endif
