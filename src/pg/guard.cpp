// The collision guard: a trigger that refuses replicated rows made under this server's own machine id.
#include "errors.hpp"
#include "own_schema.hpp"
#include "settings.hpp"
#include "shmem.hpp"

namespace snowflake {
namespace {

constexpr const char* kColumnsHint =
    "Name the ID columns (bigint or snowflake) as arguments of snowflake_guard_replicated().";

// The guarded columns of one trigger, looked up once per statement (the FmgrInfo lives that long,
// and the table's columns cannot change under the statement's lock).
struct GuardColumns {
  Oid trigger_oid;
  bool boundary_known;   // old_keys_below looked up (only when a row would be refused)
  int64 old_keys_below;  // keys below this are a migrated integer key's old values (0: none)
  int count;
  AttrNumber attnums[FLEXIBLE_ARRAY_MEMBER];
};

AttrNumber FindColumn(TupleDesc tupdesc, const char* name) {
  for (int i = 0; i < tupdesc->natts; ++i) {
    const Form_pg_attribute attr = TupleDescAttr(tupdesc, i);
    if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0) return attr->attnum;
  }
  return InvalidAttrNumber;
}

// The extension's type snowflake (bigint's bits): the one in the schema of this trigger function.
Oid SnowflakeType(FunctionCallInfo fcinfo) {
  const Oid nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
  return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("snowflake"), ObjectIdGetDatum(nsp));
}

// The boundary an integer-key migration of the table recorded at its cut-over
// (docs/migration.md, section "Tables keyed by integers"): keys below it are the sequence's old
// keys, small numbers whose bits say nothing of a machine id, never IDs this server made; 0 when
// there is none. Asked of _snowflake_integer_boundary(regclass), the SQL function in this trigger
// function's own schema (found by that schema's OID, nothing on the caller's path; it knows where
// the migration state lives and pins its own search_path), and only for a row that would
// otherwise be refused (rare: no cost for the others), once per statement.
int64 OldKeysBelow(FunctionCallInfo fcinfo, Relation rel) {
  const Oid argtypes[1] = {REGCLASSOID};
  const Oid fn = OwnSchemaFunction(fcinfo, "_snowflake_integer_boundary", 1, argtypes, true);
  if (!OidIsValid(fn)) return 0;
  return DatumGetInt64(OidFunctionCall1(fn, ObjectIdGetDatum(RelationGetRelid(rel))));
}

// Every column named (or "id") must exist and be bigint or snowflake (or a domain over either):
// checked when the trigger first fires in a statement, on any row, so a wrong attachment shows at
// the first row, not the first impostor. A name is echoed in an error only up to the length of a
// column name (the argument can be any length).
GuardColumns* Columns(FunctionCallInfo fcinfo, const TriggerData* trigdata) {
  const Trigger* trigger = trigdata->tg_trigger;
  auto* cached = static_cast<GuardColumns*>(fcinfo->flinfo->fn_extra);
  if (cached != nullptr && cached->trigger_oid == trigger->tgoid) return cached;

  const Relation rel = trigdata->tg_relation;
  const TupleDesc tupdesc = RelationGetDescr(rel);
  const int count = trigger->tgnargs > 0 ? trigger->tgnargs : 1;
  auto* columns = static_cast<GuardColumns*>(
      MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, offsetof(GuardColumns, attnums) + count * sizeof(AttrNumber)));
  columns->trigger_oid = trigger->tgoid;
  columns->count = count;
  for (int i = 0; i < count; ++i) {
    const char* name = trigger->tgnargs > 0 ? trigger->tgargs[i] : "id";
    const AttrNumber attnum = FindColumn(tupdesc, name);
    if (attnum == InvalidAttrNumber) {
      const size_t length = strlen(name);
      if (length >= NAMEDATALEN)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                        errmsg("column \"%.*s...\" of table \"%s\" does not exist", NAMEDATALEN - 1, name,
                               RelationGetRelationName(rel)),
                        errdetail("Argument %d of trigger \"%s\" is %zu bytes long; a column name has at most %d.",
                                  i + 1, trigger->tgname, length, NAMEDATALEN - 1),
                        errhint("%s", kColumnsHint)));
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                      errmsg("column \"%s\" of table \"%s\" does not exist", name, RelationGetRelationName(rel)),
                      errhint("%s", kColumnsHint)));
    }
    const Oid type = TupleDescAttr(tupdesc, attnum - 1)->atttypid;
    const Oid base = getBaseType(type);
    if (base != INT8OID && base != SnowflakeType(fcinfo))
      ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                      errmsg("column \"%s\" of table \"%s\" is of type %s, not bigint or snowflake", name,
                             RelationGetRelationName(rel), format_type_be(type)),
                      errdetail("snowflake_guard_replicated() checks snowflake IDs, which are bigint or snowflake."),
                      errhint("%s", kColumnsHint)));
    columns->attnums[i] = attnum;
  }
  columns->boundary_known = false;
  columns->old_keys_below = 0;
  fcinfo->flinfo->fn_extra = columns;
  return columns;
}

}  // namespace
}  // namespace snowflake

