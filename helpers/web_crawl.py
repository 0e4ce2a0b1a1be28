"""A synthetic web crawl and the plays cut into pages: the data pipeline's raw input (notebook 08).

``helpers.pipeline`` cleans these documents; this module only makes them. Nothing here is real web data: every
page comes from the course's own generator with a fixed seed, so the pipeline's decisions can be checked
against what each page is.

- ``Document``: one raw document (text or bytes), with its source, work and ``kind`` (what the generator made:
  "article", "keyword_spam", "near_copy", ...; the pipeline never looks at it).
- ``web_documents``: the web crawl, seeded: articles (some with e-mail addresses and phone numbers), pages
  quoting a held-out play, boilerplate, navigation menus, keyword spam, very short pages, repeated lines,
  "read more..." teasers, hashtag lists, code, lorem ipsum, pages in German, French, Spanish and Japanese,
  empty documents, binary garbage and invalid UTF-8, then exact copies and re-published near-copies
  (``WEB_MIX`` holds the counts). All the text is written for the course.
- ``shakespeare_documents`` and ``chunk_text``: both editions of the plays cut into chunks of about 3,000
  characters at line ends.
- ``raw_documents``: the pipeline's whole input: modern chunks, then Folio chunks, then the web pages.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Document:
    """One raw document. ``content`` is text or bytes (as a crawler would deliver it).

    ``source`` is "modern", "folio" or "web"; ``work`` the play or poem it comes from ("web" for web pages);
    ``kind`` what the document is: "play"/"poem" for Shakespeare, the generator's label for a web page
    (e.g. "keyword_spam"), which the pipeline never looks at: it is there to check the pipeline's decisions.
    """

    doc_id: str
    source: str
    work: str
    content: str | bytes
    kind: str = ""


def chunk_text(text: str, size: int = 3000) -> list[str]:
    """Cut ``text`` into chunks of about ``size`` characters, at line ends.

    A chunk ends at the first line end after ``size`` characters; a last piece shorter than ``size / 2``
    is joined to the chunk before it. Joining the chunks with newlines gives ``text`` back.
    """
    if size < 1:
        raise ValueError(f"chunk size must be at least 1 character, got {size}")
    chunks, current, length = [], [], 0
    for line in text.split("\n"):
        current.append(line)
        length += len(line) + 1
        if length >= size:
            chunks.append("\n".join(current))
            current, length = [], 0
    if current:
        if chunks and length < size / 2:
            chunks[-1] += "\n" + "\n".join(current)
        else:
            chunks.append("\n".join(current))
    return chunks


def shakespeare_documents(editions=("modern", "folio"), works=None, chunk_chars: int = 3000) -> list[Document]:
    """Both editions of the works (or those in ``works``), each cut into chunks by ``chunk_text``.

    Documents come edition by edition in manifest order; ids look like ``modern/hamlet/007``.
    """
    from helpers.data import list_texts, load_texts

    docs = []
    for edition in editions:
        kinds = {e.work: e.kind for e in list_texts(edition=edition)}
        for work, text in load_texts(edition, split=None).items():
            if works is not None and work not in works:
                continue
            for i, chunk in enumerate(chunk_text(text, chunk_chars)):
                docs.append(Document(f"{edition}/{work}/{i:03d}", edition, work, chunk, kinds[work]))
    if works is not None and not docs:
        raise ValueError(f"none of the works {sorted(works)} is in the corpus")
    return docs


def raw_documents(works=None, seed: int = 0, chunk_chars: int = 3000) -> list[Document]:
    """The pipeline's input: modern chunks, then Folio chunks, then the generated web pages."""
    return shakespeare_documents(("modern", "folio"), works, chunk_chars) + web_documents(seed)


# ---------------------------------------------------------------------------------------------------------------
# The web-page generator: the course's own text, fixed seed
# ---------------------------------------------------------------------------------------------------------------

