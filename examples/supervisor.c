/*
 * A firmware supervisor driving a qis-edge agent over its stdio protocol, CBOR framing
 * (docs/stdio.md). C99 and POSIX only: fork/exec, two pipes, poll().
 *
 *   cc -std=c99 -O2 -Wall -Wextra -o supervisor examples/supervisor.c
 *   ./supervisor [-n COUNT] [-q] -- qis-edge run --stdio --framing cbor
 *
 * It starts the agent, waits for its "ready" event, feeds COUNT observations (default 1000)
 * while reading what comes back (acks, errors, synthesis events), asks for stats, closes the
 * agent's stdin (which makes it flush, close and exit 0) and waits for it. Exit status 0 when
 * every observation was acked, no error came back and the agent exited 0; 1 otherwise.
 *
 * Writing and reading happen in one poll() loop with a non-blocking stdin pipe: an agent whose
 * stdout we did not read would stop reading its stdin (flow control), so a supervisor that
 * only writes, blocking, could deadlock with it.
 *
 * Frames: a 4-byte big-endian length, then one CBOR map. The tiny CBOR reader below handles
 * what the agent sends (text keys; text, integer, float, bool, null values; nested maps and
 * arrays are skipped or looked into for one number).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* CBOR writing: just what a request needs. */

typedef struct {
  uint8_t *b;
  size_t len, cap;
} buf_t;

static void need(buf_t *o, size_t n) {
  if (o->len + n <= o->cap) return;
  size_t cap = o->cap ? o->cap : 4096;
  while (cap < o->len + n) cap *= 2;
  o->b = realloc(o->b, cap);
  if (!o->b) {
    perror("realloc");
    exit(1);
  }
  o->cap = cap;
}

static void put_head(buf_t *o, unsigned major, uint64_t n) {
  need(o, 9);
  uint8_t m = (uint8_t)(major << 5);
  if (n < 24) {
    o->b[o->len++] = m | (uint8_t)n;
  } else if (n <= 0xff) {
    o->b[o->len++] = m | 24;
    o->b[o->len++] = (uint8_t)n;
  } else if (n <= 0xffff) {
    o->b[o->len++] = m | 25;
    o->b[o->len++] = (uint8_t)(n >> 8);
    o->b[o->len++] = (uint8_t)n;
  } else if (n <= 0xffffffffu) {
    o->b[o->len++] = m | 26;
    for (int s = 24; s >= 0; s -= 8) o->b[o->len++] = (uint8_t)(n >> s);
  } else {
    o->b[o->len++] = m | 27;
    for (int s = 56; s >= 0; s -= 8) o->b[o->len++] = (uint8_t)(n >> s);
  }
}

static void put_text(buf_t *o, const char *s) {
  size_t n = strlen(s);
  put_head(o, 3, n);
  need(o, n);
  memcpy(o->b + o->len, s, n);
  o->len += n;
}

static void put_int(buf_t *o, int64_t v) {
  if (v >= 0) put_head(o, 0, (uint64_t)v);
  else put_head(o, 1, (uint64_t)(-1 - v));
}

static void put_f64(buf_t *o, double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  need(o, 9);
  o->b[o->len++] = 0xfb;
  for (int s = 56; s >= 0; s -= 8) o->b[o->len++] = (uint8_t)(u >> s);
}

/* Starts a frame: 4 length bytes filled in by end_frame. */
static size_t begin_frame(buf_t *o) {
  need(o, 4);
  o->len += 4;
  return o->len;
}

static void end_frame(buf_t *o, size_t body) {
  size_t n = o->len - body;
  uint8_t *p = o->b + body - 4;
  p[0] = (uint8_t)(n >> 24);
  p[1] = (uint8_t)(n >> 16);
  p[2] = (uint8_t)(n >> 8);
  p[3] = (uint8_t)n;
}

