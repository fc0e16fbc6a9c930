"""Find similar's tests use the recommender's tiny models (loaded through the production
loaders) and its seeded garment categories."""

from tests.recommender.conftest import (  # noqa: F401  (fixtures)
    garment_categories,
    random_resnet50_file,
    tiny_segformer_dir,
    tiny_segmenter,
)
