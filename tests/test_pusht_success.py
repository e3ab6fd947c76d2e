"""PushT's success rule (DINO-WM's, as a distance) on hand-built states, and the missing-extra error.

Neither needs gym-pusht: the rule is pure torch, and the error is what a user without the extra sees.
"""

import math
import sys

import pytest
import torch

from jepa_world.envs.pusht.success import ANGLE_TOLERANCE, POSITION_TOLERANCE, pusht_distance
from jepa_world.errors import UserError, user_errors

GOAL = torch.tensor([100.0, 200.0, 256.0, 256.0, 0.3], dtype=torch.float64)


def shifted(dx_agent=0.0, dx_block=0.0, dangle=0.0):
    s = GOAL.clone()
    s[0] += dx_agent
    s[2] += dx_block
    s[4] += dangle
    return s


def dino_wm_success(state, goal):
    """DINO-WM's eval_state written out independently: ||s[:4] - g[:4]|| < 20 and wrapped angle < pi / 9."""
    pos = math.dist(state[:4].tolist(), goal[:4].tolist())
    d = abs(float(state[4] - goal[4])) % (2 * math.pi)
    return pos < 20 and min(d, 2 * math.pi - d) < math.pi / 9


@pytest.mark.parametrize("state, success", [
    (shifted(), True),
    (shifted(dx_block=19.9), True),
    (shifted(dx_block=20.1), False),
    (shifted(dx_agent=20.1), False),  # the agent's position counts too (DINO-WM compares state[:4])
    (shifted(dx_agent=14.0, dx_block=14.0), True),  # 19.8 px together
    (shifted(dx_agent=14.2, dx_block=14.2), False),  # 20.08 px together
    (shifted(dangle=math.radians(19.9)), True),
    (shifted(dangle=-math.radians(20.1)), False),
    (shifted(dangle=2 * math.pi - math.radians(10)), True),  # wraps around
    (shifted(dangle=math.pi), False),
])
def test_success_rule_matches_dino_wm_on_hand_built_states(state, success):
    dist = pusht_distance(state[None], GOAL[None])
    assert bool(dist < 1) == success == dino_wm_success(state, GOAL)


def test_distance_is_the_larger_normalised_error():
    state = shifted(dx_block=10.0, dangle=math.radians(5))
    assert float(pusht_distance(state[None], GOAL[None])) == pytest.approx(10.0 / POSITION_TOLERANCE)
    state = shifted(dx_block=2.0, dangle=math.radians(15))
    assert float(pusht_distance(state[None], GOAL[None])) == pytest.approx(math.radians(15) / ANGLE_TOLERANCE)


def test_distance_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        pusht_distance(torch.zeros(2, 4), torch.zeros(2, 4))


def test_missing_extra_is_one_user_error_naming_pip(monkeypatch):
    from jepa_world.envs.pusht import package

    monkeypatch.setitem(sys.modules, "gym_pusht.envs.pusht", None)  # import fails as if not installed
    with pytest.raises(UserError, match=r'pip install "jepa-world\[pusht\]"') as e:
        package.make_pusht_env()
    assert isinstance(e.value, user_errors()) and "\n" not in str(e.value)
