"""Sharing Telegram's overall budget (about 30 messages a second for a bot) between instances.

Replies come first, since someone is waiting. The answering instances split the budget (less a
trickle kept for broadcasts) in proportion to their demand, the replies each sent or had waiting
lately, so that together they never exceed it however the load is spread, and the share of an
instance that gets more traffic (a peer died, say) grows at its next heartbeat. The broadcast pace
takes what the replies of the last seconds left, down to that trickle. No central process: each
instance computes its split from the heartbeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TELEGRAM_BUDGET = 30.0  # messages per second, all chats together
MIN_BROADCAST = 1.0  # a broadcast never stops entirely while replies are busy
HEADROOM = 2.0  # messages per second kept free for a sudden burst of replies
IDLE = 1.0  # the demand an idle instance counts for: it keeps a part for its next question
ANSWERING = ("web", "all")


@dataclass(frozen=True, slots=True)
class Split:
    """The rates this deployment should keep now."""

    per_answering_instance: float  # overall limit of this instance (when it answers users)
    broadcast: float  # pace of the instance sending broadcasts


def split(peers: Sequence[tuple[str, float]], wanted_broadcast: float, *,
          own_demand: float = 0.0, budget: float = TELEGRAM_BUDGET) -> Split:
    """The split for live `peers` (role, replies per second sent or waiting; this instance
    included, with `own_demand`), and the broadcast pace asked for.
    """
    demands = [demand for role, demand in peers if role in ANSWERING]
    # The headroom absorbs light reply traffic; beyond it the broadcast gives way (20 % margin,
    # since the demand is measured over the last second and may be rising).
    broadcast = max(MIN_BROADCAST,
                    min(wanted_broadcast, budget - max(HEADROOM, 1.2 * sum(demands))))
    weights = sum(max(IDLE, demand) for demand in demands)
    share = max(IDLE, own_demand) / weights if weights else 1.0
    return Split((budget - MIN_BROADCAST) * min(1.0, share), broadcast)
