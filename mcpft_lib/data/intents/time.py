"""Intents of mcp-server-time."""

from __future__ import annotations

from datetime import datetime
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, jdump, load_text, preface, random_date
from mcpft_lib.mcp.world import CITIES, TZ_ABBREVIATIONS

PHRASES = load_text(__file__)["phrases"]


def time_result(tz: str, moment: datetime) -> dict[str, Any]:
    local = moment.astimezone(ZoneInfo(tz))
    return {
        "timezone": tz,
        "datetime": local.isoformat(timespec="seconds"),
        "day_of_week": local.strftime("%A"),
        "is_dst": bool(local.dst()),
    }


def _hours_diff(a: datetime, b: datetime) -> str:
    off_a, off_b = a.utcoffset(), b.utcoffset()
    assert off_a is not None and off_b is not None
    h = (off_b - off_a).total_seconds() / 3600
    return f"{h:+.1f}h" if h.is_integer() else f"{h:+.2f}".rstrip("0").rstrip(".") + "h"


def converted_time(src: str, hhmm: str, dst: str, day: datetime) -> dict[str, Any]:
    h, m = map(int, hhmm.split(":"))
    s = datetime(day.year, day.month, day.day, h, m, tzinfo=ZoneInfo(src))
    t = s.astimezone(ZoneInfo(dst))
    return {
        "source": time_result(src, s),
        "target": time_result(dst, t),
        "time_difference": _hours_diff(s, t),
    }


def spoken_time(r: Random, hhmm: str) -> str:
    """'14:30' as the user might say it: '14:30', '2:30 pm' or '2:30pm'."""
    h, m = map(int, hhmm.split(":"))
    style = r.randrange(3)
    if style == 0:
        return hhmm
    suffix = "am" if h < 12 else "pm"
    h12 = h % 12 or 12
    text = f"{h12}:{m:02d}" if m or r.random() < 0.5 else str(h12)
    return f"{text} {suffix}" if style == 1 else f"{text}{suffix}"


def _place(r: Random, city: str, tz: str) -> str:
    return tz if r.random() < 0.2 else city


@intent("single_call", "time/get_current_time")
def _time_now(r: Random) -> Scenario:
    city, tz = r.choice(CITIES)
    res = time_result(tz, random_date(r))
    user = fmt(r, PHRASES["time_now"]["ask"], p=_place(r, city, tz))
    hm = res["datetime"][11:16]
    answer = fmt(r, PHRASES["time_now"]["answer"], hm=hm, dow=res["day_of_week"], city=city, tz=tz,
                 dst=", daylight saving time" if res["is_dst"] else "")  # fmt: skip
    return Scenario(
        user, [Step(call("time", "get_current_time", timezone=tz), jdump(res), text=preface(r))], answer
    )


def random_hhmm(r: Random) -> str:
    return f"{r.randrange(24):02d}:{r.choice((0, 0, 15, 30, 45)):02d}"


@intent("single_call", "time/convert_time")
def _time_convert(r: Random) -> Scenario:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    hhmm = random_hhmm(r)
    res = converted_time(tz1, hhmm, tz2, random_date(r))
    p1, p2, spoken = _place(r, c1, tz1), _place(r, c2, tz2), spoken_time(r, hhmm)
    user = fmt(r, PHRASES["time_convert"]["ask"], t=spoken, p1=p1, p2=p2)
    tgt = res["target"]["datetime"]
    answer = fmt(r, PHRASES["time_convert"]["answer"], t=hhmm, c1=c1, c2=c2, hm=tgt[11:16],
                 dow=res["target"]["day_of_week"], diff=res["time_difference"])  # fmt: skip
    step = Step(call("time", "convert_time", source_timezone=tz1, time=hhmm, target_timezone=tz2), jdump(res))
    return Scenario(user, [step], answer, difficulty="medium" if spoken != hhmm else "easy")


@intent("multi_step", "time/get_current_time", "time/convert_time")
def _time_now_then_convert(r: Random) -> Scenario:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    day = random_date(r)
    now = time_result(tz1, day)
    hhmm = now["datetime"][11:16]
    conv = converted_time(tz1, hhmm, tz2, day)
    user = fmt(r, PHRASES["time_now_then_convert"]["ask"], c1=c1, c2=c2)
    steps = [
        Step(call("time", "get_current_time", timezone=tz1), jdump(now)),
        Step(call("time", "convert_time", source_timezone=tz1, time=hhmm, target_timezone=tz2), jdump(conv),
             text=f"It's {hhmm} in {c1}. Now I'll convert that to {c2} time."),
    ]  # fmt: skip
    answer = (
        f"It's {hhmm} in {c1} ({now['day_of_week']}), which is {conv['target']['datetime'][11:16]} in {c2}."
    )
    return Scenario(user, steps, answer, difficulty="medium")


@intent("error_handling", "time/get_current_time")
def _time_bad_zone(r: Random) -> Scenario:
    abbr, tz = r.choice(TZ_ABBREVIATIONS)
    res = time_result(tz, random_date(r))
    user = fmt(r, PHRASES["time_bad_zone"]["ask"], a=abbr)
    steps = [
        Step(call("time", "get_current_time", timezone=abbr),
             f"Invalid timezone: 'No time zone found with key {abbr}'", is_error=True, mistake=True),
        Step(call("time", "get_current_time", timezone=tz), jdump(res),
             text=f"'{abbr}' is an abbreviation, not an IANA timezone name. {abbr} corresponds to {tz}, so I'll use that."),
    ]  # fmt: skip
    answer = f"It's {res['datetime'][11:16]} on {res['day_of_week']} in {abbr} ({tz})."
    return Scenario(user, steps, answer, difficulty="medium")


@intent("error_handling", "time/convert_time")
def _time_bad_format(r: Random) -> Scenario:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    h = r.randrange(1, 12)
    pm = r.random() < 0.5
    spoken = f"{h}{'pm' if pm else 'am'}"
    hhmm = f"{h + 12 if pm else h:02d}:00"
    res = converted_time(tz1, hhmm, tz2, random_date(r))
    user = fmt(r, PHRASES["time_bad_format"]["ask"], t=spoken, c1=c1, c2=c2)
    steps = [
        Step(call("time", "convert_time", source_timezone=tz1, time=spoken, target_timezone=tz2),
             "Invalid time format. Expected HH:MM [24-hour format]", is_error=True, mistake=True),
        Step(call("time", "convert_time", source_timezone=tz1, time=hhmm, target_timezone=tz2), jdump(res),
             text=f"The tool needs 24-hour HH:MM, so {spoken} becomes {hhmm}."),
    ]  # fmt: skip
    answer = f"{spoken} in {c1} is {res['target']['datetime'][11:16]} in {c2} ({res['time_difference']})."
    return Scenario(user, steps, answer, difficulty="medium")
