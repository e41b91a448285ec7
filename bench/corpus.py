"""Deterministic labelled corpus for the dedup evaluation: news stories, their syndicated copies and briefs.

Everything is generated at run time from the vocabularies and templates in this module (seeded
``random``; no network, no data files, nothing generated is kept in git). The parts:

* **Base stories.** Twelve news domains (earnings, legislation, storms, wildfires, courts, crime, sport,
  health studies, tech, diplomacy, city councils, transport accidents), each a fact generator plus
  section templates with inline alternatives (``[a|b]``) and slots (``{name}``), written in one of eight
  outlets' house styles (wire datelines and credits, a business wire, local papers, British spelling, a
  broadcaster, a tech blog, a tabloid). Lengths run from 50 to 2,000 words.
* **Hard negatives.** Same-event pairs: two outlets' own write-ups of one set of facts, sharing names,
  numbers, the statement both quote verbatim and a second shared quote (a third of the second write-ups
  lead with that quote, a third are short). Follow-ups: a later, different story on the same event that
  reuses background paragraphs word for word. Briefs of different stories that share one aggregator's
  long footer. (Every pair of stories of one domain, e.g. two states' bills on one subject written from
  the same templates, is also counted, as ``same_domain``.)
* **Syndicated copies** of each story, with what syndication does to wire copy: headline rewrites,
  datelines added or dropped, credit lines and outlet footers, ad and widget lines, cut endings, briefs
  (the first paragraph or two, or a cut-off snippet, often followed by a long footer that many unrelated
  briefs share), light copy edits, quote/dash/space typography, paragraphs run together, and a new top
  paragraph in a later update; usually several at once.

``make_corpus(seed, stories)`` returns the documents, each with its gold cluster (its base story), and
the hard-negative pairs. The same seed always gives the same corpus.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations, count

__all__ = [
    "VARIATIONS",
    "Corpus",
    "Doc",
    "Filler",
    "HardNegative",
    "base_story",
    "follow_up",
    "make_copy",
    "make_corpus",
    "same_event",
    "stories_of_length",
]

# =========================================================================================================
# Vocabularies
# fmt: off

FIRST_F = (
    "Maria", "Jennifer", "Aisha", "Linda", "Priya", "Emily", "Sofia", "Keisha", "Hannah", "Grace", "Mei",
    "Olivia", "Fatima", "Rachel", "Laura", "Yolanda", "Ingrid", "Camila", "Naomi", "Teresa", "Danielle",
    "Amara", "Colleen", "Rosa", "Beatriz", "Simone", "Megan", "Deborah", "Elena", "Tanya", "Harriet",
    "Noor", "Kimberly", "Lucia", "Gwen", "Patrice", "Ayumi", "Shonda", "Marisol", "Bridget",
)
FIRST_M = (
    "James", "Carlos", "Michael", "Ahmed", "David", "Wei", "Robert", "Jamal", "Daniel", "Luis", "Thomas",
    "Raj", "Kevin", "Andre", "Brian", "Tomasz", "Samuel", "Hector", "Gregory", "Kenji", "Omar", "Patrick",
    "Marcus", "Victor", "Dmitri", "Nathan", "Eduardo", "Kwame", "Howard", "Felix", "Terrence", "Ian",
    "Rafael", "Dennis", "Mohammed", "Clifford", "Arjun", "Reggie", "Stefan", "Wendell",
)
LAST = (
    "Alvarez", "Nguyen", "Okafor", "Thompson", "Kowalski", "Patel", "Brennan", "Yamamoto", "Haddad",
    "Fitzgerald", "Moreno", "Lindqvist", "Washington", "Castellanos", "Abernathy", "Chen", "Ruiz",
    "Delgado", "Mbeki", "Sorensen", "Harrington", "Ferreira", "Goldberg", "Kaminski", "Oyelaran",
    "Whitfield", "Marchetti", "Dubois", "Rahman", "Sullivan", "Vasquez", "Holloway", "Petrov", "Acheson",
    "Bianchi", "Crowley", "Drummond", "Esposito", "Fairbanks", "Gallagher", "Hoffman", "Iqbal", "Jensen",
    "Kimura", "Lachance", "McAllister", "Novak", "Osei", "Pemberton", "Quintero", "Rasmussen", "Stroud",
    "Takahashi", "Underwood", "Valdez", "Whitaker", "Xu", "Yilmaz", "Zimmerman", "Boateng", "Carrington",
    "Dalton", "Ellison", "Forsythe", "Greer", "Hargrove", "Ishikawa", "Jovanovic", "Kerr", "Langford",
)
US_PLACES = (
    ("Sacramento", "California", "Calif."), ("Tallahassee", "Florida", "Fla."),
    ("Austin", "Texas", "Texas"), ("Columbus", "Ohio", "Ohio"), ("Raleigh", "North Carolina", "N.C."),
    ("Denver", "Colorado", "Colo."), ("Phoenix", "Arizona", "Ariz."), ("Atlanta", "Georgia", "Ga."),
    ("Nashville", "Tennessee", "Tenn."), ("Madison", "Wisconsin", "Wis."),
    ("Harrisburg", "Pennsylvania", "Pa."), ("Boise", "Idaho", "Idaho"), ("Richmond", "Virginia", "Va."),
    ("Lansing", "Michigan", "Mich."), ("Albany", "New York", "N.Y."), ("Baton Rouge", "Louisiana", "La."),
    ("Santa Fe", "New Mexico", "N.M."), ("Salem", "Oregon", "Ore."), ("Olympia", "Washington", "Wash."),
    ("Des Moines", "Iowa", "Iowa"), ("Charleston", "South Carolina", "S.C."), ("Mobile", "Alabama", "Ala."),
    ("Tulsa", "Oklahoma", "Okla."), ("Omaha", "Nebraska", "Neb."), ("Savannah", "Georgia", "Ga."),
    ("Fresno", "California", "Calif."), ("Spokane", "Washington", "Wash."),
    ("Duluth", "Minnesota", "Minn."), ("Wichita", "Kansas", "Kan."), ("Reno", "Nevada", "Nev."),
    ("Burlington", "Vermont", "Vt."), ("Portland", "Maine", "Maine"), ("Galveston", "Texas", "Texas"),
    ("Asheville", "North Carolina", "N.C."), ("Flagstaff", "Arizona", "Ariz."),
    ("Billings", "Montana", "Mont."), ("Toledo", "Ohio", "Ohio"), ("Lexington", "Kentucky", "Ky."),
    ("Pensacola", "Florida", "Fla."), ("Corpus Christi", "Texas", "Texas"),
)
WORLD_PLACES = (
    ("Brussels", "Belgium"), ("Geneva", "Switzerland"), ("Nairobi", "Kenya"), ("Jakarta", "Indonesia"),
    ("Lima", "Peru"), ("Seoul", "South Korea"), ("Warsaw", "Poland"), ("Hanoi", "Vietnam"),
    ("Accra", "Ghana"), ("Santiago", "Chile"), ("Oslo", "Norway"), ("Manila", "Philippines"),
    ("Cairo", "Egypt"), ("Ankara", "Turkey"), ("Canberra", "Australia"), ("Ottawa", "Canada"),
    ("Bogota", "Colombia"), ("Tbilisi", "Georgia"), ("Dhaka", "Bangladesh"), ("Lisbon", "Portugal"),
    ("Vienna", "Austria"), ("Doha", "Qatar"), ("Kigali", "Rwanda"), ("Astana", "Kazakhstan"),
    ("Helsinki", "Finland"), ("Montevideo", "Uruguay"), ("Kuala Lumpur", "Malaysia"), ("Rabat", "Morocco"),
)
TOWNS = (
    "Millbrook", "Cedar Falls", "Harper's Crossing", "Riverton", "Oak Hollow", "Port Whitby", "Fairview",
    "Lone Pine", "Maple Grove", "Brookhaven", "East Dalton", "Silver Lake", "Greenfield", "North Wexford",
    "Stony Point", "Clearwater Bend", "Ashford", "Pleasant Valley", "Kingsbridge", "Bell Harbor",
    "Willow Springs", "Redmond Flats", "Granite Falls", "South Haverford", "Pinecrest", "Elk Ridge",
)
STREETS = (
    "Main Street", "Oak Avenue", "Elm Street", "Martin Luther King Jr. Boulevard", "Route 9",
    "Harbor Drive", "Pine Street", "Lakeshore Road", "Broad Street", "Washington Avenue",
    "Industrial Parkway", "Mill Road", "Grant Street", "Sunset Boulevard", "County Road 12", "Water Street",
    "Cherry Lane", "Fifth Avenue",
)
CO_PREFIX = (
    "Northwind", "Halvorsen", "Bluegate", "Cedarline", "Ironbridge", "Summit Ridge", "Larkspur", "Quintara",
    "Everpoint", "Granite Bay", "Solace", "Vantrell", "Orison", "Meridale", "Copperfield", "Tallis",
    "Brightwater", "Kestrel", "Arbor Lane", "Pinecrest", "Redfern", "Castellan", "Aldermoor", "Strata",
)
INDUSTRIES = (  # (name suffix, noun, sector, demand driver, business unit)
    ("Logistics", "logistics company", "logistics", "freight volumes", "its trucking and warehousing units"),
    ("Energy", "energy company", "energy", "natural gas prices", "its renewable power division"),
    (
        "Pharmaceuticals",
        "drugmaker",
        "pharmaceutical",
        "sales of its diabetes treatments",
        "its oncology portfolio",
    ),
    ("Foods", "food company", "packaged food", "consumer demand for snacks", "its frozen foods business"),
    ("Semiconductor", "chipmaker", "semiconductor", "demand for data center chips", "its memory chip unit"),
    ("Retail Group", "retailer", "retail", "holiday shopping traffic", "its online marketplace"),
    ("Airlines", "airline", "airline", "summer travel demand", "its international routes"),
    ("Financial", "lender", "banking", "loan growth", "its wealth management arm"),
    ("Motors", "automaker", "auto", "electric vehicle deliveries", "its pickup truck lineup"),
    ("Software", "software maker", "software", "cloud subscriptions", "its cybersecurity products"),
    (
        "Telecom",
        "telecom operator",
        "telecom",
        "wireless subscriber additions",
        "its fiber broadband network",
    ),
    ("Insurance", "insurer", "insurance", "claims from severe weather", "its commercial lines business"),
    ("Apparel", "apparel maker", "apparel", "demand for athletic wear", "its footwear brands"),
    (
        "Chemicals",
        "chemicals maker",
        "chemicals",
        "industrial demand in Europe",
        "its specialty materials segment",
    ),
)
MASCOTS = (
    "Hawks", "Rivermen", "Comets", "Foxes", "Thunder", "Miners", "Pilots", "Stallions", "Wolves",
    "Mariners", "Rockets", "Bison", "Kings", "Owls", "Storm", "Lumberjacks", "Sentinels", "Cardinals",
    "Rangers", "Lynx",
)
UNIVERSITIES = (
    "the University of Michigan", "Stanford University", "Johns Hopkins University",
    "the University of Texas", "Ohio State University", "the University of Washington", "Duke University",
    "Emory University", "the University of Toronto", "Imperial College London",
    "the University of Colorado", "Rice University", "Vanderbilt University", "the University of Minnesota",
    "Tulane University", "Boston University",
)
THINKTANKS = (
    "the Brookings Institution", "the Urban Institute", "the Council on Foreign Relations",
    "the Center for Strategic and International Studies", "the Pew Research Center", "the Tax Foundation",
    "the Rand Corp.", "the Cato Institute", "the Peterson Institute for International Economics",
)
FIRMS = (
    "Morningstar", "Moody's Analytics", "Edward Jones", "Wedbush Securities", "Raymond James", "Bernstein",
    "Jefferies", "Evercore ISI", "KeyBanc Capital Markets", "D.A. Davidson",
)
OCCUPATIONS = (
    "retired teacher", "nurse", "restaurant owner", "truck driver", "graduate student", "electrician",
    "software developer", "barber", "pastor", "city bus driver", "farmer", "hardware store manager",
    "mother of three", "veteran", "small-business owner", "bartender", "real estate agent", "carpenter",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    ("January", "Jan."), ("February", "Feb."), ("March", "March"), ("April", "April"), ("May", "May"),
    ("June", "June"), ("July", "July"), ("August", "Aug."), ("September", "Sept."), ("October", "Oct."),
    ("November", "Nov."), ("December", "Dec."),
)
UK_SPELLING = (
    ("color", "colour"), ("center", "centre"), ("organization", "organisation"), ("defense", "defence"),
    ("program", "programme"), ("neighbor", "neighbour"), ("neighborhood", "neighbourhood"),
    ("labor", "labour"), ("favor", "favour"), ("analyze", "analyse"), ("traveled", "travelled"),
    ("license", "licence"), ("criticized", "criticised"), ("recognized", "recognised"),
    ("apologized", "apologised"), ("organized", "organised"), ("realize", "realise"),
    ("theater", "theatre"), ("meters", "metres"), ("honor", "honour"), ("behavior", "behaviour"),
    ("harbor", "harbour"),
)

# fmt: on
# =========================================================================================================
# Template expansion

_ALT = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")
_SPACE = re.compile(r"[ \t]+")
_SPACE_PUNCT = re.compile(r" +([,.;:!?])")


def person_name(rng: random.Random) -> tuple[str, str, str, str]:
    """(full name, last name, he/she, his/her)."""
    if rng.random() < 0.5:
        first, he, his = rng.choice(FIRST_F), "she", "her"
    else:
        first, he, his = rng.choice(FIRST_M), "he", "his"
    last = rng.choice(LAST)
    return f"{first} {last}", last, he, his


def add_person(facts: dict[str, str], key: str, rng: random.Random) -> None:
    full, last, he, his = person_name(rng)
    facts[key], facts[f"{key}_last"], facts[f"{key}_he"], facts[f"{key}_his"] = full, last, he, his


class Writer:
    """Expands templates: ``[a|b|]`` picks one alternative, ``{slot}`` a fact or a rule (recursively)."""

    def __init__(self, rng: random.Random, facts: dict[str, str], rules: dict[str, tuple[str, ...]]) -> None:
        self.rng = rng
        self.facts = facts
        self.rules = rules
        self.dynamic: dict[str, Callable[[random.Random], str]] = {
            "new_person": lambda r: person_name(r)[0],
            "age": lambda r: str(r.randint(19, 84)),
            "num2": lambda r: str(r.randint(2, 9)),
            "nth": lambda r: r.choice(("second", "third", "fourth", "fifth", "sixth", "seventh")),
            "num_tens": lambda r: str(r.randint(11, 95)),
            "num_hundreds": lambda r: str(r.randint(120, 950)),
            "year_past": lambda r: str(r.randint(1968, 2021)),
            "years": lambda r: str(r.randint(3, 40)),
            "pct_small": lambda r: f"{r.randint(2, 38)}%",
            "town": lambda r: r.choice(TOWNS),
            "street": lambda r: r.choice(STREETS),
            "university": lambda r: r.choice(UNIVERSITIES),
            "thinktank": lambda r: r.choice(THINKTANKS),
            "firm": lambda r: r.choice(FIRMS),
            "occupation": lambda r: r.choice(OCCUPATIONS),
        }

    def expand(self, template: str, depth: int = 0) -> str:
        if depth > 12:
            raise RecursionError(f"template recursion too deep at {template[:60]!r}")
        text = template
        while True:
            new = _ALT.sub(lambda m: self.rng.choice(m.group(1).split("|")), text)
            if new == text:
                break
            text = new

        def slot(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.facts:
                return self.facts[name]
            if name in self.dynamic:
                return self.dynamic[name](self.rng)
            if name in self.rules:
                return self.expand(self.rng.choice(self.rules[name]), depth + 1)
            raise KeyError(f"unknown slot {{{name}}} in {template[:80]!r}")

        return _SLOT.sub(slot, text)

    def sentence(self, template: str) -> str:
        return tidy(self.expand(template))


def tidy(text: str) -> str:
    text = _SPACE_PUNCT.sub(r"\1", _SPACE.sub(" ", text)).strip()
    text = text.replace(",,", ",").replace(".,", ",").replace(",.", ".").replace("..", ".")
    text = text.replace(',"', ',"').replace(".”.", ".”")
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1 :]
        if ch.isdigit():
            break
    return text


# =========================================================================================================
# Domains: facts + section templates. Generic sections use the domain's {topic}, {place}, {affected} ...

Facts = dict[str, str]
Rules = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Domain:
    name: str
    facts: Callable[[random.Random, Facts], Facts]
    rules: Rules
    sections: Rules  # headline, lead, followup, second, detail, quote, background, close, update
    refresh: tuple[str, ...]  # facts that change in a follow-up story


GENERIC_RULES: Rules = {
    "said": ("said", "said on {day}", "told reporters", "said in an interview", "said {day}"),
    "says": ("said", "says", "said on {day}", "told reporters"),
    "q_generic": (
        "[We|I] have never seen anything like [this|it] [in {years} years|in my lifetime|here before]",
        "[It's|It is] [a difficult|an important|a painful|a hopeful|a strange] [moment|day|week] for "
        "[everyone involved|our community|people here|families like mine]",
        "There is [still] a lot of work [left] to do[, but we are moving in the right direction|, and "
        "nobody is pretending otherwise|]",
        "[People|Families|Folks around here|Our customers] [deserve|want|need] [answers|clarity|a plan that "
        "actually works|to know what happens next]",
        "[Honestly, |]I [didn't|did not] think it would [get this far|happen this fast|come to this]",
        "[You|We] just [have to|try to] [take it one day at a time|keep going|look after each other]",
        "Nobody [told us|warned us|explained] [anything|what was coming|how long this would take]",
        "[We have|We've] been [waiting|asking] for this for [years|a long time|{years} years]",
        "I [worry|am worried] about [what comes next|my kids|my neighbors|how we pay for it]",
        "It [changes|could change] [everything|a lot] for [us|this town|people like me]",
    ),
    "q_doubt": (
        "I'll believe it when I see it",
        "We've heard promises like this before",
        "[Nobody|No one] has explained [how|who] is going to pay for [it|all of this]",
        "[It|This] [feels|sounds] [rushed|like a headline, not a plan]",
        "I don't think [they|the people in charge] understand what [this|it] means for us",
    ),
    "reaction": (
        '"{q_generic}," said {new_person}, [a {age}-year-old {occupation}|a {occupation} who [lives|works] '
        "nearby|who has lived in {place} for {years} years].",
        "In {place}, {new_person}, [a {occupation}|{age}], said {topic} [had caught many people off "
        "guard|was "
        "the only thing anyone was talking about|left {affected} with more questions than answers].",
        "Some {affected} [said|told reporters] they [were relieved|were frustrated|were still waiting for "
        "answers|were not surprised], while others [planned to {affected_plan}|said it was too early to "
        "tell].",
        '[Not everyone was convinced|Others were skeptical]. "{q_doubt}," said {new_person}, a {occupation} '
        "from {town}.",
        "{new_person}, [who|whose family] has [lived|worked] in {town} [since {year_past}|for {years} "
        "years], "
        "said [the mood|the talk at the diner|the feeling among neighbors] had [shifted|changed] [quickly|"
        "over the past week].",
    ),
    "expert": (
        "{new_person}, [who studies|an expert on|a specialist in] {expert_field} at {university}, said "
        "{topic} [reflected|was part of|fit] a [broader|longer|wider] {trend}.",
        '"{q_expert}," said {new_person}, [a professor of {expert_field} at {university}|a senior fellow at '
        "{thinktank}|an analyst at {firm}].",
        "[According to|In the view of] {new_person} of {thinktank}, {expert_claim}.",
        "{new_person}, [a former|a longtime] {expert_role}, said the [real|bigger] question was {question}.",
        "[Researchers|Analysts|Economists] at {firm} [estimated|calculated] that {expert_claim}.",
    ),
    "q_expert": (
        "[What we are seeing|What we're seeing] [is|fits] a pattern that has been building for [years|a "
        "decade|some time]",
        "The [numbers|details|data] [matter|will matter] less than [how people react|what happens next|the "
        "follow-through]",
        "[This|It] [is not|isn't] [a one-off|an isolated case|a surprise to anyone who follows "
        "{expert_field}]",
        "I [would|'d] [be cautious about|not read too much into] [a single|any one] [week|event|result]",
        "[There are|There's] [real|serious] [risks|trade-offs] [here|on both sides], and [they|those] "
        "[deserve|need] a [careful|proper] look",
    ),
    "context": (
        "[It|This|The news] [comes|came] [as|after|amid] {context_np}.",
        "[It|This] [is|was] the [second|third|latest|largest|first] {event_noun} [in {place}|in the region|"
        "of its kind] [since {year_past}|this year|in {years} years].",
        "Officials [have|had] [pointed to|blamed] {context_np}, which [has|had] [weighed on|shaped|"
        "complicated] {topic}.",
        "[Similar|Comparable] {event_noun}s [in {year_past} and {year_past}|in recent years] [drew|led to] "
        "{context_result}.",
    ),
    "narrative": (
        "{time_adv}, {actor} {narr_act} {narr_obj}{narr_tail}.",
        "{actor_cap} {narr_act} {narr_obj} {time_adv2}{narr_tail}.",
        "{time_adv}, {actor} [said|recalled] [she|he] had {narr_feel} [when|after] {narr_event}.",
        "For {actor}, {topic} [was|is] [personal|not abstract]: {narr_personal}.",
        "{actor_cap} [keeps|kept] {narr_keepsake} [on|in] [the kitchen table|a folder|the dashboard of "
        "[her|his] truck|a drawer at work] [as a reminder|ever since].",
        "[It took|It had taken] [{num2} months|{years} years|weeks] for {narr_obj} to {narr_outcome}, "
        "[records show|according to documents reviewed by reporters|{actor} said].",
        "{time_adv}, [a group of|about {num_tens}] {affected} [met|gathered] [at|in] {venue_generic} to "
        "[talk about|argue over|plan for] {narr_obj}.",
    ),
    "time_adv": (
        "In {year_past}",
        "Two years ago",
        "Last {month}",
        "Early on",
        "Over the following weeks",
        "Before that",
        "Years earlier",
        "By the next morning",
        "At first",
        "Later that spring",
        "Within days",
        "Back then",
        "Around the same time",
        "That fall",
        "Not long after",
    ),
    "time_adv2": (
        "in {year_past}",
        "last {month}",
        "a decade ago",
        "the following winter",
        "soon afterward",
        "over several months",
        "before anyone else did",
    ),
    "actor": (
        "{new_person}, [a {occupation}|{age}|a {occupation} in {town}]",
        "{new_person}, who [runs|manages|owns] a [bakery|print shop|day care|auto repair shop|food truck] "
        "in {town}",
        "[one|another] [resident|neighbor|local official], {new_person},",
        "{new_person}, [a volunteer|an organizer] with [a local nonprofit|the neighborhood association]",
    ),
    "actor_cap": (
        "{new_person}, [a {occupation}|{age}],",
        "{new_person}, who [lives|works] in {town},",
        "[Local organizer|Longtime resident|Volunteer] {new_person}",
    ),
    "narr_act": (
        "started [a petition|an online group|a fund] about",
        "wrote [a letter|an op-ed] about",
        "spent [months|{years} years] [tracking|documenting|pushing for changes to]",
        "testified [about|on]",
        "helped [organize|lead] [a meeting|a campaign|a coalition] on",
        "raised [money|${num_tens},000] for",
        "filed [a complaint|a records request] about",
        "first [heard about|learned of]",
        "[quietly|publicly] [warned|complained] about",
        "made [dozens of|{num_tens}] [calls|visits] about",
        "kept [a spreadsheet|a notebook|detailed notes] on",
    ),
    "narr_obj": (
        "{topic}",
        "the [problem|issue] [behind|underlying] {topic}",
        "what [later|eventually] became {topic}",
        "[conditions|changes] in {place}",
        "[the|a] [plan|proposal] [for|in] {place}",
        "how {topic} [affected|would affect] {affected}",
    ),
    "narr_tail": (
        "",
        "",
        ", [she|he] said",
        ", according to [people involved|a person familiar with the effort]",
        ", though [few|not many] people [paid attention|noticed] [at the time|then]",
        ", with [little|mixed] success",
        ", [an effort|work] that [drew|won] [praise|criticism|attention]",
    ),
    "narr_feel": (
        "felt [helpless|angry|relieved|hopeful|numb]",
        "[wanted|needed] to do something",
        "[not|] [known|understood] what [to expect|was coming]",
        "[stayed up|sat up] [all night|for hours]",
    ),
    "narr_event": (
        "[the|a] [first|second] [meeting|warning|letter] [arrived|came]",
        "{topic} [began|started]",
        "[neighbors|friends|co-workers] [called|started texting]",
        "[the news|word] [spread|got out]",
    ),
    "narr_personal": (
        "[her|his] [mother|brother|father|daughter] [was|had been] [affected|involved] in {year_past}",
        "[she|he] [grew up|has lived] [a few blocks away|nearby|in {place}]",
        "[her|his] [business|job|family] [depends|depended] on [it|what happens next]",
    ),
    "narr_keepsake": (
        "[a photo|a copy of the letter|a newspaper clipping|a map] from {year_past}",
        "[the notice|a receipt|a handwritten list] [she|he] [got|received|made] that [week|day]",
    ),
    "narr_outcome": (
        "[reach|get to] [the|a] [vote|decision|hearing]",
        "[get|receive] [a response|an answer]",
        "[be|get] [fixed|resolved|approved]",
        "[come|go] to light",
    ),
    "venue_generic": (
        "a church basement",
        "the public library",
        "a union hall",
        "a high school gym",
        "a coffee shop",
        "the community center",
        "a fire station",
        "a [Zoom|video] call",
    ),
    "survey": (
        "[About|Roughly|Nearly] {pct_small} of {affected} [said|told pollsters] they {survey_view}, "
        "according to a [survey|poll] [by|from] {thinktank} [released|published] [in {month}|last {month}].",
        "A [poll|survey] of {num_hundreds} {affected} [by|conducted for] {firm} found that [most|a "
        "majority|fewer than half] {survey_view}.",
        "[Data|Figures|Records] [compiled|collected] by {thinktank} show {topic} [is|was] [part of|one of] "
        "[a series|about {num_tens}] [since {year_past}|in the past decade].",
    ),
    "survey_view": (
        "[were|are] [worried|optimistic|uncertain] about {topic}",
        "[expected|expect] {topic} to [matter|change things] [a great deal|little]",
        "had [followed|heard about] {topic} [closely|only a little]",
        "[supported|opposed] [how officials handled|the response to] {topic}",
    ),
    "affected_plan": (
        "stay with relatives",
        "wait for more details",
        "attend a public meeting next week",
        "write to their representatives",
        "sit tight",
    ),
    "question": (
        "who would be held accountable",
        "how long the effects would last",
        "whether the plan could survive a legal challenge",
        "what it would cost and who would pay",
        "whether anything would change",
    ),
}


def _earnings_facts(rng: random.Random, base: Facts) -> Facts:
    prefix = rng.choice(CO_PREFIX)
    suffix, kind, sector, driver, unit = rng.choice(INDUSTRIES)
    rev = rng.randint(12, 480) / 10
    growth = rng.randint(-90, 180) / 10
    est = rev * (1 + rng.randint(-40, 40) / 1000)
    eps = rng.randint(12, 640) / 100
    move = rng.randint(5, 140) / 10
    f = {
        "company": f"{prefix} {suffix}",
        "co": prefix,
        "kind": kind,
        "sector": sector,
        "driver": driver,
        "unit": unit,
        "quarter": rng.choice(("first-quarter", "second-quarter", "third-quarter", "fourth-quarter")),
        "rev": f"${rev:.1f} billion",
        "rev_est": f"${est:.2f} billion",
        "growth": f"{abs(growth):.1f}%",
        "growth_dir": "rose" if growth >= 0 else "fell",
        "eps": f"${eps:.2f}",
        "eps_est": f"${eps * (1 + rng.randint(-25, 25) / 100):.2f}",
        "move": f"{move:.1f}%",
        "move_dir": rng.choice(("rose", "jumped", "climbed", "fell", "slid", "dropped")),
        "jobs": str(rng.randint(2, 40) * 100),
        "guidance": f"${rev * 4 * (1 + rng.randint(-5, 12) / 100):.1f} billion",
        "hq": base["city"],
    }
    add_person(f, "ceo", rng)
    add_person(f, "cfo", rng)
    return f


EARNINGS = Domain(
    "earnings",
    _earnings_facts,
    {
        "topic": ("the results", "the quarter", "the report", "{co}'s outlook"),
        "place": ("{hq}", "the company's home market", "{hq} and beyond"),
        "affected": ("investors", "shareholders", "employees", "customers", "suppliers"),
        "expert_field": ("corporate finance", "the {sector} industry", "consumer spending", "supply chains"),
        "expert_role": ("{kind} executive", "regulator", "investment banker"),
        "trend": ("slowdown in {driver}", "shift in how companies spend", "pressure on profit margins"),
        "expert_claim": (
            "margins across the {sector} industry could narrow by {pct_small} next year",
            "{driver} would stay weak until at least the middle of next year",
            "the company had gained market share from smaller rivals",
        ),
        "context_np": (
            "higher interest rates and cautious consumers",
            "a price war in the {sector} industry",
            "new tariffs on imported components",
            "a slump in {driver}",
        ),
        "event_noun": ("quarterly loss", "profit warning", "results beat"),
        "context_result": ("layoffs across the industry", "a wave of mergers", "sharp swings in the stock"),
        "q_ceo": (
            "We delivered [strong|solid|record] results [this quarter|in the quarter] [thanks to|driven by] "
            "{driver}",
            "Our teams executed well in a [difficult|challenging|volatile] environment",
            "We are investing [for the long term|in {unit}] while keeping a close eye on costs",
            "[Demand|Customer demand] remained [resilient|healthy|uneven] [across our markets|through the "
            "quarter]",
            "We remain [confident|optimistic] about [the rest of the year|our long-term plan]",
        ),
        "q_statement": (
            "{q_ceo}. {q_ceo}, and we [expect|plan] to [keep building on that momentum|return more cash to "
            "shareholders|grow faster than the market] in the year ahead",
        ),
        "analyst_view": (
            "the quarter was [better|weaker|cleaner] than [feared|expected]",
            "investors would [focus on|look past the headline numbers to] the outlook",
            "{unit} [remained|was] the [bright spot|weak link]",
        ),
    },
    {
        "headline": (
            "{company} [posts|reports] [higher|lower|mixed] {quarter} [profit|results][ as {driver} "
            "[rise|ease]|]",
            "{co} [shares|stock] {move_dir} after {quarter} revenue [tops|misses] [estimates|forecasts]",
            "{company} [beats|misses] [Wall Street|analysts'] [expectations|estimates], [lifts|cuts] outlook",
            "{co} earnings: revenue {growth_dir} {growth} to {rev}",
            "{company} [to cut|adds] {jobs} jobs as {quarter} [sales|revenue] {growth_dir}",
        ),
        "lead": (
            "{company} [on {day}|{day}] reported {quarter} revenue of {rev}, [up|a change of] {growth} from "
            "a "
            "year earlier, [as|with] {driver} [held up|cooled|picked up].",
            "{company}[, the {hq}-based {kind},|] said [on {day}|{day}] that [its|] revenue {growth_dir} "
            "{growth} in the {quarter} [period|quarter], [helped by|despite] {driver}.",
            "Shares of {company} {move_dir} {move} in [early|late|after-hours] trading [on {day}|{day}] "
            "after "
            "the {kind} [posted|reported] {quarter} results that [beat|missed|roughly matched] [Wall Street|"
            "analysts'] [forecasts|estimates].",
            "{company} [posted|reported] {quarter} earnings of {eps} a share[ on {day}|], [compared with|"
            "against] [analysts'|Wall Street's] [estimate|forecast] of {eps_est}.",
        ),
        "followup": (
            "{company} [said on {day}|announced {day}] it would [cut|eliminate] about {jobs} jobs, [days|a "
            "week] after [reporting|its] {quarter} results [that disappointed investors|showed {driver} "
            "slowing].",
            "[Investors|Analysts] [continued to|kept] [weigh|weighing] {company}'s [outlook|plans] [on {day}|"
            "{day}] as the {kind} [laid out|detailed] [a restructuring|new cost cuts] [at an investor day|in "
            "a "
            "filing].",
        ),
        "second": (
            "Revenue [came in at|reached|totaled] {rev}, [compared with|versus] [analysts' estimates|the "
            "consensus forecast] of {rev_est}[, according to data compiled by {firm}|].",
            "Earnings per share were {eps}, [against|compared with] {eps_est} expected[ by analysts|].",
            "The company [forecast|projected|now expects] full-year revenue of about {guidance}.",
            "[The stock|Shares] {move_dir} {move} [on the news|in extended trading|by midday].",
        ),
        "detail": (
            "{unit} [grew|shrank|was flat] [in the quarter|from a year ago], [the company said|{co} said], "
            "[while|and] costs [rose|fell] [by {pct_small}|sharply|modestly].",
            "{company} [said|added] it [had|has] [bought back|repurchased] [about|nearly] "
            "${num_hundreds} million of [its|] stock [during the quarter|so far this year].",
            "Chief Financial Officer {cfo} [told analysts|said on a call with analysts] that {analyst_view}.",
            "The company [ended the quarter with|reported] [about|roughly] ${num2}.{num2} billion in cash.",
            "[Operating|Gross] margin [widened|narrowed] to {pct_small}[ from a year earlier|], [the company "
            "said|{co} said].",
            "{co} [said|noted] that {driver} [had improved|had softened|remained uneven] in [the last weeks "
            "of "
            "the quarter|{month}|recent weeks].",
            "[The company|{co}] [plans to|will] [open|close] [about|] {num_tens} [locations|facilities|"
            "plants] [next year|by the end of the year].",
            "[Analysts at {firm}|{firm} analysts] said {analyst_view}.",
            "{co} employs [about|roughly|more than] {jobs} people [in {hq}|worldwide|across {num_tens} "
            "countries].",
            "[Capital spending|Spending on research] [rose|climbed|was cut] to ${num_hundreds} million.",
        ),
        "quote": (
            '"{q_ceo}," Chief Executive {ceo} [said|told analysts] [on a conference call|in a statement].',
            '"{q_ceo}," {ceo_last} said. "{q_ceo}."',
            '{ceo}, [the company\'s chief executive|who became CEO in {year_past}], said: "{q_ceo}."',
            '"{q_ceo}," {cfo} said.',
        ),
        "statement": (
            '"{statement}," {ceo}, [the chief executive|CEO of {company}], said in a statement.',
            '{ceo_last}[, the chief executive,|] said in a [statement|news release]: "{statement}."',
        ),
        "background": (
            "{company}, [founded in {year_past}|which went public in {year_past}], [is based in {hq}|has its "
            "headquarters in {hq}] and [sells|operates] in [about|more than] {num_tens} countries.",
            "The {kind} [has spent|spent] [the past|recent] [two|several] years [reorganizing|cutting costs|"
            "expanding {unit}] after [a string of|several] [disappointing|weak] quarters.",
            "[Last year|In {year_past}], {co} [acquired|sold] a [rival|unit] for ${num2}.{num2} billion, "
            "[a deal|a move] that [reshaped|expanded] {unit}.",
            "{ceo_last} [took over as chief executive|became CEO] in {year_past} [after|following] [a "
            "career at|{years} years at] [a rival|the company].",
            "[The stock|{co}'s stock] [has risen|has fallen|is up|is down] [about|roughly] {pct_small} [so "
            "far "
            "this year|over the past 12 months].",
        ),
        "close": (
            "{company} [will|is expected to] report [its next results|results for the next quarter] in "
            "{month}.",
            "[The company|{co}] [said it would|will] [update|give] [investors|its outlook] at an investor "
            "day "
            "[in {month}|later this year].",
        ),
        "update": (
            "[UPDATE|Update]: [Shares of {company}|{co} shares] [closed|ended the day] {move_dir} {move} "
            "[on {day}|{day}] after executives [told analysts|said on a call] that {analyst_view}.",
            "{co} [later|on {day}] [raised|lowered] its full-year forecast to {guidance}, [sending|and] the "
            "stock [higher|lower] [in late trading|after the bell].",
        ),
    },
    ("rev", "rev_est", "growth", "eps", "eps_est", "move", "move_dir", "jobs", "guidance", "quarter"),
)


def _legislation_facts(rng: random.Random, base: Facts) -> Facts:
    topic, short, goal = rng.choice(
        (
            ("broadband", "broadband bill", "bring high-speed internet to rural counties"),
            ("rent", "rent stabilization bill", "cap annual rent increases"),
            ("water", "clean water bill", "replace lead pipes in older neighborhoods"),
            ("schools", "school funding bill", "raise teacher pay and cut class sizes"),
            ("guns", "firearms bill", "expand background checks on gun sales"),
            ("energy", "energy bill", "require utilities to buy more solar and wind power"),
            ("privacy", "data privacy bill", "limit what companies can do with personal data"),
            ("child care", "child care bill", "expand subsidies for child care"),
            ("roads", "infrastructure bill", "repair bridges and highways"),
            ("immigration", "immigration bill", "change how the state works with federal immigration agents"),
        )
    )
    yes = rng.randint(26, 70)
    f = {
        "bill_topic": topic,
        "bill": short,
        "goal": goal,
        "bill_no": f"{rng.choice(('Senate Bill', 'House Bill', 'Assembly Bill'))} {rng.randint(12, 998)}",
        "chamber": rng.choice(("state Senate", "state House", "Legislature", "Assembly")),
        "vote": f"{yes}-{rng.randint(8, yes - 4)}",
        "cost": f"${rng.randint(40, 950)} million",
        "state": base["state"],
        "capital": base["city"],
        "party": rng.choice(("Democrat", "Republican")),
        "other_party": rng.choice(("Democrats", "Republicans")),
        "deadline": f"{rng.choice(MONTHS)[0]} {rng.randint(1, 28)}",
    }
    add_person(f, "sponsor", rng)
    add_person(f, "governor", rng)
    add_person(f, "opponent", rng)
    return f


LEGISLATION = Domain(
    "legislation",
    _legislation_facts,
    {
        "topic": ("the bill", "the measure", "the {bill}", "the vote", "the legislation"),
        "place": ("{state}", "the Capitol", "{capital}", "districts across {state}"),
        "affected": ("lawmakers", "voters", "advocates", "business groups", "local officials"),
        "expert_field": ("state politics", "public policy", "{bill_topic} policy", "legislative history"),
        "expert_role": ("state legislator", "budget director", "lobbyist"),
        "trend": ("fight over {bill_topic}", "shift in state politics", "push by states to act alone"),
        "expert_claim": (
            "similar measures in other states had cost less than projected",
            "the {bill} would face a court challenge within months",
            "{bill_topic} had become one of the top issues for voters in {state}",
        ),
        "context_np": (
            "a bitter fight over the state budget",
            "months of negotiations between the two chambers",
            "an election year in which every House seat is on the ballot",
            "pressure from advocacy groups on both sides",
        ),
        "event_noun": ("vote", "veto fight", "special session"),
        "context_result": ("lawsuits", "a ballot measure", "a leadership shake-up"),
        "q_sponsor": (
            "This [bill|law] [is about|comes down to] [fairness|families|whether we keep our promises]",
            "[People|Families] in every corner of {state} [asked us to act|have waited long enough]",
            "We [listened|compromised] [on almost everything|where we could], and [this is|we ended up with] "
            "a [better|stronger] bill",
            "[It|This] will {goal}, and it [does it|will do it] without raising taxes",
        ),
        "q_opponent": (
            "This [bill|measure] [spends money we don't have|was rushed through]",
            "[Nobody|No one] can tell me what [this|it] will actually cost",
            "We [offered|proposed] amendments [and|but] [they|the majority] [rejected every one|refused to "
            "listen]",
        ),
        "q_statement": (
            "{q_sponsor}. Today's vote [shows|proves] that [we can still get big things done|"
            "{state} can lead] when we [work together|put people first]",
        ),
    },
    {
        "headline": (
            "{state} {chamber} [passes|approves|advances] {bill} [in {vote} vote|after long debate]",
            "[Lawmakers|Legislators] [send|approve] {bill} [to governor|aimed to {goal}]",
            "{state} [moves|votes] to {goal}",
            "[Bill to {goal}|{bill}] [clears|passes] {chamber}",
            "[Governor {governor_last}|{governor}] [vows to sign|weighs] {bill}",
        ),
        "lead": (
            "The {state} {chamber} [voted {vote}|voted] [on {day}|{day}] to [approve|pass] a {bill} that "
            "would {goal}, [sending it to|setting up a showdown with] Gov. {governor}.",
            "[Lawmakers|Legislators] in {state} [on {day}|{day}] [approved|passed] a measure to {goal}, "
            "[after|ending] [hours of|a long] debate [that split|that divided] the {chamber}.",
            "A [sweeping|contentious|long-debated] {bill} [that would {goal}|to {goal}] [cleared|passed] the "
            "{state} {chamber} [on {day}|{day}] [by a {vote} vote|{vote}].",
        ),
        "followup": (
            "Gov. {governor} [said on {day}|said {day}] [she|he] would [sign|veto] the {bill} [passed last "
            "week|the Legislature approved], [ending|prolonging] [weeks of|a] [speculation|standoff].",
            "[Opponents|A coalition of business groups] [filed suit|sued] [on {day}|{day}] to block the "
            "{bill}, [days|a week] after [lawmakers approved it|it cleared the {chamber}].",
        ),
        "second": (
            "The measure, {bill_no}, [would cost|is expected to cost] [about|roughly] {cost} over [five|two] "
            "years[, according to a nonpartisan analysis|].",
            "It [passed|cleared the chamber] {vote}[, largely along party lines|, with support from both "
            "parties|].",
            "[If signed|If it becomes law], [the bill|it] would take effect on {deadline}.",
        ),
        "detail": (
            "{sponsor}, [a|the] {party} [who sponsored|who wrote|behind] the bill, said it [had been|was] "
            "[years|months] in the making.",
            "[The bill|The measure] [sets aside|includes] {cost} [for|to] {goal}, [with|and] [oversight|"
            "audits] [by|from] a new state board.",
            "[An amendment|A change] [added|approved] [late {day}|on the floor] [would require|requires] "
            "[annual reports|a review] [after {num2} years|every {num2} years].",
            "{other_party} [argued|said] the bill [went too far|did not go far enough|was poorly drafted].",
            "[Several|{num2}] [members|lawmakers] [crossed party lines|broke with their party] [on the vote|"
            "to support it].",
            "[Advocates|Supporters] [packed|filled] the [gallery|hallways] [during|for] the debate, [some|"
            "many] [holding signs|wearing matching shirts].",
            "[The|A] [fiscal|budget] [note|analysis] [estimated|projected] that [about|roughly] "
            "{num_hundreds},000 people [would|could] [benefit|be affected].",
            "{opponent}, a {party}[ from {town}|], [tried|sought] to [delay|amend] the bill [twice|{num2} "
            "times] [without success|and failed].",
        ),
        "quote": (
            '"{q_sponsor}," {sponsor} said [during the debate|on the floor|after the vote].',
            '"{q_opponent}," said {opponent}[, who voted against it|].',
            '{opponent_last} [said|argued]: "{q_opponent}."',
            '"{q_sponsor}," {sponsor_last} [told reporters|said].',
        ),
        "statement": (
            '"{statement}," Gov. {governor} said in a statement [after the vote|{day}].',
            'In a statement, {governor}[ said|, a {party}, said]: "{statement}."',
        ),
        "background": (
            "[A similar bill|An earlier version] [died|stalled] in {year_past} [after|amid] [opposition from|"
            "objections by] [business groups|the governor|rural lawmakers].",
            "{state} [is one of|joins] [about|roughly] {num_tens} states [that have tried to|working to] "
            "{goal}.",
            "[Polls|A recent poll] [show|showed] [broad|narrow] support for the idea[ among voters|], "
            "[though|but] [support drops|opinion splits] [when|once] [costs are mentioned|people hear the "
            "details].",
            "{governor}, [a|who is a] {party}, [campaigned on|has made] {bill_topic} [a priority|one of "
            "{governor_his} signature issues].",
        ),
        "close": (
            "The governor has {num_tens} days to act on the bill.",
            "[The|A] [final|second] vote [is expected|could come] [next week|before the session ends].",
        ),
        "update": (
            "UPDATE: Gov. {governor} [signed|vetoed] the {bill} [late {day}|on {day}], [calling it|saying it "
            "was] [a win for families|unaffordable].",
            "[Hours later|Later {day}], [the other chamber|the {chamber}] [took up|scheduled a vote on] the "
            "bill, [putting it|and it is now] [on a fast track|one step from the governor's desk].",
        ),
    },
    ("vote", "cost", "deadline"),
)


def _storm_facts(rng: random.Random, base: Facts) -> Facts:
    f = {
        "storm": f"{rng.choice(('Hurricane', 'Tropical Storm'))} "
        + rng.choice(
            (
                "Alma",
                "Bertram",
                "Celine",
                "Dorian",
                "Ezra",
                "Fiona",
                "Gideon",
                "Helene",
                "Ivo",
                "Joaquin",
                "Kira",
                "Leon",
                "Marisol",
                "Nestor",
                "Opal",
                "Pablo",
                "Rhea",
                "Sebastian",
            )
        ),
        "wind": str(rng.randint(45, 150)),
        "rain": str(rng.randint(4, 30)),
        "dead": str(rng.randint(0, 14)),
        "outages": f"{rng.randint(20, 900)},000",
        "shelters": str(rng.randint(6, 80)),
        "coast": rng.choice(("Gulf Coast", "Atlantic coast", "Carolina coast", "Florida Panhandle")),
        "state": base["state"],
        "city": base["city"],
        "town1": rng.choice(TOWNS),
        "town2": rng.choice(TOWNS),
        "category": str(rng.randint(1, 4)),
    }
    add_person(f, "gov", rng)
    add_person(f, "forecaster", rng)
    add_person(f, "emergency", rng)
    return f


STORM = Domain(
    "storm",
    _storm_facts,
    {
        "topic": ("the storm", "{storm}", "the flooding", "the damage"),
        "place": ("{city}", "{town1}", "{town2}", "the low-lying neighborhoods of {city}"),
        "affected": ("residents", "homeowners", "business owners", "evacuees", "farmers"),
        "expert_field": ("meteorology", "coastal flooding", "disaster recovery", "climate science"),
        "expert_role": ("FEMA official", "hurricane forecaster", "emergency manager"),
        "trend": ("pattern of storms that strengthen quickly", "rise in extreme rainfall", "surge in costs"),
        "expert_claim": (
            "warmer water in the Gulf had fed the storm's rapid strengthening",
            "insured losses could top ${num2} billion",
            "flood maps in the region badly understated the risk",
        ),
        "context_np": (
            "an unusually active hurricane season",
            "weeks of heavy rain that had already saturated the ground",
            "record ocean temperatures",
            "cuts to federal disaster aid",
        ),
        "event_noun": ("hurricane", "major flood", "storm"),
        "context_result": (
            "billions of dollars in damage",
            "new building codes",
            "a rise in insurance rates",
        ),
        "q_official": (
            "[If you were told to leave|If you are in an evacuation zone], [leave now|do not wait]",
            "[We are|We're] [still] in [search and rescue|response] mode",
            "[Stay off the roads|Do not drive through floodwater]; [it only takes|it takes just] six inches "
            "of water to [knock you off your feet|sweep a car away]",
            "[This is|It's] going to be a [long|slow|difficult] recovery, but we will get through it",
            "[Crews|Linemen] are working [around the clock|in brutal conditions] to restore power",
        ),
        "q_statement": (
            "{q_official}. {q_official}, and [the state|we] will [use every resource we have|not stop "
            "until every community is back on its feet]",
        ),
    },
    {
        "headline": (
            "{storm} [slams|batters|lashes] {coast}[, knocking out power to {outages}|]",
            "{storm} [makes landfall|comes ashore] near {city} [as Category {category} storm|with {wind} mph "
            "winds]",
            "[At least {dead} dead|Flooding, outages] as {storm} [moves inland|sweeps through {state}]",
            "{state} [braces for|reels from] {storm}[; {outages} without power|]",
            "[Photos:|Live updates:|] {storm} [floods|swamps] {town1}",
        ),
        "lead": (
            "{storm} [slammed into|roared ashore on|battered] the {coast} [near {city}|] [early {day}|on "
            "{day}|late {day}], [bringing|with] winds of up to {wind} mph and [torrential rain|a "
            "dangerous storm surge].",
            "[Hundreds of thousands of people|About {outages} homes and businesses] [lost power|were without "
            "electricity] in {state} [on {day}|{day}] as {storm} [pushed inland|moved across the state], "
            "[flooding streets|toppling trees] [in {city} and {town1}|across the region].",
            "[At least {dead} people were killed|Rescuers pulled dozens of people from flooded homes] as "
            "{storm} [dumped|unleashed] [up to|more than] {rain} inches of rain on [parts of|] {state} "
            "[on {day}|{day}].",
        ),
        "followup": (
            "[Residents|Homeowners] in {town1} [began|started] [hauling debris|cleaning up] [on {day}|{day}] "
            "[as|while] [floodwaters|the water] left behind by {storm} [slowly receded|began to recede].",
            "[The death toll from|Deaths blamed on] {storm} [rose|climbed] to {dead} [on {day}|{day}] as "
            "[crews|search teams] [reached|searched] [cut-off|flooded] [communities|neighborhoods] in "
            "{state}.",
        ),
        "second": (
            "[The National Hurricane Center|Forecasters] said the storm [made landfall|came ashore] as a "
            "Category {category} [hurricane|storm] [near {town1}|just south of {city}].",
            "[Utility companies|Power companies] reported [about|more than] {outages} customers without "
            "power "
            "[at the peak|by {day} afternoon].",
            "[Officials|Authorities] opened {shelters} shelters [across the region|in {state}].",
        ),
        "detail": (
            "[Water|Floodwater] [rose|reached] [to the rooftops|waist-deep|several feet] in parts of "
            "{town2}, "
            "[where|and] [rescue crews|the Coast Guard] [used boats|used helicopters] to reach [stranded "
            "residents|people trapped in attics].",
            "[Trees|Power lines] [were down|blocked roads] [across|throughout] {city}, [and|while] "
            "[officials|"
            "police] [urged|asked] people to stay home.",
            "[The storm|{storm}] [weakened|lost strength] as it [moved inland|tracked north], [but|though] "
            "forecasters warned of [flash flooding|tornadoes|more rain] [through {day}|for days].",
            "[In {town1}|Near the waterfront], [the roof of a grocery store was torn off|the walls of an "
            "apartment building collapsed|a church steeple was torn off], [officials said|according to "
            "police].",
            "[The airport in {city} closed|Schools across the region canceled classes] [on {day}|until "
            "further notice].",
            "[Forecaster|Meteorologist] {forecaster}[ of the National Weather Service|] said [the storm "
            "surge|"
            "rainfall totals] [could reach|reached] [record levels|{rain} inches] [in places|along the "
            "coast].",
            "{emergency}, [the state's emergency management director|who leads the county's emergency "
            "office], said [at least|more than] {num_hundreds} people had been rescued.",
            "[Interstate|Highway] {num_tens} [was closed|remained shut] [in both directions|near {town2}] "
            "[because of flooding|after a bridge washed out].",
            "[The Red Cross|Volunteers] [set up|opened] [cots|meal stations] at [a high school|the civic "
            "center] in {town1}.",
        ),
        "quote": (
            '"{q_official}," Gov. {gov} said at a [news conference|briefing] [on {day}|{day} evening].',
            '"{q_official}," {emergency} said.',
            '{gov_last} [said|told reporters]: "{q_official}."',
            '"{q_official}," said {forecaster}[, a meteorologist with the National Weather Service|].',
        ),
        "statement": (
            '"{statement}," {gov} said in a statement.',
            'Gov. {gov} [said|wrote] in a statement: "{statement}."',
        ),
        "background": (
            "[The storm|{storm}] [is|was] the {nth} named storm of the [Atlantic|] hurricane season, "
            "[which runs through November 30|which forecasters predicted would be above normal].",
            "[Many communities in|Parts of] {state} [are|were] still [recovering from|rebuilding after] [a "
            "hurricane|"
            "flooding] in {year_past} that [killed dozens of people|left thousands homeless].",
            "{gov_last} [declared|issued] a state of emergency [on {day}|two days before landfall], [freeing "
            "up|allowing] state [money|resources] for the response.",
            "[Insurance|Flood insurance] [rates|premiums] in the region have [risen|doubled] [since "
            "{year_past}|"
            "in recent years], [and|while] many homeowners [lack|do not carry] flood coverage.",
        ),
        "close": (
            "[Officials|Forecasters] [said|expected] the storm [would|to] [move offshore|weaken to a "
            "depression] [by {day}|later in the week].",
            "[A boil-water notice|Curfews] [remained|remain] in effect [in {town2}|for parts of {city}].",
        ),
        "update": (
            "UPDATE: [The death toll rose to|Officials confirmed] {dead} [late {day}|on {day}] as [search "
            "teams|rescuers] [reached|went door to door in] {town2}.",
            "[Power had been restored to about half of|Utilities said] the {outages} customers [who lost "
            "electricity|] [by {day} evening|as of {day}], [officials said|].",
        ),
    },
    ("dead", "outages", "shelters", "rain"),
)


def _fire_facts(rng: random.Random, base: Facts) -> Facts:
    name = rng.choice(
        (
            "Cedar Creek",
            "Pine Hollow",
            "Bear Ridge",
            "Mill Canyon",
            "Eagle Peak",
            "Dry Fork",
            "Sawtooth",
            "Juniper Flats",
            "Bald Mountain",
            "Copper Gulch",
            "Red Rock",
            "Willow",
        )
    )
    f = {
        "fire": f"{name} Fire",
        "acres": f"{rng.randint(2, 240)},{rng.randint(100, 999)}",
        "contained": f"{rng.randint(0, 85)}%",
        "evacuated": f"{rng.randint(1, 40)},{rng.randint(100, 900)}",
        "homes": str(rng.randint(3, 400)),
        "crews": f"{rng.randint(2, 30)}00",
        "county": rng.choice(
            (
                "Shasta",
                "Larimer",
                "Deschutes",
                "Kern",
                "Boise",
                "Coconino",
                "Chelan",
                "Lake",
                "Butte",
                "Jackson",
                "Sierra",
                "Grant",
            )
        )
        + " County",
        "state": base["state"],
        "town1": rng.choice(TOWNS),
        "town2": rng.choice(TOWNS),
    }
    add_person(f, "chief", rng)
    add_person(f, "sheriff", rng)
    return f


WILDFIRE = Domain(
    "wildfire",
    _fire_facts,
    {
        "topic": ("the fire", "the {fire}", "the blaze", "the evacuations"),
        "place": ("{county}", "{town1}", "{town2}", "the foothills above {town1}"),
        "affected": ("evacuees", "residents", "ranchers", "business owners", "families"),
        "expert_field": ("fire ecology", "forest management", "climate science", "wildfire behavior"),
        "expert_role": ("Forest Service official", "fire chief", "state forester"),
        "trend": ("lengthening of fire seasons", "run of fast-moving fires", "shift toward night burning"),
        "expert_claim": (
            "years of drought had left the forest floor unusually dry",
            "fires in the region now burn hotter and faster than a generation ago",
            "thinning projects near {town1} had probably slowed the flames",
        ),
        "context_np": (
            "a historic drought across the West",
            "a heat wave that pushed temperatures above 100 degrees",
            "strong, gusty winds that grounded aircraft",
            "a shortage of seasonal firefighters",
        ),
        "event_noun": ("wildfire", "evacuation", "blaze"),
        "context_result": ("new rules on power lines", "evacuation drills", "billions in losses"),
        "q_fire": (
            "[The fire|This fire] [is|was] [moving|running] [faster than we have ever seen|with the wind]",
            "[Our crews|Firefighters] [made good progress|held the line] [overnight|on the eastern flank]",
            "[If you get|When you get] an evacuation order, [go|leave immediately]",
            "We [lost|could lose] [homes|structures] [today|tonight], and [that's|that is] heartbreaking",
            "[The weather|The wind] is [going to|] [decide a lot|make or break] the next [few days|48 hours]",
        ),
        "q_statement": (
            "{q_fire}. {q_fire}, and we ask everyone to [follow evacuation orders|stay out of the fire area]",
        ),
    },
    {
        "headline": (
            "{fire} [grows to|explodes to|burns] {acres} acres[, forcing evacuations|]",
            "[Thousands|{evacuated}] [flee|ordered to evacuate] as {fire} [spreads|rages] in {county}",
            "{fire} [destroys|burns] {homes} homes near {town1}",
            "Crews [gain ground on|battle] {fire}; {contained} contained",
        ),
        "lead": (
            "A fast-moving wildfire [in {county}|near {town1}] [grew|exploded] to {acres} acres [on {day}|"
            "{day}], [forcing|prompting] the evacuation of [about|more than] {evacuated} people [and|as it] "
            "[destroying|threatened] homes.",
            "The {fire} [burned|raced through] [dry brush and timber|steep canyons] [in {county}, {state},|"
            "near {town1}] [on {day}|{day}], [and|as] [officials|fire officials] [ordered|expanded] "
            "evacuations [for|in] {town1} and {town2}.",
            "[Firefighters|More than {crews} firefighters] [battled|fought] the {fire} [for a {nth} day|"
            "through the night] [on {day}|{day}] as [gusty winds|shifting winds] [pushed|drove] the flames "
            "toward {town2}.",
        ),
        "followup": (
            "[Residents|Evacuees] [began returning|were allowed back] to {town1} [on {day}|{day}], "
            "[many|some] "
            "[finding|to find] [only ashes|their homes destroyed] [after|where] the {fire} [burned through|"
            "swept] the [town|area].",
            "[Investigators|Officials] [said on {day}|said {day}] [a downed power line|a vehicle fire] "
            "[may have|likely] [sparked|started] the {fire}, which [has burned|has now burned] {acres} "
            "acres.",
        ),
        "second": (
            "The fire was {contained} contained [by {day} evening|as of {day}], [according to|said] "
            "[state fire officials|the Forest Service].",
            "[At least|About] {homes} [homes|structures] [were destroyed|had burned], [officials said|"
            "according to a preliminary count].",
            "[More than {crews} firefighters|About {crews} personnel] [were assigned to|were battling] the "
            "blaze.",
        ),
        "detail": (
            "[Air tankers|Helicopters] [dropped|dumped] [retardant|water] [on the ridges above|along the "
            "edge of] {town1} [until|before] [high winds|smoke] [grounded them|forced them to stop].",
            "[The sheriff's office|Deputies] [went door to door|used loudspeakers] in {town2} to [warn|urge] "
            "[residents|people] to leave.",
            "[Smoke|Ash] [drifted|spread] [hundreds of miles|as far as {state}'s biggest cities], [and|"
            "prompting] [air quality|health] [alerts|warnings].",
            "Sheriff {sheriff} said [no deaths had been reported|{num2} people were unaccounted for] [as of "
            "{day}|but the count could change].",
            "[A shelter|An evacuation center] [at the county fairgrounds|at a high school in {town2}] [took "
            "in|housed] [hundreds of|about {num_hundreds}] [people|evacuees] and [their animals|livestock].",
            "[Power|Electricity] was [shut off|cut] to [about|roughly] {num_tens},000 customers [as a "
            "precaution|to reduce the risk of new fires].",
            "[The fire|It] [jumped|crossed] [Highway|Route] {num_tens} [late {day}|overnight], [officials "
            "said|forcing new evacuations].",
            "[Temperatures|Humidity levels] [were expected to|would] [stay|remain] [high|low] [through the "
            "weekend|for days], [forecasters said|the weather service said].",
        ),
        "quote": (
            '"{q_fire}," {chief}[, the incident commander,|] said [at a briefing|{day}].',
            '"{q_fire}," said Sheriff {sheriff}.',
            '{chief_last} said: "{q_fire}."',
        ),
        "statement": (
            '"{statement}," {chief} said in a statement [released {day}|].',
            'In a statement, fire officials said: "{statement}."',
        ),
        "background": (
            "[The region|{county}] [has seen|saw] [several|{num2}] major fires [since {year_past}|in the "
            "past "
            "decade], including [one|a blaze] that [destroyed|burned] [hundreds of homes|much of a town].",
            "[The fire season|Fire seasons] in the West [now start|have started] [earlier|weeks earlier] "
            "and [last|run] longer, [scientists say|according to researchers].",
            "[Crews|Officials] had [planned|carried out] [prescribed burns|thinning projects] [near "
            "{town1}|in "
            "the area] [in {year_past}|last spring], [but|though] [funding|staffing] [ran short|was cut].",
        ),
        "close": (
            "[Full containment is not expected|Officials do not expect to contain the fire] [until|before] "
            "[next month|the end of the month].",
            "[A community meeting|An update for residents] [is scheduled|will be held] [{day} evening|at the "
            "high school].",
        ),
        "update": (
            "UPDATE: [Evacuation orders were expanded|Officials expanded evacuation orders] [late {day}|on "
            "{day}] to [include|cover] {town2} as the {fire} [grew|jumped a ridge].",
            "[By {day} evening|Late {day}], the {fire} [had grown to|covered] {acres} acres and was "
            "{contained} contained, [fire officials said|according to Cal Fire].",
        ),
    },
    ("acres", "contained", "evacuated", "homes"),
)


def _court_facts(rng: random.Random, base: Facts) -> Facts:
    charge, case_kind = rng.choice(
        (
            ("securities fraud", "fraud"),
            ("bribery", "corruption"),
            ("wire fraud", "fraud"),
            ("manslaughter", "criminal"),
            ("civil rights violations", "civil rights"),
            ("antitrust violations", "antitrust"),
            ("wrongful death", "civil"),
            ("defamation", "defamation"),
            ("environmental violations", "environmental"),
        )
    )
    f = {
        "charge": charge,
        "case_kind": case_kind,
        "court": rng.choice(
            (
                "federal court",
                "U.S. District Court",
                "state Superior Court",
                "county circuit court",
                "the state Supreme Court",
                "a federal appeals court",
            )
        ),
        "city": base["city"],
        "state": base["state"],
        "sentence": f"{rng.randint(2, 25)} years",
        "damages": f"${rng.randint(2, 900)} million",
        "jury_days": str(rng.randint(2, 9)),
        "company": f"{rng.choice(CO_PREFIX)} {rng.choice(INDUSTRIES)[0]}",
    }
    add_person(f, "defendant", rng)
    add_person(f, "judge", rng)
    add_person(f, "prosecutor", rng)
    add_person(f, "lawyer", rng)
    return f


COURT = Domain(
    "court",
    _court_facts,
    {
        "topic": ("the verdict", "the ruling", "the case", "the trial"),
        "place": ("{city}", "the courthouse", "{state}"),
        "affected": ("jurors", "victims' families", "supporters", "former employees", "investors"),
        "expert_field": ("criminal law", "white-collar crime", "constitutional law", "legal ethics"),
        "expert_role": ("federal prosecutor", "judge", "defense attorney"),
        "trend": (
            "crackdown on {charge}",
            "wave of similar cases",
            "shift in how courts treat {case_kind} cases",
        ),
        "expert_claim": (
            "appeals in cases like this one succeed less than {pct_small} of the time",
            "the ruling could make similar lawsuits easier to bring",
            "the sentence was longer than most in comparable {case_kind} cases",
        ),
        "context_np": (
            "a string of high-profile {case_kind} cases",
            "a trial that drew crowds to the courthouse every day",
            "years of investigation by state and federal agents",
        ),
        "event_noun": ("verdict", "conviction", "ruling"),
        "context_result": ("new regulations", "appeals that dragged on for years", "settlements"),
        "q_prosecutor": (
            "No one is above the law[, no matter how powerful|]",
            "[Today's verdict|This verdict] [sends a message|should send a clear message] to anyone who "
            "[thinks about|is considering] [cheating|breaking the law]",
            "[The victims|The families] waited [a long time|{years} years] for [justice|this day]",
        ),
        "q_defense": (
            "We [are disappointed|strongly disagree] with [the verdict|the decision] and [will appeal|plan "
            "to "
            "appeal]",
            "[My client|{defendant_last}] [has always maintained|maintains] [his|her|their] innocence",
            "[The jury|The court] [did not hear|never heard] [the full story|key evidence]",
        ),
        "q_statement": (
            "{q_prosecutor}. {q_prosecutor}, and [this office|we] will [keep pursuing|continue to pursue] "
            "cases like this one",
        ),
    },
    {
        "headline": (
            "{defendant} [found guilty|convicted] of {charge}",
            "[Jury|Judge] [rules against|sides with] {company} in {charge} case",
            "{defendant} [sentenced to|gets] {sentence} [for|in] {charge} case",
            "[Court|Judge] [orders|awards] {damages} in {case_kind} [lawsuit|case]",
            "[Verdict in|Jury reaches verdict in] {defendant} trial",
        ),
        "lead": (
            "A [federal|] jury in {city} [on {day}|{day}] [convicted|found] {defendant} [guilty|] of "
            "{charge} [after deliberating for {jury_days} days|following a {num2}-week trial].",
            "{defendant} was sentenced [on {day}|{day}] to {sentence} in prison for {charge}, [a case|in a "
            "case] that [prosecutors said|officials said] [cost investors millions|betrayed the public].",
            "A judge in {court} [ruled|ordered] [on {day}|{day}] that {company} [must pay|owes] {damages} "
            "[over|in a case involving] {charge}, [siding with|a win for] [the plaintiffs|former employees].",
        ),
        "followup": (
            "Lawyers for {defendant} [filed|said they would file] [a notice of appeal|an appeal] [on {day}|"
            "{day}], [a week|days] after [a jury convicted|the verdict against] [him|her|their client].",
            "[Prosecutors|The government] [asked|urged] [a judge|Judge {judge}] [on {day}|{day}] to [impose|"
            "order] [a sentence of|] {sentence} [for|on] {defendant}, [who was convicted|following the "
            "conviction] [last month|earlier this month].",
        ),
        "second": (
            "[Judge|U.S. District Judge] {judge} [set|scheduled] sentencing for {month}.",
            "[The jury|Jurors] [deliberated|met] for {jury_days} days before [reaching|returning] [the|a] "
            "verdict.",
            "{defendant_last} faces up to {sentence} in prison[ on the most serious count|].",
        ),
        "detail": (
            "Prosecutors [said|argued] {defendant_last} [hid|concealed|lied about] [losses|payments|the "
            "risks] "
            "[for years|from {year_past} to {year_past}].",
            "[During the trial|At trial], [jurors|the jury] heard from [more than|about] {num_tens} "
            "witnesses, "
            "[including|among them] former [employees|business partners].",
            "[The defense|Defense lawyers] [argued|told jurors] that {defendant_last} [had relied "
            "on|trusted] "
            "[advisers|accountants|subordinates] and [did not know|never intended] [to break the law|about "
            "the "
            "scheme].",
            "{defendant_last} [did not testify|testified for {num2} days] [in|during] the trial.",
            "[The case|The investigation] [began|started] in {year_past} after [a whistleblower|an auditor|a "
            "former employee] [contacted|went to] [regulators|the FBI].",
            "[Outside the courthouse|On the courthouse steps], [supporters|relatives] [embraced|wept|spoke "
            "briefly to reporters].",
            "[The judge|{judge_last}] [denied|rejected] a defense [motion|request] to [dismiss|throw out] "
            "[the case|key evidence] [before the trial|last {month}].",
            "[Prosecutor|Assistant U.S. Attorney] {prosecutor} [showed|played] [emails|recordings|text "
            "messages] [that|which] [prosecutors said|she said|he said] [proved|showed] intent.",
        ),
        "quote": (
            '"{q_prosecutor}," {prosecutor} [told reporters|said] after the verdict.',
            '"{q_defense}," said {lawyer}, [a lawyer for|who represents] {defendant_last}.',
            '{lawyer}, {defendant_last}\'s attorney, said: "{q_defense}."',
        ),
        "statement": (
            '"{statement}," {prosecutor} said in a statement.',
            "The [U.S. attorney's office|prosecutor's office] said in a statement: \"{statement}.\"",
        ),
        "background": (
            "{defendant_last}, [who founded|who once led] {company}, was [charged|indicted] in {year_past} "
            "[along with|alongside] {num2} [former executives|associates].",
            "[The case|The trial] drew [wide|national] attention [because|after] [it|the charges] [exposed|"
            "involved] [one of the largest|a long-running] {case_kind} schemes in {state} history.",
            "[Two|Several] [co-defendants|former associates] [pleaded guilty|reached plea deals] [earlier|"
            "before the trial] and [testified|agreed to testify] [against|about] {defendant_last}.",
        ),
        "close": (
            "[Sentencing is scheduled|A sentencing hearing is set] for {month}.",
            "[The defense|{lawyer}] has {num_tens} days to [file an appeal|seek a new trial].",
        ),
        "update": (
            "UPDATE: [Judge {judge}|The judge] [ordered|denied a request to keep] {defendant} [held|free] "
            "[until sentencing|on bail] [late {day}|after the verdict].",
            "[Hours after the verdict|Later {day}], [{lawyer}|the defense] [said|confirmed] [an appeal would "
            "be "
            "filed|{defendant_last} would appeal] [within weeks|immediately].",
        ),
    },
    ("sentence", "damages", "jury_days"),
)


def _crime_facts(rng: random.Random, base: Facts) -> Facts:
    crime = rng.choice(
        ("shooting", "armed robbery", "hit-and-run", "stabbing", "carjacking", "burglary spree")
    )
    f = {
        "crime": crime,
        "city": base["city"],
        "state": base["state"],
        "street": rng.choice(STREETS),
        "victims": str(rng.randint(1, 5)),
        "suspect_age": str(rng.randint(17, 58)),
        "time": f"{rng.randint(1, 11)}:{rng.choice(('05', '15', '20', '30', '40', '45', '50'))} "
        + rng.choice(("a.m.", "p.m.")),
        "reward": f"${rng.randint(1, 50)},000",
        "dept": f"{base['city']} Police Department",
    }
    add_person(f, "chief", rng)
    add_person(f, "suspect", rng)
    add_person(f, "victim", rng)
    return f


CRIME = Domain(
    "crime",
    _crime_facts,
    {
        "topic": ("the {crime}", "the attack", "the arrest", "the investigation"),
        "place": ("{city}", "the neighborhood", "{street}", "the east side of {city}"),
        "affected": ("neighbors", "witnesses", "shop owners", "parents", "residents"),
        "expert_field": ("criminology", "policing", "public safety", "violence prevention"),
        "expert_role": ("police commander", "prosecutor", "homicide detective"),
        "trend": ("rise in {crime}s", "drop in violent crime", "shift in how police use video evidence"),
        "expert_claim": (
            "{crime}s in the city were down {pct_small} from a year earlier",
            "most similar cases are solved with help from surveillance cameras",
            "arrests in cases like this one often come within days",
        ),
        "context_np": (
            "a spate of violence in the neighborhood",
            "a citywide debate over police staffing",
            "a summer of rising tension in {city}",
        ),
        "event_noun": ("{crime}", "arrest", "violent incident"),
        "context_result": ("more patrols", "community vigils", "new cameras on {street}"),
        "q_police": (
            "[This was|It was] a [senseless|brazen|cowardly] act",
            "[Someone|Somebody] out there [knows something|saw something], and we need them to come forward",
            "[Our detectives|Officers] [worked around the clock|did not stop] until [we had a suspect|an "
            "arrest "
            "was made]",
            "There is no ongoing threat to the public",
        ),
        "q_statement": (
            "{q_police}. {q_police}, and [we will|the department will] [hold those responsible accountable|"
            "keep the public informed]",
        ),
    },
    {
        "headline": (
            "[Police|Officers] [arrest|seek] [suspect|man|woman] in {street} {crime}",
            "{victims} [hurt|wounded|injured] in {crime} [on|near] {street}",
            "{city} police [identify|name] suspect in {crime}",
            "[Reward offered|{reward} reward] for information on {crime}",
        ),
        "lead": (
            "[Police|Officers] in {city} [arrested|took into custody] a {suspect_age}-year-old [man|woman] "
            "[on {day}|{day}] in connection with a {crime} [on {street}|near {street}] that [left|injured] "
            "{victims} people [hurt|wounded].",
            "{victims} people were [injured|wounded|hurt] in a {crime} [near|on] {street} in {city} [at "
            "about "
            "{time}|shortly after {time}] [on {day}|{day}], [police said|authorities said].",
            "The {dept} [is searching for|released images of] a suspect [after|following] a {crime} [on "
            "{street}|in a busy shopping area] [late {day}|early {day}].",
        ),
        "followup": (
            "[Prosecutors|The district attorney] [charged|filed charges against] {suspect} [on {day}|{day}] "
            "in [the|last week's] {crime} [on {street}|that injured {victims} people].",
            "[Neighbors|Residents] [gathered|held a vigil] [on {day}|{day}] [on {street}|near the scene] [to "
            "remember|for] {victim}, [who died|days after] [the|a] {crime}.",
        ),
        "second": (
            "[Officers|Police] [responded|were called] to [reports of|a report of] [a disturbance|gunfire|"
            "a crash] at about {time}, [the department said|according to a statement].",
            "[The victims|Those injured] were taken to [a hospital|a local hospital] [with|for] [injuries "
            "that were not life-threatening|serious injuries].",
            "[The suspect|{suspect}], {suspect_age}, [was booked into|is being held at] the county jail.",
        ),
        "detail": (
            "[Surveillance video|Footage from a doorbell camera] [showed|appeared to show] [the suspect|a "
            "person] [running|driving] [away|north] on {street}[, police said|].",
            "[Detectives|Investigators] [recovered|found] [a weapon|a vehicle|evidence] [several blocks away|"
            "in an alley] [hours later|the next morning].",
            "[Witnesses|A witness] [told police|described] [hearing|seeing] [{num2} shots|an argument] "
            "[before|just before] [the attack|the {crime}].",
            "[The street|{street}] was closed [for several hours|until early {day}] [while|as] "
            "[investigators|crime scene technicians] [worked|collected evidence].",
            "Police [did not say|have not said] [what led to|whether the victims knew] [the suspect|"
            "{suspect_last}].",
            "{victim}, [one of the victims|who was wounded], [was listed in|remained in] [stable|critical] "
            "condition, [a hospital spokeswoman said|relatives said].",
            "[The department|Police] [asked|urged] anyone with information to call [its tip line|Crime "
            "Stoppers], [which offers|with] a reward of up to {reward}.",
        ),
        "quote": (
            '"{q_police}," Police Chief {chief} [said|told reporters] [at a news conference|{day}].',
            '"{q_police}," said {chief_last}.',
            'Chief {chief} said: "{q_police}."',
        ),
        "statement": (
            '"{statement}," the {dept} said in a statement.',
            'In a statement, Chief {chief} said: "{statement}."',
        ),
        "background": (
            "[It was|The {crime} was] the [second|third|latest] [such incident|{crime}] [on {street}|in the "
            "neighborhood] [since {month}|this year].",
            "[The city|{city}] [recorded|reported] {num_hundreds} [violent crimes|{crime}s] [last year|in "
            "{year_past}], [up|down] {pct_small} from the year before.",
            "[Residents|Business owners] [on {street}|in the area] have [asked|pushed] the city [for|to add] "
            "[more patrols|better lighting|cameras] [for years|since {year_past}].",
        ),
        "close": (
            "[The investigation is continuing|The case remains under investigation], police said.",
            "{suspect_last} [is scheduled to appear|will appear] in court [on {day}|next week].",
        ),
        "update": (
            "UPDATE: [Police announced|Police said] [late {day}|on {day}] that {suspect}, {suspect_age}, had "
            "been [arrested|charged] in the {crime}.",
            "[One of the victims|{victim}] [died|has died] [at the hospital|of injuries] [on "
            "{day}|overnight], "
            "[police said|relatives confirmed].",
        ),
    },
    ("victims", "time", "reward"),
)


def _sports_facts(rng: random.Random, base: Facts) -> Facts:
    home_city = base["city"]
    away_city = rng.choice(US_PLACES)[0]
    sport = rng.choice(("basketball", "hockey", "baseball", "football", "soccer"))
    scores = {
        "basketball": (rng.randint(95, 131), rng.randint(88, 124)),
        "hockey": (rng.randint(2, 6), rng.randint(0, 4)),
        "baseball": (rng.randint(3, 11), rng.randint(0, 8)),
        "football": (rng.randint(17, 41), rng.randint(3, 34)),
        "soccer": (rng.randint(1, 4), rng.randint(0, 2)),
    }[sport]
    hi, lo = max(scores), min(scores)
    if hi == lo:
        hi += 1
    stat = {
        "basketball": f"{rng.randint(22, 44)} points and {rng.randint(5, 15)} rebounds",
        "hockey": f"{rng.randint(2, 3)} goals and an assist",
        "baseball": f"{rng.randint(2, 4)} hits and {rng.randint(2, 6)} RBIs",
        "football": f"{rng.randint(220, 410)} yards and {rng.randint(2, 5)} touchdowns",
        "soccer": f"{rng.randint(1, 3)} goals",
    }[sport]
    f = {
        "sport": sport,
        "home": f"{home_city} {rng.choice(MASCOTS)}",
        "away": f"{away_city} {rng.choice(MASCOTS)}",
        "home_city": home_city,
        "score": f"{hi}-{lo}",
        "stat": stat,
        "streak": str(rng.randint(4, 9)),
        "record": f"{rng.randint(10, 50)}-{rng.randint(5, 40)}",
        "crowd": f"{rng.randint(12, 68)},{rng.randint(100, 999)}",
        "venue": rng.choice(
            (
                "Riverside Arena",
                "Memorial Stadium",
                "Harbor Park",
                "Summit Center",
                "Lakefront Field",
                "Union Ballpark",
                "Pioneer Coliseum",
            )
        ),
    }
    add_person(f, "star", rng)
    add_person(f, "coach", rng)
    add_person(f, "rival", rng)
    return f


SPORTS = Domain(
    "sports",
    _sports_facts,
    {
        "topic": ("the win", "the loss", "the game", "the comeback"),
        "place": ("{venue}", "{home_city}", "the locker room"),
        "affected": ("fans", "season-ticket holders", "players", "bettors"),
        "expert_field": ("sports analytics", "the league's finances", "coaching"),
        "expert_role": ("general manager", "head coach", "scout"),
        "trend": ("youth movement in the league", "run of upsets", "shift toward analytics"),
        "expert_claim": (
            "the {home} had the league's best defense since {month}",
            "teams that win {streak} straight in this stretch usually make the playoffs",
            "{star_last} was playing the best {sport} of {star_his} career",
        ),
        "context_np": (
            "a tight race for a playoff spot",
            "a string of injuries to key players",
            "trade rumors around {star_last}",
        ),
        "event_noun": ("win", "shutout", "road loss"),
        "context_result": ("a coaching change", "a deep playoff run", "a rebuild"),
        "q_player": (
            "We [just kept|kept] [fighting|playing our game|believing] [all night|to the end]",
            "[Credit to|Hats off to] [the guys|my teammates|the defense], they [made it easy|did the hard "
            "work]",
            "[It|That] [wasn't|was not] our best [game|effort], but a win is a win",
            "[We know|Everybody knows] what's at stake [this time of year|right now]",
        ),
        "q_statement": ("{q_player}. {q_player}, and [we have to|we'll] [build on this|keep it going]",),
    },
    {
        "headline": (
            "{star_last} [leads|lifts|carries] {home} [past|over] {away}, {score}",
            "{home} [beat|top|edge|rout] {away} {score}[ for {streak}th straight win|]",
            "{away} [fall to|lose to] {home} {score} [as|after] {star_last} [stars|shines]",
            "[Late rally|Big night from {star_last}] [sends|helps] {home} [past|to win over] {away}",
        ),
        "lead": (
            "{star} [had|finished with|posted] {stat}, and the {home} [beat|defeated|held off] the {away} "
            "{score} [on {day} night|{day}] [at {venue}|].",
            "The {home} [won|extended their winning streak to] [their|] {streak}[th straight game|] [on "
            "{day}|{day} night], [beating|routing|edging] the {away} {score} [behind|thanks to] {stat} from "
            "{star}.",
            "{star} [scored|delivered] [the go-ahead|a late] [goal|basket|run|touchdown] [and|as] the {home} "
            "[rallied|came back] to beat the {away} {score} [on {day}|{day} night].",
        ),
        "followup": (
            "The {home} [announced|said] [on {day}|{day}] that {star} [will miss|would miss] [the next "
            "{num2} games|several weeks] with [a knee injury|an ankle sprain|a hamstring strain] [suffered|"
            "picked up] [in|during] [Tuesday's|the] win over the {away}.",
            "[Two days|A day] after [beating|their win over] the {away}, the {home} [traded|signed] [a "
            "veteran|{rival}] [in a move|as they] [aimed at|to bolster] [a playoff run|their depth].",
        ),
        "second": (
            "[The {home}|They] [improved|moved] to {record} [with the win|on the season].",
            "{rival} [led|paced] the {away} [with|, who got] [a strong game|{num2} assists] [in the loss|"
            "before fouling out].",
            "A crowd of {crowd} [watched|saw] the [game|win] at {venue}.",
        ),
        "detail": (
            "[The {away}|Visitors] [led|were ahead] [by {num2}|early] [after the first period|at halftime|"
            "in the first half] before the {home} [took control|took over|found their rhythm].",
            "{star_last} [was|went] [{num2} for {num_tens}|efficient] [from the field|at the plate|on the "
            "night], [including|with] [a highlight play|two key plays] [late in the game|in the final "
            "minutes].",
            "[Coach|Manager] {coach} [shuffled|changed] [the lineup|the rotation] [before the game|at the "
            "break], [moving|starting] [a rookie|a veteran] [at|in] [a new spot|a key position].",
            "[The teams|Both teams] [traded|exchanged] [leads|momentum] [{num2} times|several times] [in a "
            "tight|in an uneven] [second half|final period].",
            "[The {away}|{rival}] [had a chance to|nearly] [tie|win] it [late|in the closing seconds], but "
            "[missed|the shot was blocked|a review overturned the call].",
            "[The {home}'s|Their] defense [held|limited] the {away} to [just|] {num_tens} [points|shots|"
            "hits] [after the break|in the final period].",
        ),
        "quote": (
            '"{q_player}," {star_last} said [after the game|in the locker room].',
            '"{q_player}," said {coach}, [the {home} coach|who is in {coach_his} {nth} season].',
            '{coach_last} said: "{q_player}."',
            '"{q_player}," {rival} said.',
        ),
        "statement": ('"{statement}," {coach} said [afterward|after the game].',),
        "background": (
            "The {home} [missed the playoffs|were eliminated early] last season [and|before] [hired|"
            "promoting] {coach_last} in the offseason.",
            "{star_last}, [a {num2}-time All-Star|in {star_his} {nth} season], [signed|agreed to] a "
            "[contract extension|new deal] [last summer|in the offseason] worth [about|up to] "
            "${num_hundreds} million.",
            "[The two teams|These teams] [meet|play] [again|twice more] [in {month}|before the end of the "
            "season].",
        ),
        "close": (
            "The {home} [host|visit] [the {away}|a division rival] [on {day}|next].",
            "[Up next|Next]: the {away} [return home|open a road trip] [on {day}|this weekend].",
        ),
        "update": (
            "UPDATE: The {home} [said after the game|announced] that {star} [left|was checked for] [an "
            "injury|a head injury] [and would be evaluated on {day}|and is day to day].",
        ),
    },
    ("score", "stat", "crowd", "record"),
)


def _health_facts(rng: random.Random, base: Facts) -> Facts:
    condition, intervention, measure = rng.choice(
        (
            ("heart disease", "a daily walk of 30 minutes", "risk of heart attack"),
            ("type 2 diabetes", "a Mediterranean-style diet", "blood sugar levels"),
            ("dementia", "treating hearing loss", "rate of cognitive decline"),
            ("depression", "a weekly group exercise class", "symptoms of depression"),
            ("asthma", "replacing gas stoves", "emergency room visits"),
            ("obesity", "a new weight-loss drug", "body weight"),
            ("sleep problems", "cutting screen time before bed", "time to fall asleep"),
            ("high blood pressure", "a low-salt diet", "systolic blood pressure"),
            ("migraine", "a monthly injection", "number of migraine days"),
        )
    )
    f = {
        "condition": condition,
        "intervention": intervention,
        "measure": measure,
        "effect": f"{rng.randint(8, 45)}%",
        "n": f"{rng.randint(1, 90)},{rng.randint(100, 999)}",
        "journal": rng.choice(
            (
                "JAMA",
                "The Lancet",
                "the New England Journal of Medicine",
                "BMJ",
                "Nature Medicine",
                "JAMA Internal Medicine",
                "Circulation",
            )
        ),
        "uni": rng.choice(UNIVERSITIES),
        "study_years": str(rng.randint(2, 20)),
        "age_lo": str(rng.randint(18, 55)),
    }
    add_person(f, "author", rng)
    add_person(f, "outside", rng)
    return f


HEALTH = Domain(
    "health",
    _health_facts,
    {
        "topic": ("the study", "the findings", "the research", "the trial"),
        "place": ("{uni}", "clinics across the country", "the study's sites"),
        "affected": ("patients", "doctors", "caregivers", "people with {condition}"),
        "expert_field": ("epidemiology", "cardiology", "public health", "{condition}"),
        "expert_role": ("CDC official", "hospital chief medical officer", "FDA reviewer"),
        "trend": (
            "shift toward prevention",
            "growing body of research on {condition}",
            "rise in {condition}",
        ),
        "expert_claim": (
            "about {pct_small} of American adults have {condition}",
            "observational studies like this one cannot prove cause and effect",
            "the benefit was largest among people over {age_lo}",
        ),
        "context_np": (
            "rising rates of {condition} in the United States",
            "a debate over how much lifestyle changes can do",
            "soaring prices for new treatments",
        ),
        "event_noun": ("study", "clinical trial", "analysis"),
        "context_result": ("new treatment guidelines", "changes in insurance coverage", "larger trials"),
        "q_author": (
            "[What surprised us|The surprising part] was how [large|consistent] the effect was",
            "[This is|It's] [something|a change] [almost anyone|most people] can [do|make]",
            "We [need|would like to see] a [larger|longer] trial before [changing guidelines|making "
            "recommendations]",
            "[The message|The takeaway] for patients is [simple|encouraging]",
        ),
        "q_outside": (
            "[It's|This is] a [well-designed|solid|careful] study, but [it has limits|questions remain]",
            "I [would|'d] [not|] tell patients to [change anything yet|wait for more data]",
        ),
        "q_statement": (
            "{q_author}. {q_author}, and [we hope|our hope is that] [doctors|patients] [will take note|use "
            "these findings]",
        ),
    },
    {
        "headline": (
            "{intervention} [linked to|tied to] [lower|reduced] {measure}, study finds",
            "[Study|Research]: {intervention} [may|could] [cut|lower] {condition} risk by {effect}",
            "[New study|Researchers] [find|finds] {intervention} [helps|eases] {condition}",
            "[Can|Could] {intervention} [help|prevent] {condition}? [A new study suggests yes|Here's what "
            "researchers found]",
        ),
        "lead": (
            "[People who|Adults who] [followed|took up|tried] {intervention} [saw|had] a {effect} [reduction|"
            "drop] in {measure}, according to a [study|new study] [published {day}|released {day}] in "
            "{journal}.",
            "{intervention} [may|could] [lower|reduce] {measure} [by {effect}|substantially], researchers at "
            "{uni} [reported|said] [on {day}|{day}], [in|offering] [one of the largest studies|new evidence] "
            "on {condition}.",
            "A [large|long-running|new] study of {n} [adults|people] [found|suggests] that {intervention} "
            "[was linked to|cut] {measure} by {effect}[, offering hope to people with {condition}|].",
        ),
        "followup": (
            "[Doctors|Medical groups] [said on {day}|said {day}] they [would|will] [review|revisit] "
            "[guidelines|advice] on {condition} [after|following] [a study|last week's study] in {journal} "
            "[on|about] {intervention}.",
            "[A second team|Other researchers] [questioned|challenged] [the findings|a widely reported "
            "study] on {intervention} and {condition} [on {day}|{day}], [pointing to|citing] [flaws|gaps] "
            "in the data.",
        ),
        "second": (
            "The [study|researchers] followed {n} [people|participants] [for|over] {study_years} years.",
            "[The|Its] [findings|results] [were published|appeared] in {journal}[ on {day}|].",
            "[Participants|The people studied] were [aged|ages] {age_lo} and older[ and lived in {num2} "
            "countries|].",
        ),
        "detail": (
            "{author}, [the study's lead author|who led the research] [and|,] [a professor|an associate "
            "professor] at {uni}, said [the effect|the benefit] [held up|remained] [after accounting for|"
            "even after adjusting for] [age, income and smoking|other risk factors].",
            "[Participants|Those] who [stuck with|followed] {intervention} [most closely|for at least a "
            "year] [saw|had] the [largest|biggest] [benefit|improvement].",
            "[The researchers|The team] [cautioned|noted] that [the study was observational|participants "
            "reported their own habits] and [could not|cannot] prove [cause and effect|that "
            "{intervention} caused the change].",
            "[Side effects|Adverse events] were [rare|mild|reported by about {pct_small} of participants], "
            "[mostly|mainly] [nausea|headaches|fatigue].",
            "[The study|The research] was [funded|paid for] by [the National Institutes of Health|a "
            "foundation|a drugmaker], [which|that] [had no role|played no part] in [the analysis|the "
            "results].",
            "[About|Roughly] {pct_small} of [participants|those studied] [dropped out|left the study] "
            "[before it ended|in the first year].",
            "[Women|Older participants] [appeared to|seemed to] [benefit|gain] [more|slightly more] than "
            "[men|younger ones], [though|but] the difference was [small|not statistically significant].",
        ),
        "quote": (
            '"{q_author}," {author} said [in an interview|].',
            '"{q_outside}," said {outside}, [a {condition} specialist at {university} who was not involved '
            "in "
            "the study|who was not part of the research].",
            '{author_last} said: "{q_author}."',
        ),
        "statement": ('"{statement}," {author} said in a statement released by {uni}.',),
        "background": (
            "{condition} [affects|is diagnosed in] [millions of|about {num_tens} million] Americans[, "
            "according to federal health data|], and [rates|cases] have [risen|climbed] [since {year_past}|"
            "for decades].",
            "[Earlier|Previous] [studies|research] [on {intervention}|in this area] [had|produced] [mixed|"
            "conflicting] results, [in part because|partly because] they [were small|lasted only months].",
            "[Guidelines|Current recommendations] [already|] [encourage|suggest] [patients|people at risk] "
            "to "
            "[consider|try] {intervention}, [but|though] [few|only a minority] do.",
        ),
        "close": (
            "[A larger trial|Further research] [is planned|is under way] [and|,] [results are expected|with "
            "results due] [in {year_past}|within {num2} years].",
            "[Patients|People] [should|were advised to] [talk to their doctors|consult a doctor] before "
            "[making changes|starting {intervention}].",
        ),
        "update": (
            "UPDATE: [The American Heart Association|A leading medical group] [said on {day}|said {day}] "
            "[it would review|the findings were promising but] [the study|its advice on {condition}].",
        ),
    },
    ("effect", "n", "study_years"),
)


def _tech_facts(rng: random.Random, base: Facts) -> Facts:
    company = (
        f"{rng.choice(CO_PREFIX)} {rng.choice(('Labs', 'Systems', 'Technologies', 'Software', 'Networks'))}"
    )
    product = rng.choice(("Atlas", "Nimbus", "Pulse", "Vector", "Orbit", "Lumen", "Cobalt", "Echo", "Zephyr"))
    thing = rng.choice(
        (
            "smartphone",
            "AI assistant",
            "laptop",
            "smartwatch",
            "streaming service",
            "cloud platform",
            "electric scooter",
            "home robot",
            "VR headset",
        )
    )
    f = {
        "tco": company,
        "tco_short": company.split()[0],
        "product": f"{product} {rng.choice(('Pro', 'One', 'X', '2', 'Air', 'Max'))}",
        "thing": thing,
        "price": f"${rng.randint(49, 1999)}",
        "users": f"{rng.randint(2, 400)} million",
        "outage_hours": str(rng.randint(2, 14)),
        "deal": f"${rng.randint(1, 60)}.{rng.randint(1, 9)} billion",
        "target": f"{rng.choice(CO_PREFIX)} {rng.choice(('AI', 'Data', 'Robotics', 'Security'))}",
        "release": f"{rng.choice(MONTHS)[0]} {rng.randint(1, 28)}",
        "city": base["city"],
    }
    add_person(f, "exec", rng)
    add_person(f, "analyst", rng)
    return f


TECH = Domain(
    "tech",
    _tech_facts,
    {
        "topic": ("the launch", "the {product}", "the deal", "the outage", "the announcement"),
        "place": ("Silicon Valley", "{city}", "the company's campus"),
        "affected": ("users", "developers", "customers", "app makers", "early buyers"),
        "expert_field": ("consumer technology", "artificial intelligence", "cybersecurity", "tech policy"),
        "expert_role": ("product executive", "venture capitalist", "antitrust regulator"),
        "trend": (
            "race to build AI into everyday devices",
            "slowdown in gadget upgrades",
            "tech consolidation",
        ),
        "expert_claim": (
            "the {thing} market would grow about {pct_small} next year",
            "{tco_short} was still behind its largest rivals in {thing}s",
            "regulators were likely to look closely at the deal",
        ),
        "context_np": (
            "fierce competition from larger rivals",
            "tighter scrutiny of big tech companies",
            "a slump in {thing} sales",
            "a wave of layoffs across the industry",
        ),
        "event_noun": ("product launch", "acquisition", "outage"),
        "context_result": ("price cuts", "antitrust reviews", "class-action lawsuits"),
        "q_exec": (
            "[We built|We designed] the {product} for people who [want|need] [more from their {thing}|"
            "something that just works]",
            "[This is|It's] the [biggest|most important] [update|launch] in our history",
            "[Privacy|Security] [was|is] [built in|at the center of everything] from day one",
            "We [think|believe] [customers|people] will [love|notice] the difference",
        ),
        "q_analyst": (
            "[The price|At {price}, the price] [is|will be] the [hard part|sticking point] for a lot of "
            "buyers",
            "{tco_short} needed a hit, and this [could be|might be] it",
            "[Execution|The rollout] [will matter|matters] more than [the spec sheet|the keynote]",
        ),
        "q_statement": ("{q_exec}. {q_exec}, and [this is just the beginning|we are only getting started]",),
    },
    {
        "headline": (
            "{tco_short} [unveils|launches|introduces] {product} {thing}[ at {price}|]",
            "{tco} [to buy|agrees to acquire] {target} for {deal}",
            "{tco_short} [outage|service disruption] [hits|affects] {users} users",
            "[Hands-on|First look]: {tco_short}'s {product} [is|looks like] a [big bet|bold bet] on {thing}s",
        ),
        "lead": (
            "{tco} [on {day}|{day}] [unveiled|introduced|showed off] the {product}, a {thing} [priced at|"
            "that will sell for] {price}, [as|in] [it tries|a bid] to [catch up with|take on] larger "
            "rivals.",
            "{tco} [said on {day}|agreed {day}] [it would|to] [buy|acquire] {target} for [about|roughly] "
            "{deal}, [its largest deal ever|a bet on artificial intelligence].",
            "[Millions of|About {users}] users [lost access to|could not use] {tco}'s services for [about|"
            "more than] {outage_hours} hours [on {day}|{day}] [after|because of] [a software update|a "
            "configuration error] [went wrong|failed].",
        ),
        "followup": (
            "{tco} [apologized on {day}|said {day}] [for|that] [the outage|the disruption] [that knocked|"
            "which took] [services offline|{users} users offline] [last week|earlier this week] [and|,] "
            "[offered|promising] [credits|refunds].",
            "[Regulators|The Federal Trade Commission] [said on {day}|opened an inquiry {day}] [into|"
            "examining] {tco}'s [planned|{deal}] [purchase|acquisition] of {target}.",
        ),
        "second": (
            "The {product} [goes on sale|ships|will be available] [on {release}|in {num2} weeks][ in the "
            "United States|].",
            "[The company|{tco_short}] said [it|the service] [serves|has] [about|more than] {users} users.",
            "[The deal|The acquisition] [is expected to close|should close] [later this year|in {month}], "
            "[pending|subject to] regulatory approval.",
        ),
        "detail": (
            "[The device|The {product}] [has|includes] [a faster chip|a larger battery|a brighter display] "
            "and [new|built-in] [AI features|camera tools|health sensors], [the company said|{tco_short} "
            "said].",
            "{exec}, [the company's|{tco_short}'s] [head of products|chief executive|president], [showed "
            "off|demonstrated] [the device|the features] [on stage|at an event] in {city}.",
            "[Reviewers|Early testers] [praised|criticized] [the battery life|the design|the price] "
            "[but|and] "
            "[questioned|raised concerns about] [privacy|how much data it collects].",
            "[The company|{tco_short}] [blamed|attributed] [the outage|the problem] [on|to] [a faulty "
            "update|a network change] [and said|, saying] [no data was lost|user data was not affected].",
            "[Shares of {tco}|{tco_short} stock] [rose|fell] [about|] {pct_small} [after the announcement|"
            "on the news].",
            "{analyst}, an analyst at {firm}, said [the|] {thing} [market|category] [was|is] [crowded|"
            "maturing] and [that|] {tco_short} [would|will] [need to|have to] [cut prices|win over "
            "developers].",
            "[The company|{tco_short}] [employs|has] [about|roughly] {num_tens},000 people and [has "
            "been|was] "
            "[cutting|hiring] [staff|engineers] [this year|since {year_past}].",
        ),
        "quote": (
            '"{q_exec}," {exec} [said|told the audience] [at the launch event|on stage].',
            '"{q_analyst}," said {analyst} of {firm}.',
            '{analyst_last} [said|added]: "{q_analyst}."',
        ),
        "statement": ('"{statement}," {exec} said in a statement.',),
        "background": (
            "{tco} was [founded|started] in {year_past} [in a garage in|by two engineers in] {city} and "
            "[went public|raised money from venture capitalists] in {year_past}.",
            "[The company's|{tco_short}'s] [last|previous] {thing} [sold poorly|was a hit] [and|after] "
            "[reviewers|customers] [complained about|praised] [its battery|its price].",
            "[Rivals|Larger competitors] [have|had] [spent|poured] [billions|heavily] [on|into] "
            "[AI|{thing}s] "
            "[since {year_past}|in recent years].",
        ),
        "close": (
            "[Preorders|Orders] [open|begin] [on {day}|{release}].",
            "[The company|{tco_short}] [will|plans to] [report earnings|hold its developer conference] in "
            "{month}.",
        ),
        "update": (
            "UPDATE: {tco} said [late {day}|on {day}] that [services had been fully restored|the problem "
            "was fixed] and [apologized|promised a full review].",
            "[After the event|Later {day}], {tco_short} [confirmed|said] the {product} would [also|] [come "
            "to|launch in] [Europe|Asia] [in {month}|later this year].",
        ),
    },
    ("price", "users", "outage_hours", "deal"),
)


def _diplomacy_facts(rng: random.Random, base: Facts) -> Facts:
    (c1, n1), (_, n2) = rng.sample(WORLD_PLACES, 2)
    issue = rng.choice(
        (
            "trade",
            "border security",
            "energy supplies",
            "fishing rights",
            "climate finance",
            "migration",
            "a cease-fire",
            "nuclear safety",
            "grain exports",
        )
    )
    f = {
        "city": c1,
        "summit_city": c1,
        "country1": n1,
        "country2": n2,
        "issue": issue,
        "deal_value": f"${rng.randint(1, 90)} billion",
        "talk_days": str(rng.randint(2, 6)),
        "nations": str(rng.randint(12, 60)),
        "title1": rng.choice(("President", "Prime Minister", "Foreign Minister", "Chancellor")),
        "title2": rng.choice(("President", "Prime Minister", "Foreign Minister")),
    }
    add_person(f, "leader1", rng)
    add_person(f, "leader2", rng)
    add_person(f, "envoy", rng)
    return f


DIPLOMACY = Domain(
    "diplomacy",
    _diplomacy_facts,
    {
        "topic": ("the talks", "the agreement", "the summit", "the deal on {issue}"),
        "place": ("{summit_city}", "{country1}", "{country2}", "the region"),
        "affected": ("diplomats", "business leaders", "border communities", "exporters", "aid groups"),
        "expert_field": ("international relations", "{issue}", "European politics", "Asian security"),
        "expert_role": ("ambassador", "trade negotiator", "national security adviser"),
        "trend": ("thaw between the two governments", "rise of regional blocs", "shift in global trade"),
        "expert_claim": (
            "trade between {country1} and {country2} had fallen by {pct_small} since {year_past}",
            "the agreement was more symbolic than binding",
            "domestic politics in both countries would test the deal",
        ),
        "context_np": (
            "rising tensions over {issue}",
            "years of stalled negotiations",
            "pressure from domestic critics in both capitals",
            "a global slowdown",
        ),
        "event_noun": ("summit", "round of talks", "agreement"),
        "context_result": ("new sanctions", "a trade war", "a landmark treaty"),
        "q_leader": (
            "[Today|This] [is|marks] [a new chapter|an important step] in [relations between our two "
            "countries|our partnership]",
            "We [did not agree on everything|still have differences], but [we agreed to keep talking|the "
            "direction is clear]",
            "[Our people|Our citizens] [expect|want] [results|progress on {issue}], not [speeches|promises]",
            "[This agreement|The deal] [will|should] [create jobs|bring stability] on both sides of the "
            "border",
        ),
        "q_statement": (
            "{q_leader}. {q_leader}, and we [will|intend to] [implement it in good faith|build on it]",
        ),
    },
    {
        "headline": (
            "{country1}, {country2} [reach|sign|agree] [deal|accord] on {issue}",
            "[Leaders|Officials] [meet|gather] in {summit_city} [for talks|to discuss] {issue}",
            "{country1} and {country2} [pledge|promise] [cooperation|closer ties] [after|at] summit",
            "[Talks on {issue}|Summit] [end|ends] [without deal|with modest progress]",
        ),
        "lead": (
            "[The leaders|Leaders] of {country1} and {country2} [agreed|pledged] [on {day}|{day}] to "
            "[cooperate|work together] on {issue} [after|at the end of] {talk_days} days of talks in "
            "{summit_city}.",
            "{title1} {leader1} of {country1} and {title2} {leader2} of {country2} [signed|announced] [an "
            "agreement|a framework] on {issue} [on {day}|{day}] [worth|valued at] [about|up to] "
            "{deal_value}.",
            "[Talks|Negotiations] between {country1} and {country2} [over|on] {issue} [ended|wrapped up] in "
            "{summit_city} [on {day}|{day}] [with|without] [a deal|a breakthrough], [officials "
            "said|according "
            "to diplomats].",
        ),
        "followup": (
            "[Lawmakers|Opposition parties] in {country1} [criticized|questioned] [on {day}|{day}] the "
            "[agreement|deal] on {issue} [signed|reached] [last week|days earlier] with {country2}.",
            "[Officials|Negotiators] from {country1} and {country2} [met again|reconvened] [on {day}|{day}] "
            "[to work out|to settle] [the details|the fine print] of [an|the] agreement on {issue}.",
        ),
        "second": (
            "[The agreement|The deal] [covers|includes] [a timetable|joint projects] [and|plus] "
            "{deal_value} in [investment|financing][ over {num2} years|].",
            "[Delegations from|Representatives of] {nations} [countries|nations] [attended|observed] [the "
            "summit|parts of the talks].",
        ),
        "detail": (
            "[Under the deal|Under the agreement], [both sides|the two countries] [will|would] [set "
            "up|create] "
            "[a joint commission|a working group] to [monitor|oversee] {issue}.",
            "{envoy}, [the|a] [chief negotiator|senior diplomat] for {country1}, said [the "
            "talks|negotiations] "
            "[had nearly collapsed|stalled] [on {day}|twice] [over|because of] [financing|the wording].",
            "[Protesters|Demonstrators] [gathered|marched] [outside|near] the [conference center|venue] in "
            "{summit_city}[, calling for|to demand] [more action|a tougher line] on {issue}.",
            "[The two leaders|{leader1} and {leader2}] [met privately|held talks] for [about|more than] "
            "{num2} hours [on {day}|before the signing], [officials said|according to aides].",
            "[Critics|Opposition lawmakers] in {country2} [said|argued] the deal [gave away|conceded] too "
            "much [on|over] {issue}.",
            "[The agreement|It] [must still be|still needs to be] [ratified|approved] by [parliament|"
            "lawmakers] in [both countries|{country1}].",
        ),
        "quote": (
            '"{q_leader}," {leader1} [told reporters|said at a joint news conference].',
            '"{q_leader}," said {leader2}.',
            '{leader2_last} [said|added]: "{q_leader}."',
        ),
        "statement": (
            '"{statement}," the two governments said in a joint statement.',
            'In a joint statement, {leader1_last} and {leader2_last} said: "{statement}."',
        ),
        "background": (
            "[Relations between|Ties between] {country1} and {country2} [soured|were strained] [in "
            "{year_past}|after {year_past}] [over|amid] [a dispute over|disagreements about] {issue}.",
            "[The last|A previous] [summit|round of talks] [between the two|in {year_past}] [ended|broke "
            "down] [without|with no] [agreement|progress].",
            "{country2} [is|remains] [one of|among] {country1}'s [largest|most important] [trading "
            "partners|neighbors].",
        ),
        "close": (
            "[The next round of talks|A follow-up meeting] [is expected|is scheduled] [in {month}|later this "
            "year] [in {country2}|].",
        ),
        "update": (
            "UPDATE: [Hours after the signing|Later {day}], {country2}'s parliament [voted|moved] to "
            "[endorse|delay] the agreement on {issue}.",
        ),
    },
    ("deal_value", "talk_days", "nations"),
)


def _council_facts(rng: random.Random, base: Facts) -> Facts:
    project, detail = rng.choice(
        (
            ("a new downtown arena", "would seat about 18,000 people"),
            ("protected bike lanes", "would stretch about 12 miles"),
            ("an affordable housing complex", "would include about 240 apartments"),
            ("a property tax increase", "would raise the average bill by about $180 a year"),
            ("a ban on gas leaf blowers", "would take effect in two years"),
            ("a new police oversight board", "would have subpoena power"),
            ("the redevelopment of the old rail yard", "would mix offices, shops and parks"),
            ("a curfew for teenagers", "would apply on weekends in the summer"),
        )
    )
    yes = rng.randint(5, 9)
    f = {
        "project": project,
        "project_detail": detail,
        "council_vote": f"{yes}-{rng.randint(1, max(1, 11 - yes))}",
        "budget": f"${rng.randint(12, 900)} million",
        "city": base["city"],
        "state": base["state"],
        "hours": str(rng.randint(2, 7)),
        "speakers": str(rng.randint(20, 140)),
    }
    add_person(f, "mayor", rng)
    add_person(f, "member", rng)
    add_person(f, "critic", rng)
    return f


COUNCIL = Domain(
    "council",
    _council_facts,
    {
        "topic": ("the vote", "the plan", "{project}", "the council's decision"),
        "place": ("{city}", "City Hall", "neighborhoods across {city}", "the council chamber"),
        "affected": ("residents", "neighbors", "landlords", "small-business owners", "commuters"),
        "expert_field": ("urban planning", "municipal finance", "local government", "housing policy"),
        "expert_role": ("city planner", "city manager", "council member"),
        "trend": ("push by cities to build more housing", "fight over local taxes", "downtown revival"),
        "expert_claim": (
            "similar projects in other cities had run over budget by {pct_small}",
            "the city's population had grown about {pct_small} since {year_past}",
            "{project} would pay for itself within {years} years",
        ),
        "context_np": (
            "a tight city budget",
            "a housing shortage that has pushed rents to record highs",
            "an election next fall in which several council seats are open",
        ),
        "event_noun": ("council vote", "budget fight", "zoning decision"),
        "context_result": ("recall campaigns", "lawsuits from neighbors", "a ballot referendum"),
        "q_member": (
            "[This|Tonight's vote] is about [the future of {city}|the next generation]",
            "[We heard|I heard] [you|from hundreds of residents], and [we made changes|we listened]",
            "[Nobody|No one] up here [takes this lightly|thinks this plan is perfect]",
        ),
        "q_critic": (
            "[They|The council] [didn't listen|never asked us] [to the people who live here|what we wanted]",
            "[This|It] [is going to|will] [price people out|change the neighborhood forever]",
        ),
        "q_statement": (
            "{q_member}. {q_member}, and [I|we] look forward to [getting shovels in the ground|working with "
            "every neighborhood]",
        ),
    },
    {
        "headline": (
            "{city} council [approves|rejects|delays] {project}[ in {council_vote} vote|]",
            "[Council|{city}] [votes|moves] [on|ahead with] {project} after [long|heated] debate",
            "[Mayor {mayor_last}|{mayor}] [backs|opposes] {project}",
            "[What|Here's what] {project} [means|will mean] for {city}",
        ),
        "lead": (
            "The {city} City Council [voted {council_vote}|voted] [on {day}|late {day}] to [approve|move "
            "forward with|reject] {project}, [which|a plan that] {project_detail}.",
            "[After a {hours}-hour meeting|After hours of public comment], {city} [council members|leaders] "
            "[on {day}|{day}] [approved|backed] {project} [in a {council_vote} vote|by a {council_vote} "
            "margin].",
            "{city} [will|is set to] [go ahead with|build] {project} [after|following] a {council_vote} "
            "[council|City Council] vote [on {day}|{day}] [that capped|ending] [months of debate|a long "
            "fight].",
        ),
        "followup": (
            "[Opponents|A group of residents] [began collecting signatures|filed a lawsuit] [on {day}|{day}] "
            "[to overturn|challenging] the {city} council's [vote|decision] on {project}.",
            "Mayor {mayor} [said on {day}|said {day}] [she|he] would [sign|veto] the council's [measure|"
            "ordinance] on {project}, [passed last week|approved days earlier].",
        ),
        "second": (
            "[The plan|{project}] [is expected to cost|carries a price tag of] [about|roughly] {budget}[, "
            "according to city estimates|].",
            "[More than|About] {speakers} [people|residents] [signed up to speak|spoke] [during public "
            "comment|at the meeting].",
        ),
        "detail": (
            "Council member {member}, [who|, who] [sponsored|wrote] the [measure|ordinance], said [it|the "
            "plan] [had been changed|was amended] [several times|{num2} times] [to address|in response to] "
            "[neighbors'|residents'] concerns.",
            "[Supporters|Backers] [wore|held] [green shirts|signs] [and|while] [opponents|critics] [lined|"
            "filled] the [hallway|back of the room].",
            "[The city|City staff] [estimated|projected] [the project|{project}] [would create|would add] "
            "[about|roughly] {num_hundreds} [jobs|housing units|parking spaces].",
            "{critic}, [who lives|a resident] [near the site|in the neighborhood], [said|told the council] "
            "[traffic|noise|rents] [would|could] [get worse|rise].",
            "[The measure|The plan] [goes|heads] [back|next] to [the planning commission|a second reading] "
            "[in {month}|next month].",
            "Mayor {mayor} [has said|said] [she|he] [supports|has concerns about] the [plan|project] [but|"
            "and] [wants|would like] [more|stronger] [protections for tenants|cost controls].",
        ),
        "quote": (
            '"{q_member}," {member} said [before the vote|during the meeting].',
            '"{q_critic}," said {critic}[, who spoke against the plan|].',
            '{member_last} said: "{q_member}."',
        ),
        "statement": ('"{statement}," Mayor {mayor} said in a statement [after the vote|{day}].',),
        "background": (
            "[The council|{city}] [first|originally] [considered|proposed] {project} in {year_past}, "
            "[but|and] [the idea|the plan] [stalled|was shelved] [amid|because of] [cost concerns|"
            "opposition from neighbors].",
            "{city} [has|now has] [about|roughly] {num_hundreds},000 residents and [a budget of|an annual "
            "budget of] [about|] {budget}.",
            "[Rents|Home prices] in {city} [have risen|rose] [about|roughly] {pct_small} [since {year_past}|"
            "over the past five years].",
        ),
        "close": (
            "[Construction|Work] [could begin|is expected to start] [as soon as|in] {month}.",
            "[The council|Members] [will|are scheduled to] [take a final vote|vote again] [in {month}|next "
            "month].",
        ),
        "update": (
            "UPDATE: Mayor {mayor} [signed|vetoed] the [measure|ordinance] on {project} [on {day}|{day}], "
            "[saying|calling it] [a good compromise|too costly].",
        ),
    },
    ("council_vote", "budget", "hours", "speakers"),
)


def _accident_facts(rng: random.Random, base: Facts) -> Facts:
    vehicle, operator = rng.choice(
        (
            ("commuter train", "the transit agency"),
            ("freight train", "the railroad"),
            ("tour bus", "the bus company"),
            ("passenger ferry", "the ferry operator"),
            ("small plane", "the charter company"),
            ("school bus", "the school district"),
            ("cargo ship", "the shipping line"),
        )
    )
    f = {
        "vehicle": vehicle,
        "operator": operator,
        "dead": str(rng.randint(0, 9)),
        "hurt": str(rng.randint(2, 60)),
        "aboard": str(rng.randint(20, 300)),
        "city": base["city"],
        "state": base["state"],
        "town1": rng.choice(TOWNS),
        "speed": str(rng.randint(25, 80)),
        "road": rng.choice(
            (
                "Interstate 80",
                "Route 9",
                "Highway 101",
                "the river",
                "the main line",
                "Interstate 35",
                "the harbor channel",
            )
        ),
    }
    add_person(f, "investigator", rng)
    add_person(f, "spokes", rng)
    return f


ACCIDENT = Domain(
    "accident",
    _accident_facts,
    {
        "topic": ("the crash", "the derailment", "the accident", "the collision"),
        "place": ("{town1}", "{city}", "the crash site", "{road}"),
        "affected": ("passengers", "commuters", "families", "witnesses", "first responders"),
        "expert_field": ("transportation safety", "rail safety", "aviation safety", "accident investigation"),
        "expert_role": ("NTSB investigator", "safety inspector", "transit official"),
        "trend": ("rise in {vehicle} accidents", "debate over safety rules", "aging infrastructure"),
        "expert_claim": (
            "investigations like this one typically take 12 to 24 months",
            "{vehicle} accidents had declined about {pct_small} over the past decade",
            "the route had been flagged for maintenance problems since {year_past}",
        ),
        "context_np": (
            "scrutiny of {vehicle} safety",
            "a maintenance backlog on {road}",
            "staffing shortages at {operator}",
        ),
        "event_noun": ("crash", "accident", "derailment"),
        "context_result": ("new safety rules", "lawsuits", "a federal investigation"),
        "q_official": (
            "[Our thoughts are with|We are heartbroken for] the [families|passengers] and [everyone|all "
            "those] "
            "affected",
            "[It is|It's] too early to [say|know] what caused [this|the crash]",
            "We [will|are going to] [look at everything|follow the evidence]: [the equipment|the crew|the "
            "track], [the weather|the signals]",
        ),
        "q_witness": (
            "[It|The noise] [sounded|was] like [an explosion|thunder]",
            "[People|Passengers] were [screaming|helping each other] [and|while] [smoke|water] [was "
            "everywhere|came in]",
        ),
        "q_statement": ("{q_official}. {q_official}, and we are cooperating fully with investigators",),
    },
    {
        "headline": (
            "[At least {dead} dead, {hurt} hurt|{hurt} injured] [in|as] {vehicle} [crashes|derails|collides] "
            "[near {town1}|on {road}]",
            "{vehicle} [crash|accident] near {town1}: what we know",
            "[Investigators|NTSB] [arrive|probe] [at|into] {vehicle} [crash|accident] in {state}",
        ),
        "lead": (
            "A {vehicle} [carrying|with] {aboard} [people|passengers] [aboard|] [crashed|derailed|collided "
            "with a truck] [near {town1}|on {road}] [on {day}|{day}], [killing|leaving] {dead} [people|dead] "
            "and [injuring|hurting] {hurt}, [officials said|authorities said].",
            "[At least {dead} people were killed|Dozens of people were hurt] [when|after] a {vehicle} "
            "[left the tracks|overturned|struck a bridge] [near {town1}|outside {city}] [on {day}|{day}].",
        ),
        "followup": (
            "[Federal investigators|The NTSB] said [on {day}|{day}] [the|a] {vehicle} that crashed near "
            "{town1} [was traveling|had been going] {speed} mph [in a zone|where the limit was lower].",
            "[Families|Relatives] of [the victims|those killed] [in the {vehicle} crash|near {town1}] [filed "
            "suit|sued {operator}] [on {day}|{day}], [alleging|claiming] [negligence|poor maintenance].",
        ),
        "second": (
            "[Rescuers|Firefighters] [worked|spent hours] [to free|freeing] [passengers|people] [trapped|"
            "pinned] in the wreckage.",
            "{hurt} people were taken to hospitals, [some|{num2} of them] [in critical condition|with "
            "serious injuries].",
        ),
        "detail": (
            "[The|A] {vehicle} was [traveling|going] [about|roughly] {speed} mph [when|before] [it|the "
            "crash] "
            "[happened|occurred], [according to|said] [preliminary data|investigators].",
            "[Investigator|Lead investigator] {investigator}[ of the National Transportation Safety Board|] "
            "said [a team|investigators] would [examine|look at] [the data recorder|signals|maintenance "
            "records].",
            "{spokes}, a spokesperson for {operator}, said [the company|it] was [cooperating with|assisting] "
            "investigators.",
            "[Traffic|Service] on {road} was [halted|suspended] [for hours|until {day}] [while|as] [crews|"
            "investigators] [cleared|examined] the [wreckage|site].",
            "[Witnesses|A witness] [described|said they heard] [a loud bang|screeching metal] [and then|"
            "before] [smoke|silence].",
            "[The|A] [family reunification center|shelter] was [set up|opened] at [a church|a school] in "
            "{town1}.",
        ),
        "quote": (
            '"{q_official}," {investigator} said at a [briefing|news conference].',
            '"{q_witness}," said {new_person}, [a passenger|who was aboard|who lives near the tracks].',
            '{spokes} said: "{q_official}."',
        ),
        "statement": ('"{statement}," {operator} said in a statement.',),
        "background": (
            "[The|That] [route|line] [carries|serves] [about|roughly] {num_tens},000 [passengers|people] "
            "[a day|each week].",
            "[A similar|Another] [crash|accident] [on {road}|in the area] in {year_past} [killed|injured] "
            "{num2} people and [led to|prompted] [new|tighter] [rules|inspections].",
            "{operator} [was cited|had been fined] [for|over] [safety violations|maintenance lapses] in "
            "{year_past}, [according to|records show] [federal records|].",
        ),
        "close": (
            "[A preliminary report|Initial findings] [is expected|are expected] [within {num_tens} days|in "
            "about a month].",
        ),
        "update": (
            "UPDATE: [The death toll rose to|Officials said] {dead} [late {day}|on {day}] [after|as] "
            "[another "
            "victim died|crews searched the wreckage].",
        ),
    },
    ("dead", "hurt", "aboard", "speed"),
)

# Who else is quoted verbatim in every write-up of an event (besides the statement): fact key, quote rule.
SECOND_VOICE = {
    "earnings": ("ceo", "q_ceo"),
    "legislation": ("sponsor", "q_sponsor"),
    "storm": ("gov", "q_official"),
    "wildfire": ("chief", "q_fire"),
    "court": ("prosecutor", "q_prosecutor"),
    "crime": ("chief", "q_police"),
    "sports": ("star", "q_player"),
    "health": ("author", "q_author"),
    "tech": ("exec", "q_exec"),
    "diplomacy": ("leader1", "q_leader"),
    "council": ("member", "q_member"),
    "accident": ("investigator", "q_official"),
}

DOMAINS: tuple[Domain, ...] = (
    EARNINGS,
    LEGISLATION,
    STORM,
    WILDFIRE,
    COURT,
    CRIME,
    SPORTS,
    HEALTH,
    TECH,
    DIPLOMACY,
    COUNCIL,
    ACCIDENT,
)

# =========================================================================================================
# Outlets


@dataclass(frozen=True)
class Style:
    """An original publisher's house style."""

    name: str
    dateline: str  # template; "" for none
    para_sentences: tuple[int, int]
    curly: bool = True
    uk: bool = False
    percent_word: bool = False
    credit: str = ""


