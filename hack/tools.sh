#!/usr/bin/env bash
# Builds the heavy test tools into .tools/bin, once. Each tools/<name>/ is its own Go module (their
# dependency versions clash with ours and with each other) holding a `bins` file of
# "<binary> <package>" lines. A tool is rebuilt only when its go.mod, go.sum or bins change.
# Usage: hack/tools.sh [name...]   (default: every tool)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.tools/bin"
stamps="$root/.tools/stamps"
mkdir -p "$out" "$stamps"

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for d in "$root"/tools/*/; do [ -f "$d/bins" ] && names+=("$(basename "$d")"); done
fi

for name in "${names[@]}"; do
  dir="$root/tools/$name"
  [ -f "$dir/bins" ] || { echo "tools: no tools/$name/bins" >&2; exit 1; }
  stamp=$(cat "$dir/go.mod" "$dir/go.sum" "$dir/bins" | sha256sum | cut -c1-16)
  fresh=1
  [ "$(cat "$stamps/$name" 2>/dev/null)" = "$stamp" ] || fresh=0
  while read -r bin pkg; do
    [ -z "$bin" ] && continue
    [ -x "$out/$bin" ] || fresh=0
  done < "$dir/bins"
  if [ $fresh = 1 ]; then
    continue
  fi
  start=$(date +%s)
  while read -r bin pkg; do
    [ -z "$bin" ] && continue
    echo "tools: building $bin from $pkg (tools/$name)"
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$out/$bin" "$pkg")
  done < "$dir/bins"
  echo "$stamp" > "$stamps/$name"
  echo "tools: $name built in $(( $(date +%s) - start ))s"
done
