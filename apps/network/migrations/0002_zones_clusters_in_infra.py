"""L2 networks point at zones and clusters in apps.infra; no table changes."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('infra', '0001_initial'),
        ('network', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='l2network',
                name='clusters',
                field=models.ManyToManyField(blank=True, related_name='l2_networks', to='infra.cluster'),
            ),
            migrations.AlterField(
                model_name='l2network',
                name='zone',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='l2_networks', to='infra.zone'),
            ),
        ]),
    ]
