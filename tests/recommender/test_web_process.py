"""The web process serves the catalogue pages without importing torch (seconds of start-up
and hundreds of MB per process): only the workers and a Find-similar query load models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.embedders.registry import torch_hub_dir
from recommender.services import embedding_compute_batch
from tests.shop.factories import photo_product

ROOT = Path(__file__).resolve().parents[2]

PAGES_SCRIPT = """
import json, sys
import django
django.setup()
from django.test import Client
client = Client()
statuses = {path: client.get(path).status_code for path in sys.argv[1:]}
print(json.dumps({"statuses": statuses, "torch": "torch" in sys.modules}))
"""


@pytest.mark.parametrize("embedder", ["resnet50", "efficientnet-lite0"])
@pytest.mark.django_db(transaction=True)
def test_home_browse_and_product_pages_do_not_import_torch(embedder, settings, garment_categories):
    main = photo_product("Red top", (200, 30, 30), 20000)
    other = photo_product("Other red top", (190, 40, 35), 15000)
    embedding_compute_batch(product_ids=[main.pk, other.pk])  # efficientnet-lite0 vectors
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "LOOKALIKE_DB_NAME": connection.settings_dict["NAME"],
        "LOOKALIKE_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        # resnet50 as production runs it: weights looked up in the torch cache (absent here).
        "RECOMMENDER_EMBEDDER": embedder,
        "RECOMMENDER_RESNET50_WEIGHTS": "",
        "RECOMMENDER_DEMO_FALLBACK": "false",
    }
    paths = [
        "/",
        "/?q=red&category=top&price_max=30000",
        # A description with the text model off: the recommender's ranker answers without a model.
        "/?q=red+striped+shirt",
        f"/products/{main.pk}/",
        f"/products/{other.pk}/",
    ]
    out = subprocess.run(
        [sys.executable, "-c", PAGES_SCRIPT, *paths],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result["statuses"].values()) == {200}, result
    assert result["torch"] is False


@pytest.mark.parametrize(
    "environment",
    [{}, {"TORCH_HOME": "/srv/torch"}, {"XDG_CACHE_HOME": "/srv/cache"}, {"TORCH_HOME": "~/models"}],
)
def test_torch_hub_dir_is_torchs_own(monkeypatch, environment):
    import torch.hub

    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    assert torch_hub_dir() == Path(torch.hub.get_dir())
