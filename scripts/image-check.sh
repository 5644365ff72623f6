#!/usr/bin/env bash
# Builds the Dockerfile's `worker` and `operator` targets with buildah and runs what they hold
# from the image's root filesystem, as a pod with a read-only root filesystem would: UID
# 65532, everything read-only except an empty /tmp. That is where a missing shared library,
# a wrong entrypoint or a file written outside /tmp shows, before a user pulls the image.
#
# No registry can be reached here, so two things stand in (docs/image.md):
# - the runtime base is made locally: the files of the Debian bookworm packages that
#   distroless `cc-debian12` holds (glibc, libgcc, libstdc++, libgomp, OpenSSL 3, CA
#   certificates, tzdata, netbase), taken from a `debootstrap` root, with a nonroot user
#   65532 and no shell; cached under ~/.cache/optionsflow/image;
# - the builder stage is replaced (`--build-context builder=...`) by the binaries this
#   checkout's tests were built with (`cargo build --bins`, the same crates and features and
#   so the same shared libraries; a second, release build would double CI's time).
# The runtime stage itself, its labels, user, workdir and entrypoints are the Dockerfile's.
#
# Needs root (buildah's storage, mounts), buildah and debootstrap (scripts/test-services.sh
# installs them). Usage: scripts/image-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${XDG_CACHE_HOME:-$HOME/.cache}/optionsflow/image"
base_tar="$cache/base-bookworm.tar"
base_image="localhost/optionsflow-base:bookworm"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What distroless cc-debian12 holds, by Debian package.
packages=(base-files netbase tzdata ca-certificates libc6 libssl3 libgcc-s1 libstdc++6 libgomp1)

work="$(mktemp -d)"
store=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
buildah() { command buildah "${store[@]}" "$@"; }
cleanup() {
  buildah rm --all >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "image check: $*" >&2
  exit 1
}

make_base() {
  echo "image check: making the runtime base from Debian bookworm (once; cached in $cache)"
  local full="$work/full" base="$work/base" list
  debootstrap --variant=minbase --include=netbase,tzdata,ca-certificates,libssl3,libgomp1 \
    bookworm "$full" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || fail "debootstrap failed: $(tail -5 "$work/debootstrap.log")"
  mkdir -p "$base"
  # Merged /usr: /bin, /lib, /lib64 and /sbin are links into /usr, as in the packages.
  for link in bin lib lib64 sbin; do
    if [[ -L "$full/$link" ]]; then
      cp -a "$full/$link" "$base/"
      mkdir -p "$base/$(readlink "$full/$link")"
    fi
  done
  list="$work/files"
  for package in "${packages[@]}"; do
    cat "$full/var/lib/dpkg/info/$package.list" "$full/var/lib/dpkg/info/$package:amd64.list" \
      2>/dev/null || true
  done | grep -v '^/\.$' | sed 's|^/||' | sort -u >"$list"
  [[ -s "$list" ]] || fail "no package file lists in the debootstrap root"
  tar -C "$full" -c --no-recursion -T "$list" | tar -C "$base" -x --keep-directory-symlink
  # Made by ca-certificates' and tzdata's maintainer scripts, not listed by dpkg.
  cp -a "$full/etc/ssl/certs" "$base/etc/ssl/"
  cp -a "$full/etc/localtime" "$full/etc/timezone" "$base/etc/" 2>/dev/null || true
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
    >"$base/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$base/etc/group"
  mkdir -p "$base/tmp" "$base/home/nonroot" "$base/root"
  chmod 1777 "$base/tmp"
  chown 65532:65532 "$base/home/nonroot"
  [[ ! -e "$base/bin/sh" && ! -e "$base/usr/bin/bash" ]] || fail "the base holds a shell"
  mkdir -p "$cache"
  tar -C "$base" -cf "$base_tar.partial" . && mv "$base_tar.partial" "$base_tar"
}

[[ -f "$base_tar" ]] || make_base
container="$(buildah from scratch)"
buildah add --quiet "$container" "$base_tar" / >/dev/null
buildah config --user 65532:65532 "$container"
buildah commit --quiet "$container" "$base_image" >/dev/null

echo "image check: building the worker and operator targets"
cargo build --locked --quiet --bin optionsflow-worker --bin optionsflow-operator
mkdir -p "$work/builder/out"
for bin in optionsflow-worker optionsflow-operator; do
  # Without debug information: the test build's is a few hundred megabytes.
  objcopy --strip-debug "target/debug/$bin" "$work/builder/out/$bin"
done
version="$(sed -n 's/^appVersion: "\(.*\)"/\1/p' charts/optionsflow/Chart.yaml)"
for target in worker operator; do
  buildah bud --quiet --layers=false --target "$target" \
    --build-context "builder=$work/builder" \
    --build-arg "RUNTIME_BASE=$base_image" --build-arg "VERSION=$version" \
    -t "localhost/optionsflow-$target:$version" . >/dev/null
  entrypoint="$(buildah inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "localhost/optionsflow-$target:$version")"
  [[ "$entrypoint" == "[/usr/local/bin/optionsflow-$target]" ]] \
    || fail "$target: entrypoint $entrypoint"
  user="$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "localhost/optionsflow-$target:$version")"
  [[ "$user" == "65532:65532" ]] || fail "$target: user $user, not 65532:65532"
  label="$(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "org.opencontainers.image.version"}}' "localhost/optionsflow-$target:$version")"
  [[ "$label" == "$version" ]] || fail "$target: version label $label, not $version"
done

# The worker image's root filesystem, run as the kubelet would with a read-only root and an
# emptyDir at /tmp.
container="$(buildah from "localhost/optionsflow-worker:$version")"
root="$(buildah mount "$container")"
run() {
  unshare --mount --fork sh -c '
    root="$1"; shift
    mount --bind "$root" "$root" && mount -o remount,bind,ro "$root" \
      && mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" \
      && exec unshare --root="$root" --wd=/tmp --setuid 65532 --setgid 65532 "$@"' \
    sh "$root" "$@"
}
for bin in optionsflow-worker optionsflow-operator; do
  said="$(run "/usr/local/bin/$bin" --version 2>&1)" || fail "$bin --version: $said"
  [[ "$said" == "$bin $version" ]] || fail "$bin --version said: $said"
  echo "image check: $said"
done
said="$(run /usr/local/bin/optionsflow-worker local --once --exit --source sample 2>&1)" \
  || fail "optionsflow-worker local --once --exit failed in the image: $said"
for expected in "SAMPLE DATA" "option_quotes" "Dead letters"; do
  [[ "$said" == *"$expected"* ]] || fail "local's summary lacks '$expected': $said"
done
quotes="$(sed -n 's/^ *option_quotes *\([0-9]*\) written.*/\1/p' <<<"$said")"
[[ "${quotes:-0}" -gt 0 ]] || fail "no option quotes written in the image: $said"
echo "image check: local --once in the image wrote $quotes option quotes"
buildah umount "$container" >/dev/null
echo "image check: passed"
