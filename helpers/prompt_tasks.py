"""A small task set written for the course, to measure prompting without fine-tuning (notebook 14).

Five tasks, each a few dozen test items plus five demonstrations (the "shots", never among the test items):
capitals of countries, antonyms, plurals of English nouns, the sentiment of short sentences, and sums of two
two-digit numbers. Every item was written for this course (the sums are drawn by a seeded generator); none is
copied from a benchmark, so the set can ship with the course under its licence. The facts are common knowledge.

Each task gives its prompt lines: an ``instruction`` (the first line), a ``template`` that turns an input into
the line(s) before the answer (e.g. "Country: Kenya\\nCapital:"), and its ``answers`` (the accepted answers of
an item; an antonym or a plural may have more than one). The sentiment task is scored by comparing its two
``options``; the others by exact match of the generated answer (``helpers.few_shot``).

>>> task = TASKS["capitals"]
>>> task.items[0]
Item(x='Germany', answers=('Berlin',))
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """One question: the input ``x`` and the accepted answers (the first is the one shown in demonstrations)."""

    x: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Task:
    """A task: how its prompts read, its demonstrations (shots) and its test items."""

    name: str
    instruction: str  # the prompt's first line
    template: str  # "{x}" is replaced by the item's input; the answer follows after one space
    shots: tuple[Item, ...]  # demonstrations, in the order they are shown (k-shot uses the first k)
    items: tuple[Item, ...]  # the test items
    options: tuple[str, ...] = ()  # a fixed answer set: scored by comparing the options' log-likelihoods

    def __post_init__(self):
        if "{x}" not in self.template:
            raise ValueError(f"{self.name}: the template must contain {{x}}")
        tested = {item.x for item in self.items}
        if len(tested) != len(self.items):
            raise ValueError(f"{self.name}: an input is tested twice")
        if tested & {shot.x for shot in self.shots}:
            raise ValueError(f"{self.name}: a demonstration is also a test item: {tested & {s.x for s in self.shots}}")
        for item in self.items + self.shots:
            if not item.answers or any("\n" in a or a != a.strip() or not a for a in item.answers):
                raise ValueError(f"{self.name}: item {item} needs one-line answers without outer spaces")
            if self.options and item.answers[0] not in self.options:
                raise ValueError(f"{self.name}: answer {item.answers[0]!r} is not one of the options {self.options}")

    @property
    def scoring(self) -> str:
        return "options" if self.options else "exact match"

    @property
    def chance(self) -> float | None:
        """Accuracy of guessing among the options (None for free answers: chance is about 0)."""
        return 1 / len(self.options) if self.options else None


def _items(pairs: str) -> tuple[Item, ...]:
    """'input: answer[/other answer]' lines -> Items."""
    out = []
    for line in pairs.strip().splitlines():
        x, answers = line.rsplit(":", 1)
        out.append(Item(x.strip(), tuple(a.strip() for a in answers.split("/"))))
    return tuple(out)


CAPITALS = Task(
    "capitals", "Name the capital city of each country.", "Country: {x}\nCapital:",
    shots=_items("""
France: Paris
Japan: Tokyo
Italy: Rome
Egypt: Cairo
Canada: Ottawa"""),
    items=_items("""
Germany: Berlin
Spain: Madrid
Portugal: Lisbon
Greece: Athens
Russia: Moscow
China: Beijing
India: New Delhi
Kenya: Nairobi
Peru: Lima
Chile: Santiago
Argentina: Buenos Aires
Norway: Oslo
Sweden: Stockholm
Finland: Helsinki
Denmark: Copenhagen
Poland: Warsaw
Austria: Vienna
Hungary: Budapest
Ireland: Dublin
Thailand: Bangkok
Vietnam: Hanoi
Indonesia: Jakarta
Philippines: Manila
South Korea: Seoul
Iran: Tehran
Iraq: Baghdad
Turkey: Ankara
Australia: Canberra
New Zealand: Wellington
Cuba: Havana
Belgium: Brussels
Netherlands: Amsterdam
Switzerland: Bern
Nigeria: Abuja
Ghana: Accra
Ethiopia: Addis Ababa
Morocco: Rabat
Saudi Arabia: Riyadh
Pakistan: Islamabad
Romania: Bucharest"""))

ANTONYMS = Task(
    "antonyms", "Write the opposite of each word.", "Word: {x}\nOpposite:",
    shots=_items("""
hot: cold
big: small
fast: slow
happy: sad
light: dark"""),
    items=_items("""
