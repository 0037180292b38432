// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * top: who is hitting us right now. The view on-call engineers otherwise
 * build from proxy logs with grep | sort | uniq -c, read straight from the
 * pinned source table so it works with or without the daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "addr.h"
#include "cli.h"
#include "pins.h"
#include "report.h"
#include "top.h"

#define DEFAULT_ROWS 20
#define HEADER_LINES 4
#define MAX_INTERVAL_S 3600.0

struct top_opts {
	unsigned int rows;
	enum eg_top_sort sort;
	double interval_s; /* 0: not given */
	bool once, json;
};

/* The live policies' names, by slot (report.c). */
struct labels {
	struct eg_policy_name name[EG_MAX_POLICIES];
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *label_of(const struct labels *l, uint32_t slot)
{
	return slot < EG_MAX_POLICIES && l->name[slot].name[0] ? l->name[slot].name : NULL;
}

static void format_source(const struct eg_top_row *r, uint32_t v6_prefix, char *buf, size_t len)
{
	struct eg_lpm_key k;

	eg_key_of(&k, &r->key.addr, r->key.addr.family == EG_AF_INET ? 32 : v6_prefix);
	eg_format_cidr(&k, buf, len);
}

static void format_ban(const struct eg_top_row *r, char *buf, size_t len)
{
	switch (r->ban) {
	case EG_TOP_BAN_TTL:
		snprintf(buf, len, "banned %llus", (unsigned long long)r->ban_left_s);
		break;
	case EG_TOP_BAN_PERM:
		snprintf(buf, len, "perm");
		break;
	case EG_TOP_BAN_CIDR:
		snprintf(buf, len, "cidr");
		break;
	default:
		snprintf(buf, len, "-");
	}
}

static void format_rate(const struct eg_top_row *r, double v, char *buf, size_t len)
{
	if (r->have_rate)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "-");
}

/* ------------------------------------------------------------ text */

static void print_header(const struct eg_top_totals *tot, const struct top_opts *o, bool live)
{
	char when[32];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	printf("edgeguard top  %s  sorted by %s%s\n", when, eg_top_sort_name(o->sort),
	       live ? "  (q quits)" : "");
	if (tot->have_rate) {
		bool any = false;

		printf("pps %.0f  drops/s %.0f", tot->pps, tot->drops_ps);
		for (unsigned int r = 0; r < EG_R_MAX; r++) {
			if (!eg_reason_drops(r) || tot->reason_ps[r] < 0.5)
				continue;
			printf("%s%s %.0f", any ? ", " : " (", eg_reason_name(r), tot->reason_ps[r]);
			any = true;
		}
		printf("%s\n", any ? ")" : "");
	} else {
		printf("pps -  drops/s -  (rates after the first refresh)\n");
	}
	printf("tracked sources %llu  bans %llu\n", (unsigned long long)tot->sources,
	       (unsigned long long)tot->bans);
	printf("%-28s %-16s %9s %9s %9s %12s %12s %6s  %s\n", "SOURCE", "POLICY", "SYNS/s",
	       "PKTS/s", "DROPS/s", "SYNS", "DROPS", "CONNS", "BAN");
}

static void print_rows(const struct eg_top_row *rows, int n, const struct eg_top_totals *tot,
		       const struct labels *l)
{
	for (int i = 0; i < n; i++) {
		const struct eg_top_row *r = &rows[i];
		char src[EG_CIDR_STRLEN], pol[80], syn[24], pkt[24], drop[24], ban[32];
		const char *name = label_of(l, r->key.policy);

		format_source(r, tot->v6_prefix, src, sizeof(src));
		if (name)
			snprintf(pol, sizeof(pol), "%u %s", r->key.policy, name);
		else
			snprintf(pol, sizeof(pol), "%u", r->key.policy);
		format_rate(r, r->syn_rate, syn, sizeof(syn));
		format_rate(r, r->pkt_rate, pkt, sizeof(pkt));
		format_rate(r, r->drop_rate, drop, sizeof(drop));
		format_ban(r, ban, sizeof(ban));
		printf("%-28s %-16.16s %9s %9s %9s %12llu %12llu %6llu  %s\n", src, pol, syn, pkt,
		       drop, (unsigned long long)r->syns, (unsigned long long)r->drops,
		       (unsigned long long)r->conns, ban);
	}
}

/* ------------------------------------------------------------ JSON */

static double json_rate(double v)
{
	/* Two decimals are plenty, and keep the JSON readable. */
	return (double)(long long)(v * 100 + 0.5) / 100;
}

