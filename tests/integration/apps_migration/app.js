// A node-postgres application prepared as docs/migration.md says ("Applications through the
// migration"): a pool, named prepared statements, keys read as text and found through
// snowflake_migration_key(), the page's retry; four workers run until the file STOP exists, then
// it checks the orders it wrote and prints what it counted (tests/integration/apps_migration.sh).
// With SF_APP_SHOP=1 (tests/integration/shop_live.sh) it also finds the shop's old orders and notes
// by their old uuids, writes notes on old orders, and reads orders through the view big_orders.
const fs = require('fs');
const { Pool } = require('pg');
const pool = new Pool({ max: 4 });

// The page's code: statement names, the retry, the statements.
const { stmt, withRetry: retryOnce, SQL } = require('./migration-node.js');
// Not written as the page says (the key's own type in the result): needs the retry.
SQL.raw = 'SELECT id, name FROM accounts WHERE name = $1';
const withRetry = (work) => retryOnce(work, () => counts.retries++);
const counts = { requests: 0, errors: 0, wrong: 0, retries: 0, old_before: 0, old_after: 0, new_keys: 0, accounts: 0, notes: 0 };
// The shop's statements, written the same way (keys as text, found through snowflake_migration_key).
const SHOP = Boolean(process.env.SF_APP_SHOP);
Object.assign(SQL, {
  orderByKey: "SELECT id::text AS id, amount FROM orders WHERE id = snowflake_migration_key('orders', $1, (NULL::orders).id)",
  insNote: "INSERT INTO notes (order_id, order_created_at, body) SELECT id, created_at, $2 FROM orders WHERE id = snowflake_migration_key('orders', $1, (NULL::orders).id)",
  noteByKey: "SELECT id::text AS id, body FROM notes WHERE id = snowflake_migration_key('notes', $1, (NULL::notes).id)",
  bigOrders: "SELECT count(*)::int AS n FROM big_orders WHERE account_id = snowflake_migration_key('accounts', $1, (NULL::big_orders).account_id)",
});
const shop = { orders: [], notes: [] };  // [old uuid, amount or body] read before the migration
const isUuid = (k) => /^[0-9a-f]{8}-/.test(k);
const mine = [];  // [key as first returned, name, orders written]
let old = [];     // [old uuid, name] read before the migration

async function request(kind, fn) {
  counts.requests++;
  try { await withRetry(fn); } catch (e) {
    counts.errors++;
    if (counts.errors <= 5) console.error(`${kind}: ${e.code} ${e.message}`);
  }
}
const pick = (a) => a[Math.floor(Math.random() * a.length)];
function expect(ok, what) { if (!ok) { counts.wrong++; if (counts.wrong <= 5) console.error(`wrong: ${what}`); } }

