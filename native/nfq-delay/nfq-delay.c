/*
 * nfq-delay: userspace packet delayer for hosts whose kernel lacks sch_netem.
 *
 * Packets steered to NFQUEUE <N> (e.g. `iptables -A OUTPUT -d X -j NFQUEUE --queue-num N --queue-bypass`)
 * are held by the kernel while this process keeps only their ids in a timer-ordered min-heap; each one
 * gets an ACCEPT verdict once its release time (arrival + delay +/- uniform jitter) has passed.
 *
 * Usage: nfq-delay --queue N --delay-ms D [--jitter-ms J] [--seed S] [--maxlen L]
 *                  [--parent-pid P | --watch-pid P --watch-start T]
 *
 * Prints `nfq-delay ready queue=N delay_ms=D jitter_ms=J pid=<own pid>` on stdout once bound. On SIGTERM/SIGINT every
 * held packet is accepted immediately (never dropped) and the queue is unbound, exit status 0. With
 * --queue-bypass on the iptables rule, traffic then flows undelayed.
 *
 * --parent-pid P: the helper must not outlive process P, its parent (the lab). It asks the kernel for
 * SIGTERM when its parent dies (PR_SET_PDEATHSIG), refuses to start when its parent is not P (P died
 * before the request took effect, or a wrapper that forks sits in between and would be the parent
 * whose death counts), and checks its parent again at least every PARENT_CHECK_MS while it runs.
 *
 * --watch-pid P --watch-start T: the same tie when the lab is not the parent — it ran the helper
 * through `sudo`, which forks, so sudo is the parent and the lab's death sends no signal. The helper
 * refuses to start unless process P runs with start time T (field 22 of /proc/P/stat, so a reused
 * pid does not count) and stops within PARENT_CHECK_MS of P exiting or becoming a zombie.
 *
 * Build: gcc -O2 -Wall -o build/nfq-delay nfq-delay.c -lnetfilter_queue
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
/* How often a helper with --parent-pid looks at its parent even when no packet arrives. */
#define PARENT_CHECK_MS 500

/* Process `pid` runs, is not a zombie, and started at `start` (clock ticks since boot, as in field 22
 * of /proc/<pid>/stat). */
static int watched_alive(long long pid, unsigned long long start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parens: fields 3.. follow its last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	char state = p[2];
	if (state == 'Z' || state == 'X')
		return 0;
	/* Field 3 is the state; skip to field 22. */
	char *field = p + 2;
	for (int i = 3; i < 22; i++) {
		field = strchr(field, ' ');
		if (!field)
			return 0;
		field++;
	}
	return strtoull(field, NULL, 10) == start;
}

struct held {
	int64_t release_ns;
	uint64_t seq; /* tie-breaker: equal release times leave in arrival order */
	uint32_t id;
};

struct heap {
	struct held *items;
	size_t len;
	size_t cap;
};

struct state {
	struct nfq_q_handle *qh;
	struct heap heap;
	int64_t delay_ns;
	int64_t jitter_ns;
	int64_t last_release_ns;
	uint64_t next_seq;
	uint64_t rng;
	uint64_t held_total;
	uint64_t verdict_errors;
	int fatal;
};

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int held_before(const struct held *a, const struct held *b)
{
	if (a->release_ns != b->release_ns)
		return a->release_ns < b->release_ns;
	return a->seq < b->seq;
}

static int heap_push(struct heap *h, struct held item)
{
	if (h->len == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct held *items = realloc(h->items, cap * sizeof(*items));
		if (!items)
			return -1;
		h->items = items;
		h->cap = cap;
	}
	size_t i = h->len++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!held_before(&item, &h->items[parent]))
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i] = item;
	return 0;
}

static struct held heap_pop(struct heap *h)
{
	struct held top = h->items[0];
	struct held last = h->items[--h->len];
	size_t i = 0;
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->len)
			break;
		if (child + 1 < h->len && held_before(&h->items[child + 1], &h->items[child]))
			child++;
		if (!held_before(&h->items[child], &last))
			break;
		h->items[i] = h->items[child];
		i = child;
	}
	if (h->len > 0)
		h->items[i] = last;
	return top;
}