STYLES: tuple[Style, ...] = (
    Style(
        "The Associated Press",
        "{CITY} (AP) — ",
        (1, 2),
        credit="Associated Press [writer|writers] {new_person} [in {city}|] contributed to this report.",
    ),
    Style(
        "Reuters",
        "{CityName}, {mon} {mday} (Reuters) - ",
        (1, 2),
        curly=False,
        credit="(Reporting by {new_person} in {city}; [Additional reporting by {new_person}; |]Editing by "
        "{new_person})",
    ),
    Style(
        "Meridian Business News",
        "(Meridian) -- ",
        (2, 3),
        curly=False,
        credit="--With assistance from {new_person}.",
    ),
    Style(
        "The Harbor Ledger",
        "",
        (2, 4),
        percent_word=True,
        credit="{new_person} covers [city hall|business|public safety] for the Ledger. [Reach|Contact] "
        "[her|him] at [newsroom|tips]@harborledger.com.",
    ),
    Style("The Northern Post", "", (1, 3), uk=True),
    Style("KXTV News 5", "", (1, 2), curly=False),
    Style("Daily Courier", "", (1, 1), curly=False),
    Style("Capitol Wire Service", "{CITY} — ", (1, 3), credit="Capitol Wire Service"),
)
TECH_BLOG = Style("TechPulse", "", (2, 3), curly=False)


