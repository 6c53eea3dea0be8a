// The one place PostgreSQL headers enter C++: after the standard headers, inside extern "C".
#pragma once

#include <cstdint>

#include "../core/clock.hpp"
#include "../core/durable_file.hpp"
#include "../core/generator.hpp"
#include "../core/id_lease.hpp"
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
#include "access/xlog_internal.h"
#include "access/xloginsert.h"
#include "access/xlogreader.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}
// clang-format on
