"""Generate Overcooked reference trajectories with the original overcooked-ai 1.1.0.

The fixtures are used to check jaxplay's Overcooked step by step against
overcooked-ai (Carroll et al. 2019, "new dynamics").  overcooked-ai needs numpy<2,
so it runs in its own venv, never the project's main one:

    python3 -m venv /work/venv-overcooked
    /work/venv-overcooked/bin/pip install -r tools/overcooked_reference/requirements.txt
    /work/venv-overcooked/bin/python tools/overcooked_reference/generate.py --out tests/fixtures/overcooked

For each layout it writes <layout>_random.json (uniform random joint actions) and
<layout>_scripted.json (a BFS-based cook-and-deliver script with ~10% random actions
mixed in).  Output is deterministic (fixed seeds).  See README.md next to this file
for the JSON format and the dynamics facts.
"""
import argparse
import collections
import json
import os
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")
from overcooked_ai_py.mdp.actions import Action, Direction  # noqa: E402
from overcooked_ai_py.mdp.overcooked_env import OvercookedEnv  # noqa: E402
from overcooked_ai_py.mdp.overcooked_mdp import OvercookedGridworld, Recipe  # noqa: E402

# (overcooked-ai layout name, name used by jaxplay's REFERENCES)
LAYOUTS = [
    ("cramped_room", "cramped_room"),
    ("asymmetric_advantages", "asymmetric_advantages"),
    ("coordination_ring", "coordination_ring"),
    ("forced_coordination", "forced_coordination"),
    ("counter_circuit_o_1order", "counter_circuit"),
]
HORIZON = 400
RANDOM_SEED = 1000
SCRIPTED_SEED = 2000
SCRIPTED_EPS = 0.10

# Action ids are indices into Action.ALL_ACTIONS; direction ids into Direction.ALL_DIRECTIONS.
assert Action.ALL_ACTIONS == [(0, -1), (0, 1), (1, 0), (-1, 0), (0, 0), "interact"]
assert Direction.ALL_DIRECTIONS == [(0, -1), (0, 1), (1, 0), (-1, 0)]
A = Action.ACTION_TO_INDEX
D = Direction.DIRECTION_TO_INDEX
STAY, INTERACT = A[Action.STAY], A[Action.INTERACT]
DIRS = Direction.ALL_DIRECTIONS


# ----------------------------------------------------------------------------
# State serialisation
# ----------------------------------------------------------------------------

def num_onions(soup):
    return sum(1 for i in soup.ingredients if i == "onion")


def encode_state(mdp, state):
    held, held_soup = [], []
    for p in state.players:
        o = p.held_object
        held.append(None if o is None else o.name)
        held_soup.append(num_onions(o) if o is not None and o.name == "soup" else None)
    pot_locs = set(mdp.get_pot_locations())
    counters, pots = [], []
    for pos, obj in state.objects.items():
        if pos in pot_locs:
            continue
        entry = [pos[0], pos[1], obj.name]
        if obj.name == "soup":  # soup put down on a counter
            entry.append(num_onions(obj))
        counters.append(entry)
    for pos in mdp.get_pot_locations():
        if state.has_object(pos):
            s = state.get_object(pos)
            pots.append([pos[0], pos[1], num_onions(s), s._cooking_tick, bool(s.is_cooking), bool(s.is_ready)])
        else:  # overcooked-ai holds no object in an empty pot
            pots.append([pos[0], pos[1], 0, -1, False, False])
    return {
        "positions": [list(p.position) for p in state.players],
        "orientations": [D[p.orientation] for p in state.players],
        "held": held,
        "held_soup_onions": held_soup,
        "counters": sorted(counters, key=lambda e: (e[0], e[1])),
        "pots": sorted(pots),
    }


def mdp_params(mdp, state):
    # Values read back from overcooked-ai itself (Recipe is configured from the layout file).
    recipes = {k: Recipe(["onion"] * k) for k in (1, 2, 3)}
    return {
        "num_items_for_soup": Recipe.MAX_NUM_INGREDIENTS,
        "cook_time": recipes[3].time,
        "cook_time_by_num_onions": {str(k): r.time for k, r in recipes.items()},
        "delivery_reward": mdp.get_recipe_value(state, recipes[3]),
        "delivery_reward_by_num_onions": {str(k): mdp.get_recipe_value(state, r) for k, r in recipes.items()},
        "order_bonus": mdp.order_bonus,
        "rew_shaping_params": dict(mdp.reward_shaping_params),
        "PLACEMENT_IN_POT_REW": mdp.reward_shaping_params["PLACEMENT_IN_POT_REW"],
        "DISH_PICKUP_REWARD": mdp.reward_shaping_params["DISH_PICKUP_REWARD"],
        "SOUP_PICKUP_REWARD": mdp.reward_shaping_params["SOUP_PICKUP_REWARD"],
        "all_orders": [list(r.ingredients) for r in state.all_orders],
        "bonus_orders": [list(r.ingredients) for r in state.bonus_orders],
    }


