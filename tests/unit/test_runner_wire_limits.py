"""Bounded decoding, origins and the non-secret endpoint location used in cache keys."""

from __future__ import annotations

import gzip
import zlib

import pytest

from ragwacht.runners import profile_from_dict
from ragwacht.runners._wire import (
    BoundedDecoder,
    DamagedBody,
    ResponseTooLarge,
    UnsupportedEncoding,
    origin_of,
    parse_json,
    url_secrets,
)
from ragwacht.runners.store import resolved_endpoint


def _decode(encoding: str | None, body: bytes, limit: int, chunk: int = 4096) -> bytes:
    d = BoundedDecoder(encoding, limit)
    out = [d.feed(body[i : i + chunk]) for i in range(0, len(body), chunk)]
    return b"".join([*out, d.flush()])


def test_gzip_and_both_deflate_forms_decode() -> None:
    data = b"woz " * 10_000
    assert _decode("gzip", gzip.compress(data), 1 << 20) == data
    assert _decode("deflate", zlib.compress(data), 1 << 20) == data
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert _decode("deflate", raw.compress(data) + raw.flush(), 1 << 20) == data
    assert _decode(None, data, 1 << 20) == data


def test_a_bomb_stops_at_the_cap_in_one_chunk() -> None:
    bomb = gzip.compress(b"\0" * (50 << 20))
    d = BoundedDecoder("gzip", 1 << 20)
    with pytest.raises(ResponseTooLarge, match="decompressed"):
        d.feed(bomb)  # the whole bomb at once: zlib is still asked for no more than the cap
    with pytest.raises(ResponseTooLarge, match="response body is larger"):
        _decode(None, b"x" * 5000, 4096)


def test_damaged_and_unasked_encodings() -> None:
    with pytest.raises(DamagedBody):
        _decode("gzip", b"not gzip at all", 1 << 20)
    with pytest.raises(UnsupportedEncoding):
        BoundedDecoder("br", 1 << 20)


def test_origins_and_url_credentials() -> None:
    assert origin_of("http://Bot.example/x") == origin_of("http://bot.example:80/y")
    assert origin_of("https://bot.example") != origin_of("http://bot.example:443")
    assert origin_of("http://127.0.0.1:8000/a") != origin_of("http://127.0.0.2:8000/a")
    assert url_secrets("https://u:pa55word@h/f?code=abcd1234&lang=nl") == ["pa55word", "abcd1234"]


def test_a_declared_charset_is_used_and_depth_is_a_value_error() -> None:
    assert parse_json('{"a": "café"}'.encode("latin-1"), "ISO-8859-1") == {"a": "café"}
    assert parse_json('{"a": "café"}'.encode(), None) == {"a": "café"}
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_json(b"[" * 100_000 + b"]" * 100_000, None)


def test_the_resolved_endpoint_hides_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RW_BOT_URL", "http://user:hunter22@Bot.local:8080/api?code=s3cr3tcode")
    monkeypatch.setenv("RW_TENANT", "gemeente-x")
    monkeypatch.setenv("RW_PATH_TOKEN", "tok-abcdef")
    prof = profile_from_dict(
        {"type": "http", "url": "${env:RW_BOT_URL}&t=${env:RW_TENANT}&p=${env:RW_PATH_TOKEN}"}
    )
    where = resolved_endpoint(prof)["url"]
    assert where.startswith("http://bot.local:8080/api?") and "gemeente-x" in where
    for secret in ("hunter22", "s3cr3tcode", "tok-abcdef", "user"):
        assert secret not in where
    assert resolved_endpoint(profile_from_dict({"type": "http", "url": "http://h/x"})) == {}
