#!/usr/bin/env bash
# Sets up and builds kiln if needed, then runs it: `tools/run.sh train` trains the default
# config (an MLP on Fashion-MNIST). Any kiln arguments work: tools/run.sh train --help
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$("$root/tools/build.sh")
exec "$root/$build/kiln" "$@"
