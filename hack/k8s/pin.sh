#!/usr/bin/env bash
# Re-pin the Go modules that `sextant cluster build` compiles, then commit go.mod and go.sum.
#
#   hack/k8s/pin.sh kubernetes v1.37.2   # k8s.io/kubernetes plus its staging modules
#   hack/k8s/pin.sh etcd v3.5.35         # go.etcd.io/etcd/server/v3 plus its sibling modules
#
# Both upstream go.mods replace sibling modules with local paths, which `go install
# pkg@version` refuses; these consumer modules replace them with the published tags
# instead. The list is read from the release's own go.mod, never typed by hand.
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

what=${1:?usage: pin.sh kubernetes|etcd VERSION}
version=${2:?usage: pin.sh kubernetes|etcd VERSION}

case $what in
  kubernetes) module=k8s.io/kubernetes
              # staging module k8s.io/api at v1.37.2 is tagged v0.37.2
              staging_version=v0${version#v1} ;;
  etcd)       module=go.etcd.io/etcd/server/v3
              staging_version=$version ;;
  *) echo "pin.sh: unknown target $what" >&2; exit 2 ;;
esac

upstream_gomod=$(go mod download -json "$module@$version" | jq -r .GoMod)
# Modules the release requires and replaces with a path inside its own repository.
mapfile -t replaced < <(go mod edit -json "$upstream_gomod" | jq -r '
  ([.Require[].Path]) as $required
  | .Replace[] | select(.New.Version == null and (.New.Path | startswith(".")))
  | select(.Old.Path as $p | $required | index($p)) | .Old.Path')

cd "$what"
for old in $(go mod edit -json | jq -r '.Replace // [] | .[].Old.Path'); do go mod edit -dropreplace="$old"; done
go mod edit -require="$module@$version"
for path in "${replaced[@]}"; do
  tag=$staging_version
  # etcd's client/v2 module is tagged v2.305.N for etcd v3.5.N
  [ "$path" = go.etcd.io/etcd/client/v2 ] && tag=v2.305.${version##*.}
  go mod edit -replace="$path=$path@$tag"
done
# `go mod edit` writes one replace line each; group them into one block to read easily.
awk '/^replace /{sub(/^replace /, "\t"); block = block $0 "\n"; next} {print}
     END {if (block != "") printf "\nreplace (\n%s)\n", block}' go.mod | cat -s > go.mod.new
mv go.mod.new go.mod
go mod tidy
echo "pinned $module@$version with ${#replaced[@]} replaced modules" >&2
