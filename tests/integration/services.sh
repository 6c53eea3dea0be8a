#!/usr/bin/env bash
# Application-side generators in the extension's ID space: the libraries docs/applications.md
# names as compatible (flake-idgen, @sapphire/snowflake) checked against the server's decoding, and
# the reference lease clients of examples/clients (Node and Python) run as services beside two
# PostgreSQL nodes, all leasing machine ids from one coordination database: services killed and
# restarted (with the same holder, with a new one, with a clock 3 s behind), and no duplicate among
# all the IDs any of them made, each machine id's runs in order.
# Installs what it lacks: Debian's python3-psycopg; pg, flake-idgen and @sapphire/snowflake from npm
# into SF_SERVICES_NODE_DIR (default /var/cache/snowflake/node-services), reused across runs.
# In a matrix run it runs on the first major only: the services speak the lease protocol's SQL,
# which is the same on every major (leases.sh tests each major's lease worker).
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_first_major_only

PY=/usr/bin/python3
if [ -f "$FAKETIME_LIB" ]; then sf_app_deps -- psycopg; else sf_app_deps libfaketime -- psycopg; fi
NODE_DIR=${SF_SERVICES_NODE_DIR:-/var/cache/snowflake/node-services}
sf_npm_install "$NODE_DIR" pg@8.23.1 flake-idgen@1.4.0 @sapphire/snowflake@3.5.5
sf_workdir
# The services run as the postgres OS user, who may not enter the checkout (a clone under /root):
# they load copies of the clients from the work directory.
CLIENTS=$SF_WORK/clients
mkdir -p "$CLIENTS"
cp "$SF_ROOT"/examples/clients/snowflake-lease.js "$SF_ROOT"/examples/clients/snowflake_lease.py "$CLIENTS/"
chmod -R a+rX "$CLIENTS"
export NODE_PATH=$NODE_DIR/node_modules PYTHONPATH=$CLIENTS
duration_ms=1500
sf_init coord "max_connections = 40"
sf_start coord
sf_psql coord -c "CREATE EXTENSION snowflake_coordination"
# One role per kind of holder, each with its own range: PostgreSQL nodes 100-101, Node services
# 512-515, Python services 516-519.
for role in nodes svc_node svc_py; do
  sf_psql coord -c "CREATE ROLE $role LOGIN" -c "
    GRANT EXECUTE ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text),
                              snowflake_lease_renew(integer, uuid, uuid, bigint),
                              snowflake_lease_release(integer, uuid, uuid, bigint) TO $role"
done
sf_psql coord -c "INSERT INTO snowflake_lease_grant VALUES ('nodes', '[100,101]'), ('svc_node', '[512,515]'), ('svc_py', '[516,519]')"