static void observe_request(buf_t *o, int64_t id, int i) {
  size_t f = begin_frame(o);
  int with_context = i % 10 == 0;
  put_head(o, 5, with_context ? 8 : 7); /* a map */
  put_text(o, "op");
  put_text(o, "observe");
  put_text(o, "id");
  put_int(o, id);
  put_text(o, "domain");
  put_text(o, "hvac");
  put_text(o, "problemClass");
  put_text(o, (i % 2) ? "energy-anomaly" : "compressor-wear");
  put_text(o, "outcomeDelta");
  put_f64(o, ((i % 200) - 100) / 100.0);
  put_text(o, "confidence");
  put_f64(o, 0.5 + (i % 50) / 100.0);
  put_text(o, "nObservations");
  put_int(o, 1 + i % 100);
  if (with_context) {
    put_text(o, "context");
    put_head(o, 4, 3); /* an array */
    put_f64(o, 21.5);
    put_f64(o, 0.25);
    put_f64(o, -3.0);
  }
  end_frame(o, f);
}

static void simple_request(buf_t *o, const char *op, int64_t id) {
  size_t f = begin_frame(o);
  put_head(o, 5, 2);
  put_text(o, "op");
  put_text(o, op);
  put_text(o, "id");
  put_int(o, id);
  end_frame(o, f);
}

/* ---------------------------------------------------------------------------------------- */
/* CBOR reading: one top-level map per frame; the values we look at, the rest skipped. */

typedef struct {
  const uint8_t *p, *end;
  int bad;
} rd_t;

enum { V_NONE, V_INT, V_FLOAT, V_TEXT, V_BOOL, V_NULL, V_OTHER };

typedef struct {
  int kind;
  int64_t i;
  double f;
  const char *s;
  size_t slen;
} val_t;

static int rd_head(rd_t *r, unsigned *major, uint64_t *arg, unsigned *ai) {
  if (r->p >= r->end) return r->bad = 1, 0;
  uint8_t b = *r->p++;
  *major = b >> 5;
  *ai = b & 31;
  int n = *ai < 24 ? 0 : *ai == 24 ? 1 : *ai == 25 ? 2 : *ai == 26 ? 4 : *ai == 27 ? 8 : -1;
  if (n < 0) return r->bad = 1, 0; /* indefinite lengths: the agent never sends them */
  if (r->end - r->p < n) return r->bad = 1, 0;
  *arg = n == 0 ? *ai : 0;
  for (int k = 0; k < n; k++) *arg = (*arg << 8) | *r->p++;
  return 1;
}

static double half_to_double(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? m / 16777216.0 : e == 31 ? (m ? 0.0 / 0.0 : 1.0 / 0.0) : (1024 + m) * (double)(1u << e) / 33554432.0;
  return (h & 0x8000) ? -v : v;
}

static val_t rd_value(rd_t *r, int depth);

static void rd_skip_n(rd_t *r, uint64_t n, int depth) {
  for (uint64_t k = 0; k < n && !r->bad; k++) rd_value(r, depth + 1);
}

static val_t rd_value(rd_t *r, int depth) {
  val_t v = {V_NONE, 0, 0, NULL, 0};
  unsigned major, ai;
  uint64_t arg;
  if (depth > 16 || !rd_head(r, &major, &arg, &ai)) return r->bad = 1, v;
  switch (major) {
  case 0: v.kind = V_INT; v.i = (int64_t)arg; v.f = (double)arg; break;
  case 1: v.kind = V_INT; v.i = -1 - (int64_t)arg; v.f = (double)v.i; break;
  case 2:
  case 3:
    if ((uint64_t)(r->end - r->p) < arg) return r->bad = 1, v;
    v.kind = major == 3 ? V_TEXT : V_OTHER;
    v.s = (const char *)r->p;
    v.slen = (size_t)arg;
    r->p += arg;
    break;
  case 4: v.kind = V_OTHER; rd_skip_n(r, arg, depth); break;
  case 5: v.kind = V_OTHER; rd_skip_n(r, arg * 2, depth); break;
  case 6: return rd_value(r, depth + 1); /* a tag: the tagged value */
  default:
    if (ai == 20 || ai == 21) v.kind = V_BOOL, v.i = ai == 21;
    else if (ai == 22 || ai == 23) v.kind = V_NULL;
    else if (ai == 25) v.kind = V_FLOAT, v.f = half_to_double((uint16_t)arg);
    else if (ai == 26) {
      uint32_t u = (uint32_t)arg;
      float f;
      memcpy(&f, &u, 4);
      v.kind = V_FLOAT, v.f = f;
    } else if (ai == 27) {
      double d;
      memcpy(&d, &arg, 8);
      v.kind = V_FLOAT, v.f = d;
    } else v.kind = V_OTHER;
  }
  return v;
}

