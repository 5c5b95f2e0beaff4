/*
 * raftbed-delayer: delays packets without netem. iptables sends a container's
 * outgoing packets to an NFQUEUE queue (always with --queue-bypass); this
 * process, running in that container's network namespace, holds each packet
 * for DELAY +/- JITTER milliseconds (uniform, as netem's jitter) and then
 * accepts it. Packets whose release times cross are reordered, as with netem.
 *
 * Safety: with --queue-bypass a queue nobody listens on lets packets pass, and
 * the queue is opened fail-open, so a full queue passes packets too. On
 * SIGTERM/SIGINT, or when the watched process (the container's first process)
 * is gone, every held packet is accepted at once and the process exits.
 *
 * usage: raftbed-delayer --queue N --delay-ms D [--jitter-ms J] [--watch-pid P]
 *                        [--seed S] [--tag TAG]
 * Prints "ready" on stdout once the queue is bound, then nothing more there.
 * --tag is not read: it labels the process so the harness can find it again.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct held {
  uint64_t due_ns;
  uint32_t id;
};

static struct held *heap;
static size_t heap_len, heap_cap;
static volatile sig_atomic_t stopping;
static int64_t delay_ns, jitter_ns;
static uint64_t rng_state;
static unsigned long long n_queued, n_released, n_enobufs;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t next_random(void) {
  /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static void heap_push(uint64_t due, uint32_t id) {
  if (heap_len == heap_cap) {
    size_t cap = heap_cap ? heap_cap * 2 : 1024;
    struct held *grown = realloc(heap, cap * sizeof *heap);
    if (!grown) {
      fprintf(stderr, "raftbed-delayer: out of memory\n");
      exit(3);
    }
    heap = grown;
    heap_cap = cap;
  }
  size_t i = heap_len++;
  heap[i].due_ns = due;
  heap[i].id = id;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap[parent].due_ns <= heap[i].due_ns) break;
    struct held t = heap[parent];
    heap[parent] = heap[i];
    heap[i] = t;
    i = parent;
  }
}

static struct held heap_pop(void) {
  struct held top = heap[0];
  heap[0] = heap[--heap_len];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_len && heap[l].due_ns < heap[m].due_ns) m = l;
    if (r < heap_len && heap[r].due_ns < heap[m].due_ns) m = r;
    if (m == i) break;
    struct held t = heap[m];
    heap[m] = heap[i];
    heap[i] = t;
    i = m;
  }
  return top;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
                     void *data) {
  (void)msg;
  (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  int64_t d = delay_ns;
  if (jitter_ns > 0) {
    d += (int64_t)(next_random() % (uint64_t)(2 * jitter_ns + 1)) - jitter_ns;
  }
  if (d <= 0) {
    nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    n_released++;
    return 0;
  }
  heap_push(now_ns() + (uint64_t)d, id);
  n_queued++;
  return 0;
}

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: raftbed-delayer --queue N --delay-ms D [--jitter-ms J] [--watch-pid P] "
          "[--seed S] [--tag TAG]\n");
  exit(2);
}

static long parse_long(const char *flag, const char *v, long min, long max) {
  char *end = NULL;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || !end || *end || x < min || x > max) {
    fprintf(stderr, "raftbed-delayer: %s must be a whole number from %ld to %ld, got '%s'\n", flag,
            min, max, v);
    exit(2);
  }
  return x;
}

int main(int argc, char **argv) {
  long queue = -1, delay_ms = -1, jitter_ms = 0, watch_pid = 0, seed = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--queue")) queue = parse_long(a, v, 0, 65535);
    else if (!strcmp(a, "--delay-ms")) delay_ms = parse_long(a, v, 0, 60000);
    else if (!strcmp(a, "--jitter-ms")) jitter_ms = parse_long(a, v, 0, 60000);
    else if (!strcmp(a, "--watch-pid")) watch_pid = parse_long(a, v, 0, 1L << 30);
    else if (!strcmp(a, "--seed")) seed = parse_long(a, v, 0, 1L << 30);
    else if (!strcmp(a, "--tag")) continue;
    else usage();
  }
  if (queue < 0 || delay_ms < 0) usage();
  delay_ns = delay_ms * 1000000LL;
  jitter_ns = jitter_ms * 1000000LL;
  rng_state = (uint64_t)(seed ? seed : (long)getpid()) * 0x9E3779B97F4A7C15ull | 1;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct nfq_handle *h = nfq_open();
  if (!h) {
    fprintf(stderr, "raftbed-delayer: nfq_open: %s (needs CAP_NET_ADMIN in the namespace)\n",
            strerror(errno));
    return 1;
  }
  nfq_unbind_pf(h, AF_INET); /* harmless no-ops on current kernels */
  nfq_bind_pf(h, AF_INET);
  struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)queue, &on_packet, NULL);
  if (!qh) {
    fprintf(stderr, "raftbed-delayer: cannot bind queue %ld: %s (another delayer holds it?)\n",
            queue, strerror(errno));
    return 1;
  }
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
    fprintf(stderr, "raftbed-delayer: nfq_set_mode: %s\n", strerror(errno));
    return 1;
  }
  nfq_set_queue_maxlen(qh, 65536);
  if (nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN) < 0) {
    fprintf(stderr, "raftbed-delayer: warning: kernel refused fail-open\n");
  }
  nfnl_rcvbufsiz(nfq_nfnlh(h), 16 * 1024 * 1024);
  int fd = nfq_fd(h);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  printf("ready\n");
  fflush(stdout);

  static char buf[65536] __attribute__((aligned));
  uint64_t next_watch = 0;
  while (!stopping) {
    uint64_t now = now_ns();
    while (heap_len > 0 && heap[0].due_ns <= now) {
      struct held p = heap_pop();
      nfq_set_verdict(qh, p.id, NF_ACCEPT, 0, NULL);
      n_released++;
    }
    if (now >= next_watch) {
      if (watch_pid > 0 && kill((pid_t)watch_pid, 0) < 0 && errno == ESRCH) break;
      next_watch = now + 250000000ull;
    }
    uint64_t wait_ns = 250000000ull;
    if (heap_len > 0 && heap[0].due_ns - now < wait_ns) wait_ns = heap[0].due_ns - now;
    struct timespec ts = {(time_t)(wait_ns / 1000000000ull), (long)(wait_ns % 1000000000ull)};
    struct pollfd pfd = {fd, POLLIN, 0};
    int r = ppoll(&pfd, 1, &ts, NULL);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
          nfq_handle_packet(h, buf, (int)n);
          continue;
        }
        if (n < 0 && errno == ENOBUFS) {
          n_enobufs++;
          continue;
        }
        break;
      }
    }
  }
  /* Never keep a packet: release everything still held. */
  while (heap_len > 0) {
    struct held p = heap_pop();
    nfq_set_verdict(qh, p.id, NF_ACCEPT, 0, NULL);
    n_released++;
  }
  fprintf(stderr, "raftbed-delayer: queue %ld: %llu delayed, %llu released, %llu overruns\n", queue,
          n_queued, n_released, n_enobufs);
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