@dataclass(frozen=True)
class Carrier:
    """A site that republishes wire and partner copy (and shows briefs)."""

    name: str
    brief_footer: str = ""  # the long footer under every brief card it shows (aggregators only)


_COPYRIGHTS = (
    "Copyright {year} The Associated Press. All rights reserved. This material may not be published, "
    "broadcast, rewritten or redistributed without permission.",
    "© {year} Thomson Reuters. All rights reserved.",
    "©{year} Meridian L.P. All rights reserved.",
    "Copyright © {year} {carrier}. All rights reserved.",
)
_PROMOS = (
    "Sign up for {carrier}'s Morning Briefing newsletter to get the day's top stories in your inbox every "
    "weekday.",
    "Get breaking news alerts: download the {carrier} app for iPhone and Android.",
    "Want more stories like this? Follow {carrier} on Facebook, Instagram and X for the latest updates.",
    "Stay informed: subscribe to our free daily newsletter and never miss a story that matters to you.",
    "Have a news tip? Email our newsroom at tips@{domain} or call our 24-hour tip line.",
    "This story was originally published by {origin} and is republished here with permission.",
    "The views expressed in this article are those of the original publisher. {carrier} may earn a "
    "commission from links on this page.",
)
_CREDITS = (
    "{reporter} writes for the Associated Press.",
    "{reporter} is an Associated Press reporter based in {city}.",
    "{reporter} reported from {city}.",
    "Follow {reporter} on X at @{handle}.",
    "The Associated Press contributed to this report.",
    "Staff and wire reports.",
    "{reporter} is a reporter for {origin}. Contact {reporter_last} at {handle}@{domain}.",
)

