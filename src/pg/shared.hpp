// The server-wide generator in shared memory and the settings, as the SQL functions see them.
#pragma once

#include "postgres.hpp"

namespace snowflake {

// One per server, made by the postmaster; plain data (see GeneratorState).
struct SharedGenerator {
  GeneratorState state;
};

constexpr int kMachineIdUnset = -1;

// snowflake.machine_id, kMachineIdUnset until it is set.
extern int machine_id_setting;

// Both null unless the library was loaded by shared_preload_libraries; set in every backend by fork.
extern SharedGenerator* shared_generator;
extern LWLock* generator_lock;

}  // namespace snowflake