# ----------------------------------------------------------------------------
# Scripted policy: greedy task choice + BFS navigation, handles counter hand-offs
# (forced_coordination) by dropping items on counters both players can reach.
# ----------------------------------------------------------------------------

class Script:
    def __init__(self, mdp, rng, eps):
        self.mdp, self.rng, self.eps = mdp, rng, eps
        self.floor = set(mdp.get_valid_player_positions())
        self.tiles = collections.defaultdict(list)
        for y, row in enumerate(mdp.terrain_mtx):
            for x, c in enumerate(row):
                self.tiles[c].append((x, y))
        start = mdp.get_standard_start_state()
        self.region = [self._flood(p) for p in start.player_positions]
        self.last = [None, None]
        self.stuck = [0, 0]
        self.early = {}  # pot -> whether its current 2-onion soup gets started early (decided once)

    def _flood(self, src, blocked=()):
        seen, todo = {src}, collections.deque([src])
        while todo:
            x, y = todo.popleft()
            for dx, dy in DIRS:
                n = (x + dx, y + dy)
                if n in self.floor and n not in seen and n not in blocked:
                    seen.add(n)
                    todo.append(n)
        return seen

    def access(self, tile, i):
        """(floor cell, direction) pairs in player i's region that face `tile`."""
        out = []
        for d in DIRS:
            f = (tile[0] - d[0], tile[1] - d[1])
            if f in self.region[i]:
                out.append((f, d))
        return out

    def reach(self, tiles, i):
        return [t for t in tiles if self.access(t, i)]

    def shared_counters(self, state, i, empty):
        out = []
        for t in self.tiles["X"]:
            if self.access(t, i) and self.access(t, 1 - i) and (state.has_object(t) != empty):
                out.append(t)
        return out

    def go(self, state, i, targets):
        """Action moving player i towards interacting with any of `targets`."""
        p = state.players[i]
        goals = {}
        for t in targets:
            for f, d in self.access(t, i):
                goals.setdefault(f, d)
        if not goals:
            return STAY
        if p.position in goals:
            d = goals[p.position]
            return INTERACT if p.orientation == d else A[d]  # a move into a non-floor tile only turns
        other = state.players[1 - i].position
        for blocked in ((other,), ()):
            step = self._bfs(p.position, goals, blocked)
            if step is not None:
                return A[step]
        return STAY

    def wait_at(self, state, i, targets):
        a = self.go(state, i, targets)
        return STAY if a == INTERACT else a

    def _bfs(self, src, goals, blocked):
        first = {src: None}
        todo = collections.deque([src])
        while todo:
            c = todo.popleft()
            if c in goals:
                return first[c]
            for d in DIRS:
                n = (c[0] + d[0], c[1] + d[1])
                if n in self.floor and n not in first and n not in blocked:
                    first[n] = d if first[c] is None else first[c]
                    todo.append(n)
        return None

    def decide(self, state, i):
        mdp = self.mdp
        p, q = state.players[i], state.players[1 - i]
        held = p.held_object.name if p.held_object else None
        q_held = q.held_object.name if q.held_object else None
        on_counter = collections.defaultdict(list)
        for pos, obj in state.objects.items():
            if pos in self.tiles["X"]:
                on_counter[obj.name].append(pos)
        pots = {}
        for t in self.tiles["P"]:
            pots[t] = state.get_object(t) if state.has_object(t) else None
        for t, s in pots.items():
            n = len(s.ingredients) if s is not None and s.is_idle else -1
            if n != 2:
                self.early.pop(t, None)
            elif t not in self.early:  # ~1 soup in 4 is cooked with 2 onions (delivers for 0 reward)
                self.early[t] = bool(self.rng.random() < 0.25)
        my_pots = self.reach(self.tiles["P"], i)
        idle_open = [t for t in my_pots if pots[t] is None or (pots[t].is_idle and len(pots[t].ingredients) < 3)]
        full_idle = [t for t in my_pots if pots[t] is not None and pots[t].is_idle
                     and (len(pots[t].ingredients) == 3 or self.early.get(t))]
        ready = [t for t in my_pots if pots[t] is not None and pots[t].is_ready]
        cooking = [t for t in my_pots if pots[t] is not None and pots[t].is_cooking]
        all_busy = sum(1 for s in pots.values() if s is not None and not s.is_idle)
        serve = self.reach(self.tiles["S"], i)

        if held == "soup":
            if serve:
                return self.go(state, i, serve)
            return self.go(state, i, self.shared_counters(state, i, empty=True))
        if held == "dish":
            if ready:
                return self.go(state, i, ready)
            if cooking:
                return self.wait_at(state, i, cooking)
            if not my_pots:
                return self.go(state, i, self.shared_counters(state, i, empty=True))
            return self.wait_at(state, i, my_pots)
        if held in ("onion", "tomato"):
            if idle_open:
                return self.go(state, i, idle_open)
            if not my_pots:
                return self.go(state, i, self.shared_counters(state, i, empty=True))
            return self.wait_at(state, i, my_pots)

        # empty hand
        if serve and self.reach(on_counter["soup"], i):
            return self.go(state, i, self.reach(on_counter["soup"], i))
        if full_idle:
            return self.go(state, i, full_idle)  # interact with empty hand starts cooking
        if (ready or cooking) and q_held != "dish":
            src = self.reach(self.tiles["D"] + on_counter["dish"], i)
            if src:
                return self.go(state, i, src)
        if not my_pots:  # supplier (forced_coordination): feed the shared counters
            dishes = len(on_counter["dish"]) + (q_held == "dish")
            if all_busy > dishes and self.reach(self.tiles["D"], i):
                return self.go(state, i, self.tiles["D"])
            if len(on_counter["onion"]) < 3 and self.reach(self.tiles["O"], i):
                return self.go(state, i, self.tiles["O"])
            return STAY
        if idle_open or cooking or ready:
            src = self.reach(self.tiles["O"] + on_counter["onion"], i)
            if src:
                return self.go(state, i, src)
        return STAY

    def joint_action(self, state):
        acts = []
        for i in range(2):
            a = self.decide(state, i)
            pos_or = state.players[i].pos_and_or
            self.stuck[i] = self.stuck[i] + 1 if (pos_or == self.last[i] and a < STAY) else 0
            self.last[i] = pos_or
            if self.rng.random() < self.eps:
                a = int(self.rng.integers(6))
            elif self.stuck[i] >= 3:  # blocked by the other player: random move to break the deadlock
                a = int(self.rng.integers(4))
            acts.append(a)
        return acts


