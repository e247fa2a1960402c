"""Sharing Telegram's overall budget (about 30 messages a second for a bot) between instances.

Replies come first, since someone is waiting: each instance that answers users may use what the
other answering instances did not use lately (at least an equal part), and the broadcast pace
takes what the replies of the last seconds left, down to a trickle. No central process: each
instance computes its split from the heartbeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TELEGRAM_BUDGET = 30.0  # messages per second, all chats together
MIN_BROADCAST = 1.0  # a broadcast never stops entirely while replies are busy
HEADROOM = 2.0  # messages per second kept free for a sudden burst of replies
ANSWERING = ("web", "all")


@dataclass(frozen=True, slots=True)
class Split:
    """The rates this deployment should keep now."""

    per_answering_instance: float  # overall limit of each instance answering users
    broadcast: float  # pace of the instance sending broadcasts


def split(peers: Sequence[tuple[str, float]], wanted_broadcast: float, *,
          own_replies: float = 0.0, budget: float = TELEGRAM_BUDGET) -> Split:
    """The split for live `peers` (role, replies per second; this instance included, having
    sent `own_replies` per second), and the broadcast pace asked for.
    """
    answering = [replies for role, replies in peers if role in ANSWERING]
    replies = sum(answering)
    # The headroom absorbs light reply traffic; beyond it the broadcast gives way (20 % margin,
    # since the reply rate is measured over the last seconds and may be rising).
    broadcast = max(MIN_BROADCAST, min(wanted_broadcast, budget - max(HEADROOM, 1.2 * replies)))
    # A share left idle by the others is usable at once: when load moves to this instance (the
    # load balancer lost a peer, say), it is not held to an equal part meanwhile.
    equal = (budget - MIN_BROADCAST) / max(1, len(answering))
    unused = budget - MIN_BROADCAST - max(0.0, replies - own_replies)
    return Split(max(equal, unused), broadcast)
