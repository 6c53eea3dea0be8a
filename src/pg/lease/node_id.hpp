// This server's identity at the coordination database: the node (kept in the data directory) and the run.
#pragma once

#include "../postgres.hpp"

namespace snowflake {

constexpr int kUuidLength = 36;  // the text form, without its terminating zero

// This run of the server: chosen by the postmaster at start (ChooseLeaseIncarnation, from _PG_init)
// so that it survives crash reinitialisation, like the leases the run holds, and the worker's
// restarts keep claiming as the same run.
extern char lease_incarnation[kUuidLength + 1];
void ChooseLeaseIncarnation();

// The node identity: made at the first start and kept in $PGDATA/pg_snowflake/node_id, so a
// restarted server claims its own machine id back. A copy of the data directory carries it too;
// the coordination database tells the two apart (Claim) and the copy then takes a new one.
void LoadNodeId(char* id);

// A new node identity in id, written durably; an ERROR (which ends the worker) if it cannot be.
void NewNodeId(char* id);

}  // namespace snowflake
