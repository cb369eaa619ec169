#!/usr/bin/env bash
# Locate or build the Pulumi CLI (v3.248.0) and the plugins a Node program needs.
#
# The machines reach package registries only (get.pulumi.com is unreachable), so the CLI is
# built from the Go module proxy with the modules in tools/pulumi-cli/:
#   .tools/pulumi/bin/pulumi                         github.com/pulumi/pulumi/pkg/v3 v3.248.0
#   .tools/pulumi/bin/pulumi-language-nodejs         Node language host, from sdk/v3 v3.68.0
#                                                    (see tools/pulumi-cli/langhost/go.mod)
#   .tools/pulumi/bin/pulumi-resource-pulumi-nodejs  dynamic-provider shim, copied from
#                                                    node_modules/@pulumi/pulumi
#
# Usage:
#   scripts/pulumi-cli.sh [--print-path]   locate or build; stdout gets one line, the bin dir
#   scripts/pulumi-cli.sh --check          build nothing; print the bin dir and exit 0 if usable,
#                                          exit 1 otherwise
#   scripts/pulumi-cli.sh --force          rebuild ours even when it is up to date
#   scripts/pulumi-cli.sh --no-system      ignore a pulumi already on PATH
#
#   export PATH="$(scripts/pulumi-cli.sh --print-path):$PATH"
#
# Progress goes to stderr; stdout is exactly the bin directory. A pulumi on PATH is used when
# it reports >= 3.248 and pulumi-language-nodejs and pulumi-resource-pulumi-nodejs sit next to
# it or on PATH. Our own build is redone only when tools/pulumi-cli/*go.{mod,sum}, the Go
# version or the build flags change, or a binary is missing or reports another version.
# The first build takes about 4 minutes on 2 cores (module download included) and ~1.7 GiB RSS.
#
# Environment:
#   PULUMI_CLI_NO_SYSTEM=1   same as --no-system
#   PULUMI_CLI_PREFIX=DIR    install prefix instead of <repo>/.tools/pulumi (bin/ below it)
#   GOMODCACHE, GOCACHE, GOPROXY, ...  the usual Go settings; GOWORK is forced off.
set -euo pipefail

readonly PULUMI_VERSION="v3.248.0"   # must match tools/pulumi-cli/go.mod
readonly LANGHOST_SDK_VERSION="v3.68.0" # must match tools/pulumi-cli/langhost/go.mod
readonly MIN_SYSTEM_VERSION="3.248.0"
readonly CLI_PKG="github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
readonly LANGHOST_PKG="github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
readonly VERSION_VAR="github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
readonly SHIM="pulumi-resource-pulumi-nodejs"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mod_dir="$repo/tools/pulumi-cli"
langhost_dir="$mod_dir/langhost"
prefix="${PULUMI_CLI_PREFIX:-$repo/.tools/pulumi}"
bin_dir="$prefix/bin"
stamp_file="$prefix/.build-stamp"

mode=ensure
force=0
no_system="${PULUMI_CLI_NO_SYSTEM:-0}"

log() { printf 'pulumi-cli: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

while (($#)); do
  case "$1" in
  --print-path) mode=ensure ;;
  --check) mode=check ;;
  --force) force=1 ;;
  --no-system) no_system=1 ;;
  -h | --help)
    usage
    exit 0
    ;;
  *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

# Keep the CLI from phoning home while we ask it for its version.
export PULUMI_SKIP_UPDATE_CHECK=true

# "v3.248.0" (or "3.248.0-dev.0") -> "3.248.0"; empty if the binary fails.
binary_version() {
  local v
  v="$(timeout 60 "$1" version 2>/dev/null | tail -n 1)" || return 0
  v="${v#v}"
  printf '%s' "${v%%[-+]*}"
}

