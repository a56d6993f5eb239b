"""_session_cache: cookies kept between workers, keyed by URL, login and password."""
from __future__ import annotations

import fcntl
import json
import os
import stat
import time

import pytest
import requests

from ansible_collections.ent.pronote.plugins.module_utils import _session_cache as sc
from ansible_collections.ent.pronote.plugins.module_utils._session_cache import SessionCache, cache_key

URL = "https://ent.example.test/mbn/"


def session_with_cookies() -> requests.Session:
    session = requests.Session()
    session.cookies.set_cookie(requests.cookies.create_cookie(
        "KDSESSION", "KD-1", domain="ent.example.test", path="/mbn/", secure=True, rest={"HttpOnly": None}))
    session.cookies.set_cookie(requests.cookies.create_cookie(
        "CASTGC", "TGT-2", domain="ent.example.test", path="/mbn/cas", secure=True, expires=int(time.time()) + 3600))
    session.cookies.set_cookie(requests.cookies.create_cookie("lang", "fr", domain="ent.example.test", path="/"))
    return session


def cookies_of(session):
    return sorted((c.name, c.value, c.domain, c.path, c.secure, c.has_nonstandard_attr("HttpOnly"))
                  for c in session.cookies)


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ENT_PRONOTE_CACHE_DIR", str(tmp_path / "x"))
    assert sc.cache_dir() == str(tmp_path / "x" / "sessions")
    monkeypatch.delenv("ENT_PRONOTE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sc.cache_dir() == str(tmp_path / "xdg" / "ent.pronote" / "sessions")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert sc.cache_dir() == str(tmp_path / "home" / ".cache" / "ent.pronote" / "sessions")


def test_default_directory_follows_the_environment(cache_dir):
    assert SessionCache(URL, "admin", "pw").directory == str(cache_dir / "sessions")


def test_save_then_load_round_trip(tmp_path):
    cache = SessionCache(URL, "admin", "pw", directory=str(tmp_path / "s"))
    original = session_with_cookies()
    cache.save(original)
    fresh = requests.Session()
    mtime = cache.load(fresh)
    assert mtime == os.stat(cache.path).st_mtime == cache.mtime()
    assert cookies_of(fresh) == cookies_of(original)
    castgc = next(c for c in fresh.cookies if c.name == "CASTGC")
    assert castgc.path == "/mbn/cas" and castgc.secure
    # the cookies go where the server meant them to
    request = requests.Request("GET", URL + "cas/login").prepare()
    header = requests.cookies.get_cookie_header(fresh.cookies, request)
    assert "CASTGC=TGT-2" in header and "KDSESSION=KD-1" in header
    elsewhere = requests.cookies.get_cookie_header(fresh.cookies, requests.Request("GET", URL + "etab/").prepare())
    assert "CASTGC" not in elsewhere and "KDSESSION=KD-1" in elsewhere
    plain_http = requests.cookies.get_cookie_header(
        fresh.cookies, requests.Request("GET", "http://ent.example.test/mbn/").prepare())
    assert "KDSESSION" not in (plain_http or "") and "lang=fr" in plain_http


def test_file_mode_0600_and_dir_0700(tmp_path):
    directory = tmp_path / "new" / "sessions"
    cache = SessionCache(URL, "admin", "pw", directory=str(directory))
    old = os.umask(0o022)
    try:
        cache.save(session_with_cookies())
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(cache.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert [p for p in os.listdir(directory) if p.startswith(".tmp-")] == []


def test_file_holds_no_password(tmp_path):
    cache = SessionCache(URL, "admin", "Pa55word!", directory=str(tmp_path))
    cache.save(session_with_cookies())
    text = open(cache.path, encoding="utf-8").read()
    assert "Pa55word!" not in text
    assert json.loads(text)["cookies"][0]["name"] in {"KDSESSION", "CASTGC", "lang"}


def test_key_changes_with_url_login_and_password():
    keys = {cache_key(URL, "admin", "pw"), cache_key(URL, "admin", "pw2"), cache_key(URL, "admin2", "pw"),
            cache_key(URL + "x", "admin", "pw"), cache_key("https://ent.example.test/mbn", "/admin", "pw")}
    assert len(keys) == 5
    assert cache_key(URL, "admin", "pw") == cache_key(URL, "admin", "pw")
    assert len(cache_key(URL, "admin", "pw")) == 40
    assert "pw" not in cache_key(URL, "admin", "pw")


def test_a_wrong_password_never_reuses_a_session(tmp_path):
    SessionCache(URL, "admin", "right", directory=str(tmp_path)).save(session_with_cookies())
    other = SessionCache(URL, "admin", "wrong", directory=str(tmp_path))
    fresh = requests.Session()
    assert other.load(fresh) is None and other.mtime() is None
    assert len(fresh.cookies) == 0


def test_an_entry_older_than_max_age_is_ignored(tmp_path):
    cache = SessionCache(URL, "admin", "pw", directory=str(tmp_path))
    cache.save(session_with_cookies())
    old = time.time() - sc.MAX_AGE - 5
    os.utime(cache.path, (old, old))
    fresh = requests.Session()
    assert cache.load(fresh) is None
    assert len(fresh.cookies) == 0
    recent = time.time() - sc.MAX_AGE + 60
    os.utime(cache.path, (recent, recent))
    assert cache.load(fresh) == pytest.approx(recent)
    assert len(fresh.cookies) == 3


def test_missing_or_corrupt_file_loads_nothing(tmp_path):
    cache = SessionCache(URL, "admin", "pw", directory=str(tmp_path))
    assert cache.load(requests.Session()) is None
    with open(cache.path, "w", encoding="utf-8") as handle:
        handle.write("{not json")
    session = requests.Session()
    assert cache.load(session) is None and len(session.cookies) == 0


def test_drop(tmp_path):
    cache = SessionCache(URL, "admin", "pw", directory=str(tmp_path))
    cache.save(session_with_cookies())
    cache.drop()
    assert cache.mtime() is None
    cache.drop()  # dropping twice is fine


def test_lock_can_be_taken_again_by_another_cache_object_sequentially(tmp_path):
    first = SessionCache(URL, "admin", "pw", directory=str(tmp_path / "s"))
    second = SessionCache(URL, "admin", "pw", directory=str(tmp_path / "s"))
    assert first.lock_path == second.lock_path
    with first.locked():
        pass
    with second.locked():
        pass
    with first.locked():
        pass
    assert stat.S_IMODE(os.stat(first.lock_path).st_mode) == 0o600


def test_lock_excludes_others_while_held(tmp_path):
    cache = SessionCache(URL, "admin", "pw", directory=str(tmp_path))
    fd = None
    with cache.locked():
        fd = os.open(cache.lock_path, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(cache.lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: free again
    finally:
        os.close(fd)


def test_lock_is_released_on_error(tmp_path):
    cache = SessionCache(URL, "admin", "pw", directory=str(tmp_path))
    with pytest.raises(RuntimeError):
        with cache.locked():
            raise RuntimeError("boom")
    fd = os.open(cache.lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
