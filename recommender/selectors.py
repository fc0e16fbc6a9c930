"""Reads for the recommender: nearest products by embedding, and the product page's
"Similar alternatives"."""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import translation
from pgvector import HalfVector
from pgvector.psycopg.halfvec import HalfVectorBinaryDumper
from psycopg.types import TypeInfo

from recommender.colour import colour_distances
from recommender.duplicates import is_near_duplicate
from recommender.embedders import active_model_key, embedder_fallback_notice, embedder_spec
from recommender.models import Embedding, ProductColour
from recommender.projection import projection_for_search
from shop.attributes import COLOUR
from shop.forms import price_from_query
from shop.fragments import fragment_key, product_card_values
from shop.models import Product, ProductAttribute

logger = logging.getLogger(__name__)


@dataclass
class SimilarProduct:
    product: object  # shop.Product, with brand and category loaded
    distance: float  # cosine distance of the embeddings, 0 = identical
    colour_distance: float | None = None
    score: float | None = None  # the ranking score (distance blended with colour)
    # The product's RGB histogram when the colour re-rank read it (None otherwise), so the
    # caller need not read it again.
    histogram: list | None = None

    @property
    def similarity(self) -> float:
        """1 - cosine distance, clamped to [0, 1]."""
        return float(min(1.0, max(0.0, 1.0 - self.distance)))

    @property
    def similarity_percent(self) -> int:
        """The ranking score (look blended with colour) as a percentage, so the numbers
        shown fall in the order the results are listed; the plain similarity otherwise."""
        value = self.distance if self.score is None else self.score
        return round(min(1.0, max(0.0, 1.0 - value)) * 100)


def _iterative_scan_mode() -> str:
    mode = settings.RECOMMENDER_ITERATIVE_SCAN
    if mode not in ("relaxed_order", "strict_order", "off"):
        raise ValueError(
            f"RECOMMENDER_ITERATIVE_SCAN must be relaxed_order, strict_order or off, not {mode!r}"
        )
    return mode


# psycopg TypeInfo of halfvec per database connection (its oid differs between databases):
# fetched once per connection, registered only on the search's own cursors, so the rest of
# Django's queries keep their text adapters (HalfVectorField reads strings).
_HALFVEC_INFO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _search_cursor(*, binary: bool):
    """A cursor of Django's connection (logged and wrapped like any other) that binds its
    parameters on the server, so a HalfVector goes out in pgvector's binary format: 2 bytes a
    dimension instead of ~10 characters of text that PostgreSQL must parse. Django's own
    cursors bind on the client, which can only send text."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw_connection = connection.connection
    raw = ServerBindingCursor(raw_connection)
    if binary:
        info = _HALFVEC_INFO.get(raw_connection)
        if info is None:
            info = _HALFVEC_INFO[raw_connection] = TypeInfo.fetch(raw_connection, "halfvec")
        dumper = type("HalfVectorBinaryDumper", (HalfVectorBinaryDumper,), {"oid": info.oid})
        raw.adapters.register_dumper(HalfVector, dumper)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


@dataclass(frozen=True)
class _Filters:
    """The WHERE clause of a search over recommender_embedding ``e`` joined to shop_product ``p``."""

    sql: str
    params: list
    where: str  # the conditions alone, for a search that starts from another table
    narrowing: bool  # the shopper narrowed the catalogue (category, price, brand, colour, pattern)


def _filters_sql(
    *,
    name: str,
    model_key: str,
    categories,
    price_min,
    price_max,
    currency,
    brand,
    exclude_ids,
    in_stock_only: bool,
    colour_names=(),
    pattern_names=(),
) -> _Filters:
    where = ["e.model_name = %s", "e.model_key = %s", "p.is_active"]
    params: list = [name, model_key]
    if in_stock_only:
        where.append("p.in_stock")
    if categories:
        where.append("p.category_id IN (SELECT id FROM shop_category WHERE slug = ANY(%s))")
        params.append(list(categories))
    if currency and (price_min is not None or price_max is not None):
        where.append("p.currency = %s")
        params.append(currency)
    if price_min is not None:
        where.append("p.price >= %s")
        params.append(price_min)
    if price_max is not None:
        where.append("p.price <= %s")
        params.append(price_max)
    if brand:
        where.append("p.brand_id IN (SELECT id FROM shop_brand WHERE slug = %s)")
        params.append(brand)
    if exclude_ids:
        where.append("NOT (e.product_id = ANY(%s))")
        params.append([int(pk) for pk in exclude_ids])
    if colour_names:
        # The colour attribute (shop.ProductAttribute, from the photo's pixels or staff).
        where.append(
            "p.id IN (SELECT product_id FROM shop_productattribute WHERE name = 'colour' AND value = ANY(%s))"
        )
        params.append(list(colour_names))
    if pattern_names:
        where.append(
            "p.id IN (SELECT product_id FROM shop_productattribute"
            " WHERE name = 'pattern' AND value = ANY(%s))"
        )
        params.append(list(pattern_names))
    return _Filters(
        sql="FROM recommender_embedding e JOIN shop_product p ON p.id = e.product_id WHERE "
        + " AND ".join(where),
        params=params,
        where=" AND ".join(where),
        narrowing=bool(
            categories
            or price_min is not None
            or price_max is not None
            or brand
            or colour_names
            or pattern_names
        ),
    )


def _compressed_dim(model_key: str) -> int:
    """The dimension of the model's compressed (PCA) index when searches may use it, else 0."""
    if not model_key or not settings.RECOMMENDER_COMPRESSED_SEARCH:
        return 0
    return embedder_spec(model_key.split("@", 1)[0]).compressed_dim


