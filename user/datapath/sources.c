// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "sources.h"

/* The datapath's tracked_set() (bpf/sources.bpf.h), on a copy of the block. */
static void track_one(struct eg_tracked_block *b, uint64_t h, uint32_t e)
{
	int i = eg_tracked_half(b, e);

	if (b->epoch[i] != e) {
		memset(b->bits[i], 0, sizeof(b->bits[i]));
		b->epoch[i] = e;
	}
	for (int k = 0; k < 2; k++) {
		uint32_t pos = eg_tracked_pos(h, k);

		b->bits[i][pos >> 6] |= 1ULL << (pos & 63);
	}
}

int eg_sources_track(const struct eg_maps *m, const struct eg_source_key *keys, size_t n,
		     uint64_t now_ns, struct eg_err *e)
{
	struct eg_config cfg = { 0 };
	struct eg_tracked_block *blocks;
	uint32_t zero = 0, nblocks = eg_map_capacity(m->tracked), *idx;
	uint32_t e_now = (uint32_t)(now_ns >> EG_TRACKED_EPOCH_SHIFT) + 1, count;
	int rc = -1;

	if (bpf_map_lookup_elem(m->config, &zero, &cfg))
		return eg_fail(e, "cannot read the datapath config: %s", strerror(errno));
	if (!nblocks || cfg.tracked_mask + 1 != nblocks)
		return eg_fail(e, "the tracked filter does not match the config");
	blocks = calloc(nblocks, sizeof(*blocks));
	idx = calloc(nblocks, sizeof(*idx));
	if (!blocks || !idx) {
		eg_fail(e, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < nblocks; i++)
		idx[i] = i;
	count = nblocks;
	if (bpf_map_lookup_batch(m->tracked, NULL, &zero, idx, blocks, &count, NULL) &&
	    errno != ENOENT) {
		eg_fail(e, "cannot read the tracked filter: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t h = eg_addr_hash(&keys[i].addr, cfg.hash_seed);

		track_one(&blocks[eg_tracked_block_of(h, cfg.tracked_mask)], h, e_now);
	}
	for (uint32_t i = 0; i < nblocks; i++)
		idx[i] = i;
	count = nblocks;
	if (bpf_map_update_batch(m->tracked, idx, blocks, &count, NULL)) {
		eg_fail(e, "cannot write the tracked filter: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(blocks);
	free(idx);
	return rc;
}