AGGREGATOR_FOOTERS: tuple[tuple[str, str], ...] = (
    (
        "Daily8",
        "Daily8 brings you the stories people are talking about, gathered from trusted publishers around "
        "the world and summarized by our editors. Ready to dive into the full story? Tap the link above to "
        "read it on the publisher's site. Download the Daily8 app to get personalized headlines, save "
        "stories for later and receive alerts when news breaks in the places you care about. Our AI "
        "features can summarize long articles, translate stories into more than 40 languages and answer "
        "your questions about the news. Daily8 does not create original reporting; every story belongs to "
        "its publisher, and we link to the source so you can support the journalists who did the work. "
        "Comments are moderated and may take a few minutes to appear. By using Daily8 you agree to our "
        "Terms of Service and acknowledge our Privacy Policy, which explains how we use cookies and similar "
        "technologies to improve your experience and show you relevant advertising.",
    ),
    (
        "NewsNow Hub",
        "NewsNow Hub is your home for local news, weather and community stories from more than 9,000 "
        "trusted sources. We bring the headlines from your neighborhood together in one place, updated "
        "around the clock, so you never miss what is happening where you live. Install the free NewsNow "
        "Hub app on iOS or Android to follow your favorite topics, get severe weather alerts and join the "
        "conversation with your neighbors. Content on this page is provided by third-party publishers and "
        "does not necessarily reflect the views of NewsNow Hub. If you believe any content violates our "
        "community guidelines, please report it using the link at the bottom of this page. Terms of Use | "
        "Privacy Policy | Cookie Settings | Do Not Sell or Share My Personal Information | Accessibility "
        "Statement | Contact Us. Copyright 2025 NewsNow Hub Inc. All rights reserved.",
    ),
    (
        "Briefly",
        "You are reading a Briefly summary. Briefly picks the most important stories of the day and "
        "condenses them into a few lines, so you can stay informed in minutes instead of hours. Want the "
        "whole story? Follow the link to the original article from the publisher. Become a Briefly member "
        "to unlock unlimited summaries, an ad-free experience and our weekly deep-dive newsletter, written "
        "by a team of experienced editors who read hundreds of articles so you don't have to. Members also "
        "get early access to new features, including audio briefings for your commute and a daily quiz on "
        "the week's news. Cancel anytime. Briefly is an independent service and is not affiliated with the "
        "publishers whose stories appear here. Questions or feedback? Write to us at hello@briefly.news, "
        "and a real person will get back to you within two business days.",
    ),
    (
        "TopStories Digest",
        "More from TopStories Digest: Trending now across the network. Most read in the last 24 hours. "
        "Editors' picks for the weekend. Recommended for you based on your reading history. TopStories "
        "Digest curates news from hundreds of sources so you can see every side of the story. We may "
        "receive compensation when you click on links to products and services featured on this page. "
        "Advertisements are clearly labeled and do not influence our editorial choices. Report an issue "
        "with this story. Send us your feedback. Manage your newsletter subscriptions and notification "
        "preferences in your account settings at any time. TopStories Digest uses cookies to personalize "
        "content and ads, to provide social media features and to analyze our traffic. You can change your "
        "cookie preferences at any time by clicking the privacy options link in the footer of any page.",
    ),
    (
        "Local Wire",
        "Local Wire is a free service that collects news from community newspapers, television stations "
        "and public agencies across the state. Our mission is to make local information easy to find and "
        "easy to share. Local journalism needs your support: consider subscribing to the newspaper or "
        "station that published this story. Local Wire is funded by readers and by grants from "
        "foundations that support civic information; we do not sell your personal data. To suggest a "
        "source, correct an error or request that a story be removed, use the contact form on our website. "
        "Sign up for the Local Wire evening digest to receive the day's most important local stories at "
        "six o'clock every weeknight. Follow us on Facebook and Bluesky for breaking alerts and community "
        "announcements from your area.",
    ),
    (
        "Morning Mix",
        "Thanks for reading Morning Mix, the quick daily roundup of the news you need before your first "
        "cup of coffee is gone. Each morning our small team of editors scans hundreds of headlines and "
        "picks the stories worth your time, with links to the full reporting from the outlets that broke "
        "them. Like what you see? Forward this to a friend who would enjoy it, or share it on social media "
        "with the hashtag #MorningMix. Not a subscriber yet? Sign up at morningmix.com for free and get the "
        "roundup in your inbox at 6 a.m. every weekday. Advertise with us: reach more than two million "
        "engaged readers every week. Privacy Policy. Terms. Unsubscribe. Update your preferences.",
    ),
)

