// Finding the extension's own SQL functions from C: by the schema of the calling function, never on the caller's search_path.
#pragma once

#include "postgres.hpp"

namespace snowflake {

// The function `name` with exactly these argument types in the schema of the function fcinfo
// calls (the extension's schema): nothing another role plants elsewhere can be found. InvalidOid
// when missing_ok and there is none.
inline Oid OwnSchemaFunction(FunctionCallInfo fcinfo, const char* name, int nargs, const Oid* argtypes,
                             bool missing_ok) {
  const Oid nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
  List* qualified = list_make2(makeString(get_namespace_name(nsp)), makeString(pstrdup(name)));
  return LookupFuncName(qualified, nargs, argtypes, missing_ok);
}

}  // namespace snowflake