extern "C" {

PG_FUNCTION_INFO_V1(snowflake_guard_replicated);

/*
 * snowflake_guard_replicated() RETURNS trigger: what it refuses, its errors and how it is attached
 * are written once, with its SQL definition (src/sql/guard.sql). Here: it reads only the key columns
 * of each row, and takes the generator's LWLock (shared) only in lease mode, to read the lease.
 */
Datum snowflake_guard_replicated(PG_FUNCTION_ARGS) {
  using namespace snowflake;
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("snowflake_guard_replicated() must be called as a trigger")));
  const TriggerData* trigdata = reinterpret_cast<TriggerData*>(fcinfo->context);
  const TriggerEvent event = trigdata->tg_event;
  const bool is_update = TRIGGER_FIRED_BY_UPDATE(event);
  if (!TRIGGER_FIRED_BEFORE(event) || !TRIGGER_FIRED_FOR_ROW(event) || !(TRIGGER_FIRED_BY_INSERT(event) || is_update))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("snowflake_guard_replicated() must be a BEFORE INSERT OR UPDATE ... FOR EACH ROW trigger")));
  GuardColumns* columns = Columns(fcinfo, trigdata);
  const HeapTuple row = is_update ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
  // Unset, not preloaded, or no lease held: this server issues no IDs, so none can collide with its
  // own. In lease mode an earlier holder's rows of the leased id (at or before the previous holder's
  // end) pass: only IDs after it are this server's to make.
  const bool leased = LeaseMode() && shared_generator != nullptr;
  if (leased) LWLockAcquire(generator_lock, LW_SHARED);
  const IssuingMachineId issuing = IssuingMachineIdLocked();
  if (leased) LWLockRelease(generator_lock);
  const int own = issuing.machine_id;
  const int64 after_millis = issuing.bound.after_millis;
  if (own == kMachineIdUnset) return PointerGetDatum(row);

  const Relation rel = trigdata->tg_relation;
  const TupleDesc tupdesc = RelationGetDescr(rel);
  for (int i = 0; i < columns->count; ++i) {
    const AttrNumber attnum = columns->attnums[i];
    bool isnull = false;
    const int64 id = DatumGetInt64(heap_getattr(row, attnum, tupdesc, &isnull));
    if (isnull || !ValidId(id) || Decode(id).machine_id != own || Decode(id).millis <= after_millis) continue;
    if (is_update) {
      bool old_isnull = false;
      const int64 old_id = DatumGetInt64(heap_getattr(trigdata->tg_trigtuple, attnum, tupdesc, &old_isnull));
      if (!old_isnull && old_id == id) continue;  // the key did not change
    }
    // An old key of a table keyed by integers (below its migration's boundary) is no snowflake ID.
    if (!columns->boundary_known) {
      columns->old_keys_below = OldKeysBelow(fcinfo, rel);
      columns->boundary_known = true;
    }
    if (id < columns->old_keys_below) continue;
    const char* column = NameStr(TupleDescAttr(tupdesc, attnum - 1)->attname);
    ereport(ERROR,
            (errcode(kErrOwnMachineId),
             errmsg("replicated row of table \"%s\" has snowflake ID %lld with this server's own machine id %d",
                    RelationGetRelationName(rel), (long long)id, own),
             errdetail("Column \"%s\" holds an ID made by another server that also uses machine id %d; its IDs and "
                       "this server's can be equal.",
                       column, own),
             issuing.source == MachineIdSource::kLease
                 ? errhint("This server leases machine id %d: check that no server whose IDs meet uses it as "
                           "a static snowflake.machine_id and that every node leases from the same "
                           "coordination database; then check the rows the other server already made.",
                           own)
                 : errhint("Give every server whose IDs meet a different snowflake.machine_id; then check the "
                           "rows the other server already made."),
             errtablecol(rel, attnum)));
  }
  return PointerGetDatum(row);
}

}  // extern "C"