ARTICLES = [
    ("Growing tomatoes on a small balcony",
     "You do not need a garden to grow tomatoes. A sunny balcony and a large pot are enough for one or two "
     "plants. Choose a compact variety, fill the pot with good compost and water it every evening in summer. "
     "Tomatoes like warmth, so wait until the nights are mild before you put them outside. When the first "
     "flowers open, feed the plant once a week with a liquid fertiliser. Pinch out the side shoots that grow "
     "between the stem and the leaves, and tie the main stem to a cane. By late summer you should have more "
     "fruit than you can eat, and the taste is far better than anything from a shop."),
    ("Why my first loaf of bread failed",
     "Last weekend I tried to bake bread for the first time, and the result was a flat, heavy brick. After "
     "talking to a friend who bakes every day, I understood what went wrong. The water was too hot and killed "
     "the yeast, and I did not knead the dough for long enough. She told me to use water that feels just warm "
     "on the wrist and to knead for ten minutes, until the dough is smooth and springs back when pressed. The "
     "second attempt rose beautifully. The kitchen smelled wonderful, and the crust was crisp and golden."),
    ("Cycling to work through the winter",
     "Many people put their bicycle away when the days get short, but cycling to work in winter is easier than "
     "it sounds. Good lights at the front and back are the most important thing, because it is often dark on "
     "the way home. Mudguards keep you dry, and a thin waterproof jacket is better than a thick coat, since you "
     "warm up quickly. Check the tyres and brakes every week, as wet roads are less forgiving. The reward is a "
     "clear head at the start of the day and no waiting for a crowded bus."),
    ("A new production of an old comedy",
     "The town theatre opened its season with a lively production of a classic comedy. The director moved the "
     "story to a seaside hotel in the nineteen twenties, and the idea works better than you might expect. The "
     "young cast speaks the old verse clearly and with obvious pleasure, and the audience laughed from the "
     "first scene to the last. The set is simple but clever: a single staircase that turns into a garden, a "
     "ballroom and a ship. Tickets are cheap on weekday evenings, and the run ends next month."),
    ("How to fix a flat tyre in ten minutes",
     "A puncture is the most common problem on a bicycle, and anyone can learn to repair it. First take the "
     "wheel off and let out any remaining air. Use two tyre levers to lift one side of the tyre over the rim, "
     "then pull out the inner tube. Pump a little air into the tube and listen for the hiss to find the hole. "
     "Roughen the area with sandpaper, apply the glue, wait a minute and press the patch on firmly. Before you "
     "put everything back, run your fingers around the inside of the tyre to find the thorn or glass that "
     "caused the puncture, or it will happen again."),
    ("Watching birds in the cold months",
     "Winter is a good season for watching birds, because the trees are bare and the birds come closer to "
     "houses in search of food. A feeder with seeds and a dish of fresh water will attract many visitors to "
     "even a small garden. Keep the feeder clean and put it near a bush, so that small birds have somewhere to "
     "hide from cats. A pair of binoculars and a simple guide book are all you need to begin. Keep a notebook "
     "of what you see; after a few weeks you will notice which species arrive early and which come only when "
     "it snows."),
    ("A checklist for moving house",
     "Moving house is stressful, but a little planning makes it much easier. Start packing the rooms you use "
     "least a few weeks before the move, and label every box with its room and a short list of what is inside. "
     "Keep one bag with the things you will need on the first night: a kettle, some mugs, a towel, phone "
     "chargers and your documents. Tell your bank, your doctor and your employer about the new address. On the "
     "day itself, take photos of the meter readings in the old and the new home. Finally, be kind to yourself, "
     "because nobody unpacks everything in a day."),
    ("The printing press and the spread of books",
     "Before the printing press, every book was copied by hand, which made books rare and expensive. When "
     "movable type arrived in Europe in the middle of the fifteenth century, a workshop could produce hundreds "
     "of copies of the same text in the time a scribe needed for one. Prices fell, more people learned to "
     "read, and ideas travelled faster than ever before. Printers also had to decide how words should be "
     "spelled, and over many decades their choices helped to make spelling more regular. Old printed books "
     "still show how unsettled spelling once was."),
    ("Learning a language as an adult",
     "It is often said that only children can learn a new language well, but adults have real advantages. "
     "They can plan their study, understand grammar explanations and use good habits from other subjects. The "
     "most useful habit is a little practice every day rather than a long session once a week. Listen to "
     "simple podcasts on the way to work, read short stories written for learners and speak with other people "
     "as soon as you can, even if you make mistakes. Progress feels slow at first, but after a few months you "
     "will be surprised by how much you understand."),
    ("Making good coffee at home",
     "Good coffee at home does not require an expensive machine. The most important things are fresh beans, "
     "clean water and the right amount of coffee for the amount of water. Buy whole beans in small bags and "
     "grind them just before you brew. Water that has just boiled is too hot; let it rest for thirty seconds. "
     "A simple filter or a French press gives excellent results if you measure carefully. Taste the coffee and "
     "change one thing at a time, such as the grind or the brewing time, until you find what you like."),
    ("Our youth football club needs volunteers",
     "The youth football club in our neighbourhood has grown quickly this year, and we now have more than a "
     "hundred players between the ages of six and fourteen. To keep the club running we need volunteers to "
     "help with training on Tuesday evenings and with matches on Saturday mornings. You do not need to know "
     "much about football; we also need people to wash the kits, drive players to away games and run the "
     "small cafe at the ground. Every volunteer receives basic training and a warm welcome from the coaches "
     "and the families."),
    ("Staying safe on a mountain walk",
     "A day in the mountains is wonderful, but the weather can change quickly, and every year walkers get into "
     "trouble that a little preparation would have avoided. Check the forecast the evening before and again in "
     "the morning. Tell someone where you are going and when you expect to be back. Carry water, food, a warm "
     "layer, a waterproof jacket, a map and a charged phone, even on a short route. Turn back if the cloud "
     "comes down or if you are behind schedule; the mountain will still be there next weekend."),
    ("Visiting a tea house in Kyoto",
     "During our trip to Japan we visited a small tea house in Kyoto, where a teacher explained the tea "
     "ceremony to a group of visitors. Every movement has a meaning, from the way the bowl is turned to the "
     "order in which the utensils are cleaned. The green tea was thick and slightly bitter, and it was served "
     "with a sweet made from beans and sugar. What stayed with us most was the calm of the room and the "
     "attention the host paid to each guest. It was the quietest hour of the whole journey."),
    ("Changes to the recycling collection",
     "From next month the council will collect paper and cardboard every two weeks instead of every week, and "
     "glass will go into a separate box. Residents will receive the new boxes by post, together with a "
     "calendar of collection days. Food waste will still be collected every week. The council says that the "
     "changes will reduce the number of lorries on the roads and the cost of the service. Please rinse bottles "
     "and jars before you put them out, and flatten large boxes so that they fit in the bin."),
    ("Choosing a first telescope",
     "Many people buy a telescope with great expectations and then hardly use it. The most common mistake is "
     "to choose a model because of its magnification, which matters far less than the size of the main lens "
     "or mirror. A simple telescope on a steady mount will show the craters of the moon, the rings of Saturn "
     "and the moons of Jupiter. Before you buy anything, spend a few evenings learning the constellations with "
     "your eyes and a pair of binoculars. Join a local astronomy club, where members are usually happy to let "
     "beginners look through their instruments."),
    ("Repairing an old wooden chair",
     "My grandmother's kitchen chair had a loose leg and a cracked seat, and I decided to repair it rather "
     "than throw it away. I took the chair apart carefully, cleaned the old glue out of the joints and glued "
     "them again with wood glue, holding everything together with straps overnight. The crack in the seat was "
     "filled with glue and small pieces of wood, then sanded smooth. Two thin coats of oil brought back the "
     "colour of the wood. The chair is now stronger than it has been for years, and it reminds me of her "
     "kitchen every time I sit on it."),
]

