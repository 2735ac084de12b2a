"""Zones, clusters and hosts now belong to apps.infra (its 0001): compute forgets them and its VMs
point there; no table changes."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('compute', '0004_vm_nic_image_root_volume'),
        ('infra', '0001_initial'),
        ('network', '0002_zones_clusters_in_infra'),
        ('storage', '0003_zones_clusters_hosts_in_infra'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='host',
                name='cluster',
            ),
            migrations.AlterField(
                model_name='vminstance',
                name='cluster',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='infra.cluster'),
            ),
            migrations.AlterField(
                model_name='vminstance',
                name='last_host',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='infra.host'),
            ),
            migrations.AlterField(
                model_name='vminstance',
                name='host',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='vm_instances', to='infra.host'),
            ),
            migrations.AlterField(
                model_name='vminstance',
                name='zone',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='infra.zone'),
            ),
            migrations.DeleteModel(
                name='Cluster',
            ),
            migrations.DeleteModel(
                name='Host',
            ),
            migrations.DeleteModel(
                name='Zone',
            ),
        ]),
    ]
