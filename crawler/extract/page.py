"""One parsed product page and what every rule asks of it: its language and country, the
product's title element and buy button, the page's scripts, and how far apart two
elements are in the document tree.

Parsing is done once per page; the properties below are computed on first use, so a page
whose structured data answers everything pays for none of them.
"""

from __future__ import annotations

import re
from functools import cached_property
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from crawler.sources.base import ParseError

# Subtrees a shopper never reads as text.
INVISIBLE_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "title", "iframe"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)

# Containers whose prices belong to other products or to other costs.
NOISE_HINT = re.compile(
    r"related|recommend|similar|carousel|upsell|cross-?sell|recently|suggest|also-?(?:bought|viewed|like)|"
    r"footer|navigation|mini-?cart|shipping|delivery|instal|financ|klarna|paypal|accessor|bundle|"
    r"compare|sponsored|advert|promo-?banner|newsletter|review"
)
NOISE_TAGS = frozenset({"nav", "footer", "aside", "select", "option"})
# Words on a button that puts the product in the cart, in the languages the crawler reads
# (en, ko, de, fr, es, it, pt, ja, and a few more shop languages). Lower case.
BUY_WORDS = (
    "add to cart", "add to bag", "add to basket", "add to trolley", "buy now", "buy it now", "add to order",
    "장바구니", "구매하기", "바로구매", "바로 구매",
    "in den warenkorb", "in den einkaufswagen", "jetzt kaufen", "in die einkaufstasche",
    "ajouter au panier", "ajouter au sac", "acheter maintenant",
    "añadir al carrito", "añadir a la cesta", "agregar al carrito", "añadir a la bolsa", "comprar ahora",
    "aggiungi al carrello", "acquista ora", "aggiungi alla shopping bag",
    "adicionar ao carrinho", "adicionar à sacola", "adicionar ao cesto", "comprar agora",
    "カートに入れる", "カートに追加", "今すぐ購入", "購入手続き",
    "in winkelwagen", "do koszyka", "kup teraz", "в корзину",
    "加入購物車", "加入购物车", "立即購買", "立即购买",
    "lägg i varukorgen", "lisää ostoskoriin", "læg i kurv", "legg i handlekurv", "sepete ekle",
    "do košíka", "do košíku", "v košarico", "u košaricu", "în coș", "adaugă în coș", "kosárba",
)  # fmt: skip
BUY_HINTS = re.compile(
    r"add-?to-?(cart|bag|basket)|add_to_(cart|bag|basket)|addtocart|buy-?now|buybox|buy-button|btn-cart|"
    r"cart-button|purchase",
    re.I,
)
_BUY_WORDS = re.compile("|".join(re.escape(word) for word in BUY_WORDS))
# Two-letter country-code top-level domains that are not the ISO country code.
_TLD_COUNTRY = {"uk": "GB"}
_GENERIC_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu"}


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def similarity(a: str, b: str) -> float:
    """Share of the shorter text's words found in the longer one (0..1)."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / min(len(wa), len(wb))


def squash(text: str | None) -> str:
    return " ".join((text or "").split())


def text_of(node) -> str:
    """An element's text; "" for None, comments and processing instructions."""
    if node is None or not isinstance(node.tag, str):
        return ""
    return node.text_content()


class _Path:
    """An element and its ancestors, to find how far up another element meets them.

    lxml creates element proxies on demand and may reuse a freed proxy's id(), so the
    proxies are kept alive here for as long as their ids are looked up.
    """

    def __init__(self, el) -> None:
        self.nodes = [el, *el.iterancestors()]
        self.depths = {id(node): depth for depth, node in enumerate(self.nodes)}

    def depth(self, node) -> int | None:
        return self.depths.get(id(node))


