from django.db import migrations

# The garment kinds of shop.garments, as rows (names in English; pages translate them).
CATEGORIES = [
    ("top", "Tops"), ("outer", "Outerwear"), ("pants", "Pants"), ("shorts", "Shorts"),
    ("skirt", "Skirts"), ("dress", "Dresses"), ("shoes", "Shoes"), ("bag", "Bags"),
    ("hat", "Hats"), ("scarf", "Scarves"), ("belt", "Belts"), ("sunglasses", "Sunglasses"),
]


def create_categories(apps, schema_editor):
    Category = apps.get_model("shop", "Category")
    for position, (slug, name) in enumerate(CATEGORIES):
        Category.objects.update_or_create(slug=slug, defaults={"name": name, "position": position})


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(create_categories, migrations.RunPython.noop)]
