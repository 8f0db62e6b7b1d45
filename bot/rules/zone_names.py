"""What people type for a time zone, and the IANA zone they mean.

The zone database also holds abbreviation-like legacy names (``EST``, ``MST``, ``HST``, ``EST5EDT``, ``CET``)
and fixed offsets (``Etc/GMT+5``). They load fine but do not mean what people mean: ``EST`` has no daylight
saving, so a July meeting would show "10:00 EST" while New York is at 11:00 EDT; and ``Etc/GMT+5`` is
five hours *behind* UTC. So ``bot.rules.parsing.parse_zone`` (the one place a typed zone is read) refuses
them, and abbreviations that are not in the database at all (``PST``, ``IST``, ``CEST``), answering with the
IANA zones those names usually mean (this table). Pure data and functions; no I/O."""

from __future__ import annotations

import re

# Names that mean UTC itself; kept (they are what people mean) and shown as "UTC".
UTC_ALIASES = frozenset({"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu", "Z"})

# An abbreviation (upper case) -> the IANA zones it usually means, most likely first, each with the place
# in words so a member can pick. Several meanings are listed where the abbreviation is shared (IST, CST).
ABBREVIATIONS: dict[str, tuple[tuple[str, str], ...]] = {}


def _add(names: str, *zones: tuple[str, str]) -> None:
    for name in names.split():
        ABBREVIATIONS[name] = zones


_US_PACIFIC = ("America/Los_Angeles", "US Pacific")
_US_MOUNTAIN = ("America/Denver", "US Mountain")
_ARIZONA = ("America/Phoenix", "Arizona, no daylight saving")
_US_CENTRAL = ("America/Chicago", "US Central")
_US_EASTERN = ("America/New_York", "US Eastern")
_CHINA = ("Asia/Shanghai", "China")
_INDIA = ("Asia/Kolkata", "India")
_UK = ("Europe/London", "UK: GMT in winter, BST in summer")
_CENTRAL_EUROPE = ("Europe/Berlin", "Central Europe; also Europe/Paris, Europe/Madrid, ...")
_EASTERN_EUROPE = ("Europe/Athens", "Eastern Europe; also Europe/Helsinki, Europe/Kyiv, ...")

_add("PST PDT PT PACIFIC", _US_PACIFIC)
_add("MST MDT MT MST7MDT", _US_MOUNTAIN, _ARIZONA)
_add("CST CDT CT CST6CDT", _US_CENTRAL, _CHINA)
_add("EST EDT ET EST5EDT", _US_EASTERN)
_add("PST8PDT", _US_PACIFIC)
_add("AKST AKDT", ("America/Anchorage", "Alaska"))
_add("HST HDT", ("Pacific/Honolulu", "Hawaii"))
_add("AST", ("America/Halifax", "Atlantic Canada"), ("Asia/Riyadh", "Arabia"))
_add("ADT", ("America/Halifax", "Atlantic Canada"))
_add("NST NDT", ("America/St_Johns", "Newfoundland"))
_add("BRT", ("America/Sao_Paulo", "Brazil"))
_add("ART", ("America/Argentina/Buenos_Aires", "Argentina"))
_add("GMT BST GMT0 GMT+0 GMT-0 GREENWICH ETC/GMT ETC/GMT0 ETC/GMT+0 ETC/GMT-0 ETC/GREENWICH", _UK,
     ("UTC", "no daylight saving"))
_add("IST", _INDIA, ("Europe/Dublin", "Ireland"), ("Asia/Jerusalem", "Israel"))
_add("WET WEST", ("Europe/Lisbon", "Portugal"))
_add("CET CEST MET MEST", _CENTRAL_EUROPE)
_add("EET EEST", _EASTERN_EUROPE)
_add("MSK", ("Europe/Moscow", "Moscow"))
_add("PKT", ("Asia/Karachi", "Pakistan"))
_add("ICT", ("Asia/Bangkok", "Indochina"))
_add("WIB", ("Asia/Jakarta", "Western Indonesia"))
_add("SGT", ("Asia/Singapore", "Singapore"))
_add("HKT", ("Asia/Hong_Kong", "Hong Kong"))
_add("JST", ("Asia/Tokyo", "Japan"))
_add("KST", ("Asia/Seoul", "Korea"))
_add("AEST AEDT", ("Australia/Sydney", "Eastern Australia; Australia/Brisbane has no daylight saving"))
_add("ACST ACDT", ("Australia/Adelaide", "Central Australia"))
_add("AWST", ("Australia/Perth", "Western Australia"))
_add("NZST NZDT", ("Pacific/Auckland", "New Zealand"))
_add("SAST", ("Africa/Johannesburg", "South Africa"))
_add("WAT", ("Africa/Lagos", "West Africa"))
_add("CAT", ("Africa/Maputo", "Central Africa"))
_add("EAT", ("Africa/Nairobi", "East Africa"))