CARRIERS: tuple[Carrier, ...] = tuple(Carrier(name, footer) for name, footer in AGGREGATOR_FOOTERS) + tuple(
    Carrier(name)
    for name in (
        "Yahoo News",
        "MSN",
        "The Bradford Courier",
        "Lakeview Tribune",
        "WKRN-TV",
        "Valley Star-Journal",
        "SF Bay Times",
        "Midland Reporter",
    )
)
FULL_CARRIERS = CARRIERS[len(AGGREGATOR_FOOTERS) :]

WIDGET_LINES = (
    "Advertisement",
    "ADVERTISEMENT",
    "Story continues below advertisement",
    "Continue reading the main story",
    "Read more: {other}",
    "RELATED: {other}",
    "Also read: {other}",
    "Sign up for our newsletters",
    "Listen to this article · {num2} min",
    "Share this article",
    "Recommended Stories",
    "Trending Now",
    "Photos: {other}",
    "Skip Ad",
    "Get the latest news delivered to your inbox. Subscribe here.",
    "Most Read from {carrier}",
    "Click here to get the {carrier} app",
    "WATCH: {other}",
)

# =========================================================================================================
# Base stories


@dataclass
class Story:
    id: str
    domain: str
    style: Style
    title: str
    paragraphs: list[str]
    facts: Facts
    background: list[str]  # background paragraphs (a follow-up may reuse them verbatim)
    writer: Writer = field(repr=False)