def _nearest_rows(
    query: np.ndarray,
    *,
    dim: int,
    filters: _Filters,
    limit: int,
    binary: bool = True,
    model_key: str = "",
) -> tuple[list[tuple[int, float]], str]:
    """(product id, cosine distance) of the ``limit`` nearest rows passing ``filters``, and the
    plan used: "exact", "hnsw", "compressed-exact" or "compressed".

    One round trip picks the plan and sets the transaction's search settings: a count of the
    rows the filters keep, capped (cheap either way: an index range or the first rows of a
    scan). When at most RECOMMENDER_EXACT_MAX_ROWS remain, their distances are computed
    exactly (a few hundred distances cost less than walking the graph, and recall is 1);
    otherwise the HNSW index is walked with an iterative scan. The planner does not get to
    choose: left alone it took the price index and an exact sort over 10,000 rows for a 10%
    price filter on 100k products (p95 237 ms, docs/benchmarks.md "index").

    When ``model_key`` has a fitted projection (recommender.projection), the walk is on the
    small PCA index, for RECOMMENDER_COMPRESSED_RERANK times ``limit`` candidates, whose full
    vectors then give the order and the distances returned; and a filter that keeps up to
    RECOMMENDER_COMPRESSED_EXACT_MAX_ROWS rows ranks them all exactly on their PCA
    coordinates (a quarter of the bytes) before that same re-rank, where a graph walk would
    have to step over ~100 rows for each one it keeps.

    ``binary=False`` sends the vector as text, the way the ORM does (kept to test that both
    give the same answer).
    """

    def sent(values: np.ndarray):
        return HalfVector(values) if binary else HalfVector(values).to_text()

    cap = int(settings.RECOMMENDER_EXACT_MAX_ROWS)
    compressed_dim = _compressed_dim(model_key)
    # Counting further costs a few ms on a broad filter: only where it can change the plan.
    counted = (
        max(cap, int(settings.RECOMMENDER_COMPRESSED_EXACT_MAX_ROWS))
        if compressed_dim and filters.narrowing
        else cap
    )
    ef_search = int(settings.RECOMMENDER_EF_SEARCH)
    with transaction.atomic(), _search_cursor(binary=binary) as cursor:
        # The settings matter only to the HNSW plans below; the exact plans sort in every
        # alternative, so disabling sorts does not change them. Without hash and merge joins
        # the rows a narrow filter keeps are found from the product side through the
        # embeddings' product_id index (1,000 of 100k: 5 ms) instead of by a hash join over
        # every embedding (16 ms; bench.ann); an HNSW walk joins row by row anyway. No
        # parallel workers: for the 1,000 rows of a 1% price filter the planner chose a
        # parallel scan of every product (100 ms) over the price index.
        # is_local: until the commit. A statement of their own: a statement is planned before
        # its set_config() calls run, and the count below must be planned under them too (a
        # 1% price filter's count took 14 ms planned without them, under 3 ms with them).
        cursor.execute(
            "SELECT set_config('hnsw.iterative_scan', %s, true), set_config('hnsw.ef_search', %s, true),"
            " set_config('hnsw.max_scan_tuples', %s, true), set_config('enable_sort', 'off', true),"
            " set_config('enable_incremental_sort', 'off', true), set_config('enable_hashjoin', 'off', true),"
            " set_config('enable_mergejoin', 'off', true),"
            " set_config('max_parallel_workers_per_gather', '0', true)",
            [_iterative_scan_mode(), str(ef_search), str(int(settings.RECOMMENDER_HNSW_MAX_SCAN_TUPLES))],
        )
        cursor.execute(
            f"SELECT (SELECT count(*) FROM (SELECT 1 {filters.sql} LIMIT %s) kept),"
            " (SELECT updated_at FROM recommender_projection WHERE model_key = %s AND %s)",
            [*filters.params, counted + 1, model_key, bool(compressed_dim)],
        )
        kept, projection_version = cursor.fetchone()
        fitted = None
        if kept > cap and projection_version is not None:
            fitted = projection_for_search(model_key, projection_version.isoformat())
        distance = f"(e.vector::halfvec({dim})) <=> %s::halfvec({dim})"
        # The last step of every plan: the nearest of the candidates ``near`` by the full vectors.
        # The outer query has no model_name condition, so the model's partial HNSW index cannot
        # serve it.
        rerank = (
            f" SELECT e.product_id, {distance} AS distance FROM recommender_embedding e"
            " WHERE e.id IN (SELECT id FROM near) ORDER BY distance LIMIT %s"
        )

        candidates = limit * int(settings.RECOMMENDER_COMPRESSED_RERANK)
        # The coordinates' table carries the columns the filters read from an embedding
        # (e.model_name, e.model_key, e.product_id), so it stands in for it in both compressed
        # plans: the candidates are found without reading the embeddings' rows at all.
        near_compressed = (
            "WITH near AS MATERIALIZED (SELECT e.embedding_id AS id FROM recommender_reducedvector e"
            " JOIN shop_product p ON p.id = e.product_id WHERE {where} ORDER BY {order} LIMIT %s)"
        )
        coordinates = f"e.vector::halfvec({compressed_dim})"
        if kept <= cap:
            plan = "exact"
            sql = f"WITH near AS MATERIALIZED (SELECT e.id {filters.sql})" + rerank
            params = [*filters.params, sent(query), limit]
        elif fitted is not None:
            if kept <= counted:
                plan = "compressed-exact"
                # l2_distance() rather than the <-> operator: an index serves only the operator,
                # so every kept row is ranked, reached from the product side.
                order = f"l2_distance({coordinates}, %s::halfvec({compressed_dim}))"
            else:
                plan = "compressed"
                if candidates > ef_search:
                    # Without an iterative scan the graph walk returns at most ef_search rows.
                    cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(candidates)])
                order = f"({coordinates}) <-> %s::halfvec({compressed_dim})"
            sql = near_compressed.format(where=filters.where, order=order) + rerank
            params = [*filters.params, sent(fitted.apply(query)[0]), candidates, sent(query), limit]
        else:
            plan = "hnsw"
            sql = f"SELECT e.product_id, {distance} AS distance {filters.sql} ORDER BY distance LIMIT %s"
            params = [sent(query), *filters.params, limit]
        cursor.execute(sql, params)
        rows = [(int(pk), float(d)) for pk, d in cursor.fetchall()]
    return rows, plan


