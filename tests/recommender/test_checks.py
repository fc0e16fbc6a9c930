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


# --- the text model (RECOMMENDER_TEXT_MODEL) ---------------------------------------------------


def _text_problems():
    return {
        p.id: p
        for p in recommender_models_check()
        if p.id in {"recommender.E004", "recommender.E005", "recommender.W003"}
    }


def test_a_configured_text_model_without_weights_stops_production(settings, tmp_path):
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.RECOMMENDER_TEXT_MODEL = "fashion-clip"
    settings.RECOMMENDER_FASHION_CLIP = str(tmp_path / "no-clip")
    problems = _text_problems()
    assert set(problems) == {"recommender.E005"}
    assert "fetch_models --model fashion-clip" in problems["recommender.E005"].hint
    assert "RECOMMENDER_FASHION_CLIP" in problems["recommender.E005"].hint


def test_the_demo_warns_that_words_are_unavailable(settings, tmp_path):
    settings.RECOMMENDER_DEMO_FALLBACK = True
    settings.RECOMMENDER_TEXT_MODEL = "fashion-clip"
    settings.RECOMMENDER_FASHION_CLIP = str(tmp_path / "no-clip")
    assert set(_text_problems()) == {"recommender.W003"}


def test_a_text_model_that_reads_no_words_is_an_error(settings):
    for name in ("resnet50", "nope"):
        settings.RECOMMENDER_TEXT_MODEL = name
        problems = _text_problems()
        assert set(problems) == {"recommender.E004"} and "fashion-clip" in problems["recommender.E004"].hint


def test_a_present_text_model_and_an_unset_one_pass(settings, tiny_text_model):
    settings.RECOMMENDER_DEMO_FALLBACK = False
    assert _text_problems() == {}
    settings.RECOMMENDER_TEXT_MODEL = ""
    assert _text_problems() == {}


def test_the_hub_text_model_is_looked_up_in_the_cache_without_loading(settings, tmp_path, monkeypatch):
    """A hub id counts as present only with its config and safetensors in the HF cache."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    settings.RECOMMENDER_DEMO_FALLBACK = False
    settings.RECOMMENDER_TEXT_MODEL = "fashion-clip"
    settings.RECOMMENDER_FASHION_CLIP = "patrickjohncyh/fashion-clip"
    assert set(_text_problems()) == {"recommender.E005"}