static void print_json(const struct eg_top_row *rows, int n, const struct eg_top_totals *tot,
		       const struct top_opts *o, const struct labels *l)
{
	cJSON *doc = cJSON_CreateObject(), *t = cJSON_AddObjectToObject(doc, "totals");
	cJSON *by = cJSON_AddObjectToObject(t, "drops_per_s_by_reason");
	cJSON *arr;

	cJSON_AddStringToObject(doc, "sort", eg_top_sort_name(o->sort));
	cJSON_AddNumberToObject(doc, "interval_s", json_rate(tot->interval_s));
	cJSON_AddNumberToObject(t, "pps", json_rate(tot->pps));
	cJSON_AddNumberToObject(t, "drops_per_s", json_rate(tot->drops_ps));
	for (unsigned int r = 0; r < EG_R_MAX; r++)
		if (eg_reason_drops(r))
			cJSON_AddNumberToObject(by, eg_reason_name(r), json_rate(tot->reason_ps[r]));
	cJSON_AddNumberToObject(t, "tracked_sources", (double)tot->sources);
	cJSON_AddNumberToObject(t, "bans", (double)tot->bans);
	arr = cJSON_AddArrayToObject(doc, "sources");
	for (int i = 0; i < n; i++) {
		const struct eg_top_row *r = &rows[i];
		cJSON *x = cJSON_CreateObject();
		const char *name = label_of(l, r->key.policy);
		static const char *const bans[] = { "none", "banned", "perm", "cidr" };
		char src[EG_CIDR_STRLEN];

		format_source(r, tot->v6_prefix, src, sizeof(src));
		cJSON_AddStringToObject(x, "source", src);
		cJSON_AddNumberToObject(x, "policy", r->key.policy);
		if (name)
			cJSON_AddStringToObject(x, "policy_label", name);
		else
			cJSON_AddNullToObject(x, "policy_label");
		cJSON_AddNumberToObject(x, "syns_per_s", json_rate(r->syn_rate));
		cJSON_AddNumberToObject(x, "pkts_per_s", json_rate(r->pkt_rate));
		cJSON_AddNumberToObject(x, "drops_per_s", json_rate(r->drop_rate));
		cJSON_AddNumberToObject(x, "syns", (double)r->syns);
		cJSON_AddNumberToObject(x, "drops", (double)r->drops);
		cJSON_AddNumberToObject(x, "packets", (double)r->packets);
		cJSON_AddNumberToObject(x, "conns", (double)r->conns);
		cJSON_AddStringToObject(x, "ban", bans[r->ban]);
		if (r->ban == EG_TOP_BAN_TTL)
			cJSON_AddNumberToObject(x, "ban_expires_in", (double)r->ban_left_s);
		else
			cJSON_AddNullToObject(x, "ban_expires_in");
		cJSON_AddItemToArray(arr, x);
	}
	cli_print_json(doc);
}

/* ------------------------------------------------------------ the loop */

static struct termios saved_tio;
static bool tio_saved;

static void term_enter(void)
{
	struct termios raw;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		raw = saved_tio;
		/* Keys one at a time, unechoed; ISIG stays so Ctrl-C still stops us. */
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tio_saved = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
	}
	/* Alternate screen, cursor hidden: the shell's screen comes back on exit. */
	printf("\033[?1049h\033[?25l");
	fflush(stdout);
}

static void term_leave(void)
{
	printf("\033[?25h\033[?1049l");
	fflush(stdout);
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tio_saved = false;
}

/* Waits up to ms; true when the user asked to quit. */
static bool wait_for_quit(int ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		long left;
		char c;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (read(STDIN_FILENO, &c, 1) != 1) {
			/* stdin closed: keep refreshing until a signal, without spinning. */
			struct timespec d = { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000 };

			nanosleep(&d, NULL);
			return stop;
		}
		if (c == 'q' || c == 'Q')
			return true;
	}
	return true;
}

static int screen_rows(unsigned int want)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > HEADER_LINES + 1 &&
	    want > (unsigned int)(ws.ws_row - HEADER_LINES - 1))
		return ws.ws_row - HEADER_LINES - 1;
	return (int)want;
}

static int run_live(struct eg_top *t, const struct eg_maps *m, const struct top_opts *o,
		    struct eg_top_row *rows, const struct labels *l)
{
	struct eg_top_totals tot;
	struct eg_err e = { 0 };
	int n, rc = EXIT_OK;

	term_enter();
	do {
		n = eg_top_snapshot(t, m, o->sort, o->rows, rows, &tot, &e);
		if (n < 0) {
			rc = EXIT_FAIL;
			break;
		}
		printf("\033[H\033[2J");
		print_header(&tot, o, true);
		print_rows(rows, n < screen_rows(o->rows) ? n : screen_rows(o->rows), &tot, l);
		fflush(stdout);
	} while (!wait_for_quit((int)(o->interval_s * 1000)));
	term_leave();
	return rc == EXIT_OK ? EXIT_OK : cli_fail(&e);
}

