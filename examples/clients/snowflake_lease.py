"""A service's snowflake generator whose machine id is leased from the coordination database that
PostgreSQL nodes lease theirs from (docs/applications.md, "Generating IDs in the application").
Python 3.9+ and psycopg 3 (apt-get install python3-psycopg, or pip install psycopg). Copy the file.

    from snowflake_lease import LeasedSnowflake
    ids = LeasedSnowflake.start("host=coord.internal dbname=coord user=svc_worker",
                                first_id=512, last_id=767, holder=os.environ["SNOWFLAKE_HOLDER"])
    new_id = ids.next()          # int; str(new_id) for JSON
    ...
    ids.stop()                   # releases the lease at the last millisecond used

The rules it follows, and any client must: issue IDs of the leased machine id only with a
millisecond in (previous_end_ms, lease_end_ms]; renew when two thirds of the duration are left
(the end it proposes is its own clock plus the duration); on 'lost' stop at once and claim again;
when renewals fail, stop at the lease end; on shutdown release with the last millisecond used.
"""
import socket
import threading
import time
import uuid

import psycopg
from psycopg import sql

EPOCH_MS = 1704067200000  # the extension's epoch: 2024-01-01 00:00:00 UTC
MAX_SEQUENCE = 4095       # 41 bits of milliseconds, 10 of machine id, 12 of sequence


class SnowflakeUnavailable(Exception):
    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def now_ms():
    return time.time_ns() // 1_000_000 - EPOCH_MS


