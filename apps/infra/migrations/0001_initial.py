"""Zones, clusters and hosts move here from compute: their tables stay (compute_zone, compute_cluster,
compute_host), only Django's idea of which app owns them changes; content types follow."""
import apps.core.secrets
import django.db.models.deletion
import uuid
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """An upgraded portal keeps its content types (and what points at them) for the moved models."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("zone", "cluster", "host"):
        if not content_type.objects.filter(app_label="infra", model=model).exists():
            content_type.objects.filter(app_label="compute", model=model).update(app_label="infra")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('compute', '0004_vm_nic_image_root_volume'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Zone',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('name', models.CharField(max_length=255)),
                    ('description', models.TextField(blank=True, default='')),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('busy_job', models.UUIDField(blank=True, editable=False, null=True)),
                    ('state', models.CharField(choices=[('Enabled', 'Enabled'), ('Disabled', 'Disabled')], default='Enabled', max_length=16)),
                ],
                options={
                    'db_table': 'compute_zone',
                    'ordering': ['created_at', 'id'],
                    'abstract': False,
                },
            ),
            migrations.CreateModel(
                name='Cluster',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('name', models.CharField(max_length=255)),
                    ('description', models.TextField(blank=True, default='')),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('busy_job', models.UUIDField(blank=True, editable=False, null=True)),
                    ('hypervisor_type', models.CharField(choices=[('KVM', 'Kvm'), ('Simulator', 'Simulator')], default='KVM', max_length=16)),
                    ('state', models.CharField(choices=[('Enabled', 'Enabled'), ('Disabled', 'Disabled')], default='Enabled', max_length=16)),
                    ('zone', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='clusters', to='infra.zone')),
                ],
                options={
                    'db_table': 'compute_cluster',
                    'ordering': ['created_at', 'id'],
                    'abstract': False,
                },
            ),
            migrations.CreateModel(
                name='Host',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('name', models.CharField(max_length=255)),
                    ('description', models.TextField(blank=True, default='')),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('busy_job', models.UUIDField(blank=True, editable=False, null=True)),
                    ('hypervisor_type', models.CharField(choices=[('KVM', 'Kvm'), ('Simulator', 'Simulator')], max_length=16)),
                    ('management_ip', models.CharField(max_length=255)),
                    ('address_key', models.CharField(blank=True, editable=False, max_length=300, null=True, unique=True)),
                    ('ssh_port', models.PositiveIntegerField(default=22)),
                    ('username', models.CharField(blank=True, default='root', max_length=64)),
                    ('password', apps.core.secrets.EncryptedTextField(blank=True, default='')),
                    ('private_key', apps.core.secrets.EncryptedTextField(blank=True, default='')),
                    ('agent_port', models.PositiveIntegerField(default=7070)),
                    ('agent_secret', apps.core.secrets.EncryptedTextField(blank=True, default='')),
                    ('agent_version', models.CharField(blank=True, default='', max_length=32)),
                    ('status', models.CharField(choices=[('Connecting', 'Connecting'), ('Connected', 'Connected'), ('Disconnected', 'Disconnected')], default='Connecting', max_length=16)),
                    ('state', models.CharField(choices=[('Enabled', 'Enabled'), ('Disabled', 'Disabled'), ('PreMaintenance', 'Pre Maintenance'), ('Maintenance', 'Maintenance')], default='Enabled', max_length=16)),
                    ('cpu_num', models.PositiveIntegerField(default=0)),
                    ('memory_size', models.BigIntegerField(default=0)),
                    ('used_cpu', models.PositiveIntegerField(default=0)),
                    ('used_memory', models.BigIntegerField(default=0)),
                    ('reserved_cpu', models.PositiveIntegerField(default=0)),
                    ('reserved_memory', models.BigIntegerField(default=0)),
                    ('facts', models.JSONField(blank=True, default=dict)),
                    ('last_ping_at', models.DateTimeField(blank=True, null=True)),
                    ('ping_failures', models.PositiveIntegerField(default=0)),
                    ('cluster', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='hosts', to='infra.cluster')),
                ],
                options={
                    'db_table': 'compute_host',
                    'ordering': ['created_at', 'id'],
                    'abstract': False,
                    'indexes': [models.Index(fields=['status', 'last_ping_at'], name='host_status_ping')],
                },
            ),
        ]),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
