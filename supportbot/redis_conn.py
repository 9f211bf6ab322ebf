"""Connect to the configured Redis, or start the embedded one."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis

from supportbot.embedded_redis import EmbeddedRedis
from supportbot.errors import ConfigError
from supportbot.settings import Settings


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def resolve_url(settings: Settings) -> str:
    """REDIS_URL, or the URL of the embedded Redis (started if needed)."""
    return settings.redis_url or EmbeddedRedis(settings.data_dir / "redis").start()


def connect(settings: Settings) -> redis.Redis:
    url = resolve_url(settings)
    client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5, health_check_interval=30)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ConfigError(f"cannot reach Redis at REDIS_URL={redacted(url)}: {exc}") from None
    return client
