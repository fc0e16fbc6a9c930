# Find similar's QueryImage moved apps (find_similar 0001, issue 12): the foreign key points at
# the same table, renamed in place, so only the migration state changes.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('find_similar', '0001_initial'),
        ('looks', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='look',
                    name='upload',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='looks', to='find_similar.queryimage', verbose_name='upload'),
                ),
            ],
        ),
    ]