static int text_is(const val_t *v, const char *s) {
  return v->kind == V_TEXT && v->slen == strlen(s) && memcmp(v->s, s, v->slen) == 0;
}

/* What we keep of one message. */
typedef struct {
  char event[16], op[16], code[48], reason[200], address[100], node_id[40];
  int has_id;
  int64_t id, seq, cursor, observed, store_size;
  double estimate, confidence;
} msg_t;

static void copy_text(char *dst, size_t cap, const val_t *v) {
  size_t n = v->kind == V_TEXT ? (v->slen < cap - 1 ? v->slen : cap - 1) : 0;
  memcpy(dst, v->s ? v->s : "", n);
  dst[n] = 0;
}

/* Looks inside the stats ack's "stats" map for "observed" and store.size. */
static void rd_stats(rd_t *r, msg_t *m, int depth, int in_store) {
  unsigned major, ai;
  uint64_t n;
  if (!rd_head(r, &major, &n, &ai)) return;
  if (major != 5) { /* not a map: skip what it holds */
    r->p--;
    rd_value(r, depth);
    return;
  }
  for (uint64_t k = 0; k < n && !r->bad; k++) {
    val_t key = rd_value(r, depth + 1);
    if (text_is(&key, "store") && !in_store) rd_stats(r, m, depth + 1, 1);
    else {
      val_t v = rd_value(r, depth + 1);
      if (!in_store && text_is(&key, "observed")) m->observed = v.i;
      if (in_store && text_is(&key, "size")) m->store_size = v.i;
    }
  }
}

static int parse_msg(const uint8_t *p, size_t len, msg_t *m) {
  rd_t r = {p, p + len, 0};
  memset(m, 0, sizeof *m);
  m->observed = m->store_size = -1;
  unsigned major, ai;
  uint64_t n;
  if (!rd_head(&r, &major, &n, &ai) || major != 5) return 0;
  for (uint64_t k = 0; k < n && !r.bad; k++) {
    val_t key = rd_value(&r, 1);
    if (text_is(&key, "stats")) {
      rd_stats(&r, m, 1, 0);
      continue;
    }
    val_t v = rd_value(&r, 1);
    if (text_is(&key, "event")) copy_text(m->event, sizeof m->event, &v);
    else if (text_is(&key, "op")) copy_text(m->op, sizeof m->op, &v);
    else if (text_is(&key, "code")) copy_text(m->code, sizeof m->code, &v);
    else if (text_is(&key, "reason")) copy_text(m->reason, sizeof m->reason, &v);
    else if (text_is(&key, "address")) copy_text(m->address, sizeof m->address, &v);
    else if (text_is(&key, "nodeId")) copy_text(m->node_id, sizeof m->node_id, &v);
    else if (text_is(&key, "id") && v.kind == V_INT) m->has_id = 1, m->id = v.i;
    else if (text_is(&key, "seq")) m->seq = v.kind == V_INT ? v.i : (int64_t)v.f;
    else if (text_is(&key, "cursor")) m->cursor = v.i;
    else if (text_is(&key, "estimate")) m->estimate = v.f;
    else if (text_is(&key, "confidence")) m->confidence = v.f;
  }
  return !r.bad;
}

/* ---------------------------------------------------------------------------------------- */

static pid_t start_agent(char **argv, int *to_agent, int *from_agent) {
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0) {
    perror("pipe");
    exit(1);
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(1);
  }
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    execvp(argv[0], argv);
    fprintf(stderr, "supervisor: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  *to_agent = in[1];
  *from_agent = out[0];
  fcntl(*to_agent, F_SETFL, fcntl(*to_agent, F_GETFL) | O_NONBLOCK);
  return pid;
}