FIRST_NAMES = ["anna", "ben", "chloe", "daniel", "emma", "felix", "hana", "ivan", "julia", "kenji", "lucia", "omar"]
LAST_NAMES = ["schmidt", "tanaka", "garcia", "smith", "dubois", "rossi", "novak", "kim", "silva", "berg"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "club.example.com"]
PHONE_FORMATS = ["+1 (555) {a}-{b}", "555-{a}-{b}", "+44 20 {c} {d}", "+49 30 {c} {d}", "03-{c}-{d}",
                 "(555) {a}-{b}", "+81 90 {c} {d}"]
CONTACT_LINES = [
    "For questions, write to {email} or call {phone}.",
    "Contact: {email}, phone {phone} (weekdays only).",
    "If you would like to help, send an e-mail to {email} or ring {phone} in the evening.",
    "More information from the organiser: {email}, tel. {phone}.",
]
SITE_HEADERS = ["Home | News | About | Contact", "Posted in Life and Home", "From our community blog",
                "Share this article", "Reading time: 3 minutes"]
SITE_FOOTERS = ["Thanks for reading!", "Leave a comment below.", "Posted by the editors.",
                "Subscribe for more stories like this one.", "Photos by the author."]
BOILERPLATE_LINES = [
    "We use cookies to improve your experience on our site.",
    "By continuing to browse you agree to our use of cookies.",
    "Read our cookie policy and privacy policy for details.",
    "Please enable JavaScript in your browser to view this page.",
    "This site requires JavaScript to work correctly.",
    "Terms of use | Privacy policy | Cookie settings",
    "Copyright {year} {site}. All rights reserved.",
    "Accept all cookies",
    "Manage preferences",
    "Sign in to your account to continue.",
    "Subscribe to our newsletter and never miss an offer.",
    "Your browser is out of date. Update it for more security, speed and the best experience on this site.",
]
MENU_ITEMS = ["Home", "Shop", "New arrivals", "Women", "Men", "Kids", "Shoes", "Bags", "Accessories", "Sale",
              "Gift cards", "Stores", "Help", "Returns", "Delivery", "Track order", "Account", "Wishlist", "Basket",
              "Careers", "Press", "Sustainability", "Blog", "Contact us", "Size guide", "Outlet", "Brands",
              "Trainers", "Boots", "Sandals", "Jackets", "Jeans", "Dresses", "Shirts", "Knitwear", "Sportswear"]
