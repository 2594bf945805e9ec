#!/usr/bin/env bash
# Fault campaign of the batch tool (issue 12, part 4). On a folder of small photos of mixed sizes plus the bad inputs a
# real folder holds, it checks:
#   1. kill -9 at KILLS random moments of one `protect --train-epochs` run (while it trains its source model, crafts,
#      writes files or appends to the manifest), resuming after each: the final output must equal an uninterrupted
#      run's byte for byte, with exactly one manifest record per input, no temporary file left, and verify passing;
#   2. the bad inputs: each one a per-file error naming its reason (or protected, for the valid odd ones), the rest done;
#   3. two runs of the same shard at once: the second refuses (lock file) and the first completes;
#   4. a read-only output folder: a clear error, exit code 1, nothing written;
#   5. a full disk (a 1 MiB tmpfs) part way: a clear error, no half-written file; a rerun with room completes it.
# Prints one line per check and the counts for README's reliability section; exits 1 on the first failure.
# Usage: tests/fault-campaign/run.sh [WORK_DIR] [KILLS]   (needs python3-pil and, for 4 and 5, permission to mount tmpfs)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-artifacts/fault-campaign}
kills=${2:-10}
work=$(realpath -m "$work")
umount "$work/mnt" 2>/dev/null || true # left mounted by a campaign that stopped part way
rm -rf "$work" && mkdir -p "$work"
python=/usr/bin/python3
$python -c "import PIL, numpy" 2>/dev/null || { apt-get install -y -qq python3-pil python3-numpy > /dev/null; }

dotnet build -c Release src/Robustness.Cli -o "$work/bin" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
tool="dotnet $work/bin/Robustness.Cli.dll"
fail() { echo "FAIL: $*" >&2; exit 1; }

# The input: 3 classes x 12 photos of 0.002-0.02 MP (mixed sizes and orientations) from CIFAR-10, and the bad inputs.
mkdir -p "$work/cifar"
tar xzf ../shared/datasets/cifar10/cifar10-jpeg.tar.gz -C "$work/cifar" train/airplane train/automobile train/bird
$python benchmarks/make-photo-folder.py "$work/cifar/train" "$work/in" --per-class 12 --min-mp 0.002 --max-mp 0.02 --bad > /dev/null
bad=$(ls -A "$work/in/airplane" | grep -vc '^[0-9]*\.jpg$' || true)
protect=(protect --input "$work/in" --method sep --train-epochs 3 --arch small-cnn --width 4 --checkpoint-count 2 --iterations 5 --batch-size 8 --seed 0 --device cpu)

# The uninterrupted reference run.
start=$(date +%s%N)
$tool "${protect[@]}" --output "$work/ref" > "$work/ref.log" 2>&1 && fail "the reference run should report the bad inputs (exit 1)" || true
reference_ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "failed: " "$work/ref.log" || fail "no per-file errors in the reference run"

# 2. Bad inputs: per-file errors with reasons, the rest protected.
ok=$(grep -o '[0-9]* protected' "$work/ref.log" | head -1 | cut -d' ' -f1)
failed=$(grep -c '^failed: ' "$work/ref.log" || true)
for reason in "empty (0 bytes)" "truncated JPEG" "not a PNG, JPEG" "outside the input folder" "loop of links"; do
  grep -q "$reason" "$work/ref.log" || fail "no per-file error saying '$reason'"
done
$tool verify --input "$work/in" --output "$work/ref" > "$work/ref-verify.log" 2>&1 || fail "verify of the reference: $(tail -3 "$work/ref-verify.log")"
echo "bad inputs: $bad kinds in one class folder; $failed per-file errors with reasons, $ok images protected (grayscale, CMYK, 100000x1 among them), verify OK"

