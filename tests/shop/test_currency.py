"""Exchange rates: the operator's file, conversion in the shopper's currency (round trips to the
won or cent), and old rates flagged in the admin."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from shop.currency import Rates, currency_convert, exchange_rate_is_stale, exchange_rates_latest, money_round
from shop.models import ExchangeRate

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 30)


def _rate(base, currency, rate, as_of=TODAY, source="test"):
    return ExchangeRate.objects.create(
        base=base, currency=currency, rate=Decimal(rate), as_of=as_of, source=source
    )


@pytest.fixture
def rates(db):
    _rate("USD", "KRW", "1391.45")
    _rate("USD", "EUR", "0.9431")
    _rate("USD", "JPY", "151.2")
    return exchange_rates_latest(on=TODAY)


AMOUNTS = ["0", "1", "990", "12900", "39000", "45000", "1234567", "99999999"]


@pytest.mark.parametrize("amount", AMOUNTS)
@pytest.mark.parametrize(
    ("first", "second"), [("KRW", "USD"), ("KRW", "EUR"), ("EUR", "JPY"), ("USD", "KRW")]
)
def test_conversion_round_trips_to_the_minor_unit(rates, amount, first, second):
    original = money_round(Decimal(amount), first)
    there = rates.convert(original, first, second)
    back = rates.convert(there.amount, second, first)
    assert money_round(back.amount, first) == original
    assert there.as_of == back.as_of == TODAY


def test_cross_rate_through_the_base_and_its_inverse(rates):
    # 1 USD = 1391.45 KRW = 0.9431 EUR, so 100 EUR = 100 / 0.9431 * 1391.45 KRW.
    converted = rates.convert(Decimal(100), "EUR", "KRW")
    assert money_round(converted.amount, "KRW") == Decimal("147540")
    assert money_round(rates.convert(Decimal(39000), "KRW", "USD").amount, "USD") == Decimal("28.03")
    assert (
        rates.convert(Decimal(5), "KRW", "KRW").amount == 5 and rates.convert(5, "KRW", "KRW").as_of is None
    )


def test_no_rate_means_no_conversion(rates):
    assert rates.convert(Decimal(10), "KRW", "GBP") is None
    assert Rates().convert(Decimal(10), "KRW", "USD") is None
    assert currency_convert(amount=Decimal(10), from_currency="GBP", to_currency="KRW", rates=rates) is None


def test_the_latest_rate_on_or_before_the_day_is_used_with_its_date(db):
    _rate("USD", "KRW", "1300", as_of=dt.date(2026, 11, 1))
    _rate("USD", "KRW", "1400", as_of=dt.date(2026, 11, 20))
    _rate("USD", "KRW", "1500", as_of=dt.date(2026, 12, 5))  # not yet
    converted = exchange_rates_latest(on=TODAY).convert(Decimal(1), "USD", "KRW")
    assert converted.amount == Decimal(1400) and converted.as_of == dt.date(2026, 11, 20)
    older = exchange_rates_latest(on=dt.date(2026, 11, 10)).convert(Decimal(1), "USD", "KRW")
    assert older.amount == Decimal(1300)


def test_a_cross_rate_carries_the_older_legs_date(db):
    _rate("USD", "KRW", "1400", as_of=dt.date(2026, 11, 28))
    _rate("USD", "EUR", "0.95", as_of=dt.date(2026, 11, 2))
    assert exchange_rates_latest(on=TODAY).convert(1, "EUR", "KRW").as_of == dt.date(2026, 11, 2)


def test_old_rates_are_flagged(settings):
    settings.SHOP_EXCHANGE_RATE_MAX_AGE_DAYS = 7
    assert not exchange_rate_is_stale(as_of=TODAY - dt.timedelta(days=7), today=TODAY)
    assert exchange_rate_is_stale(as_of=TODAY - dt.timedelta(days=8), today=TODAY)
    settings.SHOP_EXCHANGE_RATE_MAX_AGE_DAYS = 30
    assert not exchange_rate_is_stale(as_of=TODAY - dt.timedelta(days=8), today=TODAY)


def test_admin_shows_how_old_each_rate_is_and_flags_old_ones(admin_client, settings):
    settings.SHOP_EXCHANGE_RATE_MAX_AGE_DAYS = 7
    today = timezone.localdate()
    _rate("USD", "KRW", "1391.45", as_of=today - dt.timedelta(days=2))
    _rate("USD", "EUR", "0.94", as_of=today - dt.timedelta(days=40))
    html = admin_client.get("/admin/shop/exchangerate/").content.decode()
    assert "2 days old" in html and "40 days old — old" in html
    assert html.count('class="rate-old"') == 1
    old = admin_client.get("/admin/shop/exchangerate/?age=old").content.decode()
    assert "EUR" in old and "1391.45" not in old
    current = admin_client.get("/admin/shop/exchangerate/?age=current").content.decode()
    assert "1391.45" in current and "40 days old" not in current


# --- manage.py import_exchange_rates ---------------------------------------------------------


def test_import_csv_then_again_changes_nothing_and_a_correction_updates(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("base,currency,rate,date\nUSD,KRW,1391.45,2026-11-30\nusd,eur,0.9431,2026-11-30\n")
    call_command("import_exchange_rates", str(path))
    assert ExchangeRate.objects.count() == 2
    krw = ExchangeRate.objects.get(currency="KRW")
    assert krw.rate == Decimal("1391.45") and krw.as_of == TODAY and krw.source == "rates.csv"
    call_command("import_exchange_rates", str(path))
    assert ExchangeRate.objects.count() == 2
    path.write_text("base,currency,rate,date,source\nUSD,KRW,1392,2026-11-30,Bank\n")
    call_command("import_exchange_rates", str(path))
    krw.refresh_from_db()
    assert krw.rate == Decimal("1392") and krw.source == "Bank" and ExchangeRate.objects.count() == 2


def test_import_json_in_both_shapes(tmp_path):
    path = tmp_path / "rates.json"
    path.write_text(
        json.dumps(
            [
                {"base": "USD", "date": "2026-11-30", "rates": {"KRW": 1391.45, "JPY": "151.2"}},
                {"base": "EUR", "currency": "KRW", "rate": "1475.3", "as_of": "2026-11-29"},
            ]
        )
    )
    call_command("import_exchange_rates", str(path), source="ECB export")
    assert {(r.base, r.currency, r.rate, r.source) for r in ExchangeRate.objects.all()} == {
        ("USD", "KRW", Decimal("1391.45"), "ECB export"),
        ("USD", "JPY", Decimal("151.2"), "ECB export"),
        ("EUR", "KRW", Decimal("1475.3"), "ECB export"),
    }


def test_import_reports_bad_rows_by_line_and_keeps_the_good_ones(tmp_path, capsys):
    path = tmp_path / "rates.csv"
    path.write_text(
        "base,currency,rate,date\n"
        "USD,KRW,1391.45,2026-11-30\n"
        "USD,KRW,-3,2026-11-30\n"
        "USD,WON,1391,2026-11-30\n"
        "USD,USD,1,2026-11-30\n"
        "USD,EUR,abc,2026-11-30\n"
        "USD,EUR,NaN,2026-11-30\n"
        "USD,EUR,1e200,2026-11-30\n"
        "USD,EUR,0.94,30/11/2026\n"
    )
    with pytest.raises(CommandError, match="7 rate"):
        call_command("import_exchange_rates", str(path))
    errors = capsys.readouterr().err
    for line in range(3, 10):
        assert f"rates.csv, row {line}:" in errors
    assert "three-letter ISO 4217" in errors and "YYYY-MM-DD" in errors and "above 0" in errors
    assert list(ExchangeRate.objects.values_list("currency", flat=True)) == ["KRW"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("rates.csv", "from,to,value\nUSD,KRW,1\n", "needs the columns"),
        ("rates.json", "{not json", "not valid JSON"),
        ("rates.txt", "USD KRW 1391", "give a .csv or .json"),
    ],
)
def test_import_refuses_a_file_it_cannot_read(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_exchange_rates", str(path))
    with pytest.raises(CommandError, match="There is no file"):
        call_command("import_exchange_rates", str(tmp_path / "missing.csv"))
