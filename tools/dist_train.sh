#!/usr/bin/env bash
# Train on NGPUS GPUs of this machine (several nodes: see dist_run.sh):
#   bash tools/dist_train.sh CONFIG NGPUS [train.py args...]
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
exec bash "$(dirname "$0")/dist_run.sh" "$GPUS" train.py "$CONFIG" --launcher pytorch "$@"