# 1. kill -9 at random moments, then resume to the end. Each kill waits for its target phase to show in the run's
# output (training the source model, scanning, crafting and writing), then for a random 0-1.5 s more, so the kills
# land in every phase whatever the machine's speed; the phase the run was really in is read back from its output.
targets=(epoch epoch epoch scan protect protect protect protect protect protect)
RANDOM=7
phases=()
hits=0
for i in $(seq 1 "$kills"); do
  target=${targets[$(( (i - 1) % ${#targets[@]} ))]}
  $tool "${protect[@]}" --output "$work/out" > "$work/kill-$i.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    grep -aq "$target" "$work/kill-$i.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep "$(printf '0.%03d' $(( RANDOM % 1000 )))"; sleep "$(( RANDOM % 2 ))"
  if kill -9 "$pid" 2>/dev/null; then
    phase=$(grep -aoE 'Resuming[^(]*|epoch [0-9]+/[0-9]+|scan [0-9]+/[0-9]+|protect [0-9]+/[0-9]+' "$work/kill-$i.log" | tail -1 || true)
    phases+=("${phase:-start-up}")
    hits=$((hits + 1))
  else
    phases+=("(ended before the kill)")
  fi
  wait "$pid" 2>/dev/null || true
done
resumed_training=$(grep -l "Resuming the source model's training" "$work"/kill-*.log 2>/dev/null | wc -l)
$tool "${protect[@]}" --output "$work/out" > "$work/final.log" 2>&1 || true
diff -r --exclude=.robustness "$work/ref" "$work/out" > "$work/diff.log" || fail "outputs differ from the uninterrupted run: $(head -5 "$work/diff.log")"
tmp=$(find "$work/out" -name '.*.tmp' | wc -l)
[ "$tmp" -eq 0 ] || fail "$tmp temporary file(s) left"
$python - "$work/out" "$work/ref" <<'PY' || exit 1
import json, sys, glob, collections
def ok_records(root):
    records = [json.loads(l) for f in glob.glob(root + "/.robustness/manifest-*.jsonl") for l in open(f) if l.strip()]
    return collections.Counter(r["input"] for r in records if r["status"] == "ok"), {r["input"]: r["outputSha256"] for r in records if r["status"] == "ok"}
counts, hashes = ok_records(sys.argv[1])
_, ref_hashes = ok_records(sys.argv[2])
twice = [k for k, v in counts.items() if v != 1]
if twice: sys.exit(f"FAIL: inputs with more than one ok record: {twice[:3]}")
if hashes != ref_hashes: sys.exit("FAIL: the manifest's output hashes differ from the reference run's")
PY
$tool verify --input "$work/in" --output "$work/out" > "$work/out-verify.log" 2>&1 || fail "verify after the kills: $(tail -3 "$work/out-verify.log")"
echo "kill -9: $hits of $kills kills hit a running process (in: $(IFS=';'; echo "${phases[*]}")); $resumed_training run(s) resumed the source training after its last checkpoint; resumed: outputs byte-identical to the uninterrupted run, one record per input, 0 temporary files, verify OK"

# 3. The same shard twice at once.
rm -rf "$work/twice"
$tool "${protect[@]}" --output "$work/twice" > "$work/twice-1.log" 2>&1 &
first=$!
for _ in $(seq 1 100); do [ -f "$work/twice/.robustness/shard-0-of-1.lock" ] && break; sleep 0.1; done
set +e; $tool "${protect[@]}" --output "$work/twice" > "$work/twice-2.log" 2>&1; second=$?; set -e
wait "$first" || true
[ "$second" -eq 1 ] && grep -q "is being protected by another run" "$work/twice-2.log" || fail "the second run of a shard did not refuse: $(tail -2 "$work/twice-2.log")"
diff -r --exclude=.robustness "$work/ref" "$work/twice" > /dev/null || fail "the first of two concurrent runs did not complete"
echo "same shard twice: the second refused ($(grep -o 'Shard 0/1[^;]*' "$work/twice-2.log" | head -1)), the first completed"

# 4 and 5 need tmpfs mounts (root in a container with the right capability); otherwise they are skipped, and said so.
mnt="$work/mnt"
mkdir -p "$mnt"
trap 'umount "$mnt" 2>/dev/null || true' EXIT
if mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null; then
  # 4. Read-only output folder.
  mkdir -p "$mnt/ro" && mount -o remount,ro "$mnt" 2>/dev/null || true
  set +e; $tool protect --input "$work/in" --output "$mnt/ro/out" --method random --device cpu > "$work/ro.log" 2>&1; code=$?; set -e
  [ "$code" -ne 0 ] && grep -qi "read-only" "$work/ro.log" || fail "read-only output: exit $code, $(tail -2 "$work/ro.log")"
  echo "read-only output: exit code $code, '$(grep -i -m1 'read-only' "$work/ro.log" | cut -c1-150)'"
  mount -o remount,rw "$mnt"
  # 5. Disk full: 1 MiB holds the bookkeeping and some of the PNGs (a protected photo of 0.02 MP is about 60 KB).
  set +e; $tool protect --input "$work/in" --output "$mnt/out" --method random --device cpu --batch-size 4 > "$work/full.log" 2>&1; code=$?; set -e
  [ "$code" -ne 0 ] && grep -qi "no space" "$work/full.log" || fail "disk full: exit $code, $(tail -2 "$work/full.log")"
  tmp=$(find "$mnt/out" -name '.*.tmp' | wc -l)
  written=$(find "$mnt/out" -name '*.png' | wc -l)
  $python - "$mnt/out" <<'PY' || fail "a half-written PNG after the disk filled"
import sys, glob
from PIL import Image
for f in glob.glob(sys.argv[1] + "/**/*.png", recursive=True):
    Image.open(f).load()
PY
  mkdir -p "$work/full" && cp -a "$mnt/out/." "$work/full/" && umount "$mnt"
  $tool protect --input "$work/in" --output "$work/full" --method random --device cpu --batch-size 4 > "$work/full-resume.log" 2>&1 || true
  $tool verify --input "$work/in" --output "$work/full" > "$work/full-verify.log" 2>&1 || fail "verify after resuming a full disk: $(tail -3 "$work/full-verify.log")"
  echo "disk full: exit code $code after $written complete PNG(s), $tmp temporary file(s) left, '$(grep -i -m1 'no space' "$work/full.log" | cut -c1-150)'; resumed elsewhere with room: verify OK"
else
  echo "read-only output and disk full: skipped (cannot mount a tmpfs here)"
fi
echo "reference run: $(( reference_ms / 1000 )) s; work folder $work"
