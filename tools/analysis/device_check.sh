#!/usr/bin/env bash
# Every GPU check of mamba_vod in one run, for a lent GPU machine (see docs/benchmarks.md):
#   OUT=/path/to/results bash tools/analysis/device_check.sh
# 1. the GEO kernel tests on CUDA (values and gradients vs the reference, all dtypes);
# 2. the GEO attention benchmark (literal / SDPA fold / Triton; fp16 and fp32);
# 3. streaming fps of the baseline R-101-DC5 vs MAMBA R-101-DC5 (both levels, instance only)
#    at 600x1000, fp32 and fp16, random weights.
# Writes JSON and logs under $OUT; a failing step is recorded and the others still run.
set -uo pipefail
OUT=${OUT:-device_results}
FRAMES=${FRAMES:-50}
mkdir -p "$OUT"
status=0

step() {  # step NAME COMMAND...: runs COMMAND, logs to $OUT/NAME.log, remembers a failure
  local name=$1
  shift
  echo "== $name: $*"
  if ! "$@" > "$OUT/$name.log" 2>&1; then
    echo "   FAILED (see $OUT/$name.log)"
    status=1
  fi
  tail -n 25 "$OUT/$name.log"
}

python -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" | tee "$OUT/device.txt"
step geo_tests python -m pytest -q tests/ops tests/models/layers -p no:cacheprovider
for dtype in float16 float32; do
  step "geo_bench_$dtype" python tools/analysis/bench_geo_attention.py --device cuda --dtype "$dtype" \
    --repeats 10 --json "$OUT/geo_bench_$dtype.json"
done

baseline=configs/faster_rcnn/faster-rcnn_r101-dc5_8xb1-7e_imagenetvid.py
no_weights='model.backbone.init_cfg=None'
for precision in fp32 fp16; do
  flag=$([ "$precision" = fp16 ] && echo --fp16)
  for mamba in mamba_r101-dc5_8xb1-6e_imagenetvid mamba-ins_r101-dc5_8xb1-6e_imagenetvid; do
    step "stream_${mamba}_$precision" python tools/analysis/benchmark.py "configs/mamba/$mamba.py" \
      --compare-config "$baseline" --device cuda --frames "$FRAMES" --warmup 10 --size 600 1000 $flag \
      --memory-at 100 --cfg-options "$no_weights" --json "$OUT/stream_${mamba}_$precision.json"
  done
done
exit $status
