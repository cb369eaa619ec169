#!/usr/bin/env bash
# Fails when the App Gateway no longer matches the Pulumi program of a stack.
# Usage: drift-check.sh <stack> [project dir]
set -uo pipefail
stack=${1:?usage: drift-check.sh <stack> [project dir]}
cd "${2:-.}" || exit 2

pulumi stack select "$stack" --non-interactive || exit 2
pulumi preview --refresh --expect-no-changes --diff --non-interactive
code=$?
case $code in
  0) echo "drift-check: stack '$stack' matches the gateway" ;;
  7) echo "drift-check: stack '$stack' has DRIFT or undeployed changes (see the diff above)." >&2
     echo "  restore the declared state: pulumi up --refresh --stack $stack" >&2
     echo "  or accept the change: edit the program, then pulumi up" >&2 ;;
  *) echo "drift-check: the check itself failed (exit $code): gateway unreachable, credentials, or program error" >&2 ;;
esac
exit $code