echo "-- libraries in the same ID space"
sf_init p "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 7"
sf_start p
sf_psql p -c "CREATE EXTENSION snowflake"
server_ids=$(sf_psql p -c "SELECT string_agg(snowflake_next()::text, ',') FROM generate_series(1, 1000)")
out=$(node - "$server_ids" <<'JS' 2>&1
const FlakeId = require('flake-idgen');
const { Snowflake } = require('@sapphire/snowflake');
const epoch = Date.UTC(2024, 0, 1);
// flake-idgen: 41/10/12 with a per-millisecond sequence; machine id 600.
const flake = new FlakeId({ epoch, id: 600 });
const ids = [];
for (let i = 0; i < 20000; i++) ids.push(flake.next().readBigUInt64BE(0));
console.log('flake ' + ids.slice(0, 3).join(',') + ' ' + new Set(ids.map(String)).size + ' ' + Date.now());
flake.lastTime = Date.now() - epoch + 1000;          // as if the clock had gone back a second
try { flake.next(); console.log('flake-back issued'); } catch (e) { console.log('flake-back ' + e.message); }
// @sapphire/snowflake: workerId (5 bits) and processId (5 bits) are the machine id's halves.
const sapphire = new Snowflake(epoch);
const m = 601;
const s = [0, 1, 2].map(() => sapphire.generate({ workerId: BigInt(m >> 5), processId: BigInt(m & 31) }));
console.log('sapphire ' + s.join(',') + ' ' + Date.now());
// Its decoding of the server's IDs (machine id 7).
const decoded = process.argv[2].split(',').map((id) => sapphire.deconstruct(id));
console.log('sapphire-decode ' + new Set(decoded.map((d) => `${d.workerId * 32n + d.processId}`)).size + ' ' +
            (decoded[0].workerId * 32n + decoded[0].processId) + ' ' + decoded[0].timestamp);
// Its increment runs across milliseconds and wraps at 4096 without waiting: 4097 IDs in one millisecond.
const t = Date.now();
const burst = Array.from({ length: 4097 }, () => sapphire.generate({ timestamp: t, workerId: 19n, processId: 0n }));
console.log('sapphire-wrap ' + new Set(burst.map(String)).size);
console.log('sapphire-default-process ' + (sapphire.deconstruct(new Snowflake(epoch).generate()).processId));
JS
)
echo "$out" | sed 's/^/   /' | cut -c1-160
read -r _ flake_first flake_distinct flake_at <<<"$(echo "$out" | grep '^flake ')"
sf_check "flake-idgen: 20000 distinct IDs" 20000 "$flake_distinct"
sf_check "flake-idgen: the server decodes its IDs to machine id 600, made within 5 s of the client's clock" "600|600|600|true" \
  "$(sf_psql p -c "SELECT string_agg(snowflake_machine_id(i)::text, '|') || '|' || bool_and(abs(extract(epoch FROM snowflake_timestamp(i)) * 1000 - ${flake_at:-0}) < 5000)::text
                   FROM unnest('{${flake_first:-0}}'::bigint[]) i")"
sf_check_match "flake-idgen refuses a clock that went back" "^flake-back Clock moved backwards" "$(echo "$out" | grep '^flake-back')"
read -r _ sapphire_ids sapphire_at <<<"$(echo "$out" | grep '^sapphire ')"
sf_check "@sapphire/snowflake: the server decodes workerId 18, processId 25 as machine id 601" "601|601|601|true" \
  "$(sf_psql p -c "SELECT string_agg(snowflake_machine_id(i)::text, '|') || '|' || bool_and(abs(extract(epoch FROM snowflake_timestamp(i)) * 1000 - ${sapphire_at:-0}) < 5000)::text
                   FROM unnest('{${sapphire_ids:-0}}'::bigint[]) i")"
sf_check "@sapphire/snowflake decodes the server's IDs: machine id 7, the server's millisecond" \
  "sapphire-decode 1 7 $(sf_psql p -c "SELECT (extract(epoch FROM snowflake_timestamp(${server_ids%%,*})) * 1000)::bigint")" \
  "$(echo "$out" | grep '^sapphire-decode')"
sf_check "@sapphire/snowflake: 4097 IDs in one millisecond give 4096 distinct (its increment wraps without waiting)" \
  "sapphire-wrap 4096" "$(echo "$out" | grep '^sapphire-wrap')"
sf_check "@sapphire/snowflake: processId is 1 unless set (machine id = workerId * 32 + 1)" \
  "sapphire-default-process 1" "$(echo "$out" | grep '^sapphire-default-process')"
sf_stop p

echo "-- two PostgreSQL nodes and four services lease from one coordination database"
for n in n1 n2; do
  sf_init $n "shared_preload_libraries = 'snowflake'" "cluster_name = '$n'" "max_connections = 20" \
    "snowflake.lease_conninfo = 'host=$SF_WORK/coord dbname=postgres user=nodes connect_timeout=2'" \
    "snowflake.lease_machine_ids = '100-101'" "snowflake.lease_duration_ms = $duration_ms"
  sf_start $n
  sf_psql $n -c "CREATE EXTENSION snowflake" -c "CREATE TABLE events (id bigint PRIMARY KEY DEFAULT snowflake_next())" \
    -c "CREATE TABLE writer_control (stop boolean)" -c "
    CREATE PROCEDURE write_loop() LANGUAGE plpgsql AS \$\$
    BEGIN
      LOOP
        EXIT WHEN (SELECT bool_or(stop) FROM writer_control);
        BEGIN
          INSERT INTO events SELECT FROM generate_series(1, 50);
        EXCEPTION WHEN OTHERS THEN NULL;   -- SF030 until the first claim
        END;
        COMMIT;
        PERFORM pg_sleep(0.01);
      END LOOP;
    END \$\$"
