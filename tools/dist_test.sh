#!/usr/bin/env bash
# Evaluate on NGPUS GPUs of this machine (the video sampler gives each process whole
# videos; several nodes: see dist_run.sh):
#   bash tools/dist_test.sh CONFIG CHECKPOINT NGPUS [test.py args...]
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
exec bash "$(dirname "$0")/dist_run.sh" "$GPUS" test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
