#!/usr/bin/env bash
# Every GPU check of mamba_vod in one run, for a lent GPU machine (see docs/benchmarks.md):
#   OUT=/path/to/results bash tools/analysis/device_check.sh
# PARTS picks what runs (default "tests geo gather streams compare"), e.g. PARTS=streams to rerun only item 4.
# 1. the GEO kernel tests on CUDA (values and gradients vs the reference, all dtypes; the fused
#    gather; fp32 on tensor cores (tf32x3) as accurate as PyTorch's fp32 SDPA);
# 2. the GEO attention benchmark (literal / SDPA fold / Triton; fp16 and fp32);
# 3. the key-cache gathers against GEO with SDPA at every shape of bench_geo_attention.py, fp16 and
#    fp32: the fused Triton gather (key set read by index from cached projections, residual in the
#    epilogue) and the unfused index_select + SDPA, forward (inference) and forward+backward; prints
#    a table of ms, speedups over SDPA (above 1x is faster) and the largest output difference;
# 4. streaming fps of the baseline R-101-DC5 vs MAMBA R-101-DC5 (both levels, instance only)
#    at 600x1000, fp32 and fp16, random weights, after WARMUP (30) untimed frames: the instance
#    memory (75 rows a frame) fills its 2000-row key set in 27, so the timed frames are the
#    steady state of a long stream; and MAMBA with its GEOs on the Triton kernels, fp16.
# 5. every method side by side (the comparison's speed table): the R-50-DC5 ImageNet VID config of
#    the baseline, DFF, FGFA, SELSA, Temporal RoI Align, RDN, MEGA and MAMBA in one interleaved run
#    at 600x1000, fp32, random weights, after WARMUP frames (memories and windows full): latency
#    p50/p95, each over the baseline, and each stream's state size.
# Writes JSON and logs under $OUT; a failing step is recorded and the others still run.
set -uo pipefail
OUT=${OUT:-device_results}
FRAMES=${FRAMES:-50}
WARMUP=${WARMUP:-30}
PARTS=${PARTS:-tests geo gather streams compare}
mkdir -p "$OUT"
status=0

wants() { [[ " $PARTS " == *" $1 "* ]]; }

step() {  # step NAME COMMAND...: runs COMMAND, logs to $OUT/NAME.log, remembers a failure; prints
  local name=$1  # the log's last TAIL_LINES (25) lines
  shift
  echo "== $name: $*"
  if ! "$@" > "$OUT/$name.log" 2>&1; then
    echo "   FAILED (see $OUT/$name.log)"
    status=1
  fi
  tail -n "${TAIL_LINES:-25}" "$OUT/$name.log"
}

python -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" | tee "$OUT/device.txt"
wants tests && step geo_tests python -m pytest -q tests/ops tests/models/layers -p no:cacheprovider
for dtype in float16 float32; do
  wants geo || continue
  step "geo_bench_$dtype" python tools/analysis/bench_geo_attention.py --device cuda --dtype "$dtype" \
    --methods literal sdpa triton --repeats 10 --json "$OUT/geo_bench_$dtype.json"
done
for dtype in float16 float32; do
  wants gather || continue
  # the log ends with both tables (5 shapes x 3 methods, then the gathers vs sdpa): 32 lines
  TAIL_LINES=32 step "gather_bench_$dtype" python tools/analysis/bench_geo_attention.py --device cuda \
    --dtype "$dtype" --methods sdpa gather-torch gather-triton --repeats 10 --json "$OUT/gather_bench_$dtype.json"
done

baseline=configs/faster_rcnn/faster-rcnn_r101-dc5_8xb1-7e_imagenetvid.py
no_weights='model.backbone.init_cfg=None'
if wants compare; then
  methods=(dff/dff fgfa/fgfa selsa/selsa temporal_roi_align/selsa-troialign rdn/rdn mega/mega)
  methods=("${methods[@]/#/configs/}")
  step compare_methods_fp32 python tools/analysis/benchmark.py configs/faster_rcnn/faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py \
    --compare-config "${methods[@]/%/_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py}" \
    configs/mamba/mamba_r50-dc5_8xb1-6e_imagenetvid.py --device cuda --frames "$FRAMES" --warmup "$WARMUP" \
    --size 600 1000 --interleave --memory-at $((WARMUP + FRAMES)) --json "$OUT/compare_methods_fp32.json"
fi
wants streams || exit $status
for precision in fp32 fp16; do
  flag=$([ "$precision" = fp16 ] && echo --fp16)
  for mamba in mamba_r101-dc5_8xb1-6e_imagenetvid mamba-ins_r101-dc5_8xb1-6e_imagenetvid; do
    step "stream_${mamba}_$precision" python tools/analysis/benchmark.py "configs/mamba/$mamba.py" \
      --compare-config "$baseline" --device cuda --frames "$FRAMES" --warmup "$WARMUP" --size 600 1000 $flag \
      --memory-at $((WARMUP + FRAMES)) --cfg-options "$no_weights" --json "$OUT/stream_${mamba}_$precision.json"
  done
done
triton_geo='model.pixel_level.geo.backend=triton model.instance_level.geo.backend=triton'
step stream_mamba_triton-geo_fp16 python tools/analysis/benchmark.py configs/mamba/mamba_r101-dc5_8xb1-6e_imagenetvid.py \
  --device cuda --frames "$FRAMES" --warmup "$WARMUP" --size 600 1000 --fp16 --memory-at $((WARMUP + FRAMES)) \
  --cfg-options "$no_weights" $triton_geo --json "$OUT/stream_mamba_triton-geo_fp16.json"
exit $status