/* xorshift64*: deterministic for a given --seed, which makes jitter runs reproducible. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int64_t pick_delay_ns(struct state *st)
{
	if (st->jitter_ns == 0)
		return st->delay_ns;
	/* uniform in [delay - jitter, delay + jitter]; 53 random bits -> [0,1) */
	double u = (double)(rng_next(&st->rng) >> 11) / (double)(1ULL << 53);
	int64_t d = st->delay_ns - st->jitter_ns + (int64_t)(u * (double)(2 * st->jitter_ns));
	return d < 0 ? 0 : d;
}

static int accept_packet(struct state *st, uint32_t id)
{
	if (nfq_set_verdict(st->qh, id, NF_ACCEPT, 0, NULL) < 0) {
		st->verdict_errors++;
		if (st->verdict_errors <= 5)
			fprintf(stderr, "nfq-delay: verdict for packet %" PRIu32 " failed: %s\n", id, strerror(errno));
		return -1;
	}
	return 0;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data)
{
	(void)qh;
	(void)msg;
	struct state *st = data;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	if (!ph)
		return 0;
	uint32_t id = ntohl(ph->packet_id);
	int64_t release = now_ns() + pick_delay_ns(st);
	/* Without jitter a later packet must never overtake an earlier one (clock reads are monotonic, but
	 * keep the guarantee explicit so a future change to the delay computation cannot break it). */
	if (st->jitter_ns == 0 && release < st->last_release_ns)
		release = st->last_release_ns;
	st->last_release_ns = release;
	struct held item = {.release_ns = release, .seq = st->next_seq++, .id = id};
	if (heap_push(&st->heap, item) < 0) {
		/* Out of memory: pass the packet undelayed rather than strand it in the kernel queue. */
		accept_packet(st, id);
		return 0;
	}
	st->held_total++;
	return 0;
}

static void release_due(struct state *st, int64_t now)
{
	while (st->heap.len > 0 && st->heap.items[0].release_ns <= now) {
		struct held h = heap_pop(&st->heap);
		accept_packet(st, h.id);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nfq-delay --queue N --delay-ms D [--jitter-ms J] [--seed S] [--maxlen L]\n"
		"                 [--parent-pid P | --watch-pid P --watch-start T]\n"
		"  Holds packets queued on NFQUEUE N and accepts each after D ms (+/- uniform J ms).\n");
}

