#!/usr/bin/env bash
# Which tables the pages of each commit belong to, at full load (wrk, 64 connections, --keep 0) on a given store:
# the server is frozen mid-load, its database and WAL copied, the WAL's frames parsed and mapped to tables and
# indexes through SQLite's dbstat, and the last 200 commits averaged. The store is left as a crash leaves it
# (hookscope recovers it on its next start); use a copy to keep the original.
#
#   bench/tools/wal_pages.sh DB [SECONDS_BEFORE_FREEZING]
#
# Environment: BIN (the hookscope binary), SERVER_CPU [0], LOAD_CPU [1], PORT [9322].
set -euo pipefail
source "$(dirname "$0")/common.sh"
db=${1:?a database file}; at=${2:-6}
PORT=${PORT:-9322}
require "$BIN"
STOP_SIGNAL=KILL
serve "$PORT" "$BIN" --listen "127.0.0.1:$PORT" --db "$db" --keep 0
full_load "$PORT" $(( at + 2 )) >/dev/null &
sleep "$at"
kill -STOP "$server"
cp "$db" "$work/snap.db"
cp "$db-wal" "$work/snap.db-wal"
kill -9 "$server"
wait "$server" 2>/dev/null || true
server=
python3 - "$work/snap.db" <<'PY'
import collections, sqlite3, struct, sys
db = sys.argv[1]
wal = open(db + "-wal", "rb").read()
_, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">IIIIIIII", wal[:32])
offset, commits, pages = 32, [], []
while offset + 24 + page_size <= len(wal):
    page, commit, frame_salt1, frame_salt2 = struct.unpack(">IIII", wal[offset:offset + 16])
    if (frame_salt1, frame_salt2) != (salt1, salt2):
        break
    pages.append(page)
    if commit:
        commits.append(pages)
        pages = []
    offset += 24 + page_size
names = dict(sqlite3.connect(db).execute("SELECT pageno, name FROM dbstat"))
last = commits[-200:]
if not last:
    sys.exit("no commit in the WAL")
counts = collections.Counter(names.get(page, "?") for commit in last for page in commit)
print(f"{len(commits)} commits in the WAL; the last {len(last)}: {sum(map(len, last)) / len(last):.1f} pages each")
for name, count in counts.most_common():
    print(f"  {name:32s} {count / len(last):6.1f}")
PY
