"""The calendar's HTTP behaviour through aiohttp's test server: 200, 304, 400, 403, 404, headers and
the subscription page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from bot.web.routes import build_web_app
from tests.helpers import SEED_SERIES, Members, ok


@pytest.fixture
async def client(services: Services, dispatcher: Dispatcher, members: Members) -> AsyncIterator[TestClient]:
    await ok(dispatcher, members.chair(), SEED_SERIES.replace('name="TVM Community Meeting"',
                                                              'name="TVM <Community> & \'Friends\'"'))
    await ok(dispatcher, members.member("bob"),
             '/agenda add "<script>alert(1)</script>" https://discuss.tvm.apache.org/t/12171?a=1&b=2')
    async with TestClient(TestServer(build_web_app(services))) as test_client:
        yield test_client


async def test_feed_200_then_304_by_etag_and_by_date(client: TestClient, services: Services) -> None:
    first = await client.get("/calendar/community.ics")
    assert first.status == 200
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = await first.read()
    assert body == (await services.calendar.feed("community")).body
    etag = first.headers["ETag"]
    modified = first.headers["Last-Modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    again = await client.get("/calendar/community.ics", headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag and await again.read() == b""
    weak = await client.get("/calendar/community.ics", headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status == 304
    stale = await client.get("/calendar/community.ics", headers={"If-None-Match": '"other"'})
    assert stale.status == 200
    by_date = await client.get("/calendar/community.ics", headers={"If-Modified-Since": modified})
    assert by_date.status == 304
    older = await client.get("/calendar/community.ics", headers={"If-Modified-Since": "Mon, 01 Jan 2018 00:00:00 GMT"})
    assert older.status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110).
    both = await client.get("/calendar/community.ics",
                            headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert both.status == 200
    zoned = await client.get("/calendar/community.ics", params={"tz": "Asia/Kolkata"})
    assert zoned.status == 200 and b"DTSTART;TZID=Asia/Kolkata:20220302T213000" in await zoned.read()
    assert zoned.headers["ETag"] != etag


async def test_errors(client: TestClient, services: Services, members: Members) -> None:
    bad_zone = await client.get("/calendar/community.ics", params={"tz": "Mars/Olympus"})
    assert bad_zone.status == 400 and "not a time zone" in await bad_zone.text()
    malformed = await client.get("/calendar/community.ics", params={"tz": "../../etc/passwd"})
    assert malformed.status == 400
    long_zone = await client.get("/calendar/community.ics", params={"tz": "A" * 5000})
    assert long_zone.status == 400
    assert (await client.get("/calendar/nope.ics")).status == 404
    assert (await client.get("/calendar/nope")).status == 404
    for path in ("/calendar/..%2F..%2Fetc%2Fpasswd.ics", "/calendar/%2e%2e.ics", "/calendar/Community.ics",
                 "/calendar/.ics", "/calendar/community.ics.ics"):
        assert (await client.get(path)).status == 404, path
    assert (await client.get("/calendar/../etc/passwd")).status == 404
    await services.calendar.set_private(members.chair(), "community", True)
    token = (await services.meetings.resolve_series("tvm", "community")).feed_token
    assert token
    assert (await client.get("/calendar/community.ics")).status == 403
    assert (await client.get("/calendar/community.ics", params={"token": "guess"})).status == 403
    private = await client.get("/calendar/community.ics", params={"token": token})
    assert private.status == 200 and private.headers["Cache-Control"].startswith("private")
    assert (await client.get("/calendar/community")).status == 403
    assert token not in await (await client.get("/")).text()  # private series are not listed


async def test_subscription_page_escapes_everything(client: TestClient) -> None:
    page = await client.get("/calendar/community")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    html = await page.text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "TVM &lt;Community&gt; &amp; &#x27;Friends&#x27;" in html
    assert 'href="https://discuss.tvm.apache.org/t/12171?a=1&amp;b=2"' in html
    assert 'href="webcal://localhost:8080/calendar/community.ics?tz=Asia/Kolkata"' in html
    assert 'href="http://localhost:8080/calendar/community.ics"' in html
    assert "Thu 00:00 CST (Asia/Shanghai)" in html and "Host: not assigned yet" in html
    index = await client.get("/")
    assert index.status == 200 and 'href="http://localhost:8080/calendar/community"' in await index.text()