SPAM_WORDS = ["cheap", "flights", "best", "deals", "hotel", "tokyo", "paris", "discount", "online", "booking",
              "buy", "now", "free", "offer", "last", "minute"]
SHORT_PAGES = ["404 Not Found", "Page not found.", "Click here to continue", "Loading...", "Coming soon!",
               "Access denied.", "Under construction", "Thank you for your order.", "Error 503: service unavailable",
               "Redirecting..."]
REPEATED_LINES = ["Buy now and save 50%!", "Limited offer, order today!", "Free shipping on every order!",
                  "Click the link below to claim your prize!"]
TEASERS = ["Ten things you never knew about your kitchen", "The one habit that changed my mornings",
           "Why everyone is talking about this small town", "What happened next will surprise you",
           "Experts reveal the secret of a good night's sleep", "This simple trick saves money every month",
           "The best walks near the city this spring", "How one teacher changed a whole school"]
HASHTAGS = ["#travel", "#food", "#love", "#instagood", "#photooftheday", "#nature", "#happy", "#summer",
            "#style", "#fitness", "#art", "#beautiful"]
CODE_PAGE = """How to center a box with CSS

Many readers asked how we center the box on our home page. Here is the code we use:

.box {{
  display: flex;
  justify-content: center;
  align-items: center;
}}

function show() {{ document.querySelector(".box").style.display = "flex"; }}

Copy the code into your own style sheet and change the class name to match your page. That is all you need
to do, and it works in every modern browser. Let us know in the comments if it worked for you, and share the
page with your friends who are learning web design in {year}."""
LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
         "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
         "ex ea commodo consequat.")

FOREIGN_SENTENCES = {
    "de": ["Am Wochenende waren wir mit den Kindern im Wald und haben Pilze gesucht.",
           "Die Bibliothek in unserer Stadt hat jetzt auch am Sonntag geöffnet.",
           "Wer morgens mit dem Fahrrad zur Arbeit fährt, beginnt den Tag mit einem freien Kopf.",
           "Das Brot aus der kleinen Bäckerei an der Ecke ist das beste, das ich kenne.",
           "Im Herbst werden die Tage kürzer, und die Abende verbringen wir gern mit einem Buch.",
           "Unser Verein sucht noch Helferinnen und Helfer für das Sommerfest im Juli.",
           "Die Züge waren gestern wegen des Sturms stark verspätet.",
           "Nach dem Essen haben wir noch lange auf dem Balkon gesessen und über alte Zeiten gesprochen."],
    "fr": ["Le marché du samedi matin est le meilleur moment pour acheter des légumes frais.",
           "Nous avons passé nos vacances dans un petit village au bord de la mer.",
           "La bibliothèque municipale propose des ateliers de lecture pour les enfants.",
           "Il faut laisser reposer la pâte pendant une heure avant de la mettre au four.",
           "Le musée sera fermé pendant deux semaines pour des travaux de rénovation.",
           "Après le dîner, nous nous sommes promenés le long de la rivière jusqu'au pont.",
           "Les trains régionaux circuleront normalement à partir de lundi prochain.",
           "Mon grand-père m'a appris à jouer aux échecs quand j'avais six ans."],
    "es": ["Los sábados por la mañana vamos al mercado a comprar fruta y verdura.",
           "La biblioteca del barrio organiza un club de lectura cada primer jueves del mes.",
           "Este verano hemos recorrido la costa en bicicleta durante dos semanas.",
           "Para preparar una buena tortilla hacen falta patatas, huevos y un poco de paciencia.",
           "El museo abrirá una nueva sala dedicada a la historia de la ciudad.",
           "Mi abuela siempre dice que no hay nada mejor que una siesta después de comer.",
           "El equipo de fútbol del colegio ganó el campeonato regional este año.",
           "Por la noche las calles del centro se llenan de gente que sale a pasear."],
    "ja": ["週末は家族と一緒に近くの公園へ散歩に行きました。",
           "駅前の新しいパン屋さんは朝早くから行列ができています。",
           "図書館では毎月、子ども向けの読み聞かせ会が開かれています。",
           "今年の夏は雨が多くて、なかなか洗濯物が乾きませんでした。",
           "来週から市内のバスの時刻表が変わるので注意してください。",
           "祖母に教わった味噌汁の作り方を今でも大切にしています。",
           "自転車で通勤するようになってから、朝の時間が楽しくなりました。",
           "秋になると山の木々が赤や黄色に色づいてとても美しいです。"],
}

