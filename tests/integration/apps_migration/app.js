// A node-postgres application prepared as docs/migration.md says ("Applications through the
// migration"): a pool, named prepared statements, keys read as text and found through
// snowflake_migration_key(), the page's retry; four workers run until the file STOP exists, then
// it checks the orders it wrote and prints what it counted (tests/integration/apps_migration.sh).
const fs = require('fs');
const { Pool } = require('pg');
const pool = new Pool({ max: 4 });

// The page's code: statement names, the retry, the statements.
const { stmt, withRetry: retryOnce, SQL } = require('./migration-node.js');
// Not written as the page says (the key's own type in the result): needs the retry.
SQL.raw = 'SELECT id, name FROM accounts WHERE name = $1';
const withRetry = (work) => retryOnce(work, () => counts.retries++);
const counts = { requests: 0, errors: 0, wrong: 0, retries: 0, old_before: 0, old_after: 0, new_keys: 0 };
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
  fs.writeFileSync('node.started', '');
  await Promise.all([0, 1, 2, 3].map(worker));
  // Every order this application wrote is found through the key it first got, old or new.
  for (const m of mine) {
    await request('final orders of', async () => {
      const r = await pool.query(stmt('orders_of', SQL.ordersOf, [m[0]]));
      expect(r.rows[0].n === m[2], `final orders of ${m[0]}: ${r.rows[0].n} != ${m[2]}`);
    });
  }
  console.log(JSON.stringify(counts));
  await pool.end();
})();
