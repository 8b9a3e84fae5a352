#!/usr/bin/env bash
# The GPU figures issues 17-19 ask for, as one run on a lent device machine (BUILD_NOTES.md,
# "GPU figures"). A device machine's image has jax (CUDA), flax, optax, chex, orbax, absl,
# matplotlib and tensorboard, but not distrax, ml_collections, Pgx or JaxMARL: those travel as
# wheels in .whl/ (ignored by git).
#
#   benchmarks/device_check.sh prepare   # here: download the wheels the image lacks into .whl/
#   benchmarks/device_check.sh small     # here, on the CPU: every section at toy sizes
#   # there, through the device tool: run(command="bash benchmarks/device_check.sh run",
#   #                                      carry=[".whl"], timeout_s=600)
#   # ... or some sections only, e.g. to rerun one: "bash benchmarks/device_check.sh run fcp"
#
# Sections, each under its own time limit so that one slow part cannot eat the others' time
# (`run` of every section: at most 10 min 55 s, over the tool's 10 minutes a command, so pass
# the sections of a session's question; with the machine's start, a session's 15 device
# minutes hold about one full run: a rerun must be short and follow at once, while the
# machine is still warm); each writes its log to $OUT/<section>.log, and the benchmarks print
# each row as it is measured, so a section cut off keeps its rows so far. The first run
# (2026-12-04, BUILD_NOTES.md "GPU figures"; envs then without Leduc, envs_hash tic-tac-toe
# only) took 81, 16, 81*, 120*, 48, 42 and 91* s (* cut off); the FCP part, as a command of
# its own, 113 s. Later that day, as they are now: envs 105 s, envs_hash 47, train_wide 54,
# population 75, population_ttt 113 (its N = 1 rows included):
#   envs        env steps/s against the number of games B, jaxplay next to Pgx and JaxMARL
#   envs_hash   the board games in the second harness (integer-hash actions, every observation
#               summed)
#   population  one update of N = 16, 4, 1 learning members against N single updates, Kuhn
#   population_ttt  the same on tic-tac-toe (issue 17; N = 16, the goal's, first)
#   train       Overcooked training steps/s against JaxMARL's IPPO, 16 games (IPPO's setting)
#   train_wide  the same at 4096 games an update
#   fcp         FCP's stage 1: 8 self-play runs vmapped against 8 separate runs (issue 18's
#               goal is on this CPU; last, as the one most likely cut off)
set -uo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-}"
shift || true
SECTIONS="${*:-envs envs_hash population population_ttt train train_wide fcp}"
OUT="${OUT:-/tmp/device_check}"
mkdir -p "$OUT"

# What the image lacks (its package list: /work/.library/device/KINDS.md): four pins read
# from requirements.txt and setup.py, and the versions tested here of what they need (JaxMARL's
# LogWrapper, which the training benchmark uses, imports gymnax, which imports gymnasium;
# TensorFlow Probability, under distrax, asks for gast).
WHEELS=($(grep -hoE '(distrax|ml_collections|pgx|jaxmarl)==[^" ,]+' requirements.txt setup.py)
        tfp-nightly==0.26.0.dev20261027 dm-tree==0.1.10 decorator==5.3.1 svgwrite==1.4.3
        gymnax==1.0.1 gymnasium==1.3.0 farama-notifications==0.0.6 gast==0.7.0)

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
    section envs 120 python3 -m benchmarks.envs \
      --games=kuhn_poker,leduc_poker,tic_tac_toe,overcooked --batch_sizes=4096,65536,524288 \
      --repeats=3
    section envs_hash 75 python3 -m benchmarks.envs --games=kuhn_poker,leduc_poker,tic_tac_toe \
      --harness=hash_sum --batch_sizes=4096,65536,524288 --repeats=3
    section population 100 python3 -m benchmarks.population --games=kuhn_poker --sizes=16,4,1 \
      --repeats=5
    section population_ttt 130 python3 -m benchmarks.population --games=tic_tac_toe \
      --sizes=16,4,1 --repeats=5
    section train 55 python3 -m benchmarks.train_overcooked --total_env_steps=1000000
    section train_wide 55 python3 -m benchmarks.train_overcooked --num_envs=4096 \
      --total_env_steps=3145728
    section fcp 120 python3 -m benchmarks.fcp_partners --updates=20 --ways=vmap
    ;;
  small)  # the same sections at toy sizes on this machine's CPU: does the script run?
    export PYTHONUNBUFFERED=1
    section envs 300 python -m benchmarks.envs --games=kuhn_poker,overcooked \
      --batch_sizes=64 --steps=8 --repeats=1
    section population 300 python -m benchmarks.population --games=kuhn_poker --sizes=1,2 \
      --num_envs=8 --repeats=1
    section population_ttt 300 python -m benchmarks.population --games=tic_tac_toe \
      --sizes=1,2 --num_envs=8 --repeats=1
    section fcp 300 python -m benchmarks.fcp_partners --learners=2 --updates=2 --repeats=1 \
      --set=ppo.num_envs=4 --ways=vmap
    section envs_hash 300 python -m benchmarks.envs --games=tic_tac_toe --harness=hash_sum \
      --batch_sizes=64 --steps=8 --repeats=1
    section train 300 python -m benchmarks.train_overcooked --total_env_steps=8192
    section train_wide 300 python -m benchmarks.train_overcooked --num_envs=32 \
      --total_env_steps=8192
    ;;
  *)
    echo "usage: benchmarks/device_check.sh prepare|run|small" >&2
    exit 2
    ;;
esac
