"""Connect to the configured Redis, or start the embedded one."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

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


# A command that fails on a dropped connection or a timeout is retried 3 times, 50 ms to 1 s apart
# (jittered), before the error reaches the caller, which then spools what it could not write.
RETRIES = 3


def client_options(timeout_s: float) -> dict[str, object]:
    """redis-py options: bounded waits, and redis-py's own retry with backoff."""
    return {
        "socket_connect_timeout": timeout_s,
        "socket_timeout": timeout_s,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 30,
    }


def connect(settings: Settings) -> redis.Redis:
    url = resolve_url(settings)
    client = redis.Redis.from_url(url, decode_responses=True, **client_options(settings.redis_timeout_s))
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ConfigError(f"cannot reach Redis at REDIS_URL={redacted(url)}: {exc}") from None
    return client
