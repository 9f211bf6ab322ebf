"""Who is trusted or a reviewer: Slack user ids, or members of Slack user groups (S…)."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
CACHE_S = 300.0


class Membership:
    def __init__(self, client: WebClient, ids: frozenset[str]) -> None:
        self.client = client
        self.users = {i for i in ids if not i.startswith("S")}
        self.groups = {i for i in ids if i.startswith("S")}
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def _group_members(self, group: str) -> frozenset[str]:
        with self._lock:
            cached = self._members.get(group)
            if cached and time.monotonic() - cached[0] < CACHE_S:
                return cached[1]
        try:
            users = frozenset(self.client.usergroups_users_list(usergroup=group)["users"])
        except SlackApiError as exc:
            log.warning("cannot list user group %s: %s", group, exc.response.get("error"))
            users = frozenset()
        with self._lock:
            self._members[group] = (time.monotonic(), users)
        return users

    def __contains__(self, user: object) -> bool:
        if not isinstance(user, str):
            return False
        return user in self.users or any(user in self._group_members(g) for g in self.groups)
