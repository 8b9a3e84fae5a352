#!/usr/bin/env bash
# The GPU figures issues 17-19 ask for, as one run on a lent device machine (BUILD_NOTES.md,
# "GPU figures"). A device machine's image has jax (CUDA), flax, optax, chex, orbax, absl,
# matplotlib and tensorboard, but not distrax, ml_collections, Pgx or JaxMARL: those travel as
# wheels in .whl/ (ignored by git).
#
#   benchmarks/device_check.sh prepare   # here: download the wheels the image lacks into .whl/
#   benchmarks/device_check.sh small     # here, on the CPU: every section at toy sizes
#   # there, through the device tool: run(command="bash benchmarks/device_check.sh run",
#   #                                      carry=[".whl"], timeout_s=480)
#   # ... or some sections only, e.g. to rerun one: "bash benchmarks/device_check.sh run fcp"
#
# Sections, each under its own time limit so that one slow part cannot eat the others' time
# (`run`, at most 6.5 minutes in all, which leaves a session's 15 device minutes room for the
# machine's start and one rerun); each writes its log to $OUT/<section>.log:
#   envs        env steps/s against the number of games B, jaxplay next to Pgx and JaxMARL
#   population  one update of N = 1, 4, 16 learning members against N single updates (issue 17)
#   fcp         FCP's stage 1: 8 self-play runs side by side against 8 separate runs (issue 18)
#   train       Overcooked training steps/s against JaxMARL's IPPO
set -uo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-}"
shift || true
SECTIONS="${*:-envs population fcp train}"
OUT="${OUT:-/tmp/device_check}"
mkdir -p "$OUT"

# What the image lacks (its package list: /work/.library/device/KINDS.md): four pins read
# from requirements.txt and setup.py, and the versions tested here of what they need.
WHEELS=($(grep -hoE '(distrax|ml_collections|pgx|jaxmarl)==[^" ,]+' requirements.txt setup.py)
        tfp-nightly==0.26.0.dev20261027 dm-tree==0.1.10 decorator==5.3.1 svgwrite==1.4.3)

section() {  # section NAME SECONDS COMMAND...: runs COMMAND with a time limit, logs to $OUT
  local name=$1 limit=$2; shift 2
  [[ " $SECTIONS " == *" $name "* ]] || return 0
  local start=$SECONDS
  echo "== $name (limit ${limit}s): $*"
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  grep -v -E "^(W|I)[0-9]{4} " "$OUT/$name.log" | tail -n 40
  echo "== $name: rc=$rc, $((SECONDS - start)) s"
}

case "$MODE" in
  prepare)
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d .whl "${WHEELS[@]}"
    du -sh .whl
    ;;
  run)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
    python3 -c "import jax, flax, optax, orbax.checkpoint as o; print('jax', jax.__version__, \
      jax.devices(), 'flax', flax.__version__, 'optax', optax.__version__)" | tee -a "$OUT/gpu.txt"
    section envs 120 python3 -m benchmarks.envs --games=kuhn_poker,tic_tac_toe,overcooked \
      --batch_sizes=4096,65536,524288 --repeats=5
    section population 100 python3 -m benchmarks.population --repeats=5
    section fcp 100 python3 -m benchmarks.fcp_partners --updates=20
    section train 60 python3 -m benchmarks.train_overcooked --total_env_steps=1000000
    ;;
  small)  # the same sections at toy sizes on this machine's CPU: does the script run?
    export PYTHONUNBUFFERED=1
    section envs 300 python -m benchmarks.envs --games=kuhn_poker,overcooked \
      --batch_sizes=64 --steps=8 --repeats=1
    section population 300 python -m benchmarks.population --games=kuhn_poker --sizes=1,2 \
      --num_envs=8 --repeats=1
    section fcp 300 python -m benchmarks.fcp_partners --learners=2 --updates=2 --repeats=1 \
      --set=ppo.num_envs=4
    section train 300 python -m benchmarks.train_overcooked --total_env_steps=8192
    ;;
  *)
    echo "usage: benchmarks/device_check.sh prepare|run|small" >&2
    exit 2
    ;;
esac
