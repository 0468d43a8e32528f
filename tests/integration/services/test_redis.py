import redis

from sextant.devenv.redis import LocalRedis


def test_redis_stores_and_returns_a_key(redis_server: LocalRedis) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.set("sextant:test:greeting", "hello", ex=60)

    assert client.get("sextant:test:greeting") == b"hello"
    assert client.ttl("sextant:test:greeting") > 0