static int run_once(struct eg_top *t, const struct eg_maps *m, const struct top_opts *o,
		    struct eg_top_row *rows, const struct labels *l)
{
	struct timespec d = { .tv_sec = (time_t)o->interval_s };
	struct eg_top_totals tot;
	struct eg_err e = { 0 };
	int n;

	d.tv_nsec = (long)((o->interval_s - (double)d.tv_sec) * 1e9);
	/* Rates need two reads: the first only records the totals. */
	if (eg_top_snapshot(t, m, o->sort, o->rows, rows, &tot, &e) < 0)
		return cli_fail(&e);
	while (nanosleep(&d, &d) && errno == EINTR && !stop)
		;
	if (stop)
		return EXIT_FAIL;
	n = eg_top_snapshot(t, m, o->sort, o->rows, rows, &tot, &e);
	if (n < 0)
		return cli_fail(&e);
	if (o->json) {
		print_json(rows, n, &tot, o, l);
	} else {
		print_header(&tot, o, false);
		print_rows(rows, n, &tot, l);
	}
	return EXIT_OK;
}

static int parse_opts(const struct cli_cmd *cmd, int argc, char **argv, struct top_opts *o)
{
	long long v;
	char *end;
	int c, rc;

	*o = (struct top_opts){ .rows = DEFAULT_ROWS, .sort = EG_TOP_SORT_DROPS };
	while ((c = cli_next_opt(cmd, argc, argv, &rc)) != -1) {
		switch (c) {
		case CLI_DONE:
			return rc == EXIT_OK ? -1 : rc;
		case 'n':
			v = cli_parse_uint(cmd, "-n", optarg, EG_TOP_MAX_ROWS);
			if (v < 0)
				return EXIT_USAGE;
			if (!v)
				return cli_usage_error(cmd, "-n must be at least 1");
			o->rows = (unsigned int)v;
			break;
		case 's':
			if (eg_top_parse_sort(optarg, &o->sort))
				return cli_usage_error(cmd, "--sort: '%s' is not syns, drops, pkts, conns or rate",
						       optarg);
			break;
		case 'i':
			errno = 0;
			o->interval_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->interval_s >= 0.1) ||
			    o->interval_s > MAX_INTERVAL_S)
				return cli_usage_error(cmd, "--interval: '%s' is not a number of seconds between 0.1 and %.0f",
						       optarg, MAX_INTERVAL_S);
			break;
		case 'o':
			o->once = true;
			break;
		}
	}
	if (cli_operands(cmd, argc, argv, 0, "no arguments"))
		return EXIT_USAGE;
	o->json = cli_json;
	if (o->json && !o->once)
		return cli_usage_error(cmd, "--json needs --once");
	if (!o->interval_s)
		o->interval_s = o->once ? 1 : 2;
	return EXIT_OK;
}

static int run_top(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct top_opts o;
	struct eg_top_row *rows;
	struct labels *labels;
	struct eg_maps m;
	struct eg_top t;
	struct eg_err e = { 0 };
	int rc = parse_opts(cmd, argc, argv, &o);

	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (eg_maps_open_pinned_ro(&m, &e))
		return cli_fail(&e);
	rows = calloc(o.rows, sizeof(*rows));
	labels = calloc(1, sizeof(*labels));
	if (!rows || !labels || eg_top_init(&t, &e)) {
		free(rows);
		free(labels);
		eg_maps_close(&m);
		return cli_fail(e.msg[0] ? &e : &(struct eg_err){ .msg = "out of memory" });
	}
	if (eg_report_policy_names(&m, labels->name, NULL))
		memset(labels, 0, sizeof(*labels)); /* names are a nicety */
	/* No SA_RESTART: Ctrl-C must interrupt the wait, not just set a flag. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = o.once ? run_once(&t, &m, &o, rows, labels) : run_live(&t, &m, &o, rows, labels);
	eg_top_free(&t);
	free(rows);
	free(labels);
	eg_maps_close(&m);
	return rc;
}

const struct cli_cmd cmd_top = {
	.name = "top",
	.run = run_top,
	.usage = "top [-n N] [--sort syns|drops|pkts|conns|rate] [--interval SECONDS] [--once [--json]]",
	.help = "The sources with the most SYNs, drops, packets or established connections,\n"
		"refreshed every --interval seconds (default 2); q or Ctrl-C quits. Rates are\n"
		"per second between two reads; 'rate' sorts by packets per second. -n rows\n"
		"(default 20). --once prints one snapshot (two reads --interval apart, default\n"
		"1 s) without terminal control; --json makes it a JSON document {sort,\n"
		"interval_s, totals, sources: [...]}. IPv6 sources show as their aggregated\n"
		"prefix. Reads the pinned maps; exit status 1 when edgeguard is not attached.\n",
	.opts = (const struct option[]){
		{ "sort", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	},
	.shortopts = "n:",
};
