# A psycopg 3 application prepared as docs/migration.md says ("Applications through the
# migration"): statements prepared by the server from their first execution (prepare_threshold=0),
# keys read as text and found through snowflake_migration_key(); two threads with a connection
# each; runs until the file STOP exists, then checks the orders it wrote and prints what it
# counted (tests/integration/apps_migration.sh).
import json, os, random, sys, threading
import psycopg

from migration_psycopg import SQL, with_retry  # the page's code

SQL = dict(SQL, raw='SELECT id, name FROM accounts WHERE name = %s')  # the key's own type: needs the retry
lock = threading.Lock()
total = dict(requests=0, errors=0, wrong=0, retries=0, old_before=0, old_after=0, new_keys=0)

def worker(w, old):
    counts = dict.fromkeys(total, 0)
    mine = []
    conn = psycopg.connect(autocommit=True, prepare_threshold=0)

    def request(kind, fn):
        counts['requests'] += 1
        try:
            with_retry(conn, fn, lambda e: counts.__setitem__('retries', counts['retries'] + 1))
        except psycopg.Error as e:
            counts['errors'] += 1
            if counts['errors'] <= 5:
                print(f'{kind}: {e.sqlstate} {e}', file=sys.stderr)

    def expect(ok, what):
        if not ok:
            counts['wrong'] += 1
            if counts['wrong'] <= 5:
                print(f'wrong: {what}', file=sys.stderr)

    def insert(name):
        mine.append([conn.execute(SQL['ins_account'], (name,)).fetchone()[0], name, 0])

    def order(m, i):
        conn.execute(SQL['ins_order'], (m[0], i))
        m[2] += 1

    def by_key(key, name, old_key):
        rows = conn.execute(SQL['by_key'], (key,)).fetchall()
        expect(len(rows) == 1 and rows[0][1] == name, f'{key} -> {rows}')
        if rows and old_key:
            counts['old_before' if '-' in rows[0][0] else 'old_after'] += 1
        elif rows and '-' not in rows[0][0]:
            counts['new_keys'] += 1

    def orders_of(m, exact):
        n = conn.execute(SQL['orders_of'], (m[0],)).fetchone()[0]
        expect(n == m[2] if exact else n >= 1, f'orders of {m[0]}: {n} / {m[2]}')

    def raw(name):
        expect(len(conn.execute(SQL['raw'], (name,)).fetchall()) == 1, f'raw {name}')

    def transaction(name):
        with conn.transaction():
            key = conn.execute(SQL['ins_account'], (name,)).fetchone()[0]
            conn.execute(SQL['ins_order'], (key, 1))
        mine.append([key, name, 1])

    i = 0
    while not os.path.exists('STOP'):
        request('insert', lambda: insert(f'py-{w}-{i}'))
        if mine:
            m = random.choice(mine)
            request('order', lambda: order(m, i))
            request('lookup by key', lambda: by_key(m[0], m[1], False))
            request('orders of', lambda: orders_of(m, False))
        u, n = random.choice(old)
        request('lookup by old uuid', lambda: by_key(u, n, True))
        request('raw', lambda: raw(n))
        request('transaction', lambda: transaction(f'py-{w}-{i}-tx'))
        i += 1
    for m in mine:
        request('final orders of', lambda: orders_of(m, True))
    conn.close()
    with lock:
        for k in total:
            total[k] += counts[k]

with psycopg.connect() as c:
    old = c.execute("SELECT id::text, name FROM accounts WHERE name LIKE 'old-%' ORDER BY name LIMIT 300").fetchall()
open('py.started', 'w').close()
threads = [threading.Thread(target=worker, args=(w, old)) for w in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(total))
