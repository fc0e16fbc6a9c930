"""The shipped demo catalogue: its feed is what the generator makes, and demo_setup is idempotent."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from shop.models import Product

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "demo" / "catalogue"


def test_committed_feed_is_what_the_generator_makes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_feed", ROOT / "demo" / "build_feed.py")
    build_feed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_feed)
    rows = build_feed.feed_rows()
    with open(CATALOGUE / "feed.csv", newline="", encoding="utf-8") as fh:
        assert list(csv.DictReader(fh)) == rows
    assert len(rows) >= 250 and {r["category"] for r in rows} >= {"top", "outer", "pants", "shoes", "hat"}
    assert any(r["in_stock"] == "false" for r in rows)
    size = sum(p.stat().st_size for p in CATALOGUE.rglob("*") if p.is_file())
    assert size < 10_000_000  # the repository ships it
    assert (CATALOGUE / "LICENSE").read_text().count("CC0 1.0 Universal") >= 1


@pytest.mark.django_db
def test_demo_setup_loads_the_catalogue_once_and_keeps_the_admin_password(settings, tmp_path):
    settings.SHOP_DEMO_ADMIN_PASSWORD = ""
    settings.SHOP_DEMO_ADMIN_PASSWORD_FILE = tmp_path / "demo-admin.txt"
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    assert "290 created" in out.getvalue() and "0 failed" in out.getvalue()
    password = settings.SHOP_DEMO_ADMIN_PASSWORD_FILE.read_text().strip()
    assert f"password {password}" in out.getvalue() and "http://127.0.0.1:8000/admin/" in out.getvalue()
    assert Product.objects.filter(source__slug="demo").exclude(image="").count() == 290

    again = io.StringIO()
    call_command("demo_setup", stdout=again)
    assert "0 created, 0 updated, 290 unchanged, 0 failed" in again.getvalue()
    assert settings.SHOP_DEMO_ADMIN_PASSWORD_FILE.read_text().strip() == password
    user = authenticate(username="admin", password=password)
    assert user is not None and user.is_superuser


@pytest.mark.django_db
def test_demo_admin_password_from_the_environment_wins(settings, tmp_path, monkeypatch):
    settings.SHOP_DEMO_ADMIN_PASSWORD = "from-the-env-1234"
    settings.SHOP_DEMO_ADMIN_PASSWORD_FILE = tmp_path / "demo-admin.txt"
    # Only the admin part matters here: an empty feed keeps the test fast.
    feed = tmp_path / "feed.csv"
    feed.write_text("external_id,title,brand,category,price,currency,product_url,image,in_stock\n")
    settings.SHOP_DEMO_FEED = feed
    call_command("demo_setup", stdout=io.StringIO())
    assert authenticate(username="admin", password="from-the-env-1234") is not None
    assert not settings.SHOP_DEMO_ADMIN_PASSWORD_FILE.exists()