def curly_quotes(text: str) -> str:
    text = re.sub(r'(^|[\s(\[—-])"', "\\1\u201c", text)
    text = text.replace('"', "\u201d")
    text = re.sub(r"(\w)'(\w)", "\\1\u2019\\2", text)
    text = re.sub(r"(^|\s)'", "\\1\u2018", text)
    return text.replace("'", "\u2019")


_STRAIGHT = str.maketrans("\u201c\u201d\u2018\u2019", "\"\"''")


def straight_quotes(text: str) -> str:
    return text.translate(_STRAIGHT)


def _styled(text: str, style: Style) -> str:
    if style.uk:
        for us, uk in UK_SPELLING:
            text = re.sub(rf"\b{us}(?=s?\b)", uk, text)
        text = re.sub(r"(\d)%", r"\1 per cent", text)
    elif style.percent_word:
        text = re.sub(r"(\d)%", r"\1 percent", text)
    return curly_quotes(text) if style.curly else text


def _words(paragraphs: list[str]) -> int:
    return sum(len(p.split()) for p in paragraphs)


def base_facts(rng: random.Random) -> Facts:
    city, state, _ = rng.choice(US_PLACES)
    weekday = rng.randrange(7)
    month, mon = rng.choice(MONTHS)
    return {
        "city": city,
        "state": state,
        "day": WEEKDAYS[weekday],
        "month": month,
        "mon": mon,
        "mday": str(rng.randint(1, 28)),
        "year": str(rng.choice((2024, 2025))),
    }