def _query_vector(vector, *, model_key: str) -> tuple[str, int, np.ndarray]:
    """The model's name, its dimension and ``vector`` as float32, refused (ValueError) when its
    length is not the model's: the one check before any search on that model's index."""
    name = model_key.split("@", 1)[0]
    spec = embedder_spec(name)
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    if query.shape[0] != spec.dim:
        raise ValueError(f"a {name} vector has {spec.dim} dimensions, not {query.shape[0]}")
    return name, spec.dim, query


def similar_products(
    vector,
    *,
    model_key: str,
    categories=None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    currency: str | None = None,
    brand: str | None = None,
    exclude_ids=(),
    in_stock_only: bool = True,
    k: int = 10,
    offset: int = 0,
    query_histogram: np.ndarray | None = None,
    max_distance: float | None = None,
    duplicates_of: tuple[str, str, list | None] | None = None,
    collapse_duplicates: bool = False,
    colour_names=(),
    pattern_names=(),
) -> list[SimilarProduct]:
    """The active products nearest to ``vector`` among those embedded with ``model_key``.

    Filters: category slugs, price range (inclusive; with ``currency``, only products priced
    in it, as amounts in different currencies are not comparable), brand slug, excluded ids,
    in stock, colour names and pattern names (the products' colour or pattern attribute is
    one of them).
    Cosine distance on the model's HNSW index (the same expression as the index); results
    farther than RECOMMENDER_MAX_DISTANCE are dropped. With ``query_histogram`` the nearest
    RECOMMENDER_COLOUR_RERANK_POOL are re-ranked by blending in the colour distance
    (weight RECOMMENDER_COLOUR_WEIGHT).

    Near-duplicates (recommender.duplicates): ``duplicates_of=(sha256, phash, histogram)`` drops
    candidates showing that same photo (the query product sold by another shop or
    re-listed); ``collapse_duplicates`` keeps only the cheapest of each group of results
    showing one photo, at the group's best rank. RECOMMENDER_DUPLICATE_HEADROOM extra
    candidates are fetched so that k results remain after dropping them.
    """
    name, dim, query = _query_vector(vector, model_key=model_key)
    weight = float(settings.RECOMMENDER_COLOUR_WEIGHT) if query_histogram is not None else 0.0
    wanted = offset + k
    dedup = duplicates_of is not None or collapse_duplicates
    fetch = wanted + int(settings.RECOMMENDER_DUPLICATE_HEADROOM) if dedup else wanted
    pool = max(fetch, settings.RECOMMENDER_COLOUR_RERANK_POOL) if weight else fetch
    cutoff = settings.RECOMMENDER_MAX_DISTANCE if max_distance is None else max_distance

    filters = _filters_sql(
        name=name,
        model_key=model_key,
        categories=categories,
        price_min=price_min,
        price_max=price_max,
        currency=currency,
        brand=brand,
        exclude_ids=exclude_ids,
        in_stock_only=in_stock_only,
        colour_names=colour_names,
        pattern_names=pattern_names,
    )
    rows, _plan = _nearest_rows(query, dim=dim, filters=filters, limit=pool, model_key=model_key)
    # relaxed_order may return rows slightly out of order: sort the few we fetched. A product
    # with several regions' vectors counts once, at its nearest.
    rows.sort(key=lambda row: row[1])
    nearest: dict[int, float] = {}
    for pk, distance in rows:
        if pk not in nearest and distance <= cutoff:
            nearest[pk] = distance
    if dedup:
        # De-duplication compares the candidates' own photos and prices: read them all.
        products = _products_read(list(nearest))
        results = [
            SimilarProduct(product=products[pk], distance=distance)
            for pk, distance in nearest.items()
            if pk in products
        ]
    else:
        # Ranked on ids and distances alone; only the products shown are read (below).
        results = [SimilarProduct(product=pk, distance=distance) for pk, distance in nearest.items()]
    seen = set(nearest)
    colours = {}
    if (weight or dedup) and results:
        # One query for both the colour term and the hashes.
        colours = {
            pk: (histogram, phash)
            for pk, histogram, phash in ProductColour.objects.filter(product_id__in=seen).values_list(
                "product_id", "histogram", "phash"
            )
        }
    if weight and results:
        # All candidates' colour distances in one pass (recommender.colour.colour_distances).
        coloured = [item for item in results if colours.get(_pk(item), (None, ""))[0]]
        distances = colour_distances(query_histogram, [colours[_pk(item)][0] for item in coloured])
        by_pk = {_pk(item): float(d) for item, d in zip(coloured, distances, strict=True)}
        for item in results:
            item.colour_distance = by_pk.get(_pk(item))
            item.histogram = colours.get(_pk(item), (None, ""))[0]
            colour = item.colour_distance if item.colour_distance is not None else item.distance
            item.score = (1 - weight) * item.distance + weight * colour
        results.sort(key=lambda item: item.score)
    else:
        for item in results:
            item.score = item.distance
    if dedup:
        results = _without_duplicates(
            results, colours=colours, duplicates_of=duplicates_of, collapse=collapse_duplicates
        )
        return results[offset:wanted]
    # The re-rank pool is RECOMMENDER_COLOUR_RERANK_POOL candidates, the page shows k of
    # them: building model instances for the rest was most of this function's time under
    # load (docs/benchmarks.md, load section).
    shown = results[offset:wanted]
    products = _products_read([item.product for item in shown])
    for item in shown:
        item.product = products.get(item.product)
    # A product deleted between the two reads is left out, as before.
    return [item for item in shown if item.product is not None]


