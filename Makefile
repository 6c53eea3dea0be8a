# PGXS build of snowflake.so, plus the GoogleTest unit tests of src/core (built without PostgreSQL headers).
MODULE_big = snowflake
CORE_SRCS = $(wildcard src/core/*.cpp)
# src/pg is one folder per concern (mark/, lease/): its objects come from every level below it.
PG_SRCS = $(wildcard src/pg/*.cpp src/pg/*/*.cpp)
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)
EXTENSION = snowflake snowflake_coordination
# Released scripts (1.0, 1.1 and the update between them) are kept as they were built; the newest
# version's install script and the update to it are built from src/sql (see "SQL scripts" below).
DATA = sql/snowflake--1.0.sql sql/snowflake--1.1.sql sql/snowflake--1.0--1.1.sql
DATA_built = sql/snowflake--$(EXTVERSION).sql sql/snowflake--1.1--$(EXTVERSION).sql sql/snowflake_coordination--$(COORD_VERSION).sql
REGRESS = $(patsubst sql/%.sql,%,$(filter-out sql/snowflake--% sql/snowflake_coordination--%,$(wildcard sql/*.sql)))
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" snowflake.control)
COORD_VERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" snowflake_coordination.control)

PG_CONFIG ?= pg_config
# -isystem: PostgreSQL's own headers must not trip our -Werror.
# libpq (the lease worker talks to the coordination database): its header from --includedir.
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server) -isystem $(shell $(PG_CONFIG) --includedir)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror
SHLIB_LINK = -lstdc++ -lpq
COMPILE.cxx.bc = $(CLANG) -xc++ -std=c++17 -Wno-ignored-attributes $(BITCODE_CXXFLAGS) $(CPPFLAGS) -flto=thin -emit-llvm -c
# make installcheck: pg_regress starts its own temporary instance with the library preloaded
# (initdb refuses root: run it as the server's OS user, as tests/run-all.sh does).
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=tests/regress.conf
EXTRA_CLEAN = tests/unit/snowflake_unit_tests results regression.diffs regression.out tmp_check

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: every object depends on every header of ours, so a changed
# struct (shared memory is one) never leaves an object compiled against its old layout.
$(OBJS) $(OBJS:.o=.bc): $(wildcard src/core/*.hpp src/pg/*.hpp src/pg/*/*.hpp)

# SQL scripts. A fresh install runs SQL_INSTALL in order (without the lease files, SQL_LEASE). The update from 1.1 (1.0 gets there
# through the released 1.0--1.1) runs its own conversion, src/sql/update/1.1--$(EXTVERSION).sql, then
# every file of SQL_INSTALL except what 1.1 created once and the update keeps as it is (the state
# tables, the type and its operators: plain CREATE, not replayable). Every other file must be
# replayable over 1.1's objects (CREATE OR REPLACE), and anything new that is not goes into a file
# of its own, outside SQL_KEPT_FROM_1_1. sql/update.sql proves both paths end with the same catalog.
SQL_INSTALL = src/sql/preflight.sql src/sql/internal_schema.sql src/sql/migration/state.sql src/sql/lease_state.sql src/sql/generator.sql src/sql/type.sql \
	src/sql/operators.sql src/sql/guard.sql $(addprefix src/sql/migration/,lane.sql columns.sql key.sql code.sql plan.sql replica.sql steps.sql steps_index.sql steps_cutover.sql start.sql backfill.sql cutover.sql abort.sql integer.sql stale.sql) \
	src/sql/lease.sql src/sql/drop_guard.sql src/sql/call_forms.sql src/sql/schema_check.sql
SQL_KEPT_FROM_1_1 = src/sql/migration/state.sql src/sql/lease_state.sql src/sql/type.sql
# The lease objects are not snowflake's from 1.2: SQL_LEASE goes into snowflake_coordination
# (SQL_COORDINATION, on the coordination database only); CREATE EXTENSION snowflake runs the rest.
SQL_LEASE = src/sql/lease_state.sql src/sql/lease.sql
SQL_SNOWFLAKE = $(filter-out $(SQL_LEASE),$(SQL_INSTALL))
# The update checks first (preflight) and creates the schema of the state before its conversion
# moves 1.1's tables there.
SQL_UPDATE_FIRST = src/sql/preflight.sql src/sql/internal_schema.sql
# The lease objects are snowflake_coordination's from 1.2 (SQL_COORDINATION, on the coordination
# database only): the update brings 1.1's to 1.2 (lease.sql), then drops them where they were never
# used and keeps them, for snowflake_coordination to take over, where they were (1.1--1.2-leases.sql).
SQL_UPDATE_1_1 = $(SQL_UPDATE_FIRST) src/sql/update/1.1--$(EXTVERSION).sql \
	$(filter-out $(SQL_UPDATE_FIRST) $(SQL_KEPT_FROM_1_1) $(SQL_LEASE) src/sql/schema_check.sql,$(SQL_INSTALL)) \
	src/sql/lease.sql src/sql/update/1.1--$(EXTVERSION)-leases.sql src/sql/schema_check.sql
SQL_COORDINATION = src/sql/coordination/adopt.sql $(SQL_LEASE) src/sql/coordination/privileges.sql

# $(call assemble_sql,WHAT,HOW TO LOAD IT,FILES): one generated script from its pieces, in order.
define assemble_sql
{ echo "-- snowflake $(1), built by make from src/sql: edit those files, not this one."; \
  printf '%s\n' '\echo Use "$(2)" to load this file. \quit'; \
  for f in $(3); do echo; echo "-- ---- $$f"; cat $$f; done; } > $@
endef
sql/snowflake--$(EXTVERSION).sql: $(SQL_SNOWFLAKE) snowflake.control Makefile
	$(call assemble_sql,$(EXTVERSION),CREATE EXTENSION snowflake,$(SQL_SNOWFLAKE))
sql/snowflake--1.1--$(EXTVERSION).sql: $(SQL_UPDATE_1_1) snowflake.control Makefile
	$(call assemble_sql,1.1 -> $(EXTVERSION),ALTER EXTENSION snowflake UPDATE,$(SQL_UPDATE_1_1))
sql/snowflake_coordination--$(COORD_VERSION).sql: $(SQL_COORDINATION) snowflake_coordination.control Makefile
	$(call assemble_sql,coordination $(COORD_VERSION),CREATE EXTENSION snowflake_coordination,$(SQL_COORDINATION))

# Unit tests: the core alone, compiled without any PostgreSQL include path.
UNIT_SRCS = $(CORE_SRCS) $(wildcard tests/unit/*.cpp)
tests/unit/snowflake_unit_tests: $(UNIT_SRCS) $(wildcard src/core/*.hpp)
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Werror -pthread -o $@ $(UNIT_SRCS) -lgtest_main -lgtest

.PHONY: unittest
unittest: tests/unit/snowflake_unit_tests
	tests/unit/snowflake_unit_tests

# Benchmarks (bench/run.sh; not tests): the core alone under Google Benchmark, without PostgreSQL headers.
bench/build/core_bench: $(CORE_SRCS) bench/core_bench.cpp $(wildcard src/core/*.hpp)
	mkdir -p bench/build
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Werror -pthread -o $@ $(CORE_SRCS) bench/core_bench.cpp -lbenchmark -pthread