def write_story(
    story_id: str,
    domain: Domain,
    style: Style,
    facts: Facts,
    target_words: int,
    rng: random.Random,
    *,
    lead_kind: str = "lead",
    reuse_background: list[str] | None = None,
    independent_of: Story | None = None,
    quote_lede: bool = False,
) -> Story:
    """One outlet's write-up of ``facts``: a lede, the key details, then sections up to the length.

    ``independent_of``: another outlet's story on the same facts; this one is written independently, so
    no sentence repeats a third or more of a sentence of that one (names, numbers and the statement
    they both quote are shared).
    """
    facts = dict(facts)
    facts.setdefault("CITY", facts.get("city", "").upper())
    facts.setdefault("CityName", facts.get("city", ""))
    writer = Writer(rng, facts, {**GENERIC_RULES, **domain.rules})
    generic = ("reaction", "expert", "context", "narrative", "survey")
    sections = {**domain.sections, **{k: GENERIC_RULES[k] for k in generic}}
    seen: set[tuple[str, ...]] = set()
    if independent_of is not None:
        for para in independent_of.paragraphs:
            words = re.findall(r"\w+", straight_quotes(para).lower())
            seen.update(tuple(words[i : i + 4]) for i in range(max(1, len(words) - 3)))
    uses: dict[str, int] = {}
    max_uses = 2 if target_words < 1000 else 4

    def novel(sentence: str) -> bool:
        """Keeps a long story from repeating itself: most of a new sentence's 4-word runs must be new."""
        words = re.findall(r"\w+", sentence.lower())
        grams = {tuple(words[i : i + 4]) for i in range(max(1, len(words) - 3))}
        if len(grams & seen) > len(grams) / 3:
            return False
        seen.update(grams)
        return True

    def sentences(kind: str, count: int) -> list[str]:
        out: list[str] = []
        for _ in range(count * 10):
            if len(out) == count:
                break
            template = rng.choice(sections[kind])
            if uses.get(template, 0) >= max_uses:
                continue
            s = writer.sentence(template)
            if novel(s):
                uses[template] = uses.get(template, 0) + 1
                out.append(s)
        return out

    lo, hi = style.para_sentences
    paragraphs = [" ".join(sentences(lead_kind, 1))]
    quoted = quote_lede and "quote2" in facts
    if quoted:  # a quote-led lede: the quote both outlets use, then the news
        quote = writer.sentence('"{quote2}," {speaker2} said [on {day}|{day}|in a statement].')
        paragraphs[0] = f"{quote} {paragraphs[0]}"
    if target_words > 60 or rng.random() < 0.5:
        paragraphs.append(" ".join(sentences("second", 1 if target_words < 150 else rng.randint(1, 2))))
    plan = ["detail", "quote2", "detail", "background", "statement", "reaction", "detail", "quote"]
    plan += ["background", "expert", "narrative", "detail", "quote", "context", "reaction", "detail"]
    plan += ["narrative", "survey", "expert", "narrative", "reaction", "quote", "narrative", "background"]
    start = rng.randrange(3)
    reused = list(reuse_background or [])
    background: list[str] = []
    closing = target_words > 150
    goal = target_words - (30 if closing else 0)
    step = 0
    while _words(paragraphs) < goal and step < 500:
        kind = plan[(start + step) % len(plan)]
        step += 1
        if kind == "quote2":
            if "quote2" in facts and not quoted:
                paragraphs.append(writer.sentence('"{quote2}," {speaker2} [said|told reporters|added].'))
                quoted = True
            continue
        if kind == "statement":
            if "statement" in facts and not any(facts["statement"][:40] in p for p in paragraphs):
                paragraphs.append(writer.sentence(rng.choice(domain.sections["statement"])))
            continue
        if kind == "background" and reused:
            paragraphs.append(reused.pop(0))
            continue
        count = 1 if kind in ("quote", "reaction", "expert") and rng.random() < 0.6 else rng.randint(lo, hi)
        if kind == "narrative":
            count = rng.randint(2, 3)
        para = " ".join(sentences(kind, count))
        if para:
            paragraphs.append(para)
            if kind == "background":
                background.append(para)
    while len(paragraphs) > 2 and _words(paragraphs) - len(paragraphs[-1].split()) >= goal:
        paragraphs.pop()
    if closing:
        paragraphs += sentences("close", 1)
    if style.dateline and rng.random() < 0.8:
        paragraphs[0] = writer.expand(style.dateline) + paragraphs[0]
    if style.credit and target_words > 200 and rng.random() < 0.6:
        paragraphs.append(writer.sentence(style.credit))
    paragraphs = [_styled(p, style) for p in paragraphs]
    title = _styled(writer.sentence(rng.choice(domain.sections["headline"])), style).rstrip(".")
    return Story(story_id, domain.name, style, title, paragraphs, facts, background, writer)