def similar_attribute_counts(
    vector,
    *,
    model_key: str,
    names,
    chosen: dict[str, str],
    pool: int,
    categories=None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    currency: str | None = None,
    brand: str | None = None,
    exclude_ids=(),
    colour_names=(),
    in_stock_only: bool = True,
) -> dict[str, dict[str, dict[str, int]]]:
    """Attribute facets over the ``pool`` products nearest to ``vector`` under the other
    filters (the facets' own values left out, so choosing red still counts the blue):
    ``{name: {"values": {value: n}, "unavailable": {method: n}}}``.

    Two round trips: the nearest ids (the search's own plan, _nearest_rows) and one grouped
    count over them, in which each facet's counts keep only the products that also have the
    other facets' chosen values.
    """
    name, dim, query = _query_vector(vector, model_key=model_key)
    filters = _filters_sql(
        name=name,
        model_key=model_key,
        categories=categories,
        price_min=price_min,
        price_max=price_max,
        currency=currency,
        brand=brand,
        exclude_ids=exclude_ids,
        in_stock_only=in_stock_only,
        colour_names=colour_names,
    )
    rows, _plan = _nearest_rows(query, dim=dim, filters=filters, limit=int(pool), model_key=model_key)
    cutoff = settings.RECOMMENDER_MAX_DISTANCE
    ids = {pk for pk, distance in rows if distance <= cutoff}
    counts: dict[str, dict[str, dict[str, int]]] = {n: {"values": {}, "unavailable": {}} for n in names}
    if not ids:
        return counts
    which = Q()
    for facet in names:
        condition = Q(name=facet)
        for other, value in chosen.items():
            if other != facet and value:
                condition &= Exists(
                    ProductAttribute.objects.filter(
                        product_id=OuterRef("product_id"), name=other, value=value
                    )
                )
        which |= condition
    grouped = (
        ProductAttribute.objects.filter(which, product_id__in=ids)
        .values_list("name", "value", "method")
        .annotate(n=Count("product_id"))
        .order_by()
    )
    for facet, value, method, n in grouped:
        bucket = counts[facet]["values"] if value else counts[facet]["unavailable"]
        key = value or method
        bucket[key] = bucket.get(key, 0) + n
    return counts