WEB_MIX = {  # kind: how many pages the generator makes (copies are made afterwards)
    "article": 10, "article_pii": 6, "quote": 3, "boilerplate": 12, "navigation": 10, "keyword_spam": 10,
    "short": 10, "repeated_lines": 8, "teasers": 6, "hashtags": 6, "code": 4, "lorem_ipsum": 4,
    "non_english": 16, "empty": 3, "binary": 3, "invalid_utf8": 3,
}


def _phone(rng: random.Random) -> str:
    fmt = rng.choice(PHONE_FORMATS)
    return fmt.format(a=f"{rng.randrange(100, 1000):03d}", b=f"{rng.randrange(1000, 10000):04d}",
                      c=f"{rng.randrange(1000, 10000):04d}", d=f"{rng.randrange(1000, 10000):04d}")


def _email(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}@{rng.choice(DOMAINS)}"


def _article_page(rng: random.Random, index: int, pii: bool) -> str:
    title, body = ARTICLES[index]
    parts = [rng.choice(SITE_HEADERS), "", title, "", body]
    if pii:
        parts += ["", rng.choice(CONTACT_LINES).format(email=_email(rng), phone=_phone(rng))]
    parts += ["", rng.choice(SITE_FOOTERS)]
    return "\n".join(parts)


def _near_copy(rng: random.Random, text: str) -> str:
    """A re-published page: other header and footer, one sentence dropped, a few words changed."""
    lines = text.split("\n")
    body = max(lines, key=len)
    sentences = re.split(r"(?<=\.) ", body)
    sentences.pop(rng.randrange(1, len(sentences)))
    new_body = " ".join(sentences).replace(" very ", " really ").replace(" the ", " the ", 1)
    swaps = [("good", "great"), ("small", "little"), ("first", "very first"), ("every", "each")]
    for old, new in rng.sample(swaps, 2):
        new_body = new_body.replace(f" {old} ", f" {new} ", 1)
    title = lines[2] if len(lines) > 2 else ""
    return "\n".join([rng.choice(SITE_HEADERS), "", title, "", new_body, "", rng.choice(SITE_FOOTERS),
                      "Originally published elsewhere."])


def _quote_page(rng: random.Random, work: str) -> str:
    from helpers.data import read_text

    chunks = chunk_text(read_text(work, "modern"))
    chunk = chunks[rng.randrange(2, len(chunks) - 2)]
    cut = len(chunk) // 5
    passage = chunk[cut:]  # most of one chunk: a near-copy of it
    title = work.replace("_", " ").title()
    return f"Famous scenes: {title}\n\nOur favourite passage from {title}, in full:\n\n{passage}\n\nShare this quote!"