done
declare -A writer
for n in n1 n2; do
  sf_psql $n -c "CALL write_loop()" >"$SF_WORK/writer-$n.log" 2>&1 &
  writer[$n]=$!
done

# A service: leases a machine id and makes 20 IDs every 5 ms until SIGTERM (then releases its
# lease). Each batch is one line ending in " ." written by one write(), so that a kill -9 leaves
# no half line that would count; IDs refused (SnowflakeUnavailable) are counted, not written.
mkdir -p "$SF_WORK/ids"
chmod 777 "$SF_WORK/ids"
cat >"$SF_WORK/service.js" <<'JS'
const fs = require('fs');
const { LeasedSnowflake, SnowflakeUnavailable } = require(process.env.CLIENTS + '/snowflake-lease.js');
(async () => {
  fs.writeFileSync(`${process.env.IDS}/../pid-${process.env.NAME}`, `${process.pid}\n`);
  const out = fs.openSync(`${process.env.IDS}/node-${process.env.NAME}-${process.pid}`, 'a');
  const ids = await LeasedSnowflake.start({ connection: { host: process.env.COORD, database: 'postgres', user: 'svc_node' },
    firstId: 512, lastId: 515, durationMs: +process.env.DURATION, holder: process.env.HOLDER });
  console.log(`leased ${ids.machineId} after ${ids.previousEndMs}`);
  let refused = 0;
  const timer = setInterval(() => {
    const batch = [];
    for (let i = 0; i < 20; i++) {
      try { batch.push(ids.next()); } catch (e) { if (!(e instanceof SnowflakeUnavailable)) throw e; refused++; }
    }
    if (batch.length) fs.writeSync(out, batch.join(' ') + ' .\n');
  }, 5);
  process.on('SIGTERM', async () => {
    clearInterval(timer);
    await ids.stop();
    console.log(`stopped at ${ids.lastMs}, ${refused} refused`);
    process.exit(0);
  });
})().catch((e) => { console.log(`failed: ${e.message}`); process.exit(1); });
JS
cat >"$SF_WORK/service.py" <<'PY'
import os, signal, sys, threading
from snowflake_lease import LeasedSnowflake, SnowflakeUnavailable
with open(f"{os.environ['IDS']}/../pid-{os.environ['NAME']}", "w") as f:
    f.write(f"{os.getpid()}\n")
