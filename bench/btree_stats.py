#!/usr/bin/env python3
"""Leaf density and fragmentation of a B-tree index, read from its files, as pgstatindex computes them.

    btree_stats.py FILE      FILE: $PGDATA/pg_relation_filepath(index) after a CHECKPOINT
    -> leaf_pages|avg_leaf_density|leaf_fragmentation

For servers without contrib's pgstattuple (the PostgreSQL 17/18 that scripts/postgres.sh builds has no
contrib). pgstatindex's arithmetic (contrib/pgstattuple/pgstatindex.c): every block but the meta page;
deleted and half-dead pages left out; for each leaf page the usable space is pd_special minus the page
header, the free space PageGetFreeSpace's (pd_upper - pd_lower, less one line pointer);
density = 100 - 100 * free / usable; a leaf page whose right sibling has a lower block number is a
fragment. bench/run.sh compares the two where pgstatindex exists.
"""
import os
import struct
import sys

BLCKSZ = 8192
PAGE_HEADER = 24  # SizeOfPageHeaderData
ITEM_ID = 4  # sizeof(ItemIdData)
BTP_LEAF, BTP_DELETED, BTP_META, BTP_HALF_DEAD = 1, 4, 8, 16
P_NONE = 0


def segments(path):
    yield path
    n = 1
    while os.path.exists(f"{path}.{n}"):
        yield f"{path}.{n}"
        n += 1


def main(path):
    leaf = fragments = 0
    usable = free = 0
    blkno = 0
    for seg in segments(path):
        with open(seg, "rb") as f:
            while True:
                page = f.read(BLCKSZ)
                if len(page) < BLCKSZ:
                    break
                this = blkno
                blkno += 1
                if this == 0:
                    continue  # the meta page
                lower, upper, special = struct.unpack_from("<HHH", page, 12)
                if special == 0:
                    continue  # a new, never initialised page
                _prev, nxt, _level, flags = struct.unpack_from("<IIIH", page, special)
                if flags & (BTP_DELETED | BTP_HALF_DEAD | BTP_META):
                    continue
                if flags & BTP_LEAF:
                    leaf += 1
                    usable += special - PAGE_HEADER
                    free += max(upper - lower - ITEM_ID, 0)  # PageGetFreeSpace: room for one more line pointer
                    if nxt != P_NONE and nxt < this:
                        fragments += 1
    if leaf == 0:
        print("0|NaN|NaN")
        return
    print(f"{leaf}|{100.0 - 100.0 * free / usable:.2f}|{100.0 * fragments / leaf:.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