up: down
early: late
wet: dry
tall: short
full: empty
rich: poor
strong: weak
young: old
open: closed/shut
true: false
win: lose
buy: sell
push: pull
love: hate
always: never
inside: outside
above: below
heavy: light
clean: dirty
loud: quiet/soft
cheap: expensive
safe: dangerous/unsafe
thick: thin
wide: narrow
deep: shallow
sharp: dull/blunt
smooth: rough
friend: enemy/foe
begin: end/finish
accept: reject/refuse
remember: forget
arrive: leave/depart
north: south
east: west
day: night
question: answer
first: last
sweet: sour/bitter
hard: soft/easy
increase: decrease"""))

PLURALS = Task(
    "plurals", "Write the plural of each noun.", "Noun: {x}\nPlural:",
    shots=_items("""
cat: cats
box: boxes
city: cities
child: children
knife: knives"""),
    items=_items("""
dog: dogs
house: houses
church: churches
bus: buses
baby: babies
lady: ladies
leaf: leaves
wolf: wolves
wife: wives
man: men
woman: women
tooth: teeth
foot: feet
mouse: mice
goose: geese
person: people/persons
ox: oxen
sheep: sheep
deer: deer
fish: fish/fishes
potato: potatoes
hero: heroes
tomato: tomatoes
cactus: cacti/cactuses
analysis: analyses
crisis: crises
phenomenon: phenomena
criterion: criteria
day: days
key: keys
toy: toys
watch: watches
dish: dishes
fox: foxes
glass: glasses
party: parties
story: stories
shelf: shelves
half: halves
roof: roofs"""))

SENTIMENT = Task(
    "sentiment", "Is each review positive or negative?", "Review: {x}\nSentiment:",
    options=("positive", "negative"),
    shots=_items("""
The staff were friendly and the room was spotless.: positive
My order arrived broken and nobody answered my emails.: negative
I would happily watch this film again tomorrow.: positive
The battery died after two days.: negative
What a lovely little bakery, the bread is wonderful.: positive"""),
    items=_items("""
The soup was cold and the waiter ignored us.: negative
This is the best pair of shoes I have ever owned.: positive
The instructions were confusing and two parts were missing.: negative
Our guide was funny, patient and full of stories.: positive
I fell asleep halfway through the second act.: negative
The garden looks beautiful in the spring.: positive
The train was late again and the carriage was filthy.: negative
She sings with a clear and moving voice.: positive
The app crashes every time I open it.: negative
A warm welcome, fair prices and fresh fish.: positive
The hotel smelled of smoke and the bed was hard.: negative
The new library is bright, quiet and comfortable.: positive
The plot made no sense and the jokes fell flat.: negative
My daughter loves this puzzle and plays with it every day.: positive
The jacket tore the first time I wore it.: negative
The concert was a joy from start to finish.: positive
Customer service kept me on hold for an hour.: negative
The keyboard feels solid and the keys are quiet.: positive
The coffee was bitter and overpriced.: negative
Everyone at the party had a wonderful time.: positive
The paint started peeling after a week.: negative
This book made me laugh and cry, a real gem.: positive
The delivery driver threw the parcel over the fence.: negative
The view from the top of the hill was breathtaking.: positive
I regret buying this blender, it is far too loud.: negative
The teacher explained everything clearly and kindly.: positive
The museum was crowded, dark and badly signed.: negative
Fast shipping and the colour is exactly as pictured.: positive
The sequel is a dull copy of the first film.: negative
The nurses took great care of my father.: positive
The room was tiny and the walls were thin.: negative
I am delighted with how the repair turned out.: positive
The salad was wilted and the bread was stale.: negative
Our neighbours are kind and always ready to help.: positive
The software update deleted all my photos.: negative
The hike was easy to follow and the lake was stunning.: positive
The seats were cramped and the screen was blurry.: negative
This little café serves the best cake in town.: positive
The charger stopped working within a month.: negative
The children's choir was simply enchanting.: positive"""))


def _sums(seed: int = 14, n_shots: int = 5, n_items: int = 40) -> tuple[tuple[Item, ...], tuple[Item, ...]]:
    """Sums a + b of two-digit numbers (10-99), all different, drawn with a seeded generator."""
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < n_shots + n_items:
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        if (a, b) not in seen:
            seen.add((a, b))
            out.append(Item(f"{a} + {b}", (str(a + b),)))
    return tuple(out[:n_shots]), tuple(out[n_shots:])


_SUM_SHOTS, _SUM_ITEMS = _sums()
SUMS = Task("sums", "Add the two numbers.", "{x} =", shots=_SUM_SHOTS, items=_SUM_ITEMS)

TASKS: dict[str, Task] = {t.name: t for t in (CAPITALS, ANTONYMS, PLURALS, SENTIMENT, SUMS)}
