#!/usr/bin/env bash
# Run a tool of this folder in NGPUS processes of this machine with torchrun (what
# dist_train.sh and dist_test.sh call):
#   bash tools/dist_run.sh NGPUS SCRIPT [SCRIPT args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on each node. PYTHON picks the
# interpreter (default: python on the PATH).
set -euo pipefail
GPUS=$1
SCRIPT=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
DIR=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "${PYTHON:-python}" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
  --master_addr="$MASTER_ADDR" --nproc_per_node="$GPUS" --master_port="$PORT" "$DIR/$SCRIPT" "$@"
