"""Overcooked (Carroll et al. 2019, "On the Utility of Learning about Humans for Human-AI
Coordination"): two cooks share a kitchen and make onion soups.

    env = jaxplay.make("overcooked", layout="cramped_room", dynamics="classic", horizon=400)

(Importing this package registers "overcooked" with `jaxplay.make`.)

Rules (overcooked-ai 1.1.0's `OvercookedGridworld`, step by step in `dynamics`):
- Both cooks move at once (`simultaneous`, `current_player == -1`); each has all 6 actions
  legal until the episode ends: 0 up (y - 1), 1 down (y + 1), 2 right (x + 1), 3 left
  (x - 1), 4 stay, 5 interact. Cooks start where the layout's `1` and `2` are, facing north.
- A move turns the cook to face that way and moves it there if that cell is floor. Then, if
  the two cooks would end in one cell (also: one moves into the cell of one who stays) or
  would swap cells, neither moves (both still turn). Following the other cook into the cell
  it leaves is allowed.
- Interact acts on the faced cell; cook 0's interact is resolved before cook 1's, on the
  state cook 0 left; both come before any movement:
  onion / dish dispenser: an empty-handed cook takes an onion / a dish. Counter: put down
  what the cook holds on an empty counter, or pick up what lies there with empty hands. Pot:
  an onion goes into a pot that has not started cooking and holds fewer than 3; a cook with
  a dish takes a ready soup (the cook then holds the soup, the pot is empty). Serving
  counter: a held soup is delivered, +20 for a 3-onion soup (the only order; a soup of
  fewer onions is taken and pays 0).
- Cooking: a soup cooks for `cook_time` = 20 steps. "classic" dynamics (default; JaxMARL and
  the 2019 paper): a pot starts by itself when its 3rd onion goes in. "new" dynamics
  (overcooked-ai 1.1.0): a cook with empty hands interacting with a pot that holds 1..3
  onions and is not cooking starts it. Every step, after interacts and moves, each cooking
  pot advances one tick (so the step that starts a pot counts as its first).
- Rewards: `rewards` = the sparse delivery reward of the step, the same for both cooks.
  `shaped_rewards` float32[2], per cook, as overcooked-ai: 3 for an onion into a pot, 5 for
  taking a soup from a pot, 3 for taking a dish from the dispenser when useful (no dish lies
  on any counter and the other cook's dish count (0 or 1) is below the number of pots that,
  before this step's interacts, were cooking, ready, or held 1 or 2 onions).
- The episode ends after `horizon` (400) steps with `truncated=True`; nothing terminates it
  except an illegal (out-of-range) action, handled by `Env.step`. No chance:
  `chance_shape == (0,)`.

Observation: int8[2, H*W, 24]: one token per cell (cell y * W + x, row-major over the grid;
the padded grid with `pad_to`), from each cook's point of view (row p is cook p's view: "me" =
cook p, "other" = cook 1 - p). The information of overcooked-ai's lossless encoding (its 26
layers less the 3 tomato ones), plus padding and floor flags:
   0 me                   cook p stands here
   1 other                the other cook stands here
   2-5 me_facing_north / _south / _east / _west      (1 only at cook p's cell)
   6-9 other_facing_north / _south / _east / _west   (1 only at the other cook's cell)
  10 pot  11 counter  12 onion_dispenser  13 dish_dispenser  14 serving   (terrain one-hots)
  15 padding              a cell outside the kitchen (pad_to); its other features are all 0
  16 floor
  17 onions_in_pot        onions in a pot that is not cooking (0..3)
  18 onions_in_soup       onions of a soup: in a cooking or ready pot, on a counter, or held
  19 cook_time_remaining  cook_time - tick for a cooking or ready pot (0 when ready)
  20 soup_ready           a ready pot; a soup on a counter or held
  21 dish                 a dish on a counter, or held by the cook standing here
  22 onion                an onion on a counter, or held by the cook standing here
  23 urgency              (every cell but padding) fewer than 40 steps remain before the horizon
Held objects are drawn at their cook's cell, as overcooked-ai does. The names are
`dynamics.FEATURES`; `cook_time` is at most 63 (the features are packed into bit fields of
one int32 per cell before they are spread into bytes, see `Kitchen.observe`).

State fields beyond the contract: `cook_cell`, `cook_dir`, `held`, `counters`, `pot_onions`,
`pot_tick`, `shaped_rewards` (see `OvercookedState`); `env.describe(state)` reads a state in
overcooked-ai's terms. Rendering: `env.render` (= `render.rgb`), `render.text`; GIFs of
episodes with `jaxplay.io.gif.save_episode`.
"""

from jaxplay.games.overcooked import dynamics, layouts, render  # noqa: F401
from jaxplay.games.overcooked.dynamics import FEATURES, OvercookedState  # noqa: F401
from jaxplay.games.overcooked.env import Overcooked  # noqa: F401  (registers "overcooked")
from jaxplay.games.overcooked.layouts import LAYOUTS  # noqa: F401
