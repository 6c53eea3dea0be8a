// Module start-up: _PG_init, which the postmaster runs while shared_preload_libraries loads.
#include <cstring>

#include "lease/node_id.hpp"
#include "mark/mark.hpp"
#include "settings.hpp"

namespace snowflake {
namespace {

// Both workers start once recovery is over: the keeper writes WAL, and a standby issues no IDs and
// needs no lease (a promoted one claims its own). Restarted a second after a crash.
void RegisterWorker(const char* function_name, const char* name) {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 1;
  strlcpy(worker.bgw_library_name, "snowflake", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, function_name, BGW_MAXLEN);
  strlcpy(worker.bgw_name, name, BGW_MAXLEN);
  strlcpy(worker.bgw_type, name, BGW_MAXLEN);
  RegisterBackgroundWorker(&worker);
}

void LogMachineIdSource() {
  switch (ConfiguredMachineIdSource()) {
    case MachineIdSource::kLease:
      ereport(LOG, (errmsg("snowflake: leasing a machine id from %d to %d from the coordination database",
                           lease_first_id, lease_last_id)));
      break;
    case MachineIdSource::kSetting:
      ereport(LOG, (errmsg("snowflake: issuing IDs with machine id %d", machine_id_setting)));
      break;
    case MachineIdSource::kNone:
      ereport(WARNING, (errmsg("snowflake.machine_id is not set: snowflake_next() will fail until it is"),
                        errhint("Set snowflake.machine_id to an integer from 0 to %d in postgresql.conf and restart.",
                                kMaxMachineId)));
      break;
  }
}

}  // namespace
}  // namespace snowflake

extern "C" {

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void) {
  using namespace snowflake;
  // A PGC_POSTMASTER setting can only be defined at server start; loaded later (CREATE EXTENSION
  // alone), decode and compose work and snowflake_next() explains what is missing.
  if (!process_shared_preload_libraries_in_progress) return;
  // pg_upgrade runs both servers in binary-upgrade mode: they issue no IDs, so there is neither a
  // generator nor a mark to write, and a machine id that is unset or bad there is no one's concern.
  if (!IsBinaryUpgrade) RefuseInvalidMachineId();
  RegisterMarkResourceManager();
  DefineSettings();
  if (IsBinaryUpgrade) {
    ereport(LOG, (errmsg("snowflake: binary-upgrade mode: no IDs are issued and the durable mark is left alone")));
    return;
  }
  RefuseInvalidLeaseSettings();
  LogMachineIdSource();
  if (LeaseMode()) {
    ChooseLeaseIncarnation();
    RegisterWorker("snowflake_lease_worker", "snowflake lease worker");
  }
  RegisterWorker("snowflake_mark_keeper_main", "snowflake mark keeper");
  RequestSharedMemory();
}

}  // extern "C"