def _pk(item: SimilarProduct) -> int:
    # Before the shown products are read, a candidate's product is its id.
    return item.product if isinstance(item.product, int) else item.product.pk


def _products_read(ids: list[int]) -> dict:
    """The products of these ids with what a card shows (brand and category), in one query."""
    return Product.objects.select_related("brand", "category").only(*_PRODUCT_FIELDS).in_bulk(ids)


@dataclass
class TextSearch:
    """Products ranked by how well their image matches words (products_matching_text)."""

    results: list[SimilarProduct]
    text: str  # the words searched for, cleaned and cut to words.TEXT_QUERY_MAX_CHARS
    model_key: str | None = None
    code: str | None = None  # why nothing was ranked (words.Reason), None when ranked
    reason: str | None = None  # a sentence for the shopper

    @property
    def available(self) -> bool:
        return self.code is None


def products_matching_text(
    *,
    text: str | None,
    categories=None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    currency: str | None = None,
    brand: str | None = None,
    exclude_ids=(),
    in_stock_only: bool = True,
    k: int = 24,
    offset: int = 0,
) -> TextSearch:
    """The active products whose image is nearest to the description ``text`` in the text
    model's space (RECOMMENDER_TEXT_MODEL), with the usual filters (similar_products: the same
    plan choice, HNSW index and filters, over the text model's vectors).

    No ranking, with the reason, when there is nothing to search for or the words cannot be
    embedded (recommender.words.text_embed). Distances are cut at RECOMMENDER_TEXT_MAX_DISTANCE,
    not at the image cutoff: words and photos are farther apart than two photos.
    """
    from recommender.words import text_embed

    found = text_embed(text=text)
    if not found.available:
        return TextSearch(
            results=[], text=found.text, model_key=found.model_key, code=found.code, reason=found.reason
        )
    results = similar_products(
        found.vector,
        model_key=found.model_key,
        categories=categories,
        price_min=price_min,
        price_max=price_max,
        currency=currency,
        brand=brand,
        exclude_ids=exclude_ids,
        in_stock_only=in_stock_only,
        k=k,
        offset=offset,
        max_distance=settings.RECOMMENDER_TEXT_MAX_DISTANCE,
    )
    return TextSearch(results=results, text=found.text, model_key=found.model_key)


