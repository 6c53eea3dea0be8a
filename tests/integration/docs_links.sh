#!/usr/bin/env bash
# Every docs page and section an error hint (or a comment) in src/ names exists, and README's and the
# docs pages' relative links resolve, anchors included (tests/docs_links.py); and the checker refuses
# a copy with a heading renamed, a page missing or a link broken. No server.
source "$(dirname "$0")/../lib/checks.sh"
SF_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK=$SF_ROOT/tests/docs_links.py

out=$(python3 "$CHECK" "$SF_ROOT" 2>&1) && status=0 || status=$?
sf_check "the checkout's references resolve" "0" "$status"
[ "$status" = 0 ] || echo "$out"
sf_check_match "... the code names docs sections, README and docs/ have relative links" \
  "sections named by the code: [1-9][0-9]*; relative links: [1-9][0-9]+$" "$out"

# Copies: docs, README and src copied (they are edited), the rest linked.
tmp=$(mktemp -d /tmp/snowflake-docs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
copy() {
  rm -rf "$tmp/t" && mkdir -p "$tmp/t"
  cp -r "$SF_ROOT/README.md" "$SF_ROOT/docs" "$SF_ROOT/src" "$tmp/t/"
  local f
  for f in "$SF_ROOT"/*; do [ -e "$tmp/t/$(basename "$f")" ] || ln -s "$f" "$tmp/t/"; done
  # A hint of our own, so that a section named by the code is checked even if none were.
  printf '%s\n' 'errhint("See docs/durability.md, section \"The durable mark file\".");' >"$tmp/t/src/probe.cpp"
}
copy
out=$(python3 "$CHECK" "$tmp/t" 2>&1) && status=0 || status=$?
sf_check "an unchanged copy (with a probe hint) passes" "0" "$status"
sf_check_match "... and counts the probe's section" "sections named by the code: [1-9]" "$out"

refused() {  # refused DESCRIPTION EXPECTED-MESSAGE-REGEX SHELL-EDIT-IN-THE-COPY
  copy
  (cd "$tmp/t" && eval "$3")
  local out status
  out=$(python3 "$CHECK" "$tmp/t" 2>&1) && status=0 || status=$?
  if [ "$status" != 0 ] && [[ "$out" =~ $2 ]]; then sf_pass "refused: $1"; else
    sf_fail "not refused as expected: $1 (exit $status: $out)"
  fi
}
refused "a section a hint names, renamed" 'src/probe.cpp:1: docs/durability.md has no section "The durable mark file"' \
  "sed -i 's/^## The durable mark file$/## The mark file/' docs/durability.md"
refused "a page a hint names, missing" "docs/durability.md does not exist" "rm docs/durability.md"
refused "a hint that sends the reader to README" 'src/probe.cpp:2: a string names README' \
  "printf '%s\\n' 'errhint(\"See \\\"Recovering\\\" in the snowflake README.\");' >>src/probe.cpp"
refused "a heading README links to, renamed" "README.md:[0-9]+: link to docs/many-nodes.md#the-collision-guard: .* has no heading" \
  "sed -i 's/^## The collision guard$/## The guard/' docs/many-nodes.md"
refused "a docs page README links to, missing" "README.md:[0-9]+: link to docs/security.md: docs/security.md does not exist" \
  "rm docs/security.md"
refused "a link from a docs page to a file outside docs/, broken" "docs/benchmarks.md:[0-9]+: link to ../bench/guard.md: ../bench/guard.md does not exist" \
  "rm bench && mkdir bench"
# Each code reference that names a section, renamed in a copy, must be refused (the real hints).
while IFS='|' read -r page section; do
  [ -n "$page" ] || continue
  refused "docs/$page, section \"$section\" renamed" "has no section \"$section\"" \
    "python3 -c 'import sys; p, h = sys.argv[1:]; s = open(p).read().replace(\"# \" + h + \"\\n\", \"# renamed \" + h + \"\\n\"); open(p, \"w\").write(s)' docs/$page '$section'"
done < <(grep -rhoE --include='*.cpp' --include='*.hpp' --include='*.h' --include='*.c' --include='*.sql' 'docs/[a-z-]+\.md, section \\?"[^"\\]+' "$SF_ROOT/src" | sed -E 's|docs/([a-z-]+\.md), section \\?"|\1\||' | sort -u)
sf_summary