def _junk_page(rng: random.Random, kind: str) -> str | bytes:
    year, site = rng.randrange(2015, 2025), rng.choice(["ShopWorld", "NewsDaily", "BestDeals", "MyBlog"])
    if kind == "boilerplate":
        lines = rng.sample(BOILERPLATE_LINES, rng.randrange(6, 11))
        return "\n".join(line.format(year=year, site=site) for line in lines)
    if kind == "navigation":
        items = rng.sample(MENU_ITEMS, rng.randrange(24, len(MENU_ITEMS)))
        return "\n".join(f"• {item}" for item in items)
    if kind == "keyword_spam":
        words = rng.sample(SPAM_WORDS, 5)
        return " ".join(rng.choice(words[:2]) + " " + rng.choice(words) for _ in range(rng.randrange(40, 80)))
    if kind == "short":
        return rng.choice(SHORT_PAGES)
    if kind == "repeated_lines":
        line = rng.choice(REPEATED_LINES)
        return "\n".join([f"Welcome to {site}!"] + [line] * rng.randrange(12, 30) + [f"Copyright {year} {site}."])
    if kind == "teasers":
        heads = rng.sample(TEASERS, rng.randrange(6, 9))
        return "\n".join(f"{h}: you will not believe what the {rng.choice(['experts', 'locals', 'readers'])} said..."
                         for h in heads)
    if kind == "hashtags":
        tags = " ".join(rng.choice(HASHTAGS) for _ in range(rng.randrange(30, 60)))
        return f"What a day at the beach with the best friends in the world and the sun on our faces!\n{tags}"
    if kind == "code":
        return CODE_PAGE.format(year=year)
    if kind == "lorem_ipsum":
        title, body = ARTICLES[rng.randrange(len(ARTICLES))]
        return f"{title} (draft)\n\n{body}\n\n{LOREM}"
    if kind == "empty":
        return rng.choice(["", "   \n\n  ", b""])
    if kind == "binary":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(200, 2000)))
    if kind == "invalid_utf8":
        text = rng.choice(["Crème brûlée à la française, café et thé.", "Größe: 42, Farbe: grün, Preis: 30 €"])
        return text.encode(rng.choice(["latin-1", "cp1252"]), errors="replace") + b" \xff\xfe"
    raise ValueError(f"unknown page kind {kind!r}")


def web_documents(seed: int = 0, mix: dict | None = None, copies: int = 12, near_copies: int = 8) -> list[Document]:
    """Web-like pages made by the course's generator: the same list for the same ``seed``.

    ``mix`` maps a page kind to a count (default ``WEB_MIX``): articles (some with e-mail addresses and
    phone numbers), pages quoting a held-out play, boilerplate, navigation menus, keyword spam, very short
    pages, repeated lines, "read more..." teasers, hashtag lists, code, lorem ipsum, pages in German, French,
    Spanish and Japanese, empty documents, binary garbage and invalid UTF-8. After them come ``copies`` exact
    copies and ``near_copies`` re-published articles (near-duplicates), so an original always comes first.
    Each document's ``kind`` says what it is.
    """
    mix = dict(WEB_MIX if mix is None else mix)
    unknown = set(mix) - set(WEB_MIX)
    if unknown:
        raise ValueError(f"unknown page kinds {sorted(unknown)}; known: {', '.join(WEB_MIX)}")
    rng = random.Random(seed)
    pages: list[tuple[str, str | bytes]] = []
    order = rng.sample(range(len(ARTICLES)), len(ARTICLES))
    n_articles = mix.get("article", 0) + mix.get("article_pii", 0)
    if n_articles > len(ARTICLES):
        raise ValueError(f"at most {len(ARTICLES)} articles (with and without PII) are available, asked {n_articles}")
    for i in range(mix.get("article", 0)):
        pages.append(("article", _article_page(rng, order[i], pii=False)))
    for i in range(mix.get("article", 0), n_articles):
        pages.append(("article_pii", _article_page(rng, order[i], pii=True)))
    quoted = ["hamlet", "tempest", "julius_caesar"]
    for i in range(mix.get("quote", 0)):
        pages.append(("quote", _quote_page(rng, quoted[i % len(quoted)])))
    for kind in ["boilerplate", "navigation", "keyword_spam", "short", "repeated_lines", "teasers", "hashtags",
                 "code", "lorem_ipsum", "empty", "binary", "invalid_utf8"]:
        for _ in range(mix.get(kind, 0)):
            pages.append((kind, _junk_page(rng, kind)))
    languages = list(FOREIGN_SENTENCES)
    for i in range(mix.get("non_english", 0)):
        sentences = FOREIGN_SENTENCES[languages[i % len(languages)]]
        joiner = "" if languages[i % len(languages)] == "ja" else " "
        pages.append((f"non_english_{languages[i % len(languages)]}",
                      joiner.join(rng.sample(sentences, rng.randrange(4, len(sentences) + 1)))))
    rng.shuffle(pages)
    originals = list(pages)
    articles = [text for kind, text in originals if kind.startswith("article")]
    good = [text for kind, text in originals if kind.startswith("article") or kind == "quote"]
    for i in range(copies):  # two in three copy a good page (junk is copied too, but filtered before)
        content = rng.choice(good) if good and i % 3 else rng.choice(originals)[1]
        pages.append(("exact_copy", content))
    for _ in range(near_copies if articles else 0):
        pages.append(("near_copy", _near_copy(rng, rng.choice(articles))))
    return [Document(f"web/{i:04d}", "web", "web", content, kind) for i, (kind, content) in enumerate(pages)]