def _without_duplicates(
    results: list[SimilarProduct], *, colours: dict[int, tuple], duplicates_of, collapse: bool
) -> list[SimilarProduct]:
    """Drop results showing the query product's photo; with ``collapse``, keep the cheapest
    of each group of results showing one photo (same currency as the group's best-ranked
    member first), placed at that member's rank. Groups grow by matching any member."""

    def same(a: SimilarProduct, sha256: str, phash: str, histogram) -> bool:
        histogram_a, phash_a = colours.get(a.product.pk, (None, ""))
        return is_near_duplicate(
            sha256_a=a.product.image_sha256,
            phash_a=phash_a,
            colour_a=histogram_a,
            sha256_b=sha256,
            phash_b=phash,
            colour_b=histogram,
        )

    if duplicates_of is not None:
        results = [item for item in results if not same(item, *duplicates_of)]
    if not collapse:
        return results
    groups: list[list[SimilarProduct]] = []
    for item in results:  # in rank order, so each group's first member is its best-ranked
        histogram, phash = colours.get(item.product.pk, (None, ""))
        key = (item.product.image_sha256, phash, histogram)
        group = next((g for g in groups if any(same(member, *key) for member in g)), None)
        if group is None:
            groups.append([item])
        else:
            group.append(item)
    return [
        min(g, key=lambda m, lead=g[0]: (m.product.currency != lead.product.currency, m.product.price))
        for g in groups
    ]


# Product columns a result card needs (the vector column is not fetched back).
_PRODUCT_FIELDS = (
    "id",
    "title",
    "price",
    "image_sha256",
    "currency",
    "in_stock",
    "image",
    "product_url",
    "is_active",
    "category__id",
    "category__slug",
    "category__name",
    "brand__id",
    "brand__name",
    "brand__slug",
)