version_at_least() { # $1 >= $2 ?
  [[ -n "$1" ]] && [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" == "$2" ]]
}

# An executable called $1 in directory $2, or else on PATH.
find_next_to_or_on_path() {
  if [[ -x "$2/$1" ]]; then
    printf '%s' "$2/$1"
  else
    command -v "$1" 2>/dev/null || true
  fi
}

# 1. A pulumi already on PATH (not ours) that is new enough and has the Node plugins.
system_bin_dir() {
  local p dir v
  p="$(command -v pulumi 2>/dev/null)" || return 1
  dir="$(cd "$(dirname "$p")" && pwd -P)"
  if [[ -d "$bin_dir" && "$dir" == "$(cd "$bin_dir" && pwd -P)" ]]; then
    return 1 # ours: checked against the stamp below instead
  fi
  v="$(binary_version "$p")"
  if ! version_at_least "$v" "$MIN_SYSTEM_VERSION"; then
    log "ignoring $p: version '${v:-unknown}' < $MIN_SYSTEM_VERSION"
    return 1
  fi
  local missing=()
  [[ -n "$(find_next_to_or_on_path pulumi-language-nodejs "$dir")" ]] || missing+=(pulumi-language-nodejs)
  [[ -n "$(find_next_to_or_on_path "$SHIM" "$dir")" ]] || missing+=("$SHIM")
  if ((${#missing[@]})); then
    log "ignoring $p (v$v): no ${missing[*]} next to it or on PATH"
    return 1
  fi
  log "using $p (v$v)"
  printf '%s' "$dir"
}

go_env_fingerprint() { go version 2>/dev/null || echo "no go"; }

build_flags() { printf '%s' "CGO_ENABLED=0 -trimpath -mod=readonly -ldflags=-s -w -X $VERSION_VAR=<version>"; }

desired_stamp() {
  {
    echo "pulumi $PULUMI_VERSION langhost $LANGHOST_SDK_VERSION"
    build_flags
    echo
    go_env_fingerprint
    cat "$mod_dir/go.mod" "$mod_dir/go.sum" "$langhost_dir/go.mod" "$langhost_dir/go.sum"
  } | sha256sum | cut -d' ' -f1
}

# Where to copy the dynamic-provider shim from: the project's @pulumi/pulumi, if installed.
shim_source() {
  local s="$repo/node_modules/@pulumi/pulumi/$SHIM"
  [[ -f "$s" ]] && printf '%s' "$s"
}

install_shim() {
  local src dst="$bin_dir/$SHIM"
  src="$(shim_source || true)"
  if [[ -n "$src" ]]; then
    if ! cmp -s "$src" "$dst" 2>/dev/null; then
      log "copying $SHIM from ${src#"$repo"/}"
      cp "$src" "$dst.tmp"
      chmod 755 "$dst.tmp"
      mv -f "$dst.tmp" "$dst"
    fi
  elif [[ ! -x "$dst" ]]; then
    # node_modules not installed yet: an equivalent shim. It resolves @pulumi/pulumi from the
    # working directory (the Pulumi program's), as the packaged one does.
    log "node_modules/@pulumi/pulumi not found: writing a stand-in $SHIM"
    cat >"$dst.tmp" <<'EOF'
#!/bin/sh
# Stand-in for the pulumi-resource-pulumi-nodejs shim of the @pulumi/pulumi npm package,
# written by scripts/pulumi-cli.sh: runs the dynamic provider of the @pulumi/pulumi that the
# program in the current directory uses.
script=$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))") || exit 1
exec node "$script" "$@"
EOF
    chmod 755 "$dst.tmp"
    mv -f "$dst.tmp" "$dst"
  fi
}

# Is our build complete and current? ($1 = 1 also requires the stamp to match.)
ours_ok() {
  [[ -x "$bin_dir/pulumi" && -x "$bin_dir/pulumi-language-nodejs" && -x "$bin_dir/$SHIM" ]] || return 1
  [[ "$(binary_version "$bin_dir/pulumi")" == "${PULUMI_VERSION#v}" ]] || return 1
  if [[ "${1:-1}" == 1 ]]; then
    [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$(desired_stamp)" ]] || return 1
  fi
}

go_build() { # $1 module dir, $2 package, $3 output, $4 version for the -X flag
  local start=$SECONDS
  log "go build $2 (in ${1#"$repo"/}) -> ${3#"$repo"/}"
  # Go lists every module it downloads (hundreds): keep that in a log, shown only on failure.
  local go_log="$3.build.log"
  if ! (
    cd "$1"
    GOWORK=off CGO_ENABLED=0 go build -mod=readonly -trimpath \
      -ldflags "-s -w -X $VERSION_VAR=$4" -o "$3.tmp" "$2"
  ) >"$go_log" 2>&1; then
    tail -n 40 "$go_log" >&2
    die "go build of $2 failed (full output: ${go_log#"$repo"/})"
  fi
  rm -f "$go_log"
  mv -f "$3.tmp" "$3"
  log "built ${3##*/} in $((SECONDS - start))s"
}

build_ours() {
  command -v go >/dev/null 2>&1 || die "go is not installed; it is needed to build the Pulumi CLI"
  mkdir -p "$bin_dir"
  rm -f "$stamp_file"
  log "building Pulumi CLI $PULUMI_VERSION from the Go module proxy (first time: ~4 min on 2 cores)"
  go_build "$mod_dir" "$CLI_PKG" "$bin_dir/pulumi" "$PULUMI_VERSION"
  go_build "$langhost_dir" "$LANGHOST_PKG" "$bin_dir/pulumi-language-nodejs" "$LANGHOST_SDK_VERSION"
  install_shim
  local v
  v="$(binary_version "$bin_dir/pulumi")"
  [[ "$v" == "${PULUMI_VERSION#v}" ]] || die "built pulumi reports '${v:-nothing}', expected $PULUMI_VERSION"
  desired_stamp >"$stamp_file"
}

main() {
  local dir
  if [[ "$no_system" != 1 && "$force" != 1 ]] && dir="$(system_bin_dir)"; then
    printf '%s\n' "$dir"
    return 0
  fi

  if [[ "$mode" == check ]]; then
    # No building, and no go needed: binaries present and reporting the right version.
    if ours_ok 0; then
      printf '%s\n' "$bin_dir"
      return 0
    fi
    log "no usable Pulumi CLI (run scripts/pulumi-cli.sh to build it)"
    return 1
  fi

  mkdir -p "$prefix"
  # Serialise concurrent callers (parallel test runs) on one build.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$prefix/.lock"
    flock 9
  fi

  if [[ "$force" != 1 ]] && ours_ok 1; then
    install_shim # refresh the copy if node_modules changed since
    log "up to date: $bin_dir"
  else
    build_ours
  fi
  printf '%s\n' "$bin_dir"
}

main