int main(int argc, char **argv) {
  long count = 1000;
  int quiet = 0, a = 1;
  for (; a < argc && argv[a][0] == '-'; a++) {
    if (strcmp(argv[a], "--") == 0) {
      a++;
      break;
    } else if (strcmp(argv[a], "-n") == 0 && a + 1 < argc) count = strtol(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "-q") == 0) quiet = 1;
    else {
      fprintf(stderr, "usage: %s [-n COUNT] [-q] -- AGENT_COMMAND... (e.g. qis-edge run --stdio --framing cbor)\n", argv[0]);
      return 2;
    }
  }
  if (a >= argc || count < 0) {
    fprintf(stderr, "usage: %s [-n COUNT] [-q] -- AGENT_COMMAND... (e.g. qis-edge run --stdio --framing cbor)\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN); /* a dead agent shows as EPIPE, not as our death */

  int to_agent, from_agent;
  pid_t pid = start_agent(argv + a, &to_agent, &from_agent);

  buf_t out = {0}, in = {0};
  size_t out_off = 0;
  long next = 0, acks = 0, errors = 0, synth = 0, agent_errors = 0;
  int ready = 0, stats_sent = 0, stats_acked = 0, closed_in = 0;
  const int64_t STATS_ID = -1;
  msg_t m;

  while (!stats_acked) {
    /* Queue more requests once the agent is ready and what was queued went out. */
    if (ready && out_off == out.len) {
      out.len = out_off = 0;
      for (int k = 0; k < 256 && next < count; k++, next++) observe_request(&out, next, (int)next);
      if (next == count && out.len == 0 && !stats_sent) {
        simple_request(&out, "stats", STATS_ID);
        stats_sent = 1;
      }
    }
    struct pollfd fds[2] = {{from_agent, POLLIN, 0}, {to_agent, (short)(out_off < out.len ? POLLOUT : 0), 0}};
    int ready_fds = poll(fds, 2, 10000);
    if (ready_fds < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      break;
    }
    if (ready_fds == 0) {
      fprintf(stderr, "supervisor: nothing from the agent for 10 s\n");
      break;
    }
    if (fds[1].revents & (POLLOUT | POLLERR)) {
      ssize_t w = write(to_agent, out.b + out_off, out.len - out_off);
      if (w > 0) out_off += (size_t)w;
      else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        fprintf(stderr, "supervisor: write to agent: %s\n", strerror(errno));
        break;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      need(&in, 65536);
      ssize_t r = read(from_agent, in.b + in.len, in.cap - in.len);
      if (r == 0) {
        fprintf(stderr, "supervisor: the agent closed its stdout\n");
        break;
      }
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        perror("read");
        break;
      }
      in.len += (size_t)r;
      size_t p = 0;
      while (in.len - p >= 4) {
        uint32_t n = (uint32_t)in.b[p] << 24 | (uint32_t)in.b[p + 1] << 16 | (uint32_t)in.b[p + 2] << 8 | in.b[p + 3];
        if (in.len - p - 4 < n) break;
        if (!parse_msg(in.b + p + 4, n, &m)) fprintf(stderr, "supervisor: a message I cannot read (%u bytes)\n", n);
        else if (strcmp(m.event, "ready") == 0) {
          ready = 1;
          printf("ready: node %s\n", m.node_id);
        } else if (strcmp(m.event, "ack") == 0) {
          if (strcmp(m.op, "observe") == 0) {
            acks++;
            if (!quiet && m.id < 3) printf("ack %lld: %s seq %lld cursor %lld\n", (long long)m.id, m.address, (long long)m.seq, (long long)m.cursor);
          } else if (strcmp(m.op, "stats") == 0 && m.has_id && m.id == STATS_ID) {
            stats_acked = 1;
            printf("stats: observed %lld, store size %lld\n", (long long)m.observed, (long long)m.store_size);
          }
        } else if (strcmp(m.event, "error") == 0) {
          if (m.has_id) errors++;
          else agent_errors++;
          fprintf(stderr, "error %s (id %lld): %s\n", m.code, (long long)m.id, m.reason);
        } else if (strcmp(m.event, "synthesis") == 0) {
          if (!quiet && synth < 3) printf("synthesis: %s estimate %.3f confidence %.3f\n", m.address, m.estimate, m.confidence);
          synth++;
        }
        p += 4 + n;
      }
      memmove(in.b, in.b + p, in.len - p);
      in.len -= p;
    }
  }
  /* Closing stdin asks the agent to flush, close and exit 0 (within a second). */
  close(to_agent);
  closed_in = 1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  int agent_ok = closed_in && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  printf("sent %ld observations: %ld acks, %ld errors, %ld synthesis events, %ld agent errors; agent %s %d\n", next, acks, errors, synth, agent_errors,
         WIFEXITED(status) ? "exited" : "killed by signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  free(out.b);
  free(in.b);
  close(from_agent);
  return acks == count && errors == 0 && stats_acked && agent_ok ? 0 : 1;
}