def _decimal(value: str | None) -> Decimal | None:
    # Bounded to what a price column holds: ?max_price=1e200000 overflowed PostgreSQL's numeric.
    return price_from_query(value)


def _difference(other, product) -> Decimal | None:
    return other.price - product.price if other.currency == product.currency else None


@dataclass(frozen=True)
class AlternativesFilters:
    """The shopper's filters of a product's alternatives, read from the page's query string:
    ``cheaper=1`` (strictly cheaper than the product), ``min_price``, ``max_price``."""

    cheaper: bool = False
    price_min: Decimal | None = None
    price_max: Decimal | None = None

    @classmethod
    def from_query(cls, query) -> AlternativesFilters:
        """From a query string's mapping (``request.GET``); unreadable bounds are ignored."""
        return cls(
            cheaper=query.get("cheaper") in ("1", "on", "true"),
            price_min=_decimal(query.get("min_price")),
            price_max=_decimal(query.get("max_price")),
        )


def product_alternatives_context(*, product, filters: AlternativesFilters = AlternativesFilters()) -> dict:
    """Context for the "Similar alternatives" section of a product page.

    The nearest in-stock products of the same category, excluding the product itself and
    near-duplicates of its photo (recommender.duplicates), one per duplicate group, within
    the shopper's ``filters``; on a sold-out product the page shows them first.

    The ranking (ids and similarities) is cached per product, model and filters for
    RECOMMENDER_ALTERNATIVES_CACHE_SECONDS; the key holds the product's ``updated_at``, which
    changes with the product and with its vector (embedding_compute_batch sets it), so those
    changes show at once. The alternatives' rows are read fresh on every page: a price
    change, a product sold out or taken down shows at once too.
    """
    cheaper, price_min, price_max = filters.cheaper, filters.price_min, filters.price_max
    if cheaper:
        below = product.price - Decimal("0.01")
        price_max = below if price_max is None else min(price_max, below)
    context = {
        "alternatives": [],
        "alternatives_first": not product.in_stock,
        "alternatives_filters": {
            "cheaper": cheaper,
            "min_price": "" if filters.price_min is None else filters.price_min,
            "max_price": filters.price_max or "",
        },
        "alternatives_pending": False,
        "alternatives_notice": embedder_fallback_notice(),
    }
    model_key = active_model_key()
    key = "alternatives:v1:" + ":".join(
        str(part) for part in (product.pk, model_key, product.updated_at.timestamp(), price_min, price_max)
    )
    ranked = cache.get(key)
    if ranked is None:
        ranked = _alternatives_rank(
            product=product, model_key=model_key, price_min=price_min, price_max=price_max
        )
        cache.set(key, ranked, settings.RECOMMENDER_ALTERNATIVES_CACHE_SECONDS)
    if ranked == "pending":
        context["alternatives_pending"] = True
        return _alternatives_fragment(context, product)
    rows = Product.objects.browsable().filter(pk__in=[entry["pk"] for entry in ranked], in_stock=True)
    if price_min is not None or price_max is not None:
        # Bounds are amounts in this product's currency; without one every currency is shown
        # (with no price comparison), as the ranking did.
        rows = rows.filter(currency=product.currency).price_between(price_min, price_max)
    fresh = {row.pk: row for row in rows}
    for entry in ranked:
        other = fresh.get(entry["pk"])
        if other is None:  # sold out, taken down or re-priced since the ranking was cached
            continue
        # Only comparable within one currency; the template shows "cheaper"/"dearer".
        difference = _difference(other, product)
        context["alternatives"].append(
            {
                "product": other,
                "similarity": entry["similarity"],
                "similarity_percent": entry["similarity_percent"],
                "price_difference": difference,
                "price_difference_abs": abs(difference or 0),
            }
        )
    return _alternatives_fragment(context, product)