class Page:
    def __init__(self, *, text: str, url: str) -> None:
        try:
            self.tree = lxml.html.fromstring(text)
        except (lxml.etree.ParserError, ValueError) as exc:
            raise ParseError(f"The product page could not be parsed as HTML ({exc}).") from exc
        self.url = url
        self.html = text
        base = self.tree.xpath("//base/@href")
        self.base = urljoin(url, base[0]) if base else url

    # -- what the page says about itself
    def meta(self, *names: str) -> str:
        """The first non-empty <meta> content whose property, name or itemprop is one of ``names``."""
        wanted = {n.lower() for n in names}
        for key, content in self.metas:
            if key in wanted and content:
                return content
        return ""

    @cached_property
    def metas(self) -> list[tuple[str, str]]:
        found = []
        for el in self.tree.iter("meta"):
            key = el.get("property") or el.get("name") or el.get("itemprop") or ""
            if key:
                found.append((key.strip().lower(), squash(el.get("content"))))
        return found

    @cached_property
    def _itemprops(self) -> dict[str, list]:
        found: dict[str, list] = {}
        for el in self.tree.xpath("//*[@itemprop]"):
            for name in el.get("itemprop").lower().split():
                found.setdefault(name, []).append(el)
        return found

    def itemprop(self, name: str) -> list:
        """Elements with this microdata property (``itemprop``, any case), in document order."""
        return self._itemprops.get(name.lower(), [])

    @cached_property
    def html_lower(self) -> str:
        return self.html.lower()

    def mentions(self, pattern: re.Pattern) -> bool:
        """Whether the page's HTML text matches: a quick test before a slow tree query."""
        return pattern.search(self.html) is not None

    @cached_property
    def canonical_url(self) -> str:
        canonical = self.tree.xpath('//link[@rel="canonical"]/@href')
        return urljoin(self.base, canonical[0].strip()) if canonical else ""

    @cached_property
    def lang(self) -> str:
        """The page's language subtag ("de" for "de-AT"), or "" when it does not say."""
        return self.locale.split("-", 1)[0]

    @cached_property
    def locale(self) -> str:
        value = (
            self.tree.get("lang") or self.meta("og:locale") or self.meta("content-language", "language") or ""
        )
        return value.strip().replace("_", "-").lower()

    @cached_property
    def country(self) -> str:
        """ISO country of the page: the region of a locale it states (<html lang>, og:locale,
        Content-Language), else its country-code domain."""
        for value in (self.tree.get("lang"), self.meta("og:locale"), self.meta("content-language")):
            parts = (value or "").strip().replace("_", "-").lower().split("-")
            if len(parts) > 1 and re.fullmatch(r"[a-z]{2}", parts[-1]):
                return parts[-1].upper()
        for url in (self.canonical_url, self.meta("og:url"), self.url):
            host = (urlsplit(url).hostname or "") if url else ""
            labels = host.split(".")
            if len(labels) >= 2 and re.fullmatch(r"[a-z]{2}", labels[-1]):
                return _TLD_COUNTRY.get(labels[-1], labels[-1].upper())
            if len(labels) >= 3 and labels[-2] in _GENERIC_SECOND_LEVEL and len(labels[-1]) == 2:
                return labels[-1].upper()
        return ""

    @cached_property
    def title_texts(self) -> list[str]:
        """What the page calls the product: og:title, <title>, then the h1s."""
        texts = [self.meta("og:title", "twitter:title"), squash(self.tree.findtext(".//title"))]
        texts += [squash(h.text_content()) for h in self.tree.iter("h1")]
        return [t for t in texts if t]

    @cached_property
    def title_element(self):
        """The h1 that names the product: the one most like og:title/<title>; else the first."""
        h1s = [h for h in self.tree.iter("h1") if squash(h.text_content()) and self.visible(h)]
        if not h1s:
            named = self.itemprop("name")
            return named[0] if named else None
        reference = " ".join(self.title_texts[:2])
        return max(h1s, key=lambda h: similarity(squash(h.text_content()), reference) if reference else 0)

    @cached_property
    def title(self) -> str:
        if self.title_element is not None:
            return squash(self.title_element.text_content())
        return self.title_texts[0] if self.title_texts else ""

    @cached_property
    def buy_button(self):
        """The control that puts the product in the cart: a button (or, failing that, a link)
        labelled with a buy phrase, or a button named like one ("add-to-cart")."""
        for query in ("//button | //input[@type='submit' or @type='button']", "//body//a"):
            for el in self.tree.xpath(query):
                label = el.get("value") if el.tag == "input" else el.text_content()
                label = squash(label or el.get("aria-label") or el.get("title")).lower()
                if label and len(label) <= 60 and _BUY_WORDS.search(label):
                    return el
                if el.tag != "a" and BUY_HINTS.search(self.hints(el)):
                    return el
        return None

    @cached_property
    def anchors(self) -> list:
        """Where the product's own price and stock are shown: its title and its buy button."""
        return [el for el in (self.title_element, self.buy_button) if el is not None]

    @cached_property
    def scripts(self) -> list[tuple[str, str]]:
        """(type, text) of every inline script."""
        return [((s.get("type") or "").lower(), s.text or "") for s in self.tree.iter("script") if s.text]

    # -- elements
    @staticmethod
    def hints(el) -> str:
        """The names a page gives an element (class, id, itemprop, data-testid, aria-label), lower case."""
        return " ".join(
            el.get(name, "") for name in ("class", "id", "itemprop", "data-testid", "name", "aria-label")
        ).lower()

    def hints_cached(self, el) -> str:
        """``hints`` remembered per element: the same ancestors are asked about again and again."""
        cache = self.__dict__.setdefault("_hints", {})
        key = id(el)
        if key not in cache:
            cache[key] = (el, self.hints(el))  # the element is kept so its id() stays its own
        return cache[key][1]

    def noisy(self, el) -> bool:
        """Whether the element is, or is named as, another product's or another cost's block."""
        cache = self.__dict__.setdefault("_noisy", {})
        key = id(el)
        if key not in cache:
            cache[key] = (el, el.tag in NOISE_TAGS or bool(NOISE_HINT.search(self.hints_cached(el))))
        return cache[key][1]

    def other_block_depth(self, el, *, levels: int = 14) -> int | None:
        """How many levels up the nearest such block around ``el`` is; None when it is in none."""
        for depth, node in enumerate([el, *el.iterancestors()][:levels]):
            if self.noisy(node):
                return depth
        return None

    @staticmethod
    def visible(el) -> bool:
        for node in (el, *el.iterancestors()):
            if not isinstance(node.tag, str) or node.tag in INVISIBLE_TAGS:
                return False
            if node.get("hidden") is not None or _HIDDEN_STYLE.search(node.get("style", "")):
                return False
        return True

    def distance(self, a, b) -> int:
        """Edges between two elements in the document tree (through their nearest common ancestor)."""
        return self._distance_to(a, _Path(b))

    @staticmethod
    def _distance_to(el, path: _Path) -> int:
        for steps, node in enumerate([el, *el.iterancestors()]):
            depth = path.depth(node)
            if depth is not None:
                return steps + depth
        return 10_000

    @cached_property
    def _anchor_paths(self) -> list[_Path]:
        return [_Path(anchor) for anchor in self.anchors]

    def anchor_distance(self, el) -> int | None:
        """Tree distance to the nearer of the title and the buy button; None without either."""
        if not self.anchors:
            return None
        return min(self._distance_to(el, path) for path in self._anchor_paths)

    def near_anchors(self, levels: int) -> list:
        """The subtrees ``levels`` above the title and the buy button (the body without either):
        where the product's own price, stock and brand are shown."""
        roots = []
        for anchor in self.anchors:
            root = anchor
            for _ in range(levels):
                if root.getparent() is None or root.getparent().tag == "html":
                    break
                root = root.getparent()
            roots.append(root)
        if not roots:
            body = self.tree.find("body")
            roots = [body if body is not None else self.tree]
        unique = list({id(r): r for r in roots}.values())
        # A root inside another root adds nothing.
        return [r for r in unique if not any(any(a is o for a in r.iterancestors()) for o in unique)]
