#!/usr/bin/env bash
# META.json is valid PGXN metadata (Meta Spec v1.0.0) and carries snowflake.control's default_version,
# as debian/changelog does, and names the license of LICENSE and debian/copyright (tests/pgxn_meta.py);
# and the checker rejects documents that break the spec or the project's rules.
# No server.
source "$(dirname "$0")/../lib/checks.sh"
SF_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK=$SF_ROOT/tests/pgxn_meta.py

out=$(python3 "$CHECK" "$SF_ROOT" 2>&1) && status=0 || status=$?
sf_check "META.json of the checkout passes (version $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$SF_ROOT/META.json"))" "0:" "$status:$out"

# Each broken copy must be refused, for the stated reason.
tmp=$(mktemp -d /tmp/snowflake-meta.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
copy() {  # a copy of the files the checker reads, in $tmp/t
  rm -rf "$tmp/t" && mkdir -p "$tmp/t/debian"
  cp "$SF_ROOT/META.json" "$SF_ROOT/snowflake.control" "$SF_ROOT/README.md" "$SF_ROOT/LICENSE" "$tmp/t/"
  cp "$SF_ROOT/debian/changelog" "$SF_ROOT/debian/copyright" "$tmp/t/debian/"
}
copy
out=$(python3 "$CHECK" "$tmp/t" 2>&1) && status=0 || status=$?
sf_check "an unchanged copy passes (so each refusal below is the edit's)" "0:" "$status:$out"
refused() {  # refused DESCRIPTION EXPECTED-MESSAGE-REGEX PYTHON-EDIT-OF-meta [SHELL-EDIT-IN-THE-COPY]
  copy
  python3 - "$tmp/t/META.json" "$3" <<'EOF'
import json, sys
meta = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(meta, open(sys.argv[1], "w"))
EOF
  [ -z "${4:-}" ] || (cd "$tmp/t" && eval "$4")
  local out status
  out=$(python3 "$CHECK" "$tmp/t" 2>&1) && status=0 || status=$?
  if [ "$status" != 0 ] && [[ "$out" =~ $2 ]]; then sf_pass "refused: $1"; else
    sf_fail "not refused as expected: $1 (exit $status: $out)"
  fi
}
refused "no license" "required key 'license' is missing" 'del meta["license"]'
refused "a license not in the spec's list" "license 'PostgreSQL License'" 'meta["license"] = "PostgreSQL License"'
refused "version 1.1 (not x.y.z)" "version '1.1' is not a semantic version" 'meta["version"] = "1.1"'
refused "provides.snowflake without file" "provides.snowflake.file is missing" 'del meta["provides"]["snowflake"]["file"]'
refused "provides.snowflake.file that does not exist" "'sql/none.sql' does not exist" 'meta["provides"]["snowflake"]["file"] = "sql/none.sql"'
refused "an unknown top-level key" "unknown key 'homepage'" 'meta["homepage"] = "https://example.org/"'
refused "a prereq version that is no range" "'15' is not a version range" 'meta["prereqs"]["runtime"]["requires"]["PostgreSQL"] = "15"'
refused "an unknown prereq phase" "unknown phase 'install'" 'meta["prereqs"]["install"] = {"requires": {"PostgreSQL": 0}}'
refused "meta-spec 2.0.0" "meta-spec.version '2.0.0' is not 1.0.x" 'meta["meta-spec"]["version"] = "2.0.0"'
refused "default_version moved on without META.json" "META.json version '[0-9.]+' is not default_version '9.9'" \
  'pass' "sed -i \"s/^default_version = .*/default_version = '9.9'/\" snowflake.control"
refused "provides.snowflake.version behind META.json's" "provides.snowflake.version '1.0.0'" \
  'meta["provides"]["snowflake"]["version"] = "1.0.0"'
refused "debian/changelog behind default_version" "debian/changelog's newest version '1.0-1'" \
  'pass' "sed -i '1s/([^)]*)/(1.0-1)/' debian/changelog"
refused "META.json naming another license than LICENSE" "META.json license 'mit' is not the project's 'postgresql'" \
  'meta["license"] = "mit"'
refused "no LICENSE" "LICENSE: No such file" 'pass' "rm LICENSE"
refused "a LICENSE of another license" "LICENSE starts with 'MIT License'" 'pass' "sed -i '1s/.*/MIT License/' LICENSE"
refused "debian/copyright under another license" "debian/copyright licenses Files: \\* under 'unknown'" \
  'pass' "sed -i 's/^License: PostgreSQL$/License: unknown/' debian/copyright"
sf_summary
