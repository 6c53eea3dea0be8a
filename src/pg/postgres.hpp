// The one place PostgreSQL headers enter C++: after the standard headers, inside extern "C".
#pragma once

#include <cstdint>

#include "../core/clock.hpp"
#include "../core/generator.hpp"
#include "../core/layout.hpp"
#include "../core/mark_file.hpp"
#include "../core/policy.hpp"
#include "../core/settings.hpp"

// postgres.h must come first.
// clang-format off
extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}
// clang-format on
