"""Generated aggregator pages for the scale tests and the workers benchmark: 100 sources in Daily8's compact
text layout (a main story, then related records "title / - outlet / time... / body"), with every wire story
carried by three sources under different outlets. The prose is generated from sentence templates."""

from __future__ import annotations

import random
from dataclasses import dataclass

PLACES = (
    "Riverton",
    "Lakeside",
    "Northgate",
    "Eastbrook",
    "Millford",
    "Harbour Point",
    "Westvale",
    "Kingsbury",
    "Stonebridge",
    "Ashford",
    "Fairhaven",
    "Oakridge",
    "Redcliff",
    "Elmstead",
    "Brightwater",
    "Highcross",
)
SUBJECTS = (
    "the city council",
    "the regional health board",
    "the transport authority",
    "striking nurses",
    "the fire service",
    "local farmers",
    "the school district",
    "a group of residents",
    "the port operator",
    "the water company",
    "the police",
    "university researchers",
    "the energy regulator",
    "small businesses",
)
ACTIONS = (
    "approved a plan to rebuild",
    "voted against closing",
    "warned about delays to",
    "opened an inquiry into",
    "asked for more money for",
    "published new figures on",
    "agreed to expand",
    "raised concerns about",
    "announced a review of",
    "set out a timetable for",
    "delayed a decision on",
    "called for changes to",
)
OBJECTS = (
    "the old river bridge",
    "the night bus routes",
    "the children's ward",
    "the harbour wall",
    "the flood defences",
    "the main library",
    "the tram extension",
    "the recycling centre",
    "the coastal footpath",
    "the market square",
    "the wind farm",
    "the rail depot",
    "the reservoir",
)
NAMES = (
    "Maria Lopez",
    "Tom Berg",
    "Aisha Khan",
    "Peter Novak",
    "Grace Obi",
    "Jon Hale",
    "Lena Ruiz",
    "Sam Park",
    "Ines Costa",
    "Omar Said",
    "Ruth Adler",
    "Kofi Mensah",
    "Nina Hart",
    "Ivan Petrov",
    "Clara Moss",
)
ROLES = ("spokesperson", "director", "councillor", "engineer", "union official", "treasurer", "chair")
MONTHS = ("January", "March", "April", "June", "September", "October", "November")


def _detail(rng: random.Random) -> str:
    """One sentence with a slot at least every third word: unrelated stories share no 5-word runs."""
    name, role = rng.choice(NAMES), rng.choice(ROLES)
    obj, place = rng.choice(OBJECTS), rng.choice(PLACES)
    n, m, month = rng.randint(2, 90), rng.randint(3, 40), rng.choice(MONTHS)
    forms = (
        f"{name}, the {role}, said {obj} near {place} would cost {n} million over {m} months.",
        f"By {month}, {m} crews in {place} expect {obj} to reopen, {name} told {n} residents.",
        f"{name} ({role}) counted {n} complaints about {obj} since {month} in {place}.",
        f"{place} {role} {name} wants {obj} finished by {month}, {m} weeks later than {n} planned.",
    )
    return rng.choice(forms)


@dataclass(frozen=True)
class WireStory:
    title: str
    paragraphs: tuple[str, ...]


def _story(rng: random.Random, n: int) -> WireStory:
    place = rng.choice(PLACES)
    subject, action, obj = rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(OBJECTS)
    title = f"{place}: {subject[0].upper()}{subject[1:]} {action} {obj} (report {n})"
    lead = f"{subject[0].upper()}{subject[1:]} in {place} {action} {obj} on Tuesday, report {n} said."
    body = [lead]
    for _ in range(4):
        body.append(" ".join(_detail(rng) for _ in range(3)))
    return WireStory(title, tuple(body))


@dataclass(frozen=True)
class Corpus:
    """``pages[i]``: the text of source i's page; ``carriers[title]``: the sources carrying that story."""

    pages: tuple[str, ...]
    carriers: dict[str, tuple[int, ...]]


def corpus(sources: int = 100, seed: int = 20250819, extra: dict[int, WireStory] | None = None) -> Corpus:
    rng = random.Random(seed)
    mains = [_story(rng, i) for i in range(sources)]
    wires = [_story(rng, sources + i) for i in range(sources)]
    related: dict[int, list[tuple[WireStory, str]]] = {i: [] for i in range(sources)}
    carriers: dict[str, tuple[int, ...]] = {m.title: (i,) for i, m in enumerate(mains)}
    for k, wire in enumerate(wires):
        where = (k % sources, (k + 7) % sources, (k + 31) % sources)
        carriers[wire.title] = where
        for s in where:
            related[s].append((wire, f"Outlet {s:03d}"))
    for s, story in (extra or {}).items():
        related[s].append((story, f"Outlet {s:03d}"))
        carriers[story.title] = (s,)
    pages = []
    for i, main in enumerate(mains):
        lines = ["logo", main.title, main.title, f"Station {i:03d} News2 hours ago", *main.paragraphs]
        lines += ["Orange background", "Comments", "No comments yet...", "Related Articles"]
        for hours, (story, outlet) in enumerate(related[i], start=3):
            lines += [story.title, f"- {outlet}", f"time{hours} hours ago", " ".join(story.paragraphs)]
        lines += ["DOWNLOAD THE APP", "Get Started Now: Download the App"]
        pages.append("\n".join(lines) + "\n")
    return Corpus(tuple(pages), carriers)


def extra_story(n: int) -> WireStory:
    """A story no page carries until a test adds it."""
    return _story(random.Random(n), 10_000 + n)
