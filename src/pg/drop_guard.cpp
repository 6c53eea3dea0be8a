// The DROP EXTENSION guard: an event trigger that reads the statement's parse tree, not its text.
#include "own_schema.hpp"

extern "C" {

PG_FUNCTION_INFO_V1(_snowflake_refuse_drop);

/*
 * _snowflake_refuse_drop() RETURNS event_trigger, fired ON ddl_command_start WHEN TAG IN
 * ('DROP EXTENSION') (src/sql/drop_guard.sql). If the statement's parse tree is a DROP EXTENSION
 * whose list of names holds "snowflake" (whatever else it names, IF EXISTS or CASCADE, typed or
 * built by EXECUTE), it calls the extension's _snowflake_refuse_drop_check() in this function's
 * own schema, which raises 55006 while a migration is under way. Any other statement passes
 * untouched, whatever its text says. Locks nothing itself.
 */
Datum _snowflake_refuse_drop(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("_snowflake_refuse_drop() must be called as an event trigger")));
  const EventTriggerData* data = reinterpret_cast<EventTriggerData*>(fcinfo->context);
  if (data->parsetree == nullptr || !IsA(data->parsetree, DropStmt)) PG_RETURN_VOID();
  const DropStmt* stmt = reinterpret_cast<DropStmt*>(data->parsetree);
  if (stmt->removeType != OBJECT_EXTENSION) PG_RETURN_VOID();
  bool names_snowflake = false;
  ListCell* cell;
  foreach (cell, stmt->objects) {
    const Node* name = static_cast<const Node*>(lfirst(cell));
    if (IsA(name, String) && strcmp(strVal(name), "snowflake") == 0) names_snowflake = true;
  }
  if (!names_snowflake) PG_RETURN_VOID();
  // The check, by schema and exact (empty) signature: nothing planted elsewhere is found.
  const Oid check = snowflake::OwnSchemaFunction(fcinfo, "_snowflake_refuse_drop_check", 0, nullptr, false);
  OidFunctionCall0(check);
  PG_RETURN_VOID();
}

}  // extern "C"