def _shared_quotes(domain: Domain, facts: Facts, rng: random.Random) -> None:
    """The statement and the second quote every write-up of this event uses verbatim."""
    facts["statement"] = _statement(domain, facts, rng)
    who, rule = SECOND_VOICE[domain.name]
    writer = Writer(rng, facts, {**GENERIC_RULES, **domain.rules})
    first = tidy(writer.expand("{" + rule + "}"))
    for _ in range(20):
        second = tidy(writer.expand("{" + rule + "}"))
        if second[:25] != first[:25] and second[:25] not in facts["statement"]:
            break
    facts["quote2"] = f"{first}. {second}"
    facts["speaker2"] = facts[who]


def _statement(domain: Domain, facts: Facts, rng: random.Random) -> str:
    """The statement both write-ups of one event quote verbatim (two different sentences and a closer)."""
    writer = Writer(rng, facts, {**GENERIC_RULES, **domain.rules})
    text = ""
    for _ in range(20):
        text = tidy(writer.expand("{q_statement}"))
        first, _, rest = text.partition(". ")
        if first[:25].lower() not in rest.lower():
            break
    return text


def _target_length(rng: random.Random) -> int:
    band = rng.random()
    if band < 0.12:
        return rng.randint(50, 110)
    if band < 0.55:
        return rng.randint(150, 450)
    if band < 0.85:
        return rng.randint(450, 900)
    return rng.randint(900, 2000)


# =========================================================================================================
# Syndication: what copies go through


_EDITS: tuple[tuple[str, str], ...] = (
    (r"\bsaid\b", "says"),
    (r"(\d)%", r"\1 percent"),
    (r"(\d) percent\b", r"\1%"),
    (r"\bon (Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b", r"\1"),
    (r"\babout\b", "approximately"),
    (r"\bmore than\b", "over"),
    (r"\bdid not\b", "didn't"),
    (r"\bis not\b", "isn't"),
    (r"\bwere not\b", "weren't"),
    (r"\bUnited States\b", "U.S."),
    (r"\bU\.S\.", "US"),
    (r"\bGov\. ", "Governor "),
    (r"\bthat\b", "which"),
    (r"\bpeople\b", "residents"),
    (r"\bofficials\b", "authorities"),
    (r"\bthe company\b", "the firm"),
    (r"\bapproved\b", "passed"),
    (r"\bbegan\b", "started"),
    (r"\bwhile\b", "as"),
    (r"\balso\b", ""),
    (r"\bvery\b", ""),
    (r"\bAssociated Press\b", "AP"),
)
_DASHES = ("—", " -- ", " - ", "–", " — ")
_SPACES = ("\u00a0", "  ", " \u200a", "\u2009")


def copy_edit(paragraphs: list[str], rng: random.Random, rate: float) -> list[str]:
    """Light copy edits: house-style substitutions, a dropped or tightened sentence, a word or two."""
    out = []
    for para in paragraphs:
        for pattern, repl in _EDITS:

            def edit(m: re.Match[str], repl: str = repl) -> str:
                return m.expand(repl) if rng.random() < rate else m.group(0)

            para = re.sub(pattern, edit, para)
        sentences = re.split(r"(?<=[.!?”\"])\s+(?=[A-Z“\"])", para)
        if len(sentences) > 2 and rng.random() < rate / 2:
            del sentences[rng.randrange(1, len(sentences))]
        para = " ".join(s for s in sentences if s)
        words = para.split(" ")
        if len(words) > 12 and rng.random() < rate:
            i = rng.randrange(len(words))
            words.insert(i, rng.choice(("also", "now", "still", "reportedly", "later", "even")))
        out.append(" ".join(words))
    return out


def typography(text: str, rng: random.Random) -> str:
    """Other quote, dash, space and ellipsis conventions."""
    text = straight_quotes(text) if rng.random() < 0.5 else curly_quotes(straight_quotes(text))
    dash = rng.choice(_DASHES)
    text = re.sub(
        r"\s*(?:—|--|–)\s*|\s+-\s+", lambda m: dash if len(m.group(0).strip()) else m.group(0), text
    )
    if rng.random() < 0.5:
        space = rng.choice(_SPACES)
        text = re.sub(r"(?<=[.,]) ", lambda m: space if rng.random() < 0.3 else " ", text)
    if rng.random() < 0.3:
        text = text.replace("...", "…")
    return text


def _dateline_toggle(paragraphs: list[str], story: Story, rng: random.Random) -> list[str]:
    first = paragraphs[0]
    m = re.match(r"^[A-Z][A-Za-z .,'()]{1,40}?(?:\((?:AP|Reuters)\)|\(Meridian\))?\s*(?:—|-|--)\s+", first)
    if m and rng.random() < 0.5:
        return [first[m.end() :], *paragraphs[1:]]
    facts = story.facts
    dateline = rng.choice(
        (
            f"{facts['city'].upper()} (AP) — ",
            f"{facts['city'].upper()}, {facts['state']} (AP) — ",
            f"{facts['city']}, {facts['mon']} {facts['mday']} (Reuters) - ",
            f"{facts['city'].upper()} — ",
            f"{facts['city'].upper()}, {facts['state'].upper()} -- ",
        )
    )
    return [dateline + first, *paragraphs[1:]]


def _footer_lines(story: Story, carrier: str, rng: random.Random) -> list[str]:
    reporter = person_name(rng)
    values = {
        "carrier": carrier,
        "domain": re.sub(r"[^a-z]", "", carrier.lower()) + ".com",
        "origin": story.style.name,
        "year": story.facts["year"],
        "city": story.facts["city"],
        "reporter": reporter[0],
        "reporter_last": reporter[1],
        "handle": re.sub(r"[^a-z]", "", reporter[0].lower())[:12],
    }
    lines = []
    if rng.random() < 0.7:
        lines.append(rng.choice(_CREDITS))
    if rng.random() < 0.6:
        lines.append(rng.choice(_COPYRIGHTS))
    if rng.random() < 0.7:
        lines += rng.sample(_PROMOS, rng.randint(1, 2))
    if not lines:
        lines.append(rng.choice(_PROMOS))
    return [string.Formatter().vformat(line, (), values) for line in lines]


def _widgets(paragraphs: list[str], carrier: str, others: list[str], rng: random.Random) -> list[str]:
    out = list(paragraphs)
    for _ in range(rng.randint(1, 4)):
        line = rng.choice(WIDGET_LINES)
        line = line.replace("{other}", rng.choice(others)).replace("{carrier}", carrier)
        line = line.replace("{num2}", str(rng.randint(2, 9)))
        out.insert(rng.randint(1, max(1, len(out) - 1)), line)
    return out


def _snippet(paragraphs: list[str], rng: random.Random) -> list[str]:
    """What an aggregator card shows: the first paragraph or two, or a cut-off excerpt."""
    if rng.random() < 0.35:
        text = " ".join(paragraphs[:2])
        limit = rng.randint(160, 320)
        if len(text) > limit:
            text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + rng.choice(("…", "...", " …", " [...]"))
        return [text]
    keep = [paragraphs[0]]
    if len(paragraphs) > 1 and (len(paragraphs[0].split()) < 25 or rng.random() < 0.5):
        keep.append(paragraphs[1])
    return keep


def _new_headline(story: Story, rng: random.Random, carrier: str) -> str:
    domain = next(d for d in DOMAINS if d.name == story.domain)
    title = story.writer.sentence(rng.choice(domain.sections["headline"])).rstrip(".")
    roll = rng.random()
    if roll < 0.15:
        title = rng.choice(("UPDATE 1-", "UPDATE 2-", "BREAKING: ", "WATCH: ", "Live: ")) + title
    elif roll < 0.3:
        title = f"{title} | {carrier}"
    elif roll < 0.4:
        title = title.title()
    return title


def _update_paragraph(story: Story, rng: random.Random) -> str:
    domain = next(d for d in DOMAINS if d.name == story.domain)
    return _styled(story.writer.sentence(rng.choice(domain.sections["update"])), story.style)


def make_copy(
    story: Story,
    doc_id: str,
    carrier: Carrier,
    focus: str,
    others: list[str],
    rng: random.Random,
    *,
    extra: bool = True,
) -> Doc:
    """A syndicated copy of ``story``: the ``focus`` variation plus (``extra``) a few others at random."""
    ops = {focus}
    for op, p in (
        ("headline", 0.7),
        ("dateline", 0.3),
        ("footer", 0.45),
        ("widgets", 0.3),
        ("cut", 0.2),
        ("edits", 0.3),
        ("typography", 0.4),
        ("run_together", 0.12),
        ("update_top", 0.06),
    ):
        if extra and focus not in ("brief", "brief_footer") and rng.random() < p:
            ops.add(op)
    if extra and focus in ("brief", "brief_footer"):
        ops |= {op for op in ("headline", "typography", "dateline") if rng.random() < 0.4}
    paragraphs = list(story.paragraphs)
    title = story.title
    if "update_top" in ops:
        paragraphs.insert(0, _update_paragraph(story, rng))
    if "dateline" in ops:
        paragraphs = _dateline_toggle(paragraphs, story, rng)
    if "cut" in ops and len(paragraphs) > 2:
        keep = max(2, round(len(paragraphs) * rng.uniform(0.35, 0.85)))
        paragraphs = paragraphs[:keep]
    if "edits" in ops:
        paragraphs = copy_edit(paragraphs, rng, rate=rng.uniform(0.05, 0.3))
    footer_text = ""
    if focus in ("brief", "brief_footer"):
        paragraphs = _snippet(paragraphs, rng)
        if focus == "brief_footer":
            footer_text = carrier.brief_footer
    else:
        if "widgets" in ops:
            paragraphs = _widgets(paragraphs, carrier.name, others, rng)
        if "footer" in ops:
            paragraphs += _footer_lines(story, carrier.name, rng)
    if "headline" in ops:
        title = _new_headline(story, rng, carrier.name)
    body = (" " if "run_together" in ops else "\n\n").join(paragraphs)
    if footer_text:
        body += "\n\n" + footer_text
    if "typography" in ops:
        body = typography(body, rng)
        title = typography(title, rng)
    return Doc(doc_id, title, body, story.id, carrier.name, tuple(v for v in VARIATIONS if v in ops))


# =========================================================================================================
# Assembly

VARIATIONS = (
    "headline",
    "dateline",
    "footer",
    "widgets",
    "cut",
    "brief",
    "brief_footer",
    "edits",
    "typography",
    "run_together",
    "update_top",
)


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    body: str
    story: str  # gold cluster: the base story this text is a copy of
    outlet: str
    variations: tuple[str, ...]  # () for the original as its outlet published it

    @property
    def words(self) -> int:
        return len(self.body.split())


@dataclass(frozen=True)
class HardNegative:
    a: str  # story ids
    b: str
    kind: str  # same_event | follow_up | shared_footer | same_domain


@dataclass
class Corpus:
    docs: list[Doc]
    hard_negatives: list[HardNegative]
    domains: dict[str, str]  # story id -> domain
    lengths: dict[str, int]  # story id -> words of the original

    def gold(self) -> dict[str, str]:
        return {d.id: d.story for d in self.docs}


def base_story(story_id: str, key: str, domain: Domain | None = None, words: int | None = None) -> Story:
    """A new story (new facts) from the seed ``key``: same key, same story."""
    srng = random.Random(key)
    domain = domain or srng.choice(DOMAINS)
    facts = base_facts(srng)
    facts.update(domain.facts(srng, facts))
    _shared_quotes(domain, facts, srng)
    style = TECH_BLOG if domain.name == "tech" and srng.random() < 0.4 else srng.choice(STYLES)
    return write_story(story_id, domain, style, facts, words or _target_length(srng), srng)


def same_event(first: Story, story_id: str, rng: random.Random, words: int | None = None) -> Story:
    """Another outlet's own write-up of ``first``'s event: same facts and quoted statement, own prose."""
    domain = next(d for d in DOMAINS if d.name == first.domain)
    other = rng.choice([s for s in STYLES if s is not first.style])
    if words is None:
        words = rng.randint(90, 220) if rng.random() < 0.35 else _target_length(rng)
    return write_story(
        story_id, domain, other, first.facts, words, rng, independent_of=first, quote_lede=rng.random() < 0.35
    )


def follow_up(first: Story, story_id: str, rng: random.Random, words: int | None = None) -> Story:
    """A later, different story on ``first``'s event: new developments, some background reused verbatim."""
    domain = next(d for d in DOMAINS if d.name == first.domain)
    later = dict(first.facts)
    fresh = domain.facts(rng, base_facts(rng))
    later.update({k: fresh[k] for k in domain.refresh if k in fresh})
    later["day"] = WEEKDAYS[(WEEKDAYS.index(first.facts["day"]) + rng.randint(1, 6)) % 7]
    _shared_quotes(domain, later, rng)
    reuse = first.background[: rng.randint(1, 2)] if first.background else []
    return write_story(
        story_id,
        domain,
        rng.choice(STYLES),
        later,
        words or max(_target_length(rng), 200),
        rng,
        lead_kind="followup",
        reuse_background=reuse,
        independent_of=first,
    )


def make_corpus(seed: int = 2025, stories: int = 200, copies: float = 3.0) -> Corpus:
    """A labelled corpus from ``stories`` base stories, including same-event and follow-up partners.

    About a third of the base stories come in same-event pairs and a fifth in follow-up pairs; a fifth
    are seen only as briefs. Each other story has its original and on average ``copies`` syndicated
    copies; briefs, most with an aggregator's footer, are spread over all stories.
    """
    rng = random.Random(seed)
    bases: list[Story] = []
    negatives: list[HardNegative] = []
    while len(bases) < stories:
        key = f"{seed}:{len(bases)}"
        first = base_story(f"s{len(bases) + 1:04d}", key, DOMAINS[len(bases) % len(DOMAINS)])
        bases.append(first)
        srng = random.Random(key + ":partner")
        roll = srng.random()
        if roll < 0.2 and len(bases) < stories:
            bases.append(same_event(first, f"s{len(bases) + 1:04d}", srng))
            negatives.append(HardNegative(first.id, bases[-1].id, "same_event"))
        elif roll < 0.32 and len(bases) < stories:
            bases.append(follow_up(first, f"s{len(bases) + 1:04d}", srng))
            negatives.append(HardNegative(first.id, bases[-1].id, "follow_up"))

    titles = [s.title for s in bases]
    docs: list[Doc] = []
    brief_only = {s.id for s in bases if rng.random() < 0.2}
    focus_cycle = [v for v in VARIATIONS if v not in ("brief", "brief_footer")]
    focus_i = 0
    footer_members: dict[str, set[str]] = {}
    for story in bases:
        crng = random.Random(f"{seed}:copies:{story.id}")
        others = [t for t in titles if t != story.title]
        ids = (f"{story.id}-{k:02d}" for k in count(1))
        if story.id not in brief_only:
            body = "\n\n".join(story.paragraphs)
            docs.append(Doc(next(ids), story.title, body, story.id, story.style.name, ()))
            for _ in range(min(12, int(crng.expovariate(1 / copies)))):
                focus = focus_cycle[focus_i % len(focus_cycle)]
                focus_i += 1
                docs.append(make_copy(story, next(ids), crng.choice(FULL_CARRIERS), focus, others, crng))
        briefs = crng.randint(1, 3) if story.id in brief_only else int(crng.random() < 0.45)
        aggregators = crng.sample(CARRIERS[: len(AGGREGATOR_FOOTERS)], briefs)
        for carrier in aggregators:
            focus = "brief_footer" if crng.random() < 0.8 else "brief"
            doc = make_copy(story, next(ids), carrier, focus, others, crng)
            docs.append(doc)
            if focus == "brief_footer":
                footer_members.setdefault(carrier.name, set()).add(story.id)

    for members in footer_members.values():
        for a, b in combinations(sorted(members), 2):
            negatives.append(HardNegative(a, b, "shared_footer"))
    by_domain: dict[str, list[str]] = {}
    for s in bases:
        by_domain.setdefault(s.domain, []).append(s.id)
    explicit = {(h.a, h.b) for h in negatives} | {(h.b, h.a) for h in negatives}
    for members_of_domain in by_domain.values():
        for a, b in combinations(members_of_domain, 2):
            if (a, b) not in explicit:
                negatives.append(HardNegative(a, b, "same_domain"))
    rng.shuffle(docs)
    return Corpus(
        docs,
        negatives,
        {s.id: s.domain for s in bases},
        {s.id: _words(s.paragraphs) for s in bases},
    )


def stories_of_length(count: int, words: int, seed: int = 7) -> list[tuple[str, str]]:
    """``count`` distinct (title, body) stories of about ``words`` words, for timing."""
    out = []
    for i in range(count):
        story = base_story(f"t{i}", f"speed:{seed}:{i}", DOMAINS[i % len(DOMAINS)], words)
        out.append((story.title, "\n\n".join(story.paragraphs)))
    return out


_STOCK = (
    "said in a statement",
    "did not immediately respond to a request for comment",
    "according to a person familiar with the matter",
    "declined to comment",
    "on condition of anonymity because they were not authorized to speak publicly",
    "the company said in a filing",
    "officials said on",
    "told reporters on",
    "in an interview with",
    "according to data from",
    "is expected to",
    "the Associated Press contributed to this report",
    "in a news release",
    "said during a news conference",
    "for the first time since",
    "over the past year",
    "at the end of the day",
    "a spokesperson for the",
    "could not be reached for comment",
    "earlier this month",
)


class Filler:
    """Fast synthetic stand-ins for unrelated stories, for filling an index to a million stories.

    Words are drawn from a Zipf-like vocabulary of 60,000 made-up words, with news stock phrases mixed
    in (about one every 40 words) so that unrelated texts share a realistic trickle of 5-word runs.
    """

    def __init__(self, seed: int) -> None:
        import numpy as np  # local: the corpus generator itself needs only the standard library

        self.np = np
        self.gen = np.random.default_rng(seed)
        syllables = [
            "ka",
            "lo",
            "ri",
            "men",
            "ta",
            "vo",
            "sel",
            "an",
            "dor",
            "pi",
            "ne",
            "us",
            "tra",
            "gi",
            "lem",
            "or",
            "bas",
            "qu",
            "in",
            "fe",
        ]
        size = 60_000
        parts = self.gen.integers(0, len(syllables), size=(size, 4))
        lengths = self.gen.integers(1, 5, size=size)
        self.vocab = np.array(
            ["".join(syllables[j] for j in parts[i, : lengths[i]]) for i in range(size)], dtype=object
        )
        weights = 1.0 / np.arange(1, size + 1, dtype=np.float64)
        self.cdf = np.cumsum(weights / weights.sum())
        self.stock = [s.split() for s in _STOCK]

    def texts(self, count: int, words: int) -> list[str]:
        np = self.np
        draws = np.searchsorted(self.cdf, self.gen.random((count, words)))
        draws = np.minimum(draws, len(self.vocab) - 1)
        starts = self.gen.integers(0, 40, size=count)
        picks = self.gen.integers(0, len(self.stock), size=(count, words // 40 + 1))
        out = []
        for row, start, pick in zip(self.vocab[draws], starts, picks, strict=True):
            tokens = row.tolist()
            for j, at in enumerate(range(int(start), words, 40)):
                phrase = self.stock[pick[j]]
                tokens[at : at + len(phrase)] = phrase
            out.append(" ".join(tokens[:words]))
        return out
