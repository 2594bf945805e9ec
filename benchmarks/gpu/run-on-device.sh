#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, after benchmarks/gpu/pack.sh here filled .device/. Three chains of
# work run side by side on the one GPU, within a deadline:
#   1. the CIFAR-10 SEP table at SEP.md's reduced scale: the source model once, then four processes that each train
#      victims for a share of the rows (result names sep-a .. sep-d; merged afterwards with `sep-table-merge`);
#   2. a clean and a PGD-AT model with the CLI (`robustness train`), then the attack table (every attack, AutoAttack);
#   3. the PwoA table on the PGD-AT teacher (starts when chain 2's teacher is there).
# Results: $OUT/results.tgz (results/*.json|md and logs/*; refreshed every 30 s, so a run cut short still returns what
# finished) and $OUT/driver.log. Environment: DEVICE [cuda], DEADLINE seconds [540], SCALE full|smoke [full],
# DOTNET (a dotnet to use instead of the packed runtime), ROBUSTNESS_LIBTORCH_DIR (else PyTorch's torch/lib), WORK.
set -uo pipefail
DEVICE=${DEVICE:-cuda}; DEADLINE=${DEADLINE:-540}; SCALE=${SCALE:-full}
OUT=${OUT:-/tmp/robustness-out}; W=${WORK:-/tmp/robustness-gpu}
T0=$(date +%s)
mkdir -p "$OUT" "$W/results" "$W/logs"
log() { echo "[$(date +%T) +$(( $(date +%s) - T0 ))s] $*" | tee -a "$W/logs/driver.log"; }
pack_results() { tar czf "$OUT/results.tgz.tmp" -C "$W" results logs && mv "$OUT/results.tgz.tmp" "$OUT/results.tgz"; cp "$W/logs/driver.log" "$OUT/driver.log"; }