static int parse_ll(const char *name, const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || !end || *end != '\0' || end == s || v < min || v > max) {
		fprintf(stderr, "nfq-delay: invalid %s '%s' (expected integer in [%lld, %lld])\n", name, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static void set_socket_options(int fd)
{
	int bufsize = 8 * 1024 * 1024;
	/* SO_RCVBUFFORCE ignores rmem_max (needs CAP_NET_ADMIN, which binding a queue needs anyway). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	int one = 1;
	/* A receive-buffer overrun must not surface as ENOBUFS and stall the loop; with FAIL_OPEN the kernel
	 * accepts packets it could not deliver to us. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
}

int main(int argc, char **argv)
{
	long long queue = -1, delay_ms = -1, jitter_ms = 0, maxlen = 10000;
	long long seed = -1;
	long long parent_pid = 0; /* 0: none given */
	long long watch_pid = 0; /* 0: none given */
	long long watch_start = -1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (!v) {
			fprintf(stderr, "nfq-delay: %s needs a value\n", a);
			usage(stderr);
			return 2;
		}
		int rc;
		if (strcmp(a, "--queue") == 0)
			rc = parse_ll("--queue", v, 0, 65535, &queue);
		else if (strcmp(a, "--delay-ms") == 0)
			rc = parse_ll("--delay-ms", v, 0, 3600 * 1000, &delay_ms);
		else if (strcmp(a, "--jitter-ms") == 0)
			rc = parse_ll("--jitter-ms", v, 0, 3600 * 1000, &jitter_ms);
		else if (strcmp(a, "--seed") == 0)
			rc = parse_ll("--seed", v, 0, LLONG_MAX, &seed);
		else if (strcmp(a, "--maxlen") == 0)
			rc = parse_ll("--maxlen", v, 1, 1000000, &maxlen);
		else if (strcmp(a, "--parent-pid") == 0)
			rc = parse_ll("--parent-pid", v, 2, INT_MAX, &parent_pid);
		else if (strcmp(a, "--watch-pid") == 0)
			rc = parse_ll("--watch-pid", v, 2, INT_MAX, &watch_pid);
		else if (strcmp(a, "--watch-start") == 0)
			rc = parse_ll("--watch-start", v, 0, LLONG_MAX, &watch_start);
		else {
			fprintf(stderr, "nfq-delay: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
		if (rc < 0)
			return 2;
		i++;
	}
	if (queue < 0 || delay_ms < 0) {
		fprintf(stderr, "nfq-delay: --queue and --delay-ms are required\n");
		usage(stderr);
		return 2;
	}

	if ((watch_pid > 0) != (watch_start >= 0)) {
		fprintf(stderr, "nfq-delay: --watch-pid and --watch-start go together\n");
		return 2;
	}
	if (watch_pid > 0 && parent_pid > 0) {
		fprintf(stderr, "nfq-delay: give --parent-pid or --watch-pid, not both\n");
		return 2;
	}
	if (watch_pid > 0 && !watched_alive(watch_pid, (unsigned long long)watch_start)) {
		fprintf(stderr, "nfq-delay: process %lld (start %lld) is not running: the lab process is gone\n",
			watch_pid, watch_start);
		return 1;
	}
	if (parent_pid > 0) {
		/* If the lab process dies, the delay must not outlive it: exiting unbinds the queue and
		 * --queue-bypass lets traffic through undelayed. The death signal comes from the kernel when
		 * the parent (strictly: the parent's thread that forked us) exits, even by SIGKILL. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
			fprintf(stderr, "nfq-delay: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
			return 1;
		}
		/* After the prctl, so a parent that died just before it is seen here (we were reparented to
		 * init or to a subreaper, whose pid is not necessarily 1). */
		pid_t ppid = getppid();
		if (ppid != (pid_t)parent_pid) {
			fprintf(stderr, "nfq-delay: parent is pid %d, not %lld: the lab process is gone or does not start "
					"this helper directly\n",
				(int)ppid, parent_pid);
			return 1;
		}
	}

	signal(SIGPIPE, SIG_IGN);
	sigset_t block, orig;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	/* Signals stay blocked except inside ppoll, so a stop request can never be lost between the flag
	 * check and the wait. */
	sigprocmask(SIG_BLOCK, &block, &orig);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigset_t wait_mask = orig;
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGHUP);

	struct state st;
	memset(&st, 0, sizeof(st));
	st.delay_ns = delay_ms * NS_PER_MS;
	st.jitter_ns = jitter_ms * NS_PER_MS;
	st.rng = seed >= 0 ? (uint64_t)seed : ((uint64_t)now_ns() ^ ((uint64_t)getpid() << 32));
	st.rng = st.rng * 0x9E3779B97F4A7C15ULL + 1; /* never zero: xorshift would stick at 0 */
	if (st.rng == 0)
		st.rng = 1;

	struct nfq_handle *h = nfq_open();
	if (!h) {
		fprintf(stderr, "nfq-delay: nfq_open failed: %s (needs CAP_NET_ADMIN and the nfnetlink_queue module)\n",
			strerror(errno));
		return 1;
	}
	/* Only meaningful on pre-3.8 kernels; failures are harmless on newer ones. */
	(void)nfq_unbind_pf(h, AF_INET);
	(void)nfq_bind_pf(h, AF_INET);
	(void)nfq_unbind_pf(h, AF_INET6);
	(void)nfq_bind_pf(h, AF_INET6);

	st.qh = nfq_create_queue(h, (uint16_t)queue, on_packet, &st);
	if (!st.qh) {
		fprintf(stderr, "nfq-delay: cannot bind queue %lld: %s (already bound by another process?)\n", queue,
			strerror(errno));
		nfq_close(h);
		return 1;
	}
	if (nfq_set_mode(st.qh, NFQNL_COPY_META, 0) < 0) {
		fprintf(stderr, "nfq-delay: nfq_set_mode(COPY_META) failed: %s\n", strerror(errno));
		nfq_destroy_queue(st.qh);
		nfq_close(h);
		return 1;
	}
	if (nfq_set_queue_maxlen(st.qh, (uint32_t)maxlen) < 0)
		fprintf(stderr, "nfq-delay: warning: cannot set queue maxlen %lld: %s\n", maxlen, strerror(errno));
	/* FAIL_OPEN: a full queue accepts instead of dropping. GSO: we never touch payloads, so the kernel
	 * need not segment large GSO skbs before queueing them. */
	if (nfq_set_queue_flags(st.qh, NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO,
				NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO) < 0)
		fprintf(stderr, "nfq-delay: warning: cannot set FAIL_OPEN/GSO queue flags: %s\n", strerror(errno));

	int fd = nfq_fd(h);
	set_socket_options(fd);

	printf("nfq-delay ready queue=%lld delay_ms=%lld jitter_ms=%lld pid=%d\n", queue, delay_ms, jitter_ms,
	       (int)getpid());
	fflush(stdout);

	/* Big enough for a netlink message carrying packet metadata even if someone switches copy mode. */
	static char buf[65536 + 4096] __attribute__((aligned));
	int exit_code = 0;
	int64_t next_watch_ns = 0;

	while (!stop_requested) {
		if (parent_pid > 0 && getppid() != (pid_t)parent_pid) {
			/* The death signal should have come; this is the second line of defence. */
			fprintf(stderr, "nfq-delay: parent %lld is gone, stopping\n", parent_pid);
			break;
		}
		/* A /proc read, so at most every PARENT_CHECK_MS, not on every burst of packets. */
		if (watch_pid > 0 && now_ns() >= next_watch_ns) {
			if (!watched_alive(watch_pid, (unsigned long long)watch_start)) {
				fprintf(stderr, "nfq-delay: process %lld is gone, stopping\n", watch_pid);
				break;
			}
			next_watch_ns = now_ns() + PARENT_CHECK_MS * NS_PER_MS;
		}
		struct timespec timeout, *tp = NULL;
		int64_t wait = -1;
		if (st.heap.len > 0) {
			wait = st.heap.items[0].release_ns - now_ns();
			if (wait < 0)
				wait = 0;
		}
		if ((parent_pid > 0 || watch_pid > 0) && (wait < 0 || wait > PARENT_CHECK_MS * NS_PER_MS))
			wait = PARENT_CHECK_MS * NS_PER_MS;
		if (wait >= 0) {
			timeout.tv_sec = wait / NS_PER_S;
			timeout.tv_nsec = wait % NS_PER_S;
			tp = &timeout;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n = ppoll(&pfd, 1, tp, &wait_mask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "nfq-delay: ppoll: %s\n", strerror(errno));
			exit_code = 1;
			break;
		}
		if (n > 0 && (pfd.revents & (POLLERR | POLLNVAL))) {
			/* POLLERR alone may just flag a pending socket error; the recv below consumes it. */
			if (pfd.revents & POLLNVAL) {
				fprintf(stderr, "nfq-delay: netlink socket invalid\n");
				exit_code = 1;
				break;
			}
		}
		if (n > 0) {
			/* Drain everything readable so one wakeup handles a burst. */
			for (;;) {
				ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (r < 0) {
					if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
						break;
					if (errno == ENOBUFS) {
						fprintf(stderr, "nfq-delay: warning: netlink receive buffer overrun\n");
						continue;
					}
					fprintf(stderr, "nfq-delay: recv: %s\n", strerror(errno));
					exit_code = 1;
					stop_requested = 1;
					break;
				}
				if (r == 0)
					break;
				nfq_handle_packet(h, buf, (int)r);
			}
		}
		release_due(&st, now_ns());
	}

	/* Fail open: whatever we still hold goes out now. Destroying the queue first would make the kernel
	 * drop them. */
	while (st.heap.len > 0) {
		struct held hd = heap_pop(&st.heap);
		accept_packet(&st, hd.id);
	}
	nfq_destroy_queue(st.qh);
	nfq_close(h);
	free(st.heap.items);
	fprintf(stderr, "nfq-delay: stopped queue=%lld held_total=%" PRIu64 " verdict_errors=%" PRIu64 "\n", queue,
		st.held_total, st.verdict_errors);
	return exit_code;
}
