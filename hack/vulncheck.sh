#!/usr/bin/env bash
# govulncheck against a local vulnerability database (the online one is unreachable here).
# The database is built once into .tools/vulndb from the OSV records (data/osv) that the
# golang.org/x/vulndb module pinned in tools/govulncheck/go.mod carries, with that module's own
# cmd/indexdb; it is rebuilt when the pin changes. vulngate fails on a called vulnerability in a
# module and warns about the standard library (VULNCHECK_STDLIB=fail to fail on those too);
# hack/vulncheck-accepted.txt lists module vulnerabilities accepted, each with its reason.
# Usage: hack/vulncheck.sh [packages...]   (default ./...)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
db="$root/.tools/vulndb"
"$root/hack/tools.sh" govulncheck
# vulngate is signet's own small filter: built every time (from the build cache), so edits apply.
(cd "$root/tools/govulncheck" && go build -o "$bin/vulngate" ./vulngate)

ver=$(cd "$root/tools/govulncheck" && go list -m -f '{{.Version}}' golang.org/x/vulndb)
if [ "$(cat "$db/.version" 2>/dev/null)" != "$ver" ]; then
  src=$(cd "$root/tools/govulncheck" && go mod download -json golang.org/x/vulndb | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src/data/osv" ] || { echo "vulncheck: golang.org/x/vulndb@$ver has no data/osv in $src" >&2; exit 1; }
  echo "vulncheck: building the vulnerability database from golang.org/x/vulndb@$ver"
  rm -rf "$db.tmp"
  "$bin/vulndb-index" -vulns "$src/data/osv" -out "$db.tmp"
  echo "$ver" > "$db.tmp/.version"
  rm -rf "$db"
  mv "$db.tmp" "$db"
fi

accept=()
while read -r id why; do
  [[ -z "$id" || "$id" == \#* ]] && continue
  accept+=(-accept "$id=$why")
done < "$root/hack/vulncheck-accepted.txt"

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
cd "$root"
"$bin/govulncheck" -db "file://$db" -format json "${pkgs[@]}" | "$bin/vulngate" -stdlib "${VULNCHECK_STDLIB:-warn}" "${accept[@]}"
