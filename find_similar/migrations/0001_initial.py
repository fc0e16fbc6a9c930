# Find similar's models move here from the recommender (issue 12) with every row and id.
#
# The database keeps the rows and renames the two tables (recommender_queryimage ->
# find_similar_queryimage, recommender_queryregion -> find_similar_queryregion): a rename is a
# catalogue change in PostgreSQL (instant, no copy; foreign keys, indexes, constraints and the
# identity sequence follow the table), and the tables are then named after the app that owns
# them, so Django's defaults hold and no db_table pins the old name for ever. Deploy it with the
# new code (old processes would look for the old table names).
# The state moves with SeparateDatabaseAndState: created here, the Look foreign key re-pointed
# (looks 0002), deleted from the recommender (recommender 0007). The content types (and so the
# permissions granted on them and the admin log) move to the new app label too. Reversible.

import config.storage
import django.db.models.deletion
import pgvector.django.halfvec
import uuid
from django.db import migrations, models


TABLES = (("recommender_queryimage", "find_similar_queryimage"), ("recommender_queryregion", "find_similar_queryregion"))
MODELS = ("queryimage", "queryregion")


def _move_content_types(apps, schema_editor, *, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_forward(apps, schema_editor):
    _move_content_types(apps, schema_editor, old="recommender", new="find_similar")


def content_types_backward(apps, schema_editor):
    _move_content_types(apps, schema_editor, old="find_similar", new="recommender")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        # Migrations that name the old tables (looks 0001's foreign key) run before the rename.
        ('looks', '0001_initial'),
        ('recommender', '0006_productcolour_phash_fine'),
        ('shop', '0004_exchange_rates_same_item_groups'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'ALTER TABLE "{old}" RENAME TO "{new}"', reverse_sql=f'ALTER TABLE "{new}" RENAME TO "{old}"'
                )
                for old, new in TABLES
            ],
            state_operations=[
                migrations.CreateModel(
                    name='QueryImage',
                    fields=[
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('image', models.ImageField(storage=config.storage.upload_storage, upload_to='uploads/%Y/%m/', verbose_name='photo')),
                        ('width', models.PositiveIntegerField(default=0, verbose_name='width')),
                        ('height', models.PositiveIntegerField(default=0, verbose_name='height')),
                        ('sha256', models.CharField(db_index=True, max_length=64, verbose_name='SHA-256 of the uploaded file')),
                        ('size_bytes', models.PositiveIntegerField(verbose_name='uploaded size (bytes)')),
                        ('status', models.CharField(choices=[('pending', 'waiting for garment detection'), ('ready', 'ready'), ('failed', 'failed')], default='pending', max_length=10, verbose_name='status')),
                        ('error_message', models.TextField(blank=True, verbose_name='error')),
                        ('segmenter_unavailable', models.BooleanField(default=False, verbose_name='garment detection unavailable')),
                        ('garments', models.JSONField(blank=True, default=list, verbose_name='garments found')),
                        ('chosen', models.JSONField(blank=True, default=dict, verbose_name='chosen garment or box')),
                        ('filters', models.JSONField(blank=True, default=dict, verbose_name='filters')),
                        ('results', models.JSONField(blank=True, default=list, verbose_name='results shown')),
                        ('model_key', models.CharField(blank=True, max_length=100, verbose_name='model key')),
                        ('segmented_at', models.DateTimeField(blank=True, null=True, verbose_name='garments detected at')),
                        ('client_hash', models.CharField(blank=True, db_index=True, max_length=64, verbose_name='client')),
                        ('source_product', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='shop.product', verbose_name='from product')),
                    ],
                    options={
                        'verbose_name': 'uploaded photo',
                        'verbose_name_plural': 'uploaded photos',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='QueryRegion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
                        ('key', models.CharField(max_length=60, verbose_name='region')),
                        ('model_key', models.CharField(max_length=100, verbose_name='model key')),
                        ('status', models.CharField(choices=[('pending', 'waiting for the query worker'), ('ready', 'ready'), ('failed', 'failed')], default='pending', max_length=10, verbose_name='status')),
                        ('vector', pgvector.django.halfvec.HalfVectorField(blank=True, null=True, verbose_name='vector')),
                        ('histogram', models.JSONField(blank=True, null=True, verbose_name='RGB histogram')),
                        ('mask', models.JSONField(blank=True, null=True, verbose_name='mask')),
                        ('error', models.TextField(blank=True, verbose_name='error')),
                        ('upload', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='regions', to='find_similar.queryimage', verbose_name='upload')),
                    ],
                    options={
                        'verbose_name': 'searched region',
                        'verbose_name_plural': 'searched regions',
                    },
                ),
                migrations.AddIndex(
                    model_name='queryimage',
                    index=models.Index(fields=['created_at'], name='queryimage_created'),
                ),
                migrations.AddConstraint(
                    model_name='queryregion',
                    constraint=models.UniqueConstraint(fields=('upload', 'key', 'model_key'), name='queryregion_uniq'),
                ),
            ],
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
