"""Small product pages for the extraction rules' tests, and a reader that goes through the
schema.org adapter as a crawl does (no server needed)."""

from __future__ import annotations

from crawler.models import CrawlProfile
from crawler.sources import adapter_for

SHOP = "https://shop.example/p/1"

RELATED = """
<section class="related-products"><h2>You may also like</h2>
  <div class="tile"><a href="/p/2">Linen Trousers</a><span class="price">€ 79,00</span></div>
  <div class="tile"><a href="/p/3">Cotton Tee</a><span class="price">€ 19,00</span></div>
  <div class="tile"><a href="/p/4">Wool Scarf</a><span class="price">€ 19,00</span></div>
</section>"""


def page(body: str, *, head: str = "", lang: str = "en", title: str = "Relaxed Linen Shirt") -> str:
    """A product page: <title>, an optional head, the body (``{title}`` is filled in)."""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title} | Shop</title>'
        f"{head}</head><body><nav><a href='/'>Home</a><a href='/cart'>Cart (0)</a></nav>"
        f"{body.replace('{title}', title)}<footer>Free delivery over € 50,00</footer></body></html>"
    )


def product_block(inner: str, *, button: str = "<button class='btn'>Add to cart</button>") -> str:
    return f"<main><div class='product'><h1>{{title}}</h1>{inner}{button}</div></main>"


def read(html: str, *, url: str = SHOP, currency: str = ""):
    """What the crawl would store for this page (a CrawledProduct), or ParseError."""
    return adapter_for("schemaorg").parse_detail(
        url=url, text=html, source=CrawlProfile(kind="schemaorg", currency=currency)
    )