class LeasedSnowflake:
    @classmethod
    def start(cls, conninfo, first_id, last_id, duration_ms=30000, holder=None, schema="public",
              host=None, max_wait_ms=60000):
        """conninfo: libpq connection string of the coordination database; first_id, last_id: the
        range to lease from; holder: a uuid that stays the same across restarts of this instance
        (it gets its id back; default a new one); schema: that of extension snowflake_coordination."""
        gen = cls(conninfo, first_id, last_id, duration_ms, holder, schema, host)
        gen._claim(max_wait_ms)
        gen._renew()                           # the end from now on, after any wait in the claim
        gen._thread = threading.Thread(target=gen._renew_loop, name="snowflake lease", daemon=True)
        gen._thread.start()
        return gen

    def __init__(self, conninfo, first_id, last_id, duration_ms, holder, schema, host):
        self.conninfo = conninfo
        self.first_id, self.last_id, self.duration_ms = first_id, last_id, duration_ms
        self.holder = str(holder or uuid.uuid4())
        self.incarnation = str(uuid.uuid4())   # this run
        self.host = host or socket.gethostname()
        self.schema = sql.Identifier(schema)
        self.machine_id = None                 # None: no lease, next() raises
        self.previous_end_ms = -1
        self.lease_end_ms = -1
        self.last_ms = -1                      # the millisecond of the last ID issued, of any lease
        self.sequence = 0
        self.last_error = None
        self._lock = threading.Lock()          # next() from any thread; the lease changes under it
        self._stopped = threading.Event()
        self._conn = None
        self._thread = None

    def next(self):
        """The next ID, an int. Raises SnowflakeUnavailable when no ID may be issued now (no lease,
        the lease ended without a renewal, the clock not yet past the previous holder's end). A
        clock that steps back keeps using the last millisecond until its sequence is used up."""
        with self._lock:
            if self.machine_id is None:
                raise SnowflakeUnavailable(f"no machine id leased: {self.last_error}", "no_lease")
            ms = max(now_ms(), self.last_ms)
            sequence = 0
            if ms == self.last_ms:
                if self.sequence < MAX_SEQUENCE:
                    sequence = self.sequence + 1
                else:                          # 4096 IDs in this millisecond: wait for the next one
                    while (ms := now_ms()) <= self.last_ms:
                        if self.last_ms - ms > 1:
                            raise SnowflakeUnavailable("the clock went back and its last millisecond is used up", "clock")
            if ms <= self.previous_end_ms:
                raise SnowflakeUnavailable(f"the clock is not yet past the previous holder's end of machine id {self.machine_id}",
                                           "previous_end")
            if ms > self.lease_end_ms:
                raise SnowflakeUnavailable(f"the lease of machine id {self.machine_id} ended: {self.last_error}", "lease_end")
            self.last_ms, self.sequence = ms, sequence
            return ms << 22 | self.machine_id << 12 | sequence

    def _call(self, name, args):
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5,
                                         application_name="snowflake lease")
        try:
            query = sql.SQL("SELECT * FROM {}.{}({})").format(
                self.schema, sql.Identifier(name), sql.SQL(", ").join([sql.Placeholder()] * len(args)))
            return self._conn.execute(query, args).fetchone()
        except psycopg.OperationalError:
            self._conn.close()
            raise

    def _claim(self, max_wait_ms):
        deadline = time.monotonic() + max_wait_ms / 1000
        while True:
            try:
                status, machine_id, lease_end_ms, previous_end_ms, _ = self._call(
                    "snowflake_lease_claim",
                    [uuid.UUID(self.holder), uuid.UUID(self.incarnation), self.first_id, self.last_id,
                     now_ms() + self.duration_ms, self.duration_ms, self.host, None])
            except psycopg.Error as e:
                self.last_error = str(e).strip()
                # No grant for this role (42501), or a duration or end the database refuses (22023):
                # asking again changes nothing.
                if e.sqlstate in ("42501", "22023"):
                    raise SnowflakeUnavailable(f"could not claim a machine id: {self.last_error}", "refused") from e
                if time.monotonic() > deadline:
                    raise SnowflakeUnavailable(f"could not claim a machine id: {self.last_error}", "no_lease") from e
                time.sleep(min(1.0, self.duration_ms / 3000))
                continue
            if status == "granted":
                with self._lock:
                    self.machine_id, self.lease_end_ms, self.previous_end_ms = machine_id, lease_end_ms, previous_end_ms
                    self.last_error = None
                # IDs of it only after everything its previous holder may have issued: after a
                # crash of this same holder, up to one duration from now. next() refuses until then.
                while now_ms() <= previous_end_ms and time.monotonic() < deadline:
                    time.sleep(0.005)
                return
            if status == "exhausted":
                raise SnowflakeUnavailable(f"no free machine id in {self.first_id}-{self.last_id}", "exhausted")
            # 'busy': an earlier run of this holder renewed recently (a crash): ask after its lease.
            if time.monotonic() > deadline:
                raise SnowflakeUnavailable(f"machine id {machine_id} is still renewed by another run of holder {self.holder}", "busy")
            time.sleep(max(0.0, min(self.duration_ms / 1000, deadline - time.monotonic())))

    def _renew_loop(self):
        while not self._stopped.wait(self.duration_ms / 3000):
            self._renew()

    def _renew(self):
        try:
            if self.machine_id is None:
                self._claim(0)
                return
            status, lease_end_ms, _ = self._call(
                "snowflake_lease_renew",
                [self.machine_id, uuid.UUID(self.holder), uuid.UUID(self.incarnation), now_ms() + self.duration_ms])
            with self._lock:
                if self._stopped.is_set():
                    return
                if status == "renewed":
                    self.lease_end_ms, self.last_error = lease_end_ms, None
                else:                          # 'lost': taken over or released; never issue of it again
                    self.last_error = f"the lease of machine id {self.machine_id} was lost"
                    self.machine_id = None
            if status != "renewed":
                self._claim(0)
        except (psycopg.Error, SnowflakeUnavailable) as e:
            self.last_error = str(e).strip()   # keep issuing until the lease end

    def stop(self):
        """Stops issuing and releases the lease at the last millisecond used, so that whoever takes
        the id next (this holder after a restart) need not wait for the rest of the lease."""
        self._stopped.set()
        if self._thread:
            self._thread.join()
        with self._lock:
            machine_id, self.machine_id = self.machine_id, None
        try:
            if machine_id is not None:
                self._call("snowflake_lease_release", [machine_id, uuid.UUID(self.holder), uuid.UUID(self.incarnation),
                                                       max(self.last_ms, self.previous_end_ms)])
        finally:
            if self._conn is not None:
                self._conn.close()
