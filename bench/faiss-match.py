"""FAISS on the same data as `npm run bench:match`, for comparison in the same run.

Reads the stored hashes and the queries as raw 32-byte codes (the PDQ hash's bytes, in the order
its hex spells them; Hamming distance does not depend on the bit order as long as both sides use
the same one) and answers, on one thread, every query's range search at each threshold with
`IndexBinaryFlat` (exhaustive) and `IndexBinaryMultiHash` (16 tables of 16 bits, `nflip` =
floor(T / 16): exact by the same pigeonhole argument as the node's index). Prints one JSON object:
per index and threshold, wall and CPU ms per query and the hits, and the flat index's hits as
positions (the ground truth the bench checks the node's answers against).

The multi-hash index answers only the first --multihash-queries of them (default all): at far
thresholds it probes 11,152 buckets per query and is the slowest of the three.

Usage: python3 faiss-match.py STORED.bin QUERIES.bin T[,T...] [--batch N] [--multihash-queries N]
"""

import json
import sys
import time

import faiss
import numpy as np


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000


def range_all(index, queries, threshold, batch):
    """Every stored position within `threshold` (inclusive) of each query, in batches."""
    hits = []
    for start in range(0, len(queries), batch):
        # FAISS keeps binary range-search results with distance < radius: T + 1 gives <= T.
        lims, _dist, labels = index.range_search(queries[start : start + batch], threshold + 1)
        for i in range(len(lims) - 1):
            hits.append(labels[lims[i] : lims[i + 1]].tolist())
    return hits


def main():
    stored_path, queries_path, thresholds = sys.argv[1], sys.argv[2], sys.argv[3]
    batch = int(sys.argv[sys.argv.index("--batch") + 1]) if "--batch" in sys.argv else 1000
    mh_n = int(sys.argv[sys.argv.index("--multihash-queries") + 1]) if "--multihash-queries" in sys.argv else None
    faiss.omp_set_num_threads(1)
    stored = np.fromfile(stored_path, dtype=np.uint8).reshape(-1, 32)
    queries = np.fromfile(queries_path, dtype=np.uint8).reshape(-1, 32)
    out = {"faissVersion": faiss.__version__, "threads": 1, "stored": len(stored), "queries": len(queries)}

    flat = faiss.IndexBinaryFlat(256)
    _, w, c = timed(lambda: flat.add(stored))
    out["flat"] = {"addMs": round(w), "addCpuMs": round(c), "thresholds": {}}
    truth = {}
    for t in [int(x) for x in thresholds.split(",")]:
        hits, w, c = timed(lambda: range_all(flat, queries, t, batch))
        truth[t] = hits
        out["flat"]["thresholds"][str(t)] = {
            "msPerQuery": round(w / len(queries), 4),
            "cpuMsPerQuery": round(c / len(queries), 4),
            "hits": sum(len(h) for h in hits),
        }

    if mh_n != 0:
        mq = queries if mh_n is None else queries[:mh_n]
        mh = faiss.IndexBinaryMultiHash(256, 16, 16)
        _, w, c = timed(lambda: mh.add(stored))
        out["multiHash"] = {"tables": 16, "bits": 16, "queries": len(mq), "addMs": round(w), "addCpuMs": round(c), "thresholds": {}}
        for t in truth:
            mh.nflip = t // 16
            hits, w, c = timed(lambda: range_all(mh, mq, t, batch))
            same = all(sorted(a) == sorted(b) for a, b in zip(hits, truth[t]))
            out["multiHash"]["thresholds"][str(t)] = {
                "nflip": t // 16,
                "msPerQuery": round(w / len(mq), 4),
                "cpuMsPerQuery": round(c / len(mq), 4),
                "hits": sum(len(h) for h in hits),
                "sameAsFlat": same,
            }

    out["truth"] = {str(t): hits for t, hits in truth.items()}
    json.dump(out, sys.stdout)


main()
