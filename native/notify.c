/* The systemd notify datagram (sd_notify(3)'s wire protocol: "READY=1", "WATCHDOG=1", ...),
 * because Node has no AF_UNIX datagram sockets. A socket per message, as libsystemd does: a
 * message goes out every few seconds at most, and no descriptor outlives the call. */
#include "notify.h"

#if defined(__unix__) || defined(__APPLE__)

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

static int open_socket(void) {
#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
  return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
#else
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd >= 0 && (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0)) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
#endif
}

int qis_notify_send(const uint8_t *path, size_t path_len, const uint8_t *msg, size_t msg_len) {
  struct sockaddr_un addr;
  socklen_t addr_len;
  ssize_t sent;
  int fd, err = 0;
  if (path_len == 0 || path_len > sizeof addr.sun_path) return EINVAL;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, path_len);
  /* The exact length: an abstract name is every byte given, NULs included, and nothing more. */
  addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
  fd = open_socket();
  if (fd < 0) return errno;
  do sent = sendto(fd, msg, msg_len, MSG_NOSIGNAL, (const struct sockaddr *)&addr, addr_len);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) err = errno;
  else if ((size_t)sent != msg_len) err = EMSGSIZE;
  close(fd);
  return err;
}

#else

#include <errno.h>

int qis_notify_send(const uint8_t *path, size_t path_len, const uint8_t *msg, size_t msg_len) {
  (void)path;
  (void)path_len;
  (void)msg;
  (void)msg_len;
  return ENOSYS;
}

#endif
