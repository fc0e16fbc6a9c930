# QueryImage and QueryRegion now belong to find_similar (its 0001 renamed their tables, rows
# kept): they leave the recommender's migration state only; nothing in the database changes.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('find_similar', '0001_initial'),
        ('looks', '0002_look_upload_find_similar'),
        ('recommender', '0006_productcolour_phash_fine'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name='queryregion', name='upload'),
                migrations.DeleteModel(name='QueryImage'),
                migrations.DeleteModel(name='QueryRegion'),
            ],
        ),
    ]
