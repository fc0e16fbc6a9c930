"""Start-up checks: production stops on missing weights; the demo warns and falls back."""

from __future__ import annotations

from recommender.checks import recommender_models_check


def test_production_settings_stop_on_missing_weights(settings, tmp_path):
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.RECOMMENDER_EMBEDDER = "resnet50"
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(tmp_path / "missing.pth")
    settings.RECOMMENDER_SEGMENTER = str(tmp_path / "no-segmenter")
    problems = {p.id: p for p in recommender_models_check()}
    assert set(problems) == {"recommender.E002", "recommender.E003"}
    assert all("fetch_models" in p.hint for p in problems.values())


def test_demo_settings_warn_and_fall_back(settings, tmp_path):
    settings.RECOMMENDER_DEMO_FALLBACK = True
    settings.RECOMMENDER_EMBEDDER = "resnet50"
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(tmp_path / "missing.pth")
    settings.RECOMMENDER_SEGMENTER = str(tmp_path / "no-segmenter")
    problems = {p.id: p for p in recommender_models_check()}
    assert set(problems) == {"recommender.W001", "recommender.W002"}
    assert "efficientnet-lite0" in problems["recommender.W001"].msg


def test_present_weights_pass(settings, tiny_segmenter, random_resnet50_file):
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.RECOMMENDER_EMBEDDER = "resnet50"
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(random_resnet50_file)
    assert recommender_models_check() == []


def test_unknown_embedder_is_an_error(settings):
    settings.RECOMMENDER_EMBEDDER = "nope"
    assert [p.id for p in recommender_models_check()] == ["recommender.E001"]