def _alternatives_fragment(context: dict, product) -> dict:
    """The section's cache key and lifetime (recommender/_alternatives.html): a digest of
    everything it shows, from the rows just read, so a cached section is never stale."""
    context["alternatives_fragment_seconds"] = settings.RECOMMENDER_ALTERNATIVES_CACHE_SECONDS
    context["alternatives_key"] = fragment_key(
        # The language here, not only in the template: an inclusion tag's template does not
        # see the context processors' LANGUAGE_CODE.
        translation.get_language(),
        product.currency,
        context["alternatives_first"],
        context["alternatives_pending"],
        str(context["alternatives_notice"] or ""),
        sorted((k, str(v)) for k, v in context["alternatives_filters"].items()),
        [
            (product_card_values(alt["product"]), alt["similarity_percent"], str(alt["price_difference"]))
            for alt in context["alternatives"]
        ],
    )
    return context


def _alternatives_rank(*, product, model_key: str, price_min, price_max) -> list[dict] | str:
    """The product's alternatives as [{pk, similarity, similarity_percent}] in rank order,
    or "pending" when the product has no vector under ``model_key`` yet."""
    own = (
        Embedding.objects.filter(product=product, model_key=model_key)
        .values_list("vector", flat=True)
        .first()
    )
    if own is None:
        return "pending"
    colour = ProductColour.objects.filter(product=product).values_list("histogram", "phash").first()
    histogram, phash = colour if colour else (None, "")
    found = similar_products(
        np.asarray(own, dtype=np.float32),
        model_key=model_key,
        categories=[product.category.slug] if product.category_id else None,
        price_min=price_min,
        price_max=price_max,
        # "Cheaper" and the price range are in this product's currency (no conversion yet).
        currency=product.currency,
        exclude_ids=[product.pk],
        k=settings.RECOMMENDER_ALTERNATIVES_COUNT,
        query_histogram=np.asarray(histogram) if histogram else None,
        # The same garment from another shop (or re-listed) is not an alternative, and a
        # photo several shops sell shows once, at its cheapest.
        duplicates_of=(product.image_sha256, phash, histogram),
        collapse_duplicates=True,
    )
    return [
        {"pk": item.product.pk, "similarity": item.similarity, "similarity_percent": item.similarity_percent}
        for item in found
    ]


def products_pending_embedding(*, model_key: str, all_products: bool = False) -> list[int]:
    """Ids of active products with an image that need a vector under ``model_key``, in id
    order: marked ones (for the active model), and any without an up-to-date vector
    (unless their image was flagged as unusable). ``all_products``: every one."""
    qs = Product.objects.embeddable()
    if not all_products:
        current = Embedding.objects.filter(
            product=OuterRef("pk"), model_key=model_key, image_sha256=OuterRef("image_sha256")
        )
        missing = ~Exists(current) & Q(image_error="")
        if model_key == active_model_key():
            # Marked ones: the shop's own definition (ProductQuerySet.needing_embedding).
            qs = qs.filter(Q(pk__in=Product.objects.needing_embedding().values("pk")) | missing)
        else:
            qs = qs.filter(missing)
    return list(qs.order_by("pk").values_list("pk", flat=True))


def products_missing_phash() -> list[int]:
    """Ids of products indexed before perceptual hashes were kept (colour row, a blank hash)."""
    return list(
        ProductColour.objects.filter(Q(phash="") | Q(phash_fine=""))
        .order_by("product_id")
        .values_list("product_id", flat=True)
    )


def products_pending_attributes(*, all_products: bool = False) -> list[int]:
    """Ids of active products with a photo whose attributes are missing or were computed from
    another photo (the colour row is written with every computation); all of them with
    ``all_products``."""
    qs = Product.objects.active().exclude(image="")
    if not all_products:
        current = ProductAttribute.objects.filter(
            product=OuterRef("pk"), name=COLOUR, image_sha256=OuterRef("image_sha256")
        )
        qs = qs.filter(~Exists(current))
    return list(qs.order_by("pk").values_list("pk", flat=True))


def embedding_counts() -> dict[str, int]:
    """Vectors per model key (for the admin and the operator)."""
    return dict(Embedding.objects.values("model_key").annotate(n=Count("id")).values_list("model_key", "n"))
