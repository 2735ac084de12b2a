"""Storage points at zones, clusters and hosts in apps.infra; no table changes."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('infra', '0001_initial'),
        ('storage', '0002_image_public'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='backupstorage',
                name='zones',
                field=models.ManyToManyField(blank=True, related_name='backup_storages', to='infra.zone'),
            ),
            migrations.AlterField(
                model_name='imagecache',
                name='host',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='image_caches', to='infra.host'),
            ),
            migrations.AlterField(
                model_name='localstoragehostref',
                name='host',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='local_storage_refs', to='infra.host'),
            ),
            migrations.AlterField(
                model_name='primarystorage',
                name='clusters',
                field=models.ManyToManyField(blank=True, related_name='primary_storages', to='infra.cluster'),
            ),
            migrations.AlterField(
                model_name='primarystorage',
                name='zone',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='primary_storages', to='infra.zone'),
            ),
            migrations.AlterField(
                model_name='volume',
                name='host',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='volumes', to='infra.host'),
            ),
        ]),
    ]
