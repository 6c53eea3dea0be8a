# A psycopg 3 application prepared as docs/migration.md says ("Applications through the
# migration"): statements prepared by the server from their first execution (prepare_threshold=0),
# keys read as text and found through snowflake_migration_key(); two threads with a connection
# each; runs until the file STOP exists, then checks the orders it wrote and prints what it
# counted (tests/integration/apps_migration.sh). With SF_APP_SHOP=1 (tests/integration/shop_live.sh)
# it also finds the shop's old orders and notes by their old uuids, writes notes on old orders, and
# reads orders through the view big_orders.
import json, os, random, sys, threading
import psycopg

from migration_psycopg import SQL, with_retry  # the page's code

SQL = dict(SQL, raw='SELECT id, name FROM accounts WHERE name = %s')  # the key's own type: needs the retry
# The shop's statements, written the same way (keys as text, found through snowflake_migration_key).
SHOP = bool(os.environ.get('SF_APP_SHOP'))
SQL.update(
    order_by_key="SELECT id::text, amount FROM orders WHERE id = snowflake_migration_key('orders', %s, (NULL::orders).id)",
    ins_note="INSERT INTO notes (order_id, order_created_at, body) SELECT id, created_at, %s FROM orders WHERE id = snowflake_migration_key('orders', %s, (NULL::orders).id)",
    note_by_key="SELECT id::text, body FROM notes WHERE id = snowflake_migration_key('notes', %s, (NULL::notes).id)",
    big_orders="SELECT count(*) FROM big_orders WHERE account_id = snowflake_migration_key('accounts', %s, (NULL::big_orders).account_id)",
)
lock = threading.Lock()
total = dict(requests=0, errors=0, wrong=0, retries=0, old_before=0, old_after=0, new_keys=0, accounts=0, notes=0)

def worker(w, old, shop):
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

    def old_row(sql, key, value):
        rows = conn.execute(sql, (key,)).fetchall()
        expect(len(rows) == 1 and rows[0][1] == value, f'{key} -> {rows}')
        if rows:
            counts['old_before' if '-' in rows[0][0] else 'old_after'] += 1

    def note(order, name):
        n = conn.execute(SQL['ins_note'], (name, order)).rowcount
        expect(n == 1, f'note on {order}: {n}')
        counts['notes'] += n

    def big_orders(m):
        n = conn.execute(SQL['big_orders'], (m[0],)).fetchone()[0]
        expect(n <= m[2], f'big orders of {m[0]}: {n} > {m[2]}')

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
        if SHOP:
            o, amount = random.choice(shop['orders'])
            request('order by old uuid', lambda: old_row(SQL['order_by_key'], o, amount))
            request('note on an old order', lambda: note(o, f'py-{w}-{i}'))
            k, body = random.choice(shop['notes'])
            request('note by old uuid', lambda: old_row(SQL['note_by_key'], k, body))
            if mine:
                m = random.choice(mine)
                request('big orders', lambda: big_orders(m))
        i += 1
    for m in mine:
        request('final orders of', lambda: orders_of(m, True))
    counts['accounts'] = len(mine)
    conn.close()
    with lock:
        for k in total:
            total[k] += counts[k]

with psycopg.connect() as c:
    old = c.execute("SELECT id::text, name FROM accounts WHERE name LIKE 'old-%' ORDER BY name LIMIT 300").fetchall()
    shop = dict(orders=c.execute("SELECT id::text, amount FROM orders WHERE amount < 0 ORDER BY amount LIMIT 300").fetchall(),
                notes=c.execute("SELECT id::text, body FROM notes WHERE body LIKE 'old-%' ORDER BY body LIMIT 300").fetchall()) if SHOP else None
open('py.started', 'w').close()
threads = [threading.Thread(target=worker, args=(w, old, shop)) for w in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(total))
