// A service's snowflake generator whose machine id is leased from the coordination database that
// PostgreSQL nodes lease theirs from (docs/applications.md, "Generating IDs in the application").
// Node 18+ and node-postgres (npm install pg). No other dependency; copy the file.
//
//   const { LeasedSnowflake } = require('./snowflake-lease');
//   const ids = await LeasedSnowflake.start({ connection: { host: 'coord.internal', database: 'coord', user: 'svc_api' },
//                                             firstId: 512, lastId: 767, holder: process.env.SNOWFLAKE_HOLDER });
//   const id = ids.next();              // BigInt; ids.nextString() for JSON
//   ...
//   await ids.stop();                   // releases the lease at the last millisecond used
//
// The rules it follows, and any client must: issue IDs of the leased machine id only with a
// millisecond in (previous_end_ms, lease_end_ms]; renew when two thirds of the duration are left
// (the end it proposes is its own clock plus the duration); on 'lost' stop at once and claim again;
// when renewals fail, stop at the lease end; on shutdown release with the last millisecond used.
'use strict';
const crypto = require('crypto');
const os = require('os');
const { Pool } = require('pg');

const EPOCH_MS = Date.UTC(2024, 0, 1);        // the extension's epoch: 2024-01-01 00:00:00 UTC
const MAX_SEQUENCE = 4095;                    // 41 bits of milliseconds, 10 of machine id, 12 of sequence

class SnowflakeUnavailable extends Error {
  constructor(message, code) { super(message); this.name = 'SnowflakeUnavailable'; this.code = code; }
}

class LeasedSnowflake {
  // options: connection (node-postgres config, or a connection string), firstId, lastId (the range
  // to lease from), durationMs (default 30000), holder (a uuid that stays the same across restarts
  // of this instance: it gets its id back; default a new one), schema (of extension
  // snowflake_coordination on the coordination database, default
  // 'public'), host (recorded in the lease), maxWaitMs (how long start() waits for a lease).
  static async start(options) {
    const gen = new LeasedSnowflake(options);
    await gen.#claim(options.maxWaitMs ?? 60000);
    await gen.#renew();                       // the end from now on, after any wait in the claim
    gen.#timer = setInterval(() => gen.#renew(), Math.max(1, Math.floor(gen.durationMs / 3)));
    gen.#timer.unref();
    return gen;
  }

  constructor(options) {
    this.firstId = options.firstId;
    this.lastId = options.lastId;
    this.durationMs = options.durationMs ?? 30000;
    this.holder = options.holder ?? crypto.randomUUID();
    this.incarnation = crypto.randomUUID();   // this run
    this.host = options.host ?? os.hostname();
    const schema = options.schema ?? 'public';
    this.fn = (name) => `"${schema.replace(/"/g, '""')}".${name}`;
    const conn = typeof options.connection === 'string' ? { connectionString: options.connection } : options.connection;
    this.pool = new Pool({ ...conn, max: 1, connectionTimeoutMillis: 5000, application_name: 'snowflake lease' });
    this.pool.on('error', () => {});          // a dropped connection is retried at the next renewal
    this.machineId = null;                    // null: no lease, next() throws
    this.previousEndMs = -1;
    this.leaseEndMs = -1;
    this.lastMs = -1;                         // the millisecond of the last ID issued, of any lease
    this.sequence = 0;
    this.lastError = null;
  }

  #timer = null;
  #busy = false;
  #stopped = false;

  static now() { return Date.now() - EPOCH_MS; }

  // The next ID, a BigInt. Synchronous; throws SnowflakeUnavailable when no ID may be issued now
  // (no lease, the lease ended without a renewal, or the clock is not yet past the previous
  // holder's end). A clock that steps back keeps using the last millisecond until its sequence
  // is used up.
  next() {
    if (this.machineId === null) throw new SnowflakeUnavailable(`no machine id leased${this.lastError ? ': ' + this.lastError : ''}`, 'no_lease');
    let ms = Math.max(LeasedSnowflake.now(), this.lastMs);
    let sequence = 0;
    if (ms === this.lastMs) {
      if (this.sequence < MAX_SEQUENCE) {
        sequence = this.sequence + 1;
      } else {                                // 4096 IDs in this millisecond: wait for the next one
        while ((ms = LeasedSnowflake.now()) <= this.lastMs) {
          if (this.lastMs - ms > 1) throw new SnowflakeUnavailable('the clock went back and its last millisecond is used up', 'clock');
        }
      }
    }
    if (ms <= this.previousEndMs) throw new SnowflakeUnavailable(`the clock is not yet past the previous holder's end of machine id ${this.machineId}`, 'previous_end');
    if (ms > this.leaseEndMs) throw new SnowflakeUnavailable(`the lease of machine id ${this.machineId} ended${this.lastError ? ': ' + this.lastError : ''}`, 'lease_end');
    this.lastMs = ms;
    this.sequence = sequence;
    return (BigInt(ms) << 22n) | (BigInt(this.machineId) << 12n) | BigInt(sequence);
  }

