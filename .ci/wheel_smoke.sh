#!/usr/bin/env bash
# Wheel smoke test: build the wheel, install it in a fresh venv outside the source tree (torch 2.13.0 first,
# pinned), then run one training step of every preset and the main job's smallest form through the console
# script. Catches what the editable dev install hides: undeclared dependencies, files missing from the wheel,
# imports of the source tree. Usage: .ci/wheel_smoke.sh [python]   (from anywhere; ~3-5 min on 2 cores)
set -euo pipefail
PY=${1:-python3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jepa-world-wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)

"$PY" -m venv "$WORK/venv"
BIN="$WORK/venv/bin"
"$BIN/pip" install --quiet --upgrade pip
"$BIN/pip" install --quiet torch==2.13.0
"$BIN/pip" wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$SRC"
wheel=$(ls "$WORK"/dist/jepa_world-*.whl)
"$BIN/pip" install --quiet "$wheel[pusht,pointmaze]"  # the environment extras too: their presets are smoke-tested below
echo "wheel-smoke: installed $(basename "$WORK"/dist/jepa_world-*.whl) in $(( $(date +%s) - start )) s"

cd "$WORK"  # outside the source tree: only the installed wheel can be imported
export OMP_NUM_THREADS=1 MPLBACKEND=Agg
QUIET="train.steps=1 train.progress=false train.tensorboard=false train.warmup_steps=0"
WORLD_MODEL="model.idm_hidden=16 batch_size=4 data.length=3 model.encoder.map_channels=4 model.encoder.map_size=8
 model.predictor.map_size=8"

tiny() {  # tiny overrides of a preset's family (keys from `jepa-world train --preset P --show-config`)
  case "$1" in
    pusht-*) echo "data.path=pusht-data model.encoder.channels=(4,4,4) model.encoder.latent_channels=4
      model.predictor.latent_channels=4 model.predictor.hidden=8 model.frameskip=2 model.predictor.action_dim=4
      data.length=5 model.idm_hidden=8 batch_size=4" ;;
    two-rooms | two-rooms-fixed | maze) echo "$WORLD_MODEL" ;;
    two-rooms-mlp) echo "model.idm_hidden=16 batch_size=4 data.length=3 model.encoder.channels=(4,8)
      model.encoder.embed_dim=8 model.encoder.keypoints=4 model.encoder.flat_dims=3 model.predictor.latent_dim=8
      model.predictor.hidden=16" ;;
    ijepa-*) echo "data.image_size=16 model.encoder.image_size=16 model.encoder.patch_size=4 model.encoder.dim=32
      model.encoder.depth=1 model.encoder.heads=2 model.predictor.dim=32 model.predictor.depth=1
      model.predictor.heads=2 batch_size=8" ;;
    video-*) echo "batch_size=4 data.num_frames=4" ;;
    pointmaze-*)  # an optional extra: a tiny dataset when it is installed, else skipped
      "$BIN/python" -c "import gymnasium_robotics, mujoco" 2> /dev/null || { echo SKIP; return 0; }
      "$BIN/jepa-world" data generate --env pointmaze --num 4 --length 5 --out "data-$1" > /dev/null || return 1
      echo "data.path=data-$1 $(tiny two-rooms-generic)" ;;
    *-pixel) echo "model.encoder.channels=(4,4,4) model.encoder.latent_channels=4 model.predictor.latent_channels=4
      model.predictor.hidden=8 model.frameskip=2 model.predictor.action_dim=4 data.length=5
      model.decoder_channels=(4,4,4) model.decoder_blocks=0 batch_size=4" ;;
    *-generic) echo "model.encoder.channels=(4,4,4) model.encoder.latent_channels=4 model.predictor.latent_channels=4
      model.predictor.hidden=8 model.frameskip=2 model.predictor.action_dim=4 data.length=5 model.idm_hidden=8
      batch_size=4" ;;
    *-ssl-encoder) echo "model.encoder.patch_size=16 model.encoder.dim=16 model.encoder.depth=1 model.encoder.heads=2
      model.predictor.dim=16 model.predictor.depth=1 model.predictor.heads=2 data.frames_train=32
      data.frames_test=16 batch_size=8" ;;
    *-frozen) echo "encoder=random model.backbone.backbone.vit.dim=16 model.backbone.backbone.vit.depth=1
      model.backbone.backbone.vit.heads=2 model.backbone.backbone.vit.patch_size=16 model.frameskip=2
      model.predictor.action_dim=4 data.length=5 model.predictor.hidden=8 model.idm_hidden=8
      model.backbone.latent_channels=4 batch_size=4 cache.windows=8" ;;
    *-digits | *-shapes) echo "data.image_size=16 model.backbone.vit.patch_size=4 model.backbone.vit.dim=32
      model.backbone.vit.depth=1 model.backbone.vit.heads=2 batch_size=16" ;;
    *-gcbc | *-gciql | *-hiql) echo "batch_size=4 data.length=5 model.net.encoder.channels=(4,4)
      model.net.encoder.embed_dim=8 model.net.encoder.keypoints=2 model.net.encoder.flat_dims=2 model.net.hidden=8" ;;
    *) echo "wheel-smoke: no tiny overrides for preset $1; add its family to .ci/wheel_smoke.sh" >&2; return 1 ;;
  esac
}

run_preset() {  # one training step of preset $1 through the console script; its log on failure
  local overrides t0
  overrides=$(tiny "$1") || return 1
  if [ "$overrides" = SKIP ]; then echo "wheel-smoke: $1 skipped (extra not installed)"; return 0; fi
  t0=$(date +%s)
  # shellcheck disable=SC2086  # the overrides are words
  if ! "$BIN/jepa-world" train --preset "$1" --run-dir "runs/$1" $QUIET $overrides > "train-$1.log" 2>&1; then
    cat "train-$1.log"; echo "wheel-smoke: preset $1 failed"; return 1
  fi
  echo "wheel-smoke: $1 trained one step in $(( $(date +%s) - t0 )) s"
}
export -f run_preset tiny
export BIN QUIET WORLD_MODEL

"$BIN/jepa-world" data generate --env pusht --num 2 --length 6 --out pusht-data  # the pusht-* presets' data
presets=$("$BIN/jepa-world" presets | awk '{print $1}')
test -n "$presets" || { echo "wheel-smoke: 'jepa-world presets' listed nothing"; exit 1; }
# two at a time (one torch thread each): the 2-core CI machine is otherwise idle after `make test`
printf '%s\n' $presets | xargs -P "${SMOKE_JOBS:-2}" -I{} bash -c 'run_preset "$1"' _ {}

# shellcheck disable=SC2086
"$BIN/jepa-world" demo --run-dir runs/demo --episodes 1 $QUIET $WORLD_MODEL
for f in eval.json eval.png episode.gif model.safetensors; do
  test -s "runs/demo/$f" || { echo "wheel-smoke: demo did not write $f"; exit 1; }
done
echo "wheel-smoke: $(wc -w <<< "$presets") presets and the demo passed in $(( $(date +%s) - start )) s"