# Legacy names in the zone database that are not places: refused even when the table has no entry.
_LEGACY = frozenset({"Factory", "localtime"})

# Fixed offsets people type: UTC+5, GMT-08:00, +05:30, Etc/GMT+5 (whose sign is the POSIX one, inverted).
_OFFSET = re.compile(r"^(?P<etc>Etc/)?(?:UTC|GMT)?\s*(?P<sign>[+-])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?$",
                     re.IGNORECASE)

# A place for some standard offsets (minutes east of UTC), for the answer to a fixed offset.
_BY_OFFSET: dict[int, tuple[tuple[str, str], ...]] = {
    -10 * 60: (("Pacific/Honolulu", "Hawaii"),),
    -8 * 60: (_US_PACIFIC,),
    -7 * 60: (_US_MOUNTAIN, _ARIZONA),
    -6 * 60: (_US_CENTRAL,),
    -5 * 60: (_US_EASTERN,),
    -3 * 60: (("America/Sao_Paulo", "Brazil"),),
    0: (_UK, ("UTC", "no daylight saving")),
    60: (_CENTRAL_EUROPE,),
    2 * 60: (_EASTERN_EUROPE,),
    3 * 60: (("Europe/Moscow", "Moscow"),),
    5 * 60 + 30: (_INDIA,),
    7 * 60: (("Asia/Bangkok", "Indochina"),),
    8 * 60: (_CHINA, ("Asia/Singapore", "Singapore")),
    9 * 60: (("Asia/Tokyo", "Japan"),),
    10 * 60: (("Australia/Sydney", "Eastern Australia"),),
    12 * 60: (("Pacific/Auckland", "New Zealand"),),
}

_EXAMPLES = "such as America/New_York, Europe/Berlin or Asia/Kolkata"


def _choices(zones: tuple[tuple[str, str], ...]) -> str:
    named = [f"{zone} ({where})" for zone, where in zones]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]


def _offset_minutes(match: re.Match[str]) -> int:
    minutes = int(match.group("hours")) * 60 + int(match.group("minutes") or 0)
    east = match.group("sign") == "+"
    if match.group("etc"):  # Etc/GMT+5 is UTC-5: POSIX signs
        east = not east
    return minutes if east else -minutes


def refusal(text: str) -> str | None:
    """Why ``text`` is refused as a zone although the zone database may load it, with the IANA zones it
    usually means; None when it is not an abbreviation, a legacy name or a fixed offset."""
    name = text.strip()
    if name in _LEGACY:
        return f"'{text}' is not a place's time zone: use an IANA name {_EXAMPLES}."
    meant = ABBREVIATIONS.get(name.upper())
    if meant is not None:
        return (f"'{text}' is an abbreviation, not a time zone: it names one season's clock, not a place whose "
                f"clocks change for daylight saving. Use the IANA name of the place: {_choices(meant)}.")
    match = _OFFSET.match(name)
    if match is not None:
        minutes = _offset_minutes(match)
        hours, rest = divmod(abs(minutes), 60)
        offset = f"UTC{'+' if minutes >= 0 else '-'}{hours}{f':{rest:02d}' if rest else ''}"
        places = _BY_OFFSET.get(minutes)
        hint = (f" For {offset} that is, for example, {_choices(places)}." if places
                else f" For example, {_EXAMPLES[len('such as '):]}.")
        return (f"'{text}' is a fixed offset ({offset}), not a time zone: it never changes for daylight saving. "
                f"Use the IANA name of the place.{hint}")
    return None


def canonical_utc(name: str) -> str | None:
    """``UTC`` for any name that means UTC itself (``Etc/UTC``, ``utc``, ``Zulu``...), else None."""
    return "UTC" if name.strip().casefold() in {alias.casefold() for alias in UTC_ALIASES} else None