out = os.open(f"{os.environ['IDS']}/py-{os.environ['NAME']}-{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
ids = LeasedSnowflake.start(f"host={os.environ['COORD']} dbname=postgres user=svc_py", 516, 519,
                            duration_ms=int(os.environ["DURATION"]), holder=os.environ["HOLDER"])
print(f"leased {ids.machine_id} after {ids.previous_end_ms}", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
refused = 0
while not stop.wait(0.005):
    batch = []
    for _ in range(20):
        try:
            batch.append(ids.next())
        except SnowflakeUnavailable:
            refused += 1
    if batch:
        os.write(out, (" ".join(map(str, batch)) + " .\n").encode())
ids.stop()
print(f"stopped at {ids.last_ms}, {refused} refused", flush=True)
PY
chmod 644 "$SF_WORK"/service.*
declare -A svc
# start_service NAME KIND HOLDER [env...]: KIND node or py; runs as the postgres OS user, in the background.
start_service() {
  local name=$1 kind=$2 holder=$3 cmd
  shift 3
  rm -f "$SF_WORK/pid-$name"
  if [ "$kind" = node ]; then cmd=(node "$SF_WORK/service.js"); else cmd=("$PY" "$SF_WORK/service.py"); fi
  sf_as_pg env NODE_PATH="$NODE_PATH" PYTHONPATH="$PYTHONPATH" CLIENTS="$CLIENTS" IDS="$SF_WORK/ids" COORD="$SF_WORK/coord" \
    DURATION=$duration_ms NAME="$name" HOLDER="$holder" "$@" "${cmd[@]}" >>"$SF_WORK/svc-$name.log" 2>&1 &
  svc[$name]=$!
  local deadline=$((SECONDS + 10))
  until [ -s "$SF_WORK/pid-$name" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
}
# The pid of the service process itself (it writes it at its start), not of runuser around it.
service_pid() { cat "$SF_WORK/pid-$1" 2>/dev/null || echo none; }
holder() { printf '00000000-0000-4000-8000-%012d' "$1"; }
wait_leased() { # wait_leased NAME COUNT: until the service's log has COUNT "leased" lines
  local deadline=$((SECONDS + 20))
  until [ "$(grep -c '^leased' "$SF_WORK/svc-$1.log" 2>/dev/null)" -ge "$2" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
  grep '^leased' "$SF_WORK/svc-$1.log" | sed -n "$2p"
}
start_service a node "$(holder 1)"
start_service b node "$(holder 2)"
start_service c py "$(holder 3)"
start_service d py "$(holder 4)"
for s in a b c d; do echo "   service $s: $(wait_leased $s 1)"; done
sf_check "the coordination database: 6 held leases, each in its holder's range" "6|0" \
  "$(sf_psql coord -c "SELECT count(*) || '|' || count(*) FILTER (WHERE NOT (holder_role = 'nodes' AND machine_id BETWEEN 100 AND 101
                                                                         OR holder_role = 'svc_node' AND machine_id BETWEEN 512 AND 515
                                                                         OR holder_role = 'svc_py' AND machine_id BETWEEN 516 AND 519))
                   FROM snowflake_lease WHERE released_at IS NULL")"
sleep 1
lease_of() { sed -n "${2:-1}s/^leased \([0-9]*\) after .*/\1/p" <(grep '^leased' "$SF_WORK/svc-$1.log"); }

echo "-- a (Node) and c (Python) killed with -9 and restarted at once with the same holder"
for s in a c; do kill -9 "$(service_pid $s)" 2>/dev/null || true; wait "${svc[$s]}" 2>/dev/null || true; done
for s in a c; do start_service $s "$([ $s = a ] && echo node || echo py)" "$(holder $([ $s = a ] && echo 1 || echo 3))"; done
for s in a c; do
  line=$(wait_leased $s 2)
  sf_check "$s got its id back" "$(lease_of $s 1)" "$(lease_of $s 2)"
  # Its lease's previous end is the killed run's lease end, which the new run waited to pass.
  sf_check_match "$s's new lease starts after the killed run's lease end" "^leased [0-9]+ after [0-9]{11,}$" "$line"
done

echo "-- b (Node) stopped cleanly, restarted with its clock 3 s behind"
kill -TERM "$(service_pid b)" 2>/dev/null || true
wait "${svc[b]}" || true
sf_check_match "b released its lease at its last millisecond" "^stopped at [0-9]+, [0-9]+ refused$" "$(tail -1 "$SF_WORK/svc-b.log")"
sf_check "the coordination database shows b's lease released" "released" \
  "$(sf_psql coord -c "SELECT state FROM snowflake_leases WHERE machine_id = $(lease_of b 1)")"
start_service b node "$(holder 2)" LD_PRELOAD="$FAKETIME_LIB" FAKETIME="-3s" FAKETIME_DONT_FAKE_MONOTONIC=1
wait_leased b 2 >/dev/null
sf_check "b got its id back" "$(lease_of b 1)" "$(lease_of b 2)"

echo "-- d (Python) killed with -9 and replaced by a service with a new holder: another id"
kill -9 "$(service_pid d)" 2>/dev/null || true
wait "${svc[d]}" 2>/dev/null || true
start_service d2 py "$(holder 5)"
wait_leased d2 1 >/dev/null
sf_check_match "d2 leased another id of the Python range" "^51[6-9]$" "$(lease_of d2 1)"
if [ "$(lease_of d2 1)" != "$(lease_of d 1)" ]; then sf_pass "d2's id is not d's (held until reclaim_after)"; else sf_fail "d2 took d's id"; fi
sleep 1.5

for s in a b c d2; do kill -TERM "$(service_pid $s)" 2>/dev/null || true; done
for s in a b c d2; do wait "${svc[$s]}" || true; done
for n in n1 n2; do sf_psql $n -c "INSERT INTO writer_control VALUES (true)"; wait "${writer[$n]}" || true; done
grep -h '^failed' "$SF_WORK"/svc-*.log && sf_fail "a service failed to start" || true

echo "-- all IDs: PostgreSQL nodes' rows and every service run's"
for n in n1 n2; do sf_psql $n -c "COPY (SELECT '$n', id FROM events) TO STDOUT" >"$SF_WORK/ids/pg-$n"; done
out=$("$PY" - "$SF_WORK/ids" <<'PY'
import collections, os, sys
d = sys.argv[1]
runs = {}                                   # run -> list of IDs
for f in sorted(os.listdir(d)):
    with open(os.path.join(d, f)) as fh:
        if f.startswith("pg-"):
            runs[f] = [int(line.split()[1]) for line in fh]
        else:
            runs[f] = [int(x) for line in fh if line.endswith(" .\n") for x in line.split()[:-1]]
ids = [i for r in runs.values() for i in r]
print("total", len(ids), len(set(ids)))
# Per machine id, the runs that issued it, ordered by their first ID: each starts above the last ID
# of the one before (a restart, or a new holder, never reaches back).
by_machine = collections.defaultdict(list)
for run, r in runs.items():
    for m in {i >> 12 & 1023 for i in r}:
        own = [i for i in r if i >> 12 & 1023 == m]
        by_machine[m].append((min(own), max(own), run))
overlaps = 0
for m, rs in sorted(by_machine.items()):
    rs.sort()
    overlaps += sum(1 for a, b in zip(rs, rs[1:]) if b[0] <= a[1])
    print("machine", m, " ".join(f"{run.split('-')[0]}-{run.split('-')[1]}:{len(r)}" for run, r in
                                  ((run, [i for i in runs[run] if i >> 12 & 1023 == m]) for _, _, run in rs)))
print("overlaps", overlaps)
print("machines", " ".join(str(m) for m in sorted(by_machine)))
print("runs-per-service", " ".join(f"{k}:{v}" for k, v in sorted(collections.Counter(
    run.split("-")[1] for run in runs if not run.startswith("pg-")).items())))
PY
)
echo "$out" | sed 's/^/   /'
read -r _ total distinct <<<"$(echo "$out" | grep '^total')"
if [ "${total:-0}" -gt 100000 ] && [ "$total" = "$distinct" ]; then sf_pass "$total IDs from 2 nodes and 7 service runs, no duplicate"
else sf_fail "IDs: $total made, $distinct distinct"; fi
sf_check "per machine id, each run's IDs are above the previous run's" "overlaps 0" "$(echo "$out" | grep '^overlaps')"
sf_check "every service run made IDs: a, b, c twice, d, d2 once" "runs-per-service a:2 b:2 c:2 d:1 d2:1" "$(echo "$out" | grep '^runs-per-service')"
sf_check "machine ids: the nodes' two and the services' five, all leased" \
  "$(sf_psql coord -c "SELECT 'machines ' || string_agg(machine_id::text, ' ' ORDER BY machine_id) FROM snowflake_lease")" \
  "$(echo "$out" | grep '^machines')"
sf_check_match "b, restarted 3 s behind, waited for its clock to pass its old end, and issued" \
  "^stopped at [0-9]+, [0-9]+ refused$" "$(tail -1 "$SF_WORK/svc-b.log")"
sf_check "the clean stops released their leases; the killed d's is still held" \
  "$(lease_of d 1):held" "$(sf_psql coord -c "SELECT string_agg(machine_id || ':' || state, ',') FROM snowflake_leases WHERE holder_role <> 'nodes' AND state <> 'released'")"

echo "-- the page's snippets: a role and range for a kind of service, and the clients' usage"
snippets=$SF_WORK/snippets
mkdir -p "$snippets"
awk -v dir="$snippets" '
  /^## / { section = $0 }
  /^<!-- test: .* -->$/ { name = $3; next }
  /^```/ && !inside { inside = 1
                      if (section == "## Generating IDs in the application") {
                        if (name != "") { file = dir "/" name; print name } else print "UNTESTED block at line " NR }
                      next }
  /^```/ && inside { inside = 0; file = ""; name = ""; next }
  inside && file != "" { print > file }
' "$SF_ROOT/docs/applications.md" >"$snippets/list"
sf_check "every code block of \"Generating IDs in the application\" is run here" "" "$(grep UNTESTED "$snippets/list" || true)"
sf_check "the snippets" "services-coord.sql services-usage.js services-usage.py" "$(tr '\n' ' ' <"$snippets/list" | sed 's/ $//')"
cp "$CLIENTS/snowflake-lease.js" "$snippets/"
chmod -R a+rX "$snippets"
out=$(sf_psql coord -f "$snippets/services-coord.sql" 2>&1) && status=0 || status=$?
sf_check "services-coord.sql runs on the coordination database" 0 "$status"
for s in js py; do
  if [ $s = js ]; then cmd=(node services-usage.js); else cmd=("$PY" services-usage.py); fi
  out=$(cd "$snippets" && sf_as_pg env NODE_PATH="$NODE_PATH" PYTHONPATH="$PYTHONPATH" COORD_HOST="$SF_WORK/coord" \
          SNOWFLAKE_HOLDER="$(holder 2$([ $s = js ] && echo 1 || echo 2))" "${cmd[@]}" 2>&1) && status=0 || status=$?
  sf_check "services-usage.$s runs" 0 "$status"
  read -r m first second <<<"$(echo "$out" | tr -d "n'")"
  sf_check "services-usage.$s: an id of svc_api's range, two IDs of it in order, the lease released" "t|t|released" \
    "$(sf_psql coord -c "SELECT ${m:-0} BETWEEN 512 AND 575 AND (${first:-0}::bigint >> 12) & 1023 = ${m:-0} AND (${second:-0}::bigint >> 12) & 1023 = ${m:-0},
                                ${second:-0} > ${first:-0}, (SELECT state FROM snowflake_leases WHERE machine_id = ${m:-0} AND holder_role = 'svc_api')")"
done

echo "-- a role without rows in snowflake_lease_grant: both clients give up at once"
sf_psql coord -c "CREATE ROLE nogrant LOGIN" -c "GRANT EXECUTE ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text) TO nogrant"
started=$SECONDS
out=$(sf_as_pg env NODE_PATH="$NODE_PATH" node -e "
  require('$CLIENTS/snowflake-lease.js').LeasedSnowflake.start({ connection: { host: '$SF_WORK/coord', database: 'postgres', user: 'nogrant' },
    firstId: 600, lastId: 601, maxWaitMs: 60000 }).then(() => console.log('granted'), (e) => console.log(e.code))" 2>&1)
out="$out $(sf_as_pg env PYTHONPATH="$PYTHONPATH" "$PY" -c "
from snowflake_lease import LeasedSnowflake, SnowflakeUnavailable
try:
    LeasedSnowflake.start('host=$SF_WORK/coord dbname=postgres user=nogrant', 600, 601, max_wait_ms=60000); print('granted')
except SnowflakeUnavailable as e:
    print(e.code)" 2>&1)"
sf_check "Node and Python: refused, within 20 s (not after their 60 s of retries)" "refused refused t" "$out $([ $((SECONDS - started)) -lt 20 ] && echo t || echo f)"

sf_summary
