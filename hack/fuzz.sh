#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 30s), one after another: `go test
# -fuzz` takes one target at a time. New inputs that fail are written to the package's
# testdata/fuzz/<FuzzName>/, where plain `go test` (and so `make test`) replays them with the seeds.
# Usage: hack/fuzz.sh [FuzzName...]   (default: every target)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fuzztime=${FUZZTIME:-30s}
want=" $* "
ran=0
while IFS=: read -r file target; do
  [ "$#" -eq 0 ] || [[ "$want" == *" $target "* ]] || continue
  pkg=./$(dirname "$file")
  echo "fuzz: $target in $pkg for $fuzztime"
  go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  ran=$((ran + 1))
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -oE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' | sed -E 's/\(f \*testing\.F\)$//; s/:func /:/' | sort)
echo "fuzz: $ran targets, $fuzztime each"
