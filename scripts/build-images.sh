#!/usr/bin/env bash
# Build and tag the Asya container images (sidecar, webhook) and the image
# of the book-insights example, from the repository root.
#
# Usage: scripts/build-images.sh [--push] [--kind-load CLUSTER]
#
# Environment:
#   ASYA_IMAGE_REGISTRY  registry and path prefix, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/asya
#                        (default: none, so the images are named asya-sidecar, asya-webhook
#                        and asya-example-book-insights)
#   ASYA_IMAGE_TAG       image tag (default: `git describe --tags --always --dirty`, or "dev")
#   ASYA_PLATFORMS       comma-separated platforms for `docker buildx`, e.g. linux/amd64,linux/arm64
#                        (default: none, so plain `docker build` for the local platform)
#   DOCKER               container CLI to call (default: docker)
#
# --push pushes every image after building. --kind-load loads the images into
# the named kind cluster, for the `local` kustomize overlay.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo_root"

docker_cli="${DOCKER:-docker}"
registry="${ASYA_IMAGE_REGISTRY:-}"
tag="${ASYA_IMAGE_TAG:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
platforms="${ASYA_PLATFORMS:-}"
push=false
kind_cluster=""

while [ "$#" -gt 0 ]; do
  case "$1" in
    --push) push=true; shift ;;
    --kind-load)
      if [ "$#" -lt 2 ]; then
        echo "build-images: missing cluster name after --kind-load, expected --kind-load CLUSTER" >&2
        exit 2
      fi
      kind_cluster="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "build-images: unknown argument '$1', expected --push or --kind-load CLUSTER" >&2; exit 2 ;;
  esac
done

if [ -n "$platforms" ] && [ "$push" = false ] && [[ "$platforms" == *,* ]]; then
  # A multi-platform build cannot be loaded into the local image store.
  echo "build-images: ASYA_PLATFORMS lists several platforms, so --push is required" >&2
  exit 2
fi

# The Deno version is pinned in package-lock.json. The Dockerfiles default
# to the same number, and this passes it explicitly so the two cannot drift.
deno_version="$(node -p "require('./package-lock.json').packages['node_modules/deno'].version")"

image_ref() {
  local name="$1"
  if [ -n "$registry" ]; then
    echo "${registry%/}/${name}:${tag}"
  else
    echo "${name}:${tag}"
  fi
}

build_one() {
  local name="$1" dockerfile="$2" ref
  ref="$(image_ref "$name")"
  echo "build-images: building ${ref} from ${dockerfile} (deno ${deno_version})"
  if [ -n "$platforms" ]; then
    local output="--load"
    if [ "$push" = true ]; then output="--push"; fi
    "$docker_cli" buildx build --platform "$platforms" --build-arg "DENO_VERSION=${deno_version}" \
      -f "$dockerfile" -t "$ref" "$output" .
  else
    "$docker_cli" build --build-arg "DENO_VERSION=${deno_version}" -f "$dockerfile" -t "$ref" .
    if [ "$push" = true ]; then "$docker_cli" push "$ref"; fi
  fi
  if [ -n "$kind_cluster" ]; then
    kind load docker-image "$ref" --name "$kind_cluster"
  fi
}

build_one asya-sidecar sidecar/Dockerfile
build_one asya-webhook webhook/Dockerfile
build_one asya-example-book-insights kustomize/overlays/example/Dockerfile

echo "build-images: done, tag ${tag}"
