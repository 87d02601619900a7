import io
import xml.etree.ElementTree as ET

import pytest

from capi.errors import ERROR_EVT_CHANNEL_NOT_FOUND, ERROR_EVT_INVALID_QUERY
from capi.host import eventlog as host_eventlog
from capi.testing import raises_hresult
from schannel import eventlog
from winpki.cli import main

MSG = ("A fatal error occurred when attempting to access the SSL server credential private key. "
       "The error code returned from the cryptographic module is 0x8009030d. "
       "The internal error state is 10001.")


def _schannel(machine, event_id=36870, level=eventlog.LEVEL_ERROR):
    return eventlog.write_event(machine, source="Schannel", event_id=event_id, level=level,
                                message=MSG, user_sid="S-1-5-18",
                                data={"Type": "server", "ErrorCode": "0x8009030d",
                                      "ErrorStatus": "10001"})


def wevtutil(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = main(["wevtutil", *args], out=out, err=err)
    return rc, out.getvalue()


def test_records_persist_in_order(machine):
    first = _schannel(machine)
    second = _schannel(machine, 36874, eventlog.LEVEL_ERROR)
    assert second == first + 1
    ids = [r.event_id for r in eventlog.query(machine, "System")]
    assert ids == [36870, 36874]
    assert [r.event_id for r in eventlog.query(machine, "system", newest_first=True)] == [36874, 36870]


@pytest.mark.parametrize("xpath, expected", [
    ("*[System[(EventID=36870)]]", [36870]),
    ("*[System[Provider[@Name='Schannel'] and (EventID=36870 or EventID=36874)]]", [36870, 36874]),
    ("*[System[(Level=1  or Level=2)]]", [36870, 36874]),
    ("*[System[(Level=4)]]", [36880]),
    ("*[System[Provider[@Name='schannel'] and TimeCreated[timediff(@SystemTime) <= 86400000]]]",
     [36870, 36874, 36880]),
    ("*", [36870, 36874, 36880]),
])
def test_event_viewer_xpath_filters(machine, xpath, expected):
    _schannel(machine)
    _schannel(machine, 36874)
    _schannel(machine, 36880, eventlog.LEVEL_INFORMATION)
    assert [r.event_id for r in eventlog.query(machine, "System", xpath=xpath)] == expected


@pytest.mark.parametrize("bad", ["*[System[EventID=]]", "*[System[(EventID=1]]", "Event[",
                                 "*[System[nosuchfunction(1)]]", "*[[x]]"])
def test_invalid_query(machine, bad):
    with raises_hresult(ERROR_EVT_INVALID_QUERY):
        eventlog.query(machine, "System", xpath=bad)


def test_unknown_channel(machine):
    with raises_hresult(ERROR_EVT_CHANNEL_NOT_FOUND):
        eventlog.query(machine, "Bogus")


def test_xml_rendering_matches_windows_shape(machine):
    _schannel(machine)
    (rec,) = eventlog.query(machine, "System")
    root = ET.fromstring(rec.to_xml())
    ns = {"e": "http://schemas.microsoft.com/win/2004/08/events/event"}
    provider = root.find("e:System/e:Provider", ns)
    # Windows: Schannel's provider GUID as rendered in real System-log XML.
    assert provider.attrib == {"Name": "Schannel", "Guid": "{1f678132-5938-4686-9fdc-c8ff68f15c85}"}
    assert root.find("e:System/e:EventID", ns).text == "36870"
    assert root.find("e:System/e:Level", ns).text == "2"
    assert root.find("e:System/e:Security", ns).attrib["UserID"] == "S-1-5-18"
    assert root.find("e:System/e:Computer", ns).text == machine.computer_name
    payload = root.find("e:UserData/{LSA_NS}EventXML", ns)
    assert payload.find("{LSA_NS}ErrorCode").text == "0x8009030d"
    assert root.find("e:RenderingInfo", ns) is None
    rendered = ET.fromstring(rec.to_xml(rendered=True))
    assert rendered.find("e:RenderingInfo/e:Message", ns).text == MSG


def test_wevtutil_text_and_count(machine, monkeypatch):
    monkeypatch.setenv("WINPKI_MACHINE", str(machine.path))
    _schannel(machine)
    _schannel(machine, 36874)
    rc, text = wevtutil("qe", "System", "/q:*[System[(EventID=36870)]]", "/f:text", "/c:1", "/rd:true")
    assert rc == 0
    lines = text.splitlines()
    assert lines[0] == "Event[0]"  # Windows: wevtutil /f:text on 2022 prints no colon
    assert "  Source: Schannel" in lines and "  Event ID: 36870" in lines
    assert "  Level: Error" in lines and "  User: S-1-5-18" in lines
    assert lines[-1] == MSG
    rc, xml = wevtutil("qe", "System", "/c:5")
    assert rc == 0 and xml.count("<Event xmlns=") == 2


def test_wevtutil_bad_input_is_a_message_not_a_traceback(machine):
    rc, text = wevtutil("qe", "System", "/q:*[System[EventID=]]")
    # wevtutil prefixes the failing step to the system message of ERROR_EVT_INVALID_QUERY (15001).
    assert rc != 0 and text == "Failed to read events. The specified query is invalid.\n"
    # A path naming elements no event has is a valid query that selects nothing.
    rc, text = wevtutil("qe", "System", "/q:*[System[Nope=1]]")
    assert rc == 0 and text == ""
    rc, text = wevtutil("qe", "NoSuchLog")
    assert rc != 0 and "The specified channel could not be found." in text
    rc, text = wevtutil("qe", "System", "/f:yaml")
    assert rc != 0 and "The parameter is incorrect." in text


# "Consuming Events" (Windows Event Log docs) — XPath queries as Event Viewer writes them:
# *[UserData/*/PrinterName="MyPrinter" and System/Level=1], TimeCreated[timediff(@SystemTime)
# <= 86400000], and the custom range TimeCreated[@SystemTime>='...' and @SystemTime<='...'].
@pytest.mark.parametrize("xpath, expected", [
    ("*[UserData/*/ErrorCode='0x8009030d']", [36870, 36874]),
    ("*[UserData[EventXML[ErrorStatus=10001]] and System/Level=2]", [36870, 36874]),
    ("*[EventData[Data[@Name='TargetUserName']='x']]", []),
    ("Event/System[EventID=36880]", [36880]),
    ("*[System[TimeCreated[@SystemTime>='2026-03-01T00:00:00.000Z' and "
     "@SystemTime<='2026-03-02T00:00:00.000Z']]]", [36874]),
    ("*[System[TimeCreated[timediff(@SystemTime) <= 86400000]]]", [36880]),
    ("*[System[TimeCreated[timediff(@SystemTime) > 86400000]]]", [36870, 36874]),
    ("*[System[EventRecordID > 1]]", [36874, 36880]),
])
def test_xpath_engine_paths_and_times(machine, xpath, expected):
    from datetime import datetime, timezone

    old = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
    eventlog.write_event(machine, source="Schannel", event_id=36870, level=2, message=MSG,
                         data={"ErrorCode": "0x8009030d", "ErrorStatus": "10001"}, when=old)
    eventlog.write_event(machine, source="Schannel", event_id=36874, level=2, message=MSG,
                         data={"ErrorCode": "0x8009030d", "ErrorStatus": "10001"},
                         when=datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc))
    eventlog.write_event(machine, source="Schannel", event_id=36880, level=4, message=MSG)
    assert [r.event_id for r in eventlog.query(machine, "System", xpath=xpath)] == expected


def test_timediff_is_milliseconds_to_now():
    from datetime import datetime, timedelta, timezone

    stamp = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    assert 2 * 3600_000 - 1000 < host_eventlog.timediff(stamp) < 2 * 3600_000 + 60_000


def test_wevtutil_reverse_direction_and_count(machine, monkeypatch):
    monkeypatch.setenv("WINPKI_MACHINE", str(machine.path))
    for eid in (36870, 36874, 36880):
        _schannel(machine, eid)
    rc, xml = wevtutil("qe", "System", "/rd:true", "/c:2", "/f:xml")
    ids = [int(e.find("{http://schemas.microsoft.com/win/2004/08/events/event}System/"
                      "{http://schemas.microsoft.com/win/2004/08/events/event}EventID").text)
           for e in (ET.fromstring(line) for line in xml.splitlines())]
    assert rc == 0 and ids == [36880, 36874]