if [ -n "${DOTNET:-}" ]; then DN=$DOTNET; else mkdir -p /tmp/dn && tar xJf .device/dotnet-rt.tar.xz -C /tmp/dn && DN=/tmp/dn/dotnet; export PATH=/tmp/dn:$PATH; fi
if [ -z "${ROBUSTNESS_LIBTORCH_DIR:-}" ]; then
  TL=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__))"); SP=$(dirname "$TL")
  export LD_LIBRARY_PATH=$TL/lib:$(ls -d "$SP"/nvidia/*/lib 2>/dev/null | tr '\n' ':')${LD_LIBRARY_PATH:-}
  export ROBUSTNESS_LIBTORCH_DIR=$TL/lib
fi
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 OMP_NUM_THREADS=2
APP=$PWD/.device/app
bench() { "$DN" "$APP/Robustness.Benchmarks.dll" "$@"; }
cli() { "$DN" "$APP/Robustness.Cli.dll" "$@"; }
log "libtorch from $ROBUSTNESS_LIBTORCH_DIR; device $DEVICE; scale $SCALE; deadline ${DEADLINE}s"
(nvidia-smi; nproc; free -g) > "$W/logs/machine.txt" 2>&1
mkdir -p "$W/cifar" && tar xzf .device/cifar10-jpeg.tar.gz -C "$W/cifar"
log "data: $(find "$W/cifar/train" -name '*.jpg' | wc -l) training and $(find "$W/cifar/test" -name '*.jpg' | wc -l) test images"

if [ "$SCALE" = full ]; then
  SEP=(--per-class 1000 --test 10000 --width 16 --epochs 30 --k 5 --iterations 30 --inner-steps 15 --batch 500)
  TRAIN=(--arch resnet18 --width 16 --epochs 30); ATK=(--images 1000)
  PWOA=(--eval-images 500 --profile fast)
else
  SEP=(--per-class 20 --test 100 --width 4 --epochs 2 --k 2 --iterations 2 --inner-steps 2 --batch 50)
  TRAIN=(--arch small-cnn --width 4 --epochs 1); ATK=(--images 20)
  PWOA=(--eval-images 20 --profile fast --admm-epochs 1 --retrain-epochs 1)
fi
SEPCOMMON=(--device "$DEVICE" --threads 2 --data "$PWD/.device/cifar10-jpeg.tar.gz" --work "$W/sep" --results "$W/results")

# A share of the SEP rows, one after another, in one result file: sep_rows NAME METHOD@EPS ...
sep_rows() { local name=$1; shift; for spec in "$@"; do
  [ -f "$W/stop" ] && return
  bench sep-table "${SEP[@]}" "${SEPCOMMON[@]}" --name "$name" --methods "${spec%@*}" --eps "${spec#*@}" >> "$W/logs/$name.log" 2>&1 \
    || log "$name: ${spec} failed (exit $?)"; done; }

(
  bench sep-table "${SEP[@]}" "${SEPCOMMON[@]}" --name sep-source --methods "" > "$W/logs/sep-source.log" 2>&1 || { log "SEP source failed"; exit 1; }
  log "SEP source model done: $(grep -o 'test accuracy [0-9.]* %' "$W/logs/sep-source.log" | tail -1)"
  sep_rows sep-a clean@8/255 sep@2/255 random@2/255 &
  sep_rows sep-b sep@8/255 random@8/255 sep-fa-vr@2/255 &
  sep_rows sep-c final-checkpoint@8/255 sep-fa@8/255 &
  sep_rows sep-d sep-fa-vr@8/255 final-checkpoint@2/255 sep-fa@2/255 &
  wait; log "SEP chain done"
) &
(
  TRAINCOMMON=(--data "$W/cifar/train" "${TRAIN[@]}" --schedule sep --augment crop-flip --normalization cifar10 --checkpoint-every 0 --device "$DEVICE" --seed 0)
  # A model already there (a rerun on a machine still warm) is kept: the tables resume only against the same weights.
  [ -f "$W/clean.safetensors" ] || cli train "${TRAINCOMMON[@]}" --out "$W/clean.safetensors" > "$W/logs/train-clean.log" 2>&1 &
  clean_pid=$!
  [ -f "$W/pgd-at.safetensors" ] || cli train "${TRAINCOMMON[@]}" --adversarial pgd --eps 8/255 --out "$W/pgd-at.safetensors" > "$W/logs/train-pgd-at.log" 2>&1 \
    || log "PGD-AT training failed"
  log "PGD-AT model: $(ls -la "$W/pgd-at.safetensors" 2>&1)"
  if [ -f "$W/pgd-at.safetensors" ]; then
    bench pwoa-table --teacher "$W/pgd-at.safetensors" --train "$W/cifar/train" --test "$W/cifar/test" "${PWOA[@]}" \
      --sparsities 4x,16x,2x,8x --methods pwoa,magnitude,adversarial --eps 8/255 --device "$DEVICE" --threads 2 \
      --name pwoa-cifar10-gpu --work "$W/pwoa" --results "$W/results" > "$W/logs/pwoa-table.log" 2>&1 \
      --teacher-recipe "robustness train --adversarial pgd --eps 8/255 (PGD-7, step 2/255) ${TRAIN[*]} --schedule sep --augment crop-flip --normalization cifar10 --seed 0 on the CIFAR-10 training subset ($(find "$W/cifar/train" -name '*.jpg' | wc -l) images)" &
  fi
  wait "$clean_pid"; log "clean model: $(ls -la "$W/clean.safetensors" 2>&1)"
  if [ -f "$W/clean.safetensors" ] && [ -f "$W/pgd-at.safetensors" ]; then
    bench attack-table --model "clean=$W/clean.safetensors" --model "pgd-at=$W/pgd-at.safetensors" --data "$W/cifar/test" "${ATK[@]}" \
      --eps 8/255 --device "$DEVICE" --threads 2 --batch 500 --name attack-cifar10-gpu --work "$W/attack" --results "$W/results" > "$W/logs/attack-table.log" 2>&1 \
      || log "attack table failed"
  fi
  wait; log "attack and PwoA chain done"
) &

last_pack=0
while [ -n "$(jobs -r)" ]; do
  now=$(( $(date +%s) - T0 ))
  if [ "$now" -ge "$DEADLINE" ]; then log "deadline: stopping what still runs"; touch "$W/stop"; kill $(jobs -p) 2>/dev/null
    for _ in 1 2 3; do pkill -f 'Robustness\.(Benchmarks|Cli)\.dll'; sleep 1; done; break; fi
  if [ $(( now - last_pack )) -ge 30 ]; then pack_results; last_pack=$now; fi
  sleep 5
done
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv >> "$W/logs/machine.txt" 2>&1
log "finished after $(( $(date +%s) - T0 ))s"
pack_results