  nextString() { return this.next().toString(); }

  async #claim(maxWaitMs) {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      let row;
      try {
        ({ rows: [row] } = await this.pool.query(
          `SELECT status, machine_id, lease_end_ms::text, previous_end_ms::text
             FROM ${this.fn('snowflake_lease_claim')}($1, $2, $3, $4, $5, $6, $7, NULL)`,
          [this.holder, this.incarnation, this.firstId, this.lastId, LeasedSnowflake.now() + this.durationMs,
           this.durationMs, this.host]));
      } catch (e) {
        this.lastError = e.message;
        // No grant for this role (42501), or a duration or end the database refuses (22023):
        // asking again changes nothing.
        if (e.code === '42501' || e.code === '22023') throw new SnowflakeUnavailable(`could not claim a machine id: ${e.message}`, 'refused');
        if (Date.now() > deadline) throw new SnowflakeUnavailable(`could not claim a machine id: ${e.message}`, 'no_lease');
        await sleep(Math.min(1000, this.durationMs / 3));
        continue;
      }
      if (row.status === 'granted') {
        this.previousEndMs = Number(row.previous_end_ms);
        this.leaseEndMs = Number(row.lease_end_ms);
        this.machineId = row.machine_id;
        this.lastError = null;
        // IDs of it only after everything its previous holder may have issued: after a crash of
        // this same holder, up to one duration from now. next() refuses until then.
        while (LeasedSnowflake.now() <= this.previousEndMs && Date.now() < deadline) await sleep(5);
        return;
      }
      if (row.status === 'exhausted') throw new SnowflakeUnavailable(`no free machine id in ${this.firstId}-${this.lastId}`, 'exhausted');
      // 'busy': an earlier run of this holder renewed recently (a crash): ask again after its lease.
      if (Date.now() > deadline) throw new SnowflakeUnavailable(`machine id ${row.machine_id} is still renewed by another run of holder ${this.holder}`, 'busy');
      await sleep(Math.min(this.durationMs, Math.max(0, deadline - Date.now())));
    }
  }

  async #renew() {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      if (this.machineId === null) { await this.#claim(0).catch((e) => { this.lastError = e.message; }); return; }
      const { rows: [row] } = await this.pool.query(
        `SELECT status, lease_end_ms::text FROM ${this.fn('snowflake_lease_renew')}($1, $2, $3, $4)`,
        [this.machineId, this.holder, this.incarnation, LeasedSnowflake.now() + this.durationMs]);
      if (this.#stopped) return;
      if (row.status === 'renewed') {
        this.leaseEndMs = Number(row.lease_end_ms);
        this.lastError = null;
      } else {                                // 'lost': taken over or released; never issue of it again
        this.lastError = `the lease of machine id ${this.machineId} was lost`;
        this.machineId = null;
        await this.#claim(0).catch((e) => { this.lastError = e.message; });
      }
    } catch (e) {
      this.lastError = e.message;             // keep issuing until the lease end
    } finally {
      this.#busy = false;
    }
  }

  // Stops issuing and releases the lease at the last millisecond used, so that whoever takes the
  // id next (this holder after a restart) need not wait for the rest of the lease.
  async stop() {
    this.#stopped = true;
    clearInterval(this.#timer);
    const machineId = this.machineId;
    this.machineId = null;
    try {
      if (machineId !== null) {
        await this.pool.query(`SELECT ${this.fn('snowflake_lease_release')}($1, $2, $3, $4)`,
          [machineId, this.holder, this.incarnation, Math.max(this.lastMs, this.previousEndMs)]);
      }
    } finally {
      await this.pool.end();
    }
  }
}

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

module.exports = { LeasedSnowflake, SnowflakeUnavailable, EPOCH_MS };