# ----------------------------------------------------------------------------
# Rollout
# ----------------------------------------------------------------------------

def rollout(layout, kind, seed):
    mdp = OvercookedGridworld.from_layout_name(layout)  # also (re)configures the global Recipe class
    env = OvercookedEnv.from_mdp(mdp, horizon=HORIZON, info_level=0)
    start = env.state
    assert start.timestep == 0 and not start.objects
    rng = np.random.default_rng(seed)
    script = Script(mdp, rng, SCRIPTED_EPS) if kind == "scripted" else None
    actions, steps = [], []
    for t in range(HORIZON):
        if script is None:
            ja = [int(a) for a in rng.integers(6, size=2)]
        else:
            ja = script.joint_action(env.state)
        prev = env.state
        state, sparse, done, info = env.step(tuple(Action.ALL_ACTIONS[a] for a in ja))
        # cross-check: OvercookedEnv.step == OvercookedGridworld.get_state_transition
        s2, mdp_info = mdp.get_state_transition(prev, tuple(Action.ALL_ACTIONS[a] for a in ja))
        assert s2 == state and mdp_info["shaped_reward_by_agent"] == info["shaped_r_by_agent"]
        assert done == (t == HORIZON - 1)
        step = encode_state(mdp, state)
        step["sparse_reward"] = float(sparse)
        step["sparse_rewards"] = [float(r) for r in info["sparse_r_by_agent"]]
        step["shaped_rewards"] = [float(r) for r in info["shaped_r_by_agent"]]
        actions.append(ja)
        steps.append(step)
    stats = env.game_stats
    deliveries = sum(len(v) for v in stats["soup_delivery"])
    rewarded = sum(1 for s in steps for r in s["sparse_rewards"] if r > 0)
    return mdp, start, actions, steps, deliveries, rewarded


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tests/fixtures/overcooked")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for li, (layout, ref_name) in enumerate(LAYOUTS):
        for kind, base_seed in (("random", RANDOM_SEED), ("scripted", SCRIPTED_SEED)):
            seed = base_seed + li
            mdp, start, actions, steps, deliveries, rewarded = rollout(layout, kind, seed)
            doc = {
                "layout": layout,
                "reference_name": ref_name,
                "kind": kind,
                "generator": {
                    "package": "overcooked-ai==1.1.0",
                    "seed": seed,
                    "policy": "uniform random joint actions" if kind == "random"
                    else "BFS cook-and-deliver script, %d%% uniform random actions" % int(SCRIPTED_EPS * 100),
                    "soups_delivered": deliveries,
                    "rewarded_deliveries": rewarded,
                    "total_sparse_reward": sum(s["sparse_reward"] for s in steps),
                    "total_shaped_reward": [sum(s["shaped_rewards"][i] for s in steps) for i in range(2)],
                },
                "grid": ["".join(row) for row in mdp.terrain_mtx],
                "start_positions": [list(p) for p in start.player_positions],
                "start_orientations": [D[o] for o in start.player_orientations],
                "horizon": HORIZON,
                "mdp_params": mdp_params(mdp, start),
                "actions": actions,
                "steps": steps,
            }
            path = os.path.join(args.out, "%s_%s.json" % (layout, kind))
            with open(path, "w") as f:
                json.dump(doc, f, separators=(",", ":"))
            print("%-45s delivered=%2d rewarded=%2d sparse=%6.1f shaped=%s size=%dB" % (
                path, deliveries, rewarded, doc["generator"]["total_sparse_reward"],
                doc["generator"]["total_shaped_reward"], os.path.getsize(path)), file=sys.stderr)


if __name__ == "__main__":
    main()