async function worker(w) {
  for (let i = 0; !fs.existsSync('STOP'); i++) {
    const name = `node-${w}-${i}`;
    await request('insert', async () => {
      const r = await pool.query(stmt('ins_account', SQL.insAccount, [name]));
      mine.push([r.rows[0].id, name, 0]);
    });
    if (mine.length) {
      const m = pick(mine);
      await request('order', async () => { await pool.query(stmt('ins_order', SQL.insOrder, [m[0], i])); });
      m[2]++;
      await request('lookup by key', async () => {
        const r = await pool.query(stmt('by_key', SQL.byKey, [m[0]]));
        expect(r.rows.length === 1 && r.rows[0].name === m[1], `${m[0]} -> ${JSON.stringify(r.rows)}`);
        if (r.rows.length && !isUuid(r.rows[0].id)) counts.new_keys++;
      });
      await request('orders of', async () => {
        const r = await pool.query(stmt('orders_of', SQL.ordersOf, [m[0]]));
        expect(r.rows[0].n >= 1, `orders of ${m[0]}: ${r.rows[0].n}`);
      });
    }
    const [u, n] = pick(old);
    await request('lookup by old uuid', async () => {
      const r = await pool.query(stmt('by_key', SQL.byKey, [u]));
      expect(r.rows.length === 1 && r.rows[0].name === n, `${u} -> ${JSON.stringify(r.rows)}`);
      if (r.rows.length) counts[isUuid(r.rows[0].id) ? 'old_before' : 'old_after']++;
    });
    await request('raw', async () => {
      const r = await pool.query(stmt('raw', SQL.raw, [n]));
      expect(r.rows.length === 1, `raw ${n}`);
    });
    await request('transaction', () => withTx(`node-${w}-${i}-tx`));
    if (SHOP) await shopRequests(`node-${w}-${i}`);
  }
}
// Old orders and notes by their old uuids (the uuid before each table's cut-over, the bigint
// after), a note written on an old order, an account's big orders through the view.
async function shopRequests(name) {
  const [o, amount] = pick(shop.orders);
  await request('order by old uuid', async () => {
    const r = await pool.query(stmt('order_by_key', SQL.orderByKey, [o]));
    expect(r.rows.length === 1 && r.rows[0].amount === amount, `order ${o} -> ${JSON.stringify(r.rows)}`);
    if (r.rows.length) counts[isUuid(r.rows[0].id) ? 'old_before' : 'old_after']++;
  });
  await request('note on an old order', async () => {
    const r = await pool.query(stmt('ins_note', SQL.insNote, [o, name]));
    expect(r.rowCount === 1, `note on ${o}: ${r.rowCount}`);
    counts.notes += r.rowCount;
  });
  const [n, body] = pick(shop.notes);
  await request('note by old uuid', async () => {
    const r = await pool.query(stmt('note_by_key', SQL.noteByKey, [n]));
    expect(r.rows.length === 1 && r.rows[0].body === body, `note ${n} -> ${JSON.stringify(r.rows)}`);
    if (r.rows.length) counts[isUuid(r.rows[0].id) ? 'old_before' : 'old_after']++;
  });
  if (mine.length) {
    const m = pick(mine);
    await request('big orders', async () => {
      const r = await pool.query(stmt('big_orders', SQL.bigOrders, [m[0]]));
      expect(r.rows[0].n <= m[2], `big orders of ${m[0]}: ${r.rows[0].n} > ${m[2]}`);
    });
  }
}
// An account and its first order in one transaction; retried whole (an error aborts it).
async function withTx(name) {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const r = await c.query(stmt('ins_account', SQL.insAccount, [name]));
    await c.query(stmt('ins_order', SQL.insOrder, [r.rows[0].id, 1]));
    await c.query('COMMIT');
    mine.push([r.rows[0].id, name, 1]);
  } catch (e) { await c.query('ROLLBACK'); throw e; } finally { c.release(); }
}

(async () => {
  old = (await pool.query("SELECT id::text, name FROM accounts WHERE name LIKE 'old-%' ORDER BY name LIMIT 300")).rows.map((r) => [r.id, r.name]);
  if (SHOP) {
    shop.orders = (await pool.query("SELECT id::text, amount FROM orders WHERE amount < 0 ORDER BY amount LIMIT 300")).rows.map((r) => [r.id, r.amount]);
    shop.notes = (await pool.query("SELECT id::text, body FROM notes WHERE body LIKE 'old-%' ORDER BY body LIMIT 300")).rows.map((r) => [r.id, r.body]);
  }
  fs.writeFileSync('node.started', '');
  await Promise.all([0, 1, 2, 3].map(worker));
  // Every order this application wrote is found through the key it first got, old or new.
  for (const m of mine) {
    await request('final orders of', async () => {
      const r = await pool.query(stmt('orders_of', SQL.ordersOf, [m[0]]));
      expect(r.rows[0].n === m[2], `final orders of ${m[0]}: ${r.rows[0].n} != ${m[2]}`);
    });
  }
  counts.accounts = mine.length;
  console.log(JSON.stringify(counts));
  await pool.end();
})();
